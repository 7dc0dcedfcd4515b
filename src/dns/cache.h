/* A resolver's cache of lookup results, keyed by name and type, bounded
 * in entries with least-recently-used eviction.  Times are passed in so
 * that tests need not sleep. */
#ifndef POSTERN_DNS_CACHE_H
#define POSTERN_DNS_CACHE_H

#include "dns/answer.h"

#include <stddef.h>
#include <time.h>

struct dns_cache;

/* max_entries > 0. */
struct dns_cache *dns_cache_new(size_t max_entries);
void dns_cache_free(struct dns_cache *c);

/* Stores a deep copy of res for res->ttl seconds from now, replacing any
 * entry for the same name (case-insensitive, final dot ignored) and type.
 * Results that are not cacheable, or have a TTL of 0, are not stored. */
void dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type,
                   const struct dns_result *res, time_t now);

/* 1 with a deep copy of the entry in *res, the TTLs of its records
 * lowered by the time spent in the cache; 0 when there is none or it has
 * expired. */
int dns_cache_get(struct dns_cache *c, const char *name, enum dns_type type, time_t now,
                  struct dns_result *res);

size_t dns_cache_count(const struct dns_cache *c);

#endif
