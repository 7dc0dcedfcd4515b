/* An asynchronous SMTP and LMTP client (RFC 5321, RFC 2033) on the
 * caller's libevent loop, for the delivery engine.  One struct smtpc is one
 * connection; it carries messages one after another (connection reuse).
 * Nothing here blocks or logs: every outcome comes back as a reply code
 * and a bounded reply text for the caller to act on and log.
 *
 * Reply texts ("550 5.1.1 No such user") are at most SMTPC_REPLY_MAX - 1
 * bytes, NUL-terminated, without control characters; text that came from
 * the server is still outside input and goes into logs through log_value.
 * The texts this client makes itself name the peer as smtpc_peer does, say
 * what failed and when ("421 4.4.2 mx.example[192.0.2.1]:25: timed out
 * after 300s while waiting for the reply to RCPT TO"), and always carry a
 * 4xx code: a failed connection, a timeout, a protocol error or a TLS
 * policy that cannot be met is temporary.
 *
 * Callbacks never run inside smtpc_open, smtpc_send or smtpc_close, only
 * from the event loop; a callback may call any function here, smtpc_close
 * included. */
#ifndef POSTERN_SMTPC_H
#define POSTERN_SMTPC_H

#include "smtp/ehlo.h"

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/socket.h>

enum smtpc_proto {
	SMTPC_SMTP, /* EHLO, HELO when EHLO gets a 5xx */
	SMTPC_LMTP, /* LHLO; one reply per accepted recipient after the data */
};

/* STARTTLS (RFC 3207).  After a handshake the client starts over with
 * EHLO, as RFC 3207 4.2 requires, and the extensions of that reply are
 * the ones that count. */
enum smtpc_tls_mode {
	/* Never STARTTLS. */
	SMTPC_TLS_NONE,
	/* STARTTLS when offered, cleartext otherwise.  The certificate is
	 * verified only to record the outcome: a failed verification still
	 * encrypts.  A non-220 reply to STARTTLS continues in cleartext on
	 * the same connection (it is still in step).  A failed handshake
	 * leaves a connection that cannot go on, so the client connects
	 * again, once, to the same address and delivers in cleartext
	 * without STARTTLS: an attacker able to break the handshake could
	 * as well have removed STARTTLS from the EHLO reply. */
	SMTPC_TLS_MAY,
	/* STARTTLS required (else the connection fails with 4xx), any
	 * certificate accepted. */
	SMTPC_TLS_ENCRYPT,
	/* STARTTLS required, and the chain must verify against the
	 * context's trust store and the certificate must match peer_name
	 * (RFC 6125; IP addresses as iPAddress names); else 4xx, never a
	 * fallback to cleartext.  peer_name is required. */
	SMTPC_TLS_VERIFY,
};

enum smtpc_tls_outcome {
	SMTPC_TLSO_NONE,          /* cleartext */
	SMTPC_TLSO_OPPORTUNISTIC, /* encrypted, certificate not verified */
	SMTPC_TLSO_VERIFIED,      /* encrypted, chain and name verified */
};

/* Seconds allowed for each step (RFC 5321 4.5.3.2 gives the usual values:
 * greeting 300, MAIL 300, RCPT 300, DATA initiation 120, data block 180,
 * final dot 600; the caller chooses).  A value below 1 counts as 1. */
struct smtpc_timeouts {
	long connect;
	long greeting;
	long helo;       /* EHLO/LHLO/HELO, STARTTLS, the TLS handshake, AUTH, RSET */
	long mail;       /* MAIL FROM */
	long rcpt;       /* each RCPT TO */
	long data_init;  /* the 354 to DATA */
	long data_block; /* each write of the message making progress; each non-LAST BDAT reply */
	long data_done;  /* the replies after the final dot or the LAST chunk */
};

struct smtpc_params {
	struct event_base *base;
	enum smtpc_proto proto;
	/* Where to connect: addr/addrlen (copied), or, when unix_path is
	 * not NULL, that unix socket (LMTP to a local server). */
	const struct sockaddr *addr;
	socklen_t addrlen;
	const char *unix_path;
	/* Our name for EHLO/LHLO/HELO. */
	const char *helo;
	/* The server's name (the MX host): SNI, certificate verification,
	 * smtpc_peer; may be NULL. */
	const char *peer_name;
	enum smtpc_tls_mode tls;
	/* A client context (smtpc_tls_ctx_new makes one); a reference is
	 * taken.  Required unless tls is SMTPC_TLS_NONE. */
	SSL_CTX *tls_ctx;
	/* AUTH for a smarthost (RFC 4954): PLAIN when offered, else LOGIN,
	 * and only once the connection is encrypted.  A connection without
	 * TLS, or a server offering neither mechanism, fails with 4xx, and
	 * so does a refused AUTH (a credentials problem is for the operator
	 * to fix, not for the recipients to bounce, as Postfix's
	 * smtp_sasl_auth_soft_bounce).  NULL user: no AUTH. */
	const char *auth_user, *auth_pass;
	struct smtpc_timeouts t;
};

/* Makes a client context: TLS 1.2 or newer, trust anchors from ca_file
 * (PEM) or, when NULL, the system store; certificates are checked by the
 * client per connection as its mode says, never by the handshake itself.
 * NULL with err on failure. */
SSL_CTX *smtpc_tls_ctx_new(const char *ca_file, char *err, size_t errsize);

#define SMTPC_REPLY_MAX 512

