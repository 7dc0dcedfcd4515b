/* The queue manager's side of the queue database: reading due recipients
 * and their messages, and recording outcomes in batched transactions.
 * Every call blocks on SQLite, so the delivery engine makes them on its
 * database thread, never on its event loop. */
#ifndef POSTERN_QSTORE_H
#define POSTERN_QSTORE_H

#include "core/config.h"
#include "core/id.h"

#include <stddef.h>
#include <time.h>

struct qstore;

struct qstore_row {
	char msg_id[ID_LEN + 1];
	long long idx;
	char *addr;      /* where it goes */
	char *orcpt;     /* as the client wrote it */
	char *notify;    /* DSN NOTIFY as stored, NULL when not given */
	char *dsn_orcpt; /* DSN ORCPT, NULL when not given */
	int attempts;
	int delay_warned;
	int forwarded;     /* an alias or SRS bounce sent on to a remote address */
	long long arrival; /* of the message */
	long long size;    /* of the message's body */
};

struct qstore_msg {
	char id[ID_LEN + 1];
	char *sender; /* "" for the null reverse-path */
	char *envid;  /* NULL when not given */
	char *ret;    /* "FULL", "HDRS" or NULL */
	char *auth_user;
	char *client_ip;
	int eightbit, smtputf8, sender_verified, is_dsn;
	long long arrival;
	char *data; /* our header fields, then the body as received */
	size_t len;
	size_t hlen;      /* length of our header fields at the front of data */
	int body_in_file; /* the body lives in queue/body/<id> */
};

/* A recipient's new state, recorded by qstore_record. */
struct qstore_outcome {
	char msg_id[ID_LEN + 1];
	long long idx;
	const char *state; /* QUEUE_STATE_* */
	int attempts;
	long long next_attempt;
	long long last_attempt;
	int delay_warned;
	char *reply;  /* NULL: none */
	char *remote; /* NULL: none */
	const char *tls;
	int body_in_file; /* remove body/<id> once the message is finished */
};

struct qstore *qstore_open(const struct config *cfg, char *err, size_t errsize);
void qstore_close(struct qstore *s);

/* Up to max due recipients (state queued or deferred, next attempt not
 * after now, message not held) of messages whose id sorts after `after`
 * ("" from the start), in id and recipient order.  Returns how many were
 * written to rows, or -1 on a database error (logged). */
long qstore_due(struct qstore *s, time_t now, const char *after, struct qstore_row *rows,
                size_t max);
void qstore_row_clear(struct qstore_row *r);

/* Loads the message id.  Returns 0, 1 when it is gone (deleted by `postern
 * queue delete` meanwhile), -1 when it cannot be read (logged). */
int qstore_load(struct qstore *s, const char *id, struct qstore_msg *m);
void qstore_msg_clear(struct qstore_msg *m);

/* Records every outcome in one transaction; a message none of whose
 * recipients is left to deliver is removed, with its body file after the
 * commit.  On an error nothing is recorded and the recipients stay due:
 * they are delivered again (at least once).  Returns 0 or -1 (logged). */
int qstore_record(struct qstore *s, const struct qstore_outcome *o, size_t n);

/* Removes body files no message names any more (see queue/sweep.h). */
void qstore_sweep(struct qstore *s, time_t now, long min_age);

#endif
