/* The verdicts of the policy service.  Postfix asks once per recipient,
 * and every request of one message (one instance= value, the same client,
 * HELO name and sender) gets the answer computed for the first, with no
 * lookup repeated.  The server keeps two caches of entries: one by
 * message, and one by client, HELO name and sender, through which a new
 * message shares a running check or reuses a finished one for a while.
 * An entry holds a
 * reference to a verdict, which entries of both caches (and the check
 * computing it) share.  Bounded: at most max entries besides those whose
 * check is still running (at most one per connection), and an entry is
 * forgotten ttl seconds after its check ended. */
#ifndef POSTERN_POLICYD_CACHE_H
#define POSTERN_POLICYD_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct policyd_conn;
struct policyd_job;

/* What one check has found, as the replies it leads to. */
struct policyd_verdict {
	/* Once pending is 0.  The strings are owned by the verdict: the whole
	 * reply line without its newline ("action=550 5.7.23 ..."), and for
	 * an accepted message with tags or a score the PREPEND line, given
	 * once per message; the check's result fields ("iprev=pass ...") for
	 * the log line of a message that reuses it. */
	char *reply;      /* NULL: DUNNO */
	char *prepend;    /* NULL: none */
	char *log;        /* NULL unless reusable */
	const char *what; /* for the log: "dunno", "prepend", "reject", "tempfail" */
	int code;         /* for the log: the reply code of a refusal, else 0 */
	/* Another message may have it: no lookup failed temporarily (a DNS
	 * failure is to be retried) and the verdict is no tempfail. */
	int reusable;
	/* While the check runs: the connections waiting, and the job, to
	 * which another message of the same client, HELO name and sender that
	 * comes meanwhile is added. */
	int pending;
	struct policyd_conn *waiters;
	struct policyd_job *job;
	unsigned refs;
};

/* A pending verdict with one reference, the caller's. */
struct policyd_verdict *policyd_verdict_new(void);
void policyd_verdict_hold(struct policyd_verdict *v);
/* Drops one reference: the last frees v. */
void policyd_verdict_drop(struct policyd_verdict *v);

struct policyd_entry {
	struct policyd_verdict *verdict; /* one reference */
	int prepended;                   /* the PREPEND was given for this message */

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
/* Frees every entry, dropping its reference. */
void policyd_cache_free(struct policyd_cache *c);

/* The entry for key, or NULL.  A finished entry past its time is
 * removed here. */
struct policyd_entry *policyd_cache_get(struct policyd_cache *c, const void *key, size_t keylen,
                                        time_t now);
/* A new entry for key (which must not be present) with a reference to v.
 * Makes room first: expired entries go, then the oldest finished ones
 * while the cache is full; entries whose verdict is pending are never
 * removed. */
struct policyd_entry *policyd_cache_put(struct policyd_cache *c, const void *key, size_t keylen,
                                        struct policyd_verdict *v, time_t now);
/* The check of e's verdict has finished: e's time starts now. */
void policyd_cache_done(struct policyd_cache *c, struct policyd_entry *e, time_t now);
/* Forgets e at once. */
void policyd_cache_remove(struct policyd_cache *c, struct policyd_entry *e);

size_t policyd_cache_count(const struct policyd_cache *c);

#endif
