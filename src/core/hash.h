/* FNV-1a (Fowler/Noll/Vo, 32-bit): the hash of the in-memory tables
 * (caches, in-flight queries, per-address counters).  It is unkeyed, so
 * chosen keys can collide: fit only for tables where a collision costs a
 * longer chain or an evicted entry, nothing more. */
#ifndef POSTERN_CORE_HASH_H
#define POSTERN_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The offset basis: the seed of a hash that starts from nothing.  A
 * caller that hashes a value beside its bytes (a DNS type) mixes it into
 * the seed, or goes on from a previous result. */
#define HASH_FNV1A_SEED 2166136261u
#define HASH_FNV1A_PRIME 16777619u

static inline uint32_t hash_fnv1a(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * HASH_FNV1A_PRIME;
	return h;
}

static inline uint32_t hash_fnv1a_str(uint32_t h, const char *s)
{
	for (const unsigned char *b = (const unsigned char *)s; *b; b++)
		h = (h ^ *b) * HASH_FNV1A_PRIME;
	return h;
}

/* The same with ASCII letters folded to lower case, for names compared
 * with strcasecmp (DNS names, RFC 4343): names equal but for case hash
 * alike. */
static inline uint32_t hash_fnv1a_str_lower(uint32_t h, const char *s)
{
	for (const unsigned char *b = (const unsigned char *)s; *b; b++)
		h = (h ^ (unsigned char)(*b >= 'A' && *b <= 'Z' ? *b + ('a' - 'A') : *b)) *
		    HASH_FNV1A_PRIME;
	return h;
}

#endif
