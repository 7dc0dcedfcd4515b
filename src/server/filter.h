/* Filters: every check of a session (sender checks, account checks,
 * DKIM/ARC/DMARC, signing, and what comes later) is a filter that the
 * session tells each stage.  A filter sees a read-only view of the session
 * and its transaction, may start asynchronous work and say that it waits,
 * may refuse the command at hand, contributes to the verdict, to
 * Authentication-Results and to the header fields we add, and writes its
 * own log line.  The session alone speaks SMTP; no filter knows struct
 * session. */
#ifndef POSTERN_FILTER_H
#define POSTERN_FILTER_H

#include "core/buf.h"
#include "core/config.h"
#include "policy/verdict.h"

#include <stddef.h>

struct event_base;
struct dns_resolver;
struct pool;
struct accounts;
struct sender_conf;
struct dkim_keyring;
struct dkim_keycache;
struct dmarc_batch;
struct rcpt_keys;
struct txn;

/* The stages, in the order a session meets them. */
enum filter_stage {
	FS_CONNECT, /* the client's address and rDNS are known */
	FS_TLS,     /* a TLS handshake has completed */
	FS_HELO,    /* EHLO/HELO accepted */
	FS_AUTH,    /* SMTP AUTH succeeded */
	FS_MAIL,    /* MAIL FROM, before it is accepted: may refuse */
	FS_RCPT,    /* one RCPT TO, before it is accepted: may refuse */
	FS_DATA,    /* DATA or the first BDAT: the body begins */
	FS_HEADER,  /* the message's header section is complete */
	FS_EOM,     /* end of message, before the verdict: may refuse */
	FS_SEAL,    /* the message is accepted and the header fields we add are
	               known (txn fields, authres): cannot refuse */
	FS_RESET,   /* the transaction ends (RSET, new MAIL, after EOM) */
	FS_COUNT
};

/* What every session of a worker shares. */
struct filter_env {
	const struct config *cfg;
	struct event_base *base;
	struct dns_resolver *dns;
	struct pool *pool; /* blocking work (SQLite, signing) */
	struct accounts *accounts;
	const struct sender_conf *sender;
	const struct dkim_keyring *keys;
	struct dkim_keycache *dkim_keys;
	struct dmarc_batch *dmarc; /* NULL: dmarc.reports is off */
	/* The keys of our BATV tags and SRS addresses, for recipients. */
	const struct rcpt_keys *rcpt_keys;
};

enum listener_role_view { VIEW_MX, VIEW_SUBMISSION, VIEW_SUBMISSIONS };

/* The session as a filter sees it; valid during the call only. */
struct filter_view {
	const char *sid;
	const char *ip;
	const char *rdns; /* confirmed PTR name; "" when none, or not known yet
	                     before FS_EOM */
	const char *helo; /* "" before EHLO/HELO */
	int tls;
	const char *auth_user; /* "" when not authenticated */
	int submission;        /* a submission listener (587 or 465) */
	const struct txn *txn; /* NULL outside a transaction */
	/* FS_RCPT: the recipient asked about, the mailbox it goes to, whether
	 * its domain is ours, and whether it is postmaster or abuse. */
	const char *rcpt;
	const char *rcpt_mailbox;
	int rcpt_local;
	int rcpt_exempt;
	/* What earlier filters published (publish): the SPF result DMARC
	 * evaluates (RFC 7489 4.1), "" when nobody checked it. */
	const char *spf_result, *spf_domain, *spf_scope;
};

/* What a filter's stage call says about the command at hand.  A refusal
 * (code 4xx/5xx) is the command's reply; the first filter to refuse
 * wins and the later ones are not asked. */
struct filter_reply {
	int code; /* 0: no objection */
	const char *ecode;
	char text[640];
};
void filter_refuse(struct filter_reply *r, int code, const char *ecode, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A stage in progress.  A filter that waits keeps the call and ends it
 * exactly once with filter_call_done, from the event loop, unless it is
 * detached first (it then never calls back); filters touch it only
 * through the two functions below.  The rest is the runner's
 * (server/stages.c), which tells the next filters through resume. */
struct filter_call {
	enum filter_stage stage;
	size_t next; /* the filter to tell next */
	int busy;    /* a stage is in progress */
	struct filter_reply reply;
	void (*resume)(struct filter_call *call);
};
struct filter_reply *filter_call_reply(struct filter_call *call);
void filter_call_done(struct filter_call *call);

enum filter_status { FILTER_GO, FILTER_WAIT };

struct filter_ops {
	const char *name;
	/* At FS_CONNECT: the filter's state for this session, or NULL when
	 * the filter has nothing to do for it. */
	void *(*attach)(const struct filter_env *env, const struct filter_view *v);
	/* Told each stage; may set a refusal in call's reply, or start work
	 * and return FILTER_WAIT. */
	enum filter_status (*stage)(void *st, enum filter_stage stage, const struct filter_view *v,
	                            struct filter_call *call);
	/* Fills in the view what later filters may use (spf_*). */
	void (*publish)(void *st, struct filter_view *v);
	/* The message's bytes as stored (unstuffed, CRLF), header included. */
	void (*body)(void *st, const void *p, size_t n);
	/* Adds this filter's results to the verdict of the command at hand
	 * (FS_RCPT, FS_EOM). */
	void (*verdict)(void *st, enum filter_stage stage, struct verdict *v);
	/* The decision the session took at FS_EOM (exempt: every recipient is
	 * postmaster or abuse), for filters that record it. */
	void (*decided)(void *st, enum policy_action action, int exempt);
	/* Authentication-Results: resinfo entries (each ";\r\n\t...") and
	 * properties of the x-postern method (each " ptype.prop=value"). */
	int (*authres)(void *st, const struct filter_view *v, struct buf *entries,
	               struct buf *props);
	/* Header fields the filter adds on top of the message (RFC 6376 5.6:
	 * signatures before the trace), and those that go after the
	 * Authentication-Results field. */
	int (*fields_top)(void *st, struct buf *out);
	int (*fields_bottom)(void *st, struct buf *out);
	/* Header fields made at FS_SEAL over the message with all the others
	 * (an ARC set, RFC 8617 5.1), which go on top of them. */
	int (*fields_seal)(void *st, struct buf *out);
	/* 1 when the filter's results show the transaction's envelope sender
	 * to be genuine (an SPF pass for its domain, an aligned DKIM pass),
	 * so that a bounce to it is no backscatter; asked once FS_EOM is
	 * over.  A filter that cannot tell says 0. */
	int (*sender_verified)(void *st);
	/* One log line with the filter's results of the transaction. */
	void (*log)(void *st, const struct filter_view *v, const char *queue_id);
	/* Cancels everything the filter started; nothing calls back after. */
	void (*detach)(void *st);
};

/* The table, in the order the filters are told each stage. */
extern const struct filter_ops *const filter_table[];
extern const size_t filter_count;

extern const struct filter_ops filter_sender;
extern const struct filter_ops filter_accounts;
extern const struct filter_ops filter_msgauth;

#endif