struct smtpc_rcpt {
	/* in: "local@domain" */
	const char *addr;
	/* in: NULL, or the NOTIFY= value as given ("SUCCESS,FAILURE",
	 * "NEVER") and the ORCPT= value as given ("rfc822;xtext") */
	const char *dsn_notify, *dsn_orcpt;
	/* out: 2xx delivered, 4xx temporary, 5xx permanent, and the reply
	 * ("550 5.1.1 ...") */
	int code;
	char reply[SMTPC_REPLY_MAX];
};

struct smtpc_msg {
	const char *sender;    /* MAIL FROM; "" for the null reverse-path */
	const char *dsn_envid; /* NULL, or the ENVID= value as given (xtext) */
	const char *dsn_ret;   /* NULL, "FULL" or "HDRS" */
	int eightbit;          /* the body is 8bit: BODY=8BITMIME when offered, else sent as is */
	int smtputf8;          /* the envelope or header needs SMTPUTF8 (RFC 6531) */
	/* The whole message, CRLF lines, not dot-stuffed.  A line of more
	 * than 998 octets (RFC 5321 4.5.3.1.6) is folded on the way out,
	 * as Postfix's smtp_line_length_limit does: after every 998 octets
	 * "\r\n " is inserted, so that a header line becomes a folded one
	 * and MIME damage stays small.  A message not ending in CRLF gets
	 * one. */
	const char *data;
	size_t len;
	struct smtpc_rcpt *rcpts;
	size_t nrcpt;
};

struct smtpc;

/* The outcome of smtpc_open.  code 2xx: c is ready for smtpc_send and
 * reply is the EHLO/LHLO/HELO reply.  4xx/5xx: the connection failed, c
 * is NULL (it is already freed) and reply says why: the server's own
 * reply (a 554 greeting is a 5xx for every recipient of this server), or
 * a 4xx of ours ("451 4.4.1 mx.example[192.0.2.1]:25: connect: Connection
 * refused"). */
typedef void (*smtpc_ready_fn)(void *arg, struct smtpc *c, int code, const char *reply);

/* Starts connecting; ready is called once, later, from the loop.  The
 * strings of p are copied. */
struct smtpc *smtpc_open(const struct smtpc_params *p, smtpc_ready_fn ready, void *arg);

/* The end of one message: every m->rcpts[i] has its code and reply. */
typedef void (*smtpc_sent_fn)(void *arg, struct smtpc *c, struct smtpc_msg *m);

/* Sends m (which, with its strings and data, must stay valid until done
 * runs) over c, which must be ready and not busy with another message; a
 * connection that is no longer usable gives every recipient a 4xx.
 *
 * Before MAIL: a recipient whose address has a control character gets
 * 553 5.1.3, and a sender or DSN value that could not be sent as it is
 * (control characters, or spaces in DSN values) gives every recipient
 * 501 5.5.4; a message over the server's SIZE gets 552 5.3.4 and one that
 * needs SMTPUTF8 from a server that does not offer it 553 5.6.7 (RFC 6531
 * 3.2: never downgraded), all permanent, without a transaction.
 *
 * With PIPELINING (RFC 2920), MAIL, every RCPT and DATA (or the first BDAT
 * chunk) leave in one write and the replies are read in order; without,
 * one command at a time.  A refused MAIL gives every recipient its reply;
 * a refused RCPT its recipient; when no RCPT was accepted the transaction
 * is reset with RSET and no data is sent.  With CHUNKING (RFC 3030) the
 * message goes as BDAT chunks of about 64 KiB, the last one LAST (with
 * PIPELINING the first goes with MAIL and RCPT, and the rest follow
 * without waiting once it was taken); without, as DATA, dot-stuffed.
 * BODY=8BITMIME, SIZE= and SMTPUTF8 go on MAIL when offered and needed;
 * the DSN parameters (RFC 3461) only when DSN is offered.  After the
 * data, the one reply (SMTP) or one per accepted recipient in RCPT order
 * (LMTP, RFC 2033 4.2) settles the recipients.  A timeout, a lost
 * connection or a protocol error gives every recipient not yet settled a
 * 4xx and leaves c unusable; so does a 421 reply.
 *
 * done runs once, from the loop.  Afterwards smtpc_usable says whether c
 * can take the next message (no RSET is needed after a finished
 * transaction). */
void smtpc_send(struct smtpc *c, struct smtpc_msg *m, smtpc_sent_fn done, void *arg);

/* Connected, ready, no message in flight, nothing failed. */
int smtpc_usable(const struct smtpc *c);

/* Ends c: a usable connection gets QUIT and is freed once that has been
 * written (or after 2 s); anything else is freed at once, a message or
 * connection attempt in flight is abandoned.  No callback runs after
 * this. */
void smtpc_close(struct smtpc *c);

enum smtpc_tls_outcome smtpc_tls_outcome(const struct smtpc *c);
/* "none", "opportunistic", "verified". */
const char *smtpc_tls_outcome_name(enum smtpc_tls_outcome o);
/* For logs: "version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 verify=ok",
 * with verify=<OpenSSL's reason, spaces and all> when the certificate did
 * not verify; "" in cleartext.  OpenSSL's words only, nothing the server
 * wrote. */
const char *smtpc_tls_info(const struct smtpc *c);
/* "name[addr]:port", "[addr]:port" without a peer_name, "name[unix:/path]"
 * for a unix socket; peer_name is the caller's, the rest numeric. */
const char *smtpc_peer(const struct smtpc *c);
/* The extensions of the last EHLO/LHLO reply (all zero after HELO). */
const struct ehlo_ext *smtpc_ext(const struct smtpc *c);

#endif
