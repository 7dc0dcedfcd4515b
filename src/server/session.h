/* One SMTP session: its state, its I/O, and the one function through which
 * every reply leaves (session_reply). */
#ifndef POSTERN_SESSION_H
#define POSTERN_SESSION_H

#include "core/buf.h"
#include "core/config.h"
#include "core/id.h"
#include "smtp/cmd.h"
#include "smtp/data.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

struct worker;
struct listener;
struct bufferevent;
struct event;
struct spool_body;
struct spool_rcpt;
struct checks;
struct msgauth;
enum session_state {
	ST_GREETING, /* waiting for the PTR lookup before the banner */
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

struct session {
	char sid[ID_LEN + 1];
	struct worker *worker;
	const struct listener *listener;
	struct bufferevent *bev;
	struct event *session_timer;
	int fd;

	struct sockaddr_storage peer;
	char ip[64];
	char rdns[256]; /* "" when the PTR lookup found nothing */
	char local_ip[64];

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
	int pending;   /* asynchronous jobs that still hold this session */
	int skip_line; /* discarding an over-long command line */
	int draining;  /* the server is shutting down: 421 at the next command */

	/* transaction */
	char queue_id[ID_LEN + 1];
	char mail_from[ADDR_PATH_MAX + 1];
	struct mail_params mail;
	struct spool_rcpt *rcpts;
	size_t nrcpt;
	struct spool_body *body;
	struct data_reader data;
	int body_error;     /* spool write failed during DATA/BDAT */
	uint64_t bdat_left; /* bytes still to read of the current chunk */
	int bdat_last;
	int bdat_failed;  /* a chunk was refused: the rest are only read */
	int bdat_prev_cr; /* last BDAT byte was CR (bare CR/LF checking) */
	enum data_error bdat_error;
	uint64_t bdat_size;

	/* SASL */
	int auth_mech; /* AUTH_PLAIN or AUTH_LOGIN while in ST_AUTH */
	int auth_step;
	char auth_login_user[256];
	struct checks *checks;   /* NULL: this client is not checked */
	int trusted;             /* the client is in policy.trusted_networks */
	struct msgauth *msgauth; /* NULL: no DKIM/DMARC work for this message */
	size_t nrcpt_exempt;     /* recipients that are postmaster or abuse */

	unsigned conns_ip;    /* server-wide sessions from this address, this one included */
	unsigned conns_total; /* server-wide sessions, this one included */

	unsigned long messages;      /* accepted in this session */
	struct session *next, *prev; /* the worker's list */
};

struct session *session_new(struct worker *w, const struct listener *l, int fd,
                            const struct sockaddr_storage *peer, socklen_t peerlen);
/* Starts the connect-stage work (checks, or a PTR lookup for clients that
 * are not checked) and greets when nothing has to be waited for. */
void session_start(struct session *s);
/* Formats, sends and (for 4xx/5xx) logs and counts one reply.  Every reply
 * of the server leaves through here.  text may hold several lines
 * separated by \n: they become a multi-line reply. */
void session_reply(struct session *s, int code, const char *ecode, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends the reply, then closes the connection once it is written. */
void session_close_after(struct session *s);
/* Resumes reading commands after an asynchronous step finished. */
void session_resume(struct session *s);
/* Called by an asynchronous job holding the session when it is done;
 * returns 1 when the session was freed (the caller must not touch it). */
int session_release(struct session *s);
void session_hold(struct session *s);
void session_reset_transaction(struct session *s);
/* Asks the session to end politely (server shutdown). */
void session_drain(struct session *s);
void session_free(struct session *s);
/* Switches the connection to TLS (STARTTLS or implicit TLS). */
void session_start_tls(struct session *s);

/* commands.c */
void commands_dispatch(struct session *s, const char *line, size_t len);
void commands_greet(struct session *s);
/* Called at the end of DATA or the last BDAT chunk. */
void commands_message_end(struct session *s, enum data_error err);

/* auth.c: SASL PLAIN and LOGIN (RFC 4954, RFC 4616). */
enum { AUTH_PLAIN = 1, AUTH_LOGIN = 2 };
void auth_start(struct session *s, const char *arg, size_t len);
void auth_continue(struct session *s, const char *line, size_t len);

/* trace.c */
/* Writes the Received header for this transaction into out. */
int trace_received(const struct session *s, struct buf *out);

#endif
