/* The inside of the SMTP/LMTP client, shared by its three files:
 * smtpc.c (the connection: I/O, replies, timers, lifetime), smtpc_sess.c
 * (greeting, EHLO, STARTTLS, AUTH) and smtpc_msg.c (one message). */
#ifndef POSTERN_SMTPC_PRIV_H
#define POSTERN_SMTPC_PRIV_H

#include "queue/smtpc.h"
#include "smtp/data.h"
#include "smtp/ehlo.h"
#include "smtp/reply.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stddef.h>
#include <sys/socket.h>

enum smtpc_phase {
	PH_CONNECT,
	PH_GREETING,
	PH_EHLO, /* EHLO or LHLO */
	PH_HELO,
	PH_STARTTLS,
	PH_HANDSHAKE,
	PH_AUTH,      /* AUTH PLAIN with its initial response, or AUTH LOGIN */
	PH_AUTH_USER, /* AUTH LOGIN: the user name was sent */
	PH_AUTH_PASS, /* AUTH LOGIN: the password was sent */
	PH_IDLE,      /* ready for a message */
	PH_MSG,       /* a message in flight */
	PH_QUIT,      /* QUIT written or being written */
	PH_DEAD,      /* no connection any more; waits for smtpc_close */
};

/* One message in flight.  The replies it waits for come in the order the
 * commands left (RFC 2920 3.1): MAIL, the RCPTs, DATA, the non-LAST BDAT
 * chunks, the final replies (after the dot or the LAST chunk), RSET; the
 * counters below say which one the next reply answers. */
struct smtpc_txn {
	struct smtpc_msg *m;
	smtpc_sent_fn done;
	void *arg;
	int pipelining, chunking; /* offered: how this message goes */
	int deferred;             /* settled by smtpc_send itself; done runs from the loop */
	size_t *order;            /* indices of the recipients RCPT is sent for */
	size_t norder;
	size_t *acc; /* indices of the accepted ones, in RCPT order */
	size_t nacc;
	size_t rcpt_sent, rcpt_answered;
	int mail_sent, mail_answered, mail_ok;
	int data_sent, data_answered;
	size_t chunks_sent, chunks_answered; /* BDAT without LAST */
	int final_pending;                   /* the dot or the LAST chunk is on its way */
	size_t final_answered;
	int rset_sent;
	int refused;   /* DATA or a chunk refused: the transaction needs RSET */
	int over;      /* the transaction is over on both sides */
	int discard;   /* a 354 came with nothing accepted: an empty message ends it */
	int started;   /* message bytes were queued */
	int streaming; /* the write callback queues the next part of the message */
	int encoded;   /* all of the message and its end are queued */
	size_t off;    /* bytes of m->data encoded so far */
	size_t col;    /* octets on the output line so far, for folding */
	struct data_stuffer ds;
};

struct smtpc {
	struct smtpc_params p; /* strings and addr point into this struct's copies */
	struct sockaddr_storage addr;
	char *helo, *peer_name, *unix_path, *auth_user, *auth_pass;
	char peer[400]; /* smtpc_peer */
	smtpc_ready_fn ready;
	void *ready_arg;

	enum smtpc_phase phase;
	struct bufferevent *bev;
	struct event *timer; /* the deadline of the current step */
	struct event *defer; /* runs a result that smtpc_open or smtpc_send found at once */
	long wait_secs;      /* of the current step, for the timeout text */
	const char *wait_what;

	struct reply r; /* the reply being read */
	unsigned r_lines;

	struct ehlo_ext ext;
	int no_starttls; /* SMTPC_TLS_MAY after a failed handshake, or a refused STARTTLS */
	int tls_retried; /* the one cleartext retry was made */
	int auth_login;  /* AUTH LOGIN, the server offering no PLAIN */
	int authed;
	char hello_reply[SMTPC_REPLY_MAX]; /* for the ready callback */
	enum smtpc_tls_outcome tls;
	char tls_info[160];

	int broken; /* unusable once the current message ends */
	int busy;   /* depth of our callbacks on the stack */
	int freeing;
	int deferred_fail; /* defer: a failure of smtpc_open is waiting */
	int deferred_code;
	char deferred_reply[SMTPC_REPLY_MAX];

	struct smtpc_txn txn;
};

/* smtpc.c */
struct evbuffer *smtpc_out(struct smtpc *c);
void smtpc_printf(struct smtpc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Arms the step deadline: secs (clamped to at least 1) and what the
 * timeout text says ("while waiting for the reply to MAIL FROM"). */
void smtpc_arm(struct smtpc *c, long secs, const char *what);
void smtpc_disarm(struct smtpc *c);
/* "code enhanced text" of a server reply, bounded. */
void smtpc_reply_text(const struct reply *r, char *out, size_t outsize);
/* A 4xx (or the given code) of ours: "<code> <enh> <peer>: <text>". */
void smtpc_make_reply(struct smtpc *c, char *out, size_t outsize, int code, const char *enh,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The connection failed with code and reply: reported to whoever waits
 * (the ready callback, or the message's recipients), then unusable. */
void smtpc_fail(struct smtpc *c, int code, const char *reply);
/* Closes the socket: c waits, unusable, for smtpc_close. */
void smtpc_drop(struct smtpc *c);
/* Ends a connection attempt that succeeded. */
void smtpc_ready_ok(struct smtpc *c, int code, const char *reply);
/* Replaces the plain bufferevent with a TLS one, handshake pending. */
int smtpc_start_tls(struct smtpc *c);
/* Connects again (once, SMTPC_TLS_MAY after a failed handshake). */
void smtpc_reconnect(struct smtpc *c);
void smtpc_defer(struct smtpc *c);

/* smtpc_sess.c: the steps from the greeting to ready. */
void smtpc_sess_connected(struct smtpc *c);
void smtpc_sess_reply(struct smtpc *c, const struct reply *r);
/* The EHLO reply line after the first, for the extensions. */
void smtpc_sess_ehlo_line(struct smtpc *c, const char *text, size_t len);
void smtpc_sess_tls_done(struct smtpc *c);
void smtpc_sess_tls_failed(struct smtpc *c, const char *why);

/* smtpc_msg.c: one message. */
void smtpc_msg_reply(struct smtpc *c, const struct reply *r);
void smtpc_msg_writable(struct smtpc *c);
/* The connection failed: every recipient not settled gets reply. */
void smtpc_msg_fail(struct smtpc *c, int code, const char *reply);
/* A result found by smtpc_send itself, run from the loop. */
void smtpc_msg_deferred(struct smtpc *c);
void smtpc_msg_free(struct smtpc *c);

#endif
