/* Destinations of the delivery engine: where jobs wait, how many run at
 * once, and what is known of each.  A destination is a remote domain (by
 * MX), a relay (smarthost or transport), an LMTP server, or the Maildir
 * writer.  Limits: delivery.concurrency for all together, and per
 * destination one connection until a server of it has been reached, then
 * delivery.destination_concurrency.  A destination none of whose servers
 * could be reached is down until delivery.retry_min has passed: its jobs
 * are deferred at once instead of holding slots, so a dead domain never
 * holds back the others.  Idle SMTP and LMTP connections are kept per
 * destination for delivery.connection_cache_time. */
#ifndef POSTERN_DEST_H
#define POSTERN_DEST_H

#include "queue/engine.h"

enum dest_kind { DEST_SMTP, DEST_RELAY, DEST_LMTP, DEST_MAILDIR };

struct sconn; /* deliver_smtp.c's connection */

struct dest {
	enum dest_kind kind;
	char *target; /* domain, relay spec or LMTP server; "" for Maildir */
	struct engine *e;
	struct job_list jobs;
	size_t njobs;
	size_t active; /* connections (or Maildir batches) in use */
	size_t limit;  /* of active */
	int reached;   /* a server of it answered since it was last down */
	time_t down_until;
	char down_reply[ENGINE_REPLY_MAX];
	struct sconn *idle; /* connections waiting for another job */
	int pending;        /* on the table's list of destinations with jobs */
	TAILQ_ENTRY(dest) pending_link;
	struct dest *hash_next;
};

struct dest_table;

struct dest_table *dest_table_new(struct engine *e);
/* Closes idle connections; jobs still queued are dropped (their
 * recipients stay due in the database). */
void dest_table_free(struct dest_table *t);

/* The destination of kind and target, made when new. */
struct dest *dest_get(struct dest_table *t, enum dest_kind kind, const char *target);
/* Queues j; a destination that is down fails it at once (deferred). */
void dest_enqueue(struct dest *d, struct job *j);
/* Starts every job the limits allow. */
void dest_pump(struct dest_table *t);
/* Forgets destinations with nothing queued, running, idle or remembered. */
void dest_expire(struct dest_table *t);

/* For the deliverers. */
/* The next job queued for d, or NULL. */
struct job *dest_next_job(struct dest *d);
/* 1 when another destination has jobs waiting for a slot: a connection
 * of d then gives its slot up instead of taking d's next job. */
int dest_others_waiting(const struct dest *d);
/* A server of d answered: d may now use its full concurrency. */
void dest_reached(struct dest *d);
/* No server of d could be reached: d is down, its queued jobs deferred. */
void dest_down(struct dest *d, const char *reply);
/* A connection or batch of d finished its work (parked or closed). */
void dest_release(struct dest *d);
/* Takes one more slot of d for work a deliverer starts on its own (an
 * idle connection taking the next job). */
void dest_acquire(struct dest *d);

/* Implemented by the deliverers: start j on a connection (new or idle) or
 * in a Maildir batch.  The slot is already taken; the deliverer gives it
 * back with dest_release. */
void deliver_smtp_start(struct dest *d, struct job *j);
void deliver_maildir_start(struct dest *d, struct job *j);
/* Closes d's idle connections (d forgotten, or shutdown). */
void deliver_smtp_close_idle(struct dest *d);
/* Abandons every connection still at work, with no callback: the engine
 * is closing and the recipients stay due. */
void deliver_smtp_shutdown(struct engine *e);
/* Removes stale files from the tmp/ of every Maildir written to since the
 * last call (on the file pool). */
void deliver_maildir_sweep(struct engine *e);

#endif
