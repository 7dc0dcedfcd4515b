/* The verdicts of the policy service, by message: Postfix asks once per
 * recipient, and every request of one message (one instance= value, the
 * same client, HELO name and sender) gets the answer computed for the
 * first, with no lookup repeated.  Bounded: at most max entries besides
 * those whose check is still running (at most one per connection), and an
 * entry is forgotten ttl seconds after it was made. */
#ifndef POSTERN_POLICYD_CACHE_H
#define POSTERN_POLICYD_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct policyd_conn;
struct policyd_job;

struct policyd_entry {
	/* The verdict, once pending is 0.  The strings are owned by the
	 * entry: the whole reply line without its newline
	 * ("action=550 5.7.23 ..."), and for an accepted message with tags
	 * or a score the PREPEND line, given once. */
	char *reply;   /* NULL: DUNNO */
	char *prepend; /* NULL: none */
	int prepended;
	/* While the check runs: the connections waiting, and the job. */
	int pending;
	struct policyd_conn *waiters;
	struct policyd_job *job;

	/* Bookkeeping of the cache. */
	struct policyd_entry *hnext;
	struct policyd_entry *older, *newer;
	uint32_t hash;
	time_t expires;
	size_t keylen;
	char key[];
};

struct policyd_cache;

struct policyd_cache *policyd_cache_new(size_t max, unsigned ttl);
/* Frees every entry; the caller has cancelled the pending ones' jobs. */
void policyd_cache_free(struct policyd_cache *c);

/* The entry for key, or NULL.  A finished entry past its time is
 * removed here. */
struct policyd_entry *policyd_cache_get(struct policyd_cache *c, const void *key, size_t keylen,
                                        time_t now);
/* A new pending entry for key (which must not be present).  Makes room
 * first: expired entries go, then the oldest finished ones while the
 * cache is full; entries still pending are never removed. */
struct policyd_entry *policyd_cache_put(struct policyd_cache *c, const void *key, size_t keylen,
                                        time_t now);
/* The check of e has finished: its time starts now. */
void policyd_cache_done(struct policyd_cache *c, struct policyd_entry *e, time_t now);

size_t policyd_cache_count(const struct policyd_cache *c);

/* An entry outside any cache (a request without instance=), freed with
 * policyd_entry_free. */
struct policyd_entry *policyd_entry_new(void);
void policyd_entry_free(struct policyd_entry *e);

#endif
