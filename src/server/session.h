/* One SMTP session: its state, its I/O, and the one function through which
 * every reply leaves (session_reply). */
#ifndef POSTERN_SESSION_H
#define POSTERN_SESSION_H

#include "core/buf.h"
#include "core/config.h"
#include "core/id.h"
#include "server/filter.h"
#include "server/stages.h"
#include "smtp/addr.h"
#include "smtp/data.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

struct listener;
struct spool;
struct counters;
struct bufferevent;
struct event;
struct txn;
struct iprev_check;

enum session_state {
	ST_GREETING, /* the banner is not out yet */
	ST_HELO,     /* banner sent, waiting for EHLO/HELO */
	ST_READY,    /* greeted, no transaction */
	ST_MAIL,     /* MAIL accepted */
	ST_RCPT,     /* at least one RCPT accepted */
	ST_DATA,     /* reading DATA */
	ST_BDAT,     /* reading a BDAT chunk */
	ST_AUTH,     /* in a SASL exchange */
	ST_TLS,      /* STARTTLS handshake in progress */
	ST_CLOSING,  /* last reply written, closing when flushed */
};

/* What the session hands the rest of the server: a complete command
 * line, and the end of a message's bytes. */
struct session_handlers {
	void (*greet)(struct session *s);
	void (*line)(struct session *s, const char *line, size_t len);
	void (*message_end)(struct session *s, enum data_error err);
	void (*gone)(struct session *s); /* the connection has ended */
};

/* What the sessions of a worker share: what their filters see, and what
 * only the session uses (the spool, the AUTH failure counters, the
 * handlers of its lines and its end).  The worker owns it. */
struct session_env {
	struct filter_env shared; /* configuration, loop, resolver, pool, accounts */
	struct spool *spool;
	struct counters *counters;
	const struct session_handlers *handlers;
	void *owner; /* the worker, for the handlers */
};

struct session {
	char sid[ID_LEN + 1];
	const struct session_env *env;
	const struct listener *listener;
	struct bufferevent *bev;
	struct event *session_timer;
	struct event *deadline; /* the command or DATA line in progress must end by then */
	int fd;

	struct sockaddr_storage peer;
	char ip[64];
	char rdns[256]; /* the forward-confirmed PTR name, "" when none */
	struct iprev_check *rdns_lookup;
	void (*rdns_then)(struct session *s); /* waits for rdns_lookup */

	enum session_state state;
	int esmtp;
	int tls;
	int tls_pending; /* STARTTLS answered; switch once the reply is out */
	char tls_version[32];
	char tls_cipher[96];
	char helo[256];
	char auth_user[256]; /* "" when not authenticated */

	int errors;
	int waiting;   /* an asynchronous step is pending; input waits */
	int closing;   /* close once output is flushed */
	int dead;      /* connection gone, freed when nothing is pending */
	int pending;   /* pool jobs that still hold this session */
	int skip_line; /* discarding an over-long command line */
	int draining;  /* the server is shutting down: 421 at the next command */

	struct txn *txn; /* NULL outside a transaction */

	/* The recipient of the RCPT at hand, for the filters' view. */
	char rcpt[ADDR_PATH_MAX + 1];
	char rcpt_mailbox[ADDR_PATH_MAX + 1];
	int rcpt_local, rcpt_exempt;

	/* SASL */
	int auth_mech; /* SASL_PLAIN or SASL_LOGIN while in ST_AUTH */
	int auth_step;
	char auth_login_user[256];

	const void *command_waiting; /* the command whose stage is in progress */
	int in_process;              /* session_process is running */
	struct stages stages;        /* the filters */

	unsigned conns_ip;    /* server-wide sessions from this address, this one included */
	unsigned conns_total; /* server-wide sessions, this one included */

	unsigned long messages;      /* accepted in this session */
	struct session *next, *prev; /* the worker's list */
};

struct session *session_new(const struct session_env *env, const struct listener *l, int fd,
                            const struct sockaddr_storage *peer, socklen_t peerlen);
/* Starts the client's rDNS lookup, tells the filters FS_CONNECT, and
 * greets. */
void session_start(struct session *s);
/* then(s) runs once the rDNS lookup has ended (at once when it has). */
void session_after_rdns(struct session *s, void (*then)(struct session *s));
/* Formats, sends and (for 4xx/5xx) logs and counts one reply.  Every reply
 * of the server leaves through here.  text may hold several lines
 * separated by \n: they become a multi-line reply. */
void session_reply(struct session *s, int code, const char *ecode, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends the reply, then closes the connection once it is written. */
void session_close_after(struct session *s);
/* Input waits until session_resume (an asynchronous step is pending). */
void session_wait(struct session *s);
/* Resumes reading commands after an asynchronous step finished. */
void session_resume(struct session *s);
/* A pool job holds the session; session_release returns 1 when the
 * session was freed (the caller must not touch it) or is dead. */
void session_hold(struct session *s);
int session_release(struct session *s);
/* Ends the transaction: the filters are told FS_RESET, the transaction is
 * freed. */
void session_end_txn(struct session *s);
/* Ends the session at once (the worker stops). */
void session_abort(struct session *s);
/* Asks the session to end politely (server shutdown). */
void session_drain(struct session *s);
/* Switches the connection to TLS after the reply to STARTTLS. */
void session_start_tls(struct session *s);
#endif
