/* The delivery engine's shared structures, private to src/queue: the
 * queue manager (qmgr.c) loads messages and records outcomes, the
 * destinations (dest.c) hold jobs and connections, the deliverers
 * (deliver_smtp.c, deliver_local.c) carry jobs out, bounce.c makes DSNs.
 * Everything here lives on the engine's one event loop thread. */
#ifndef POSTERN_ENGINE_H
#define POSTERN_ENGINE_H

#include "core/config.h"
#include "core/id.h"
#include "queue/hmac_key.h"

#include <stddef.h>
#include <sys/queue.h>
#include <time.h>

struct event_base;
struct dns_resolver;
struct pool;
struct spool;
struct engine;
struct dest;
struct sconn;

/* Longest reply or error text kept for a recipient. */
#define ENGINE_REPLY_MAX 512

enum rcpt_result { RCPT_PENDING, RCPT_DELIVERED, RCPT_TEMP, RCPT_PERM };

struct qrcpt {
	long long idx;
	char *addr, *orcpt, *notify, *dsn_orcpt;
	int attempts, delay_warned;
	int forwarded; /* sent on for a local alias or SRS address: envelope sender by SRS */
	enum rcpt_result result;
	int expired; /* a temporary failure past delivery.queue_lifetime: final now */
	int code;
	char reply[ENGINE_REPLY_MAX];
	char remote[300];   /* "name[addr]:port" of the last server tried, or "" */
	const char *tls;    /* TLS outcome of the attempt (static string), or NULL */
	const char *method; /* "smtp", "lmtp", "maildir", "discard", "none" */
	int relayed_dsn;    /* handed to a server that takes DSN duties over */
	const char
	    *dsn_note; /* for the log: "sent", "suppressed", "none", "error"; NULL: no DSN due */
};

/* A message in memory while some of its recipients are being delivered. */
struct qmsg {
	char id[ID_LEN + 1];
	char *sender, *envid, *ret, *auth_user, *client_ip;
	int eightbit, smtputf8, sender_verified, is_dsn, body_in_file;
	long long arrival;
	char *data; /* our header fields, then the body */
	size_t len, hlen;
	struct qrcpt *rcpts;
	size_t nrcpt;
	size_t jobs;            /* jobs not finished yet */
	struct qmsg *next;      /* in the in-flight table's bucket */
	struct qmsg *done_next; /* on the list of messages waiting for their record */
};

/* Some recipients of one message for one destination. */
struct job {
	struct qmsg *m;
	struct qrcpt **r;
	size_t n;
	struct dest *d;
	TAILQ_ENTRY(job) link;
};
TAILQ_HEAD(job_list, job);

struct engine {
	const struct config *cfg;
	struct event_base *base;
	struct dns_resolver *dns;
	struct pool *files; /* Maildir writes */
	void *tls_ctx;      /* SSL_CTX for outbound STARTTLS */
	struct dest_table *dests;
	size_t active;       /* connections and batches in progress */
	time_t now;          /* refreshed at each loop callback that needs it */
	int closing;         /* shutting down: start nothing new */
	struct sconn *conns; /* every SMTP and LMTP connection (deliver_smtp.c) */
	char **maildirs;     /* Maildirs written since their last tmp/ sweep */
	size_t nmaildirs;
	int batv_sign; /* batv_key is loaded and senders are tagged */
	unsigned char batv_key[HMAC_KEY_LEN];
	unsigned char srs_key[HMAC_KEY_LEN];
};

/* Called by a deliverer for every job it took, once all of the job's
 * recipients have a result (qrcpt.result and the texts). */
void engine_job_done(struct engine *e, struct job *j);

/* "451 4.4.1 ..." style reply to every recipient of j without a result. */
void job_fail_all(struct job *j, int code, const char *reply, const char *method);

#endif
