/* The SMTP command table (RFC 5321 4.1, RFC 1870, 2920, 3030, 3207, 4954,
 * 6152, 6531): for each verb the states it is allowed in, its
 * preconditions, the check of its arguments, the stage the filters are
 * told (policy), and what proceeds once they have gone on. */
#include "server/commands.h"
#include "core/alias.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/netlist.h"
#include "core/pool.h"
#include "core/received.h"
#include "core/xmalloc.h"
#include "policy/sender.h"
#include "queue/rcpt_rewrite.h"
#include "queue/spool.h"
#include "server/listener.h"
#include "server/sasl.h"
#include "server/session.h"
#include "server/trace.h"
#include "server/txn.h"
#include "store/accounts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S_(st) (1u << (st))
#define ST_SESSION (S_(ST_HELO) | S_(ST_READY) | S_(ST_MAIL) | S_(ST_RCPT))

/* Preconditions, each with its own reply. */
enum {
	PRE_SUBMISSION = 1,      /* only on the submission listeners (503) */
	PRE_TLS = 2,             /* only under TLS (530 5.7.0) */
	PRE_NOT_AUTHED = 4,      /* not once authenticated (503) */
	PRE_AUTH_SUBMISSION = 8, /* on submission listeners, only once authenticated (530) */
};

struct command {
	enum smtp_verb verb;
	unsigned states; /* where the verb is allowed; elsewhere 503 */
	unsigned pre;
	/* Checks the arguments and prepares what the filters see; returns 0
	 * to go on, -1 when it has replied. */
	int (*check)(struct session *s, const struct smtp_cmd *c);
	int has_stage;
	enum filter_stage stage; /* told between check and proceed */
	/* The reply, or the refusal a filter gave (r->code != 0). */
	void (*proceed)(struct session *s, const struct filter_reply *r);
	/* Instead of the three, for the verbs whose work has steps of its
	 * own (AUTH's exchange, BDAT's chunks). */
	void (*handler)(struct session *s, const struct smtp_cmd *c);
};

static const char *hostname(const struct session *s)
{
	return s->env->shared.cfg->hostname;
}

static int role_is_submission(const struct session *s)
{
	return s->listener->conf->role != ROLE_MX;
}

static void reply_refusal(struct session *s, const struct filter_reply *r)
{
	session_reply(s, r->code, r->ecode, "%s", r->text);
}

void commands_greet(struct session *s)
{
	const struct config *cfg = s->env->shared.cfg;

	s->state = ST_HELO;
	/* Limits that are known at connect time are answered with the banner
	 * (RFC 5321 3.1: a 554 greeting instead of 220). */
	if (s->conns_total > (unsigned)cfg->max_connections) {
		session_reply(s, 421, "4.7.0", "%s Too many connections, try again later",
		              hostname(s));
		session_close_after(s);
		return;
	}
	if (s->conns_ip > (unsigned)cfg->max_connections_per_ip) {
		session_reply(s, 421, "4.7.0", "%s Too many connections from %s, try again later",
		              hostname(s), s->ip);
		session_close_after(s);
		return;
	}
	session_reply(s, 220, NULL, "%s ESMTP postern", hostname(s));
	session_resume(s);
}

static int check_helo(struct session *s, const struct smtp_cmd *c)
{
	int esmtp = c->verb == CMD_EHLO;

	if (c->arglen == 0) {
		session_reply(s, 501, "5.5.4", "Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
		return -1;
	}
	if (c->arglen >= sizeof(s->helo) || !addr_valid_domain(c->arg, c->arglen, 1)) {
		session_reply(s, 501, "5.5.4", "Invalid domain name or address literal");
		return -1;
	}
	session_end_txn(s);
	memcpy(s->helo, c->arg, c->arglen);
	s->helo[c->arglen] = '\0';
	s->esmtp = esmtp;
	s->state = ST_READY;
	return 0;
}

static void proceed_helo(struct session *s, const struct filter_reply *r)
{
	const struct config *cfg = s->env->shared.cfg;

	if (!s->esmtp) {
		session_reply(s, 250, NULL, "%s", hostname(s));
		return;
	}
	char text[1024];
	int n = snprintf(text, sizeof(text),
	                 "%s Hello %s [%s]\nPIPELINING\nSIZE %ld\n8BITMIME\nENHANCEDSTATUSCODES\n"
	                 "SMTPUTF8\nCHUNKING\nDSN",
	                 hostname(s), s->helo, s->ip, cfg->max_message_size);
	if (s->listener->tls && !s->tls)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "\nSTARTTLS");
	/* RFC 8314 and RFC 4954 14: credentials only under TLS, and only on
	 * the submission ports: the MX relays for nobody. */
	if (role_is_submission(s) && s->tls && !s->auth_user[0])
		snprintf(text + n, sizeof(text) - (size_t)n, "\nAUTH PLAIN LOGIN");
	session_reply(s, 250, NULL, "%s", text);
}

static void reply_param_error(struct session *s, enum param_status st, enum addr_status ast)
{
	switch (st) {
	case PARAM_ADDR:
		if (ast == ADDR_ROUTE)
			session_reply(s, 553, "5.1.3",
			              "Source routes, %%-hack and bang paths are "
			              "not accepted");
		else if (ast == ADDR_TOO_LONG)
			session_reply(s, 501, "5.1.3", "Address too long");
		else if (ast == ADDR_UTF8_NOT_ALLOWED)
			session_reply(s, 553, "5.6.7", "Non-ASCII address without SMTPUTF8");
		else
			session_reply(s, 501, "5.1.3", "Bad address syntax");
		return;
	case PARAM_UNKNOWN:
		session_reply(s, 555, "5.5.4", "Unsupported or duplicate parameter");
		return;
	case PARAM_BAD_VALUE:
		session_reply(s, 501, "5.5.4", "Bad parameter value");
		return;
	default:
		session_reply(s, 501, "5.5.4", "Syntax error in parameters");
		return;
	}
}

/* Below limits.min_free_space in state_dir.  Asked of the file system at
 * most once a second: MAIL is on the hot path, and statvfs is a system
 * call on the event loop's thread. */
static int disk_low(const struct config *cfg)
{
	static time_t asked;
	static int low;
	time_t now = time(NULL);

	if (cfg->min_free_space <= 0)
		return 0;
	if (now != asked) {
		asked = now;
		low = fs_free_space(cfg->state_dir) < (unsigned long long)cfg->min_free_space;
	}
	return low;
}

static int check_mail(struct session *s, const struct smtp_cmd *c)
{
	const struct config *cfg = s->env->shared.cfg;
	struct mail_params mp;
	char addr[ADDR_PATH_MAX + 1];
	unsigned offer =
	    MAIL_OFFER_SMTPUTF8 | MAIL_OFFER_DSN | (role_is_submission(s) ? MAIL_OFFER_AUTH : 0);

	enum param_status st = cmd_parse_mail(c->arg, c->arglen, offer, &mp);
	if (st != PARAM_OK) {
		reply_param_error(s, st, mp.addr_status);
		return -1;
	}
	/* RFC 1870 6.2: refuse early when the declared size is too big. */
	if (mp.size > (uint64_t)cfg->max_message_size) {
		session_reply(s, 552, "5.3.4", "Message size exceeds fixed limit of %ld bytes",
		              cfg->max_message_size);
		return -1;
	}
	if (addr_format(&mp.from, addr, sizeof(addr)) < 0) {
		session_reply(s, 501, "5.1.7", "Bad sender address");
		return -1;
	}
	/* Our own users may only send as addresses they own (the accounts
	 * filter); the null sender is nobody's. */
	if (s->auth_user[0] && mp.from.is_null) {
		session_reply(s, 553, "5.7.1", "<>: Sender address rejected: not owned by user %s",
		              s->auth_user);
		return -1;
	}
	/* Like Postfix's queue_minfree: a message that cannot be stored is
	 * refused before it is sent (RFC 3463 4.3.1: mail system full). */
	if (disk_low(cfg)) {
		log_warn("event=disk_low sid=%s state_dir=%s min_free_space=%lld", s->sid,
		         cfg->state_dir, (long long)cfg->min_free_space);
		session_reply(s, 452, "4.3.1", "Insufficient system storage, try again later");
		return -1;
	}
	s->txn = txn_new();
	s->txn->mail = mp;
	snprintf(s->txn->mail_from, sizeof(s->txn->mail_from), "%s", addr);
	return 0;
}

static void proceed_mail(struct session *s, const struct filter_reply *r)
{
	if (r->code) {
		reply_refusal(s, r);
		session_end_txn(s);
		return;
	}
	s->state = ST_MAIL;
	session_reply(s, 250, "2.1.0", "Ok");
}

/* The local part of addr ("local@domain") is word, in any case. */
static int local_part_is(const char *addr, const char *word)
{
	const char *at = strrchr(addr, '@');
	size_t n = strlen(word);

	return at != NULL && (size_t)(at - addr) == n && strncasecmp(addr, word, n) == 0;
}

static int is_local_address(const struct config *cfg, const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at != NULL && config_domain(cfg, at + 1) != NULL;
}

/* policy.relay_networks: clients of the MX listener that may send to any
 * domain without AUTH, as Postfix's permit_mynetworks lets them. */
static int relay_client(const struct session *s)
{
	const struct config *cfg = s->env->shared.cfg;
	struct ipaddr a;

	return !role_is_submission(s) && cfg->relay.n > 0 && ipaddr_parse(s->ip, &a) == 0 &&
	       netlist_contains(&cfg->relay, &a);
}

static const char *batv_refusal(enum batv_result r)
{
	return r == BATV_NONE ? "no tag" : r == BATV_EXPIRED ? "tag expired" : "tag not valid";
}

/* Our own tags on a recipient at a local domain (rcpt_rewrite.h): 0 with
 * the address it stands for in to, -1 when it has replied. */
static int rcpt_untag(struct session *s, const char *addr, char *to, size_t tosize)
{
	const struct config *cfg = s->env->shared.cfg;
	struct rcpt_rewrite rw;
	char a[LOG_VALUE_SIZE(ADDR_PATH_MAX)], b[LOG_VALUE_SIZE(ADDR_PATH_MAX)];

	switch (rcpt_rewrite(cfg, s->env->shared.rcpt_keys, addr, s->txn->mail.from.is_null,
	                     time(NULL), &rw)) {
	case RCPT_REFUSE_BATV:
		/* draft-levine-smtp-batv-01 4.3: a bounce to an address that never
		 * sent mail is backscatter. */
		session_reply(s, 550, "5.7.1",
		              "<%s>: Recipient address rejected: not used as a sender by us, so "
		              "this cannot be a bounce of our mail (BATV: %s)",
		              addr, batv_refusal(rw.batv));
		return -1;
	case RCPT_REFUSE_SRS:
		session_reply(s, 550, "5.7.1", "<%s>: Recipient address rejected: %s", addr,
		              rw.srs == SRS_EXPIRED ? "SRS address expired"
		                                    : "not a valid SRS address of ours");
		return -1;
	case RCPT_GO:
		break;
	}
	if (rw.srs != SRS_NONE || rw.batv != BATV_NONE)
		log_info("event=rcpt_untagged sid=%s rcpt=%s to=%s srs=%s batv=%s", s->sid,
		         log_value(a, sizeof(a), addr), log_value(b, sizeof(b), rw.addr),
		         srs_result_text(rw.srs), batv_result_text(rw.batv));
	snprintf(to, tosize, "%s", rw.addr);
	return 0;
}

static int check_rcpt(struct session *s, const struct smtp_cmd *c)
{
	const struct config *cfg = s->env->shared.cfg;
	struct rcpt_params rp;
	char addr[ADDR_PATH_MAX + 1], to[ADDR_PATH_MAX + 1];

	/* RFC 3030 2: the recipients are fixed once the first chunk is in. */
	if (s->txn->body) {
		session_reply(s, 503, "5.5.1", "RCPT not allowed during BDAT");
		return -1;
	}
	if (s->txn->nrcpt >= (size_t)cfg->max_recipients) {
		/* RFC 5321 4.5.3.1.10 */
		session_reply(s, 452, "4.5.3", "Too many recipients");
		return -1;
	}
	enum param_status st =
	    cmd_parse_rcpt(c->arg, c->arglen,
	                   MAIL_OFFER_DSN | (s->txn->mail.smtputf8 ? MAIL_OFFER_SMTPUTF8 : 0), &rp);
	if (st != PARAM_OK) {
		reply_param_error(s, st, rp.addr_status);
		return -1;
	}
	s->txn->rcpt = rp;
	s->txn->rcpt_forwarded = 0;
	if (rp.to.domain[0] == '\0') {
		/* RFC 5321 4.1.1.3: <Postmaster> without a domain. */
		snprintf(s->rcpt, sizeof(s->rcpt), "postmaster");
		snprintf(s->rcpt_mailbox, sizeof(s->rcpt_mailbox), "%s", cfg->postmaster);
		s->rcpt_local = 1;
		s->rcpt_exempt = 1;
		s->txn->rcpt_forwarded = !is_local_address(cfg, cfg->postmaster);
		return 0;
	}
	if (addr_format(&rp.to, addr, sizeof(addr)) < 0) {
		session_reply(s, 501, "5.1.3", "Bad recipient address");
		return -1;
	}
	const struct domain_conf *dom =
	    rp.to.domain_is_literal ? NULL : config_domain(cfg, rp.to.domain);
	if (dom == NULL && !s->auth_user[0] && !relay_client(s)) {
		session_reply(s, 554, "5.7.1", "<%s>: Relay access denied", addr);
		return -1;
	}
	snprintf(to, sizeof(to), "%s", addr);
	if (dom != NULL && rcpt_untag(s, addr, to, sizeof(to)) < 0)
		return -1;
	snprintf(s->rcpt, sizeof(s->rcpt), "%s", addr);
	/* A bounce to our SRS address goes on to a remote address: a relay
	 * on behalf of one of our domains, open to anyone since only we can
	 * make such an address. */
	s->rcpt_local = dom != NULL;
	s->txn->rcpt_forwarded = dom != NULL && !is_local_address(cfg, to);
	/* RFC 5321 4.5.1 and RFC 2142: these exist at every local domain,
	 * whatever the accounts say, and are reached whatever the verdict. */
	s->rcpt_exempt = dom != NULL && !s->txn->rcpt_forwarded &&
	                 (local_part_is(to, "postmaster") || local_part_is(to, "abuse"));
	if (s->rcpt_exempt) {
		const char *box = local_part_is(to, "abuse") ? cfg->abuse : cfg->postmaster;
		snprintf(s->rcpt_mailbox, sizeof(s->rcpt_mailbox), "%s", box);
		s->txn->rcpt_forwarded = !is_local_address(cfg, box);
	} else {
		snprintf(s->rcpt_mailbox, sizeof(s->rcpt_mailbox), "%s", to);
	}
	return 0;
}

static void rcpt_accept(struct session *s)
{
	txn_add_rcpt(s->txn, s->rcpt_mailbox, s->rcpt, s->rcpt_exempt, &s->txn->rcpt,
	             s->txn->rcpt_forwarded);
	s->state = ST_RCPT;
	session_reply(s, 250, "2.1.5", "Ok");
}

/* What a local recipient stands for: its aliases expanded and the
 * mailboxes looked up (core/alias.h), on the pool. */
struct mailbox_job {
	struct session *s;
	const struct config *cfg;
	struct accounts *accounts;
	char addr[ADDR_PATH_MAX + 1];
	size_t max; /* final addresses the message still has room for */
	enum alias_status status;
	struct alias_expansion e;
};

static int mailbox_exists(void *ctx, const char *addr)
{
	struct mailbox_job *j = ctx;
	enum accounts_status st = accounts_exists(j->accounts, addr);

	return st == ACCOUNTS_OK ? 1 : st == ACCOUNTS_NOT_FOUND ? 0 : -1;
}

static void mailbox_work(void *arg)
{
	struct mailbox_job *j = arg;
	j->status = alias_expand(j->cfg, j->addr, j->max, mailbox_exists, j, &j->e);
}

/* Each final address is a recipient of its own, with the address the
 * client gave as its original recipient. */
static void rcpt_accept_expansion(struct session *s, const struct mailbox_job *j)
{
	size_t forwarded = 0;

	for (size_t i = 0; i < j->e.n; i++) {
		txn_add_rcpt(s->txn, j->e.targets[i].addr, s->rcpt, 0, &s->txn->rcpt,
		             j->e.targets[i].forwarded);
		forwarded += j->e.targets[i].forwarded != 0;
	}
	if (j->e.n != 1 || strcasecmp(j->e.targets[0].addr, j->addr) != 0) {
		char a[LOG_VALUE_SIZE(ADDR_PATH_MAX)];
		log_info("event=alias sid=%s rcpt=%s addresses=%zu forwarded=%zu", s->sid,
		         log_value(a, sizeof(a), s->rcpt), j->e.n, forwarded);
	}
	s->state = ST_RCPT;
	session_reply(s, 250, "2.1.5", "Ok");
}

/* An address of the alias tables goes to the log, never to the client. */
static void log_alias_problem(const struct session *s, const struct mailbox_job *j,
                              const char *what)
{
	char a[LOG_VALUE_SIZE(ADDR_PATH_MAX)], b[LOG_VALUE_SIZE(ADDR_PATH_MAX)];

	log_warn("event=%s sid=%s rcpt=%s address=%s", what, s->sid,
	         log_value(a, sizeof(a), s->rcpt), log_value(b, sizeof(b), j->e.culprit));
}

static void mailbox_done(void *arg)
{
	struct mailbox_job *j = arg;
	struct session *s = j->s;

	if (session_release(s)) {
		alias_expansion_free(&j->e);
		free(j);
		return;
	}
	switch (j->status) {
	case ALIAS_OK:
		rcpt_accept_expansion(s, j);
		break;
	case ALIAS_UNKNOWN:
		/* An alias whose own address is unknown says so, as its recipient
		 * would if given directly. */
		if (strcasecmp(j->e.culprit, j->addr) != 0)
			log_alias_problem(s, j, "alias_unknown_address");
		session_reply(s, 550, "5.1.1", "<%s>: Recipient address rejected: User unknown",
		              s->rcpt);
		break;
	case ALIAS_LOOP:
		/* RFC 3463 5.4.6: routing loop detected. */
		log_alias_problem(s, j, "alias_loop");
		session_reply(s, 550, "5.4.6", "<%s>: Recipient address rejected: alias loop",
		              s->rcpt);
		break;
	case ALIAS_TOO_MANY:
		/* RFC 5321 4.5.3.1.10, as for recipients given one by one. */
		session_reply(s, 452, "4.5.3", "<%s>: Too many recipients", s->rcpt);
		break;
	case ALIAS_TEMPFAIL:
		session_reply(s, 451, "4.3.0", "<%s>: Temporary lookup failure", s->rcpt);
		break;
	}
	alias_expansion_free(&j->e);
	free(j);
	session_resume(s);
}

static void proceed_rcpt(struct session *s, const struct filter_reply *r)
{
	if (r->code) {
		reply_refusal(s, r);
		return;
	}
	/* The verdict of every filter, given here where postmaster and abuse
	 * can still be let through. */
	if (!s->rcpt_exempt) {
		struct verdict v;
		struct verdict_reply vr;
		stages_verdict(&s->stages, FS_RCPT, &v);
		if (verdict_decide(&v, &s->env->shared.cfg->policy, &vr) != PA_ACCEPT) {
			session_reply(s, vr.code, vr.ecode, "<%s>: %s", s->rcpt, vr.text);
			return;
		}
	}
	if (!s->rcpt_local || s->rcpt_exempt || s->txn->rcpt_forwarded) {
		rcpt_accept(s);
		return;
	}
	struct mailbox_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->cfg = s->env->shared.cfg;
	j->accounts = s->env->shared.accounts;
	j->max = (size_t)j->cfg->max_recipients - s->txn->nrcpt;
	snprintf(j->addr, sizeof(j->addr), "%s", s->rcpt_mailbox);
	session_hold(s);
	session_wait(s);
	pool_submit(s->env->shared.pool, mailbox_work, mailbox_done, j);
}

/* The body is stored as it arrives; our own header fields are known only
 * at its end and are kept beside it (spool_msg.headers). */
static void body_begin(struct session *s)
{
	id_new(s->txn->queue_id);
	s->txn->body = spool_body_new(s->env->spool, s->txn->queue_id);
}

static int check_data(struct session *s, const struct smtp_cmd *c)
{
	const struct config *cfg = s->env->shared.cfg;

	if (c->arglen) {
		session_reply(s, 501, "5.5.4", "DATA takes no arguments");
		return -1;
	}
	if (s->txn->body) {
		/* RFC 3030 2: DATA after BDAT in one transaction is an error. */
		session_reply(s, 503, "5.5.1", "DATA not allowed after BDAT");
		return -1;
	}
	body_begin(s);
	data_reader_init(&s->txn->data, (size_t)cfg->max_line_length,
	                 (uint64_t)cfg->max_message_size);
	return 0;
}

static void proceed_data(struct session *s, const struct filter_reply *r)
{
	s->state = ST_DATA;
	session_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

static void bdat_go(struct session *s)
{
	struct txn *t = s->txn;

	s->state = ST_BDAT;
	if (t->bdat_left == 0) {
		s->state = ST_RCPT;
		if (t->bdat_last)
			commands_message_end(s, t->bdat_failed ? DATA_ERR_NONE
			                                       : data_bdat_finish(&t->bdat));
		else
			session_reply(s, 250, "2.0.0", "0 octets received");
	}
}

static void bdat_begun(struct session *s, const struct filter_reply *r)
{
	s->waiting = 0;
	bdat_go(s);
	if (!s->waiting)
		session_resume(s);
}

static void cmd_bdat(struct session *s, const struct smtp_cmd *c)
{
	uint64_t size;
	int last;

	if (cmd_parse_bdat(c->arg, c->arglen, &size, &last) < 0) {
		/* RFC 3030 4.2: the chunk size is unknown, so the session can no
		 * longer be kept in step. */
		session_reply(s, 501, "5.5.4", "Syntax: BDAT size [LAST]");
		session_close_after(s);
		return;
	}
	struct txn *t = s->txn;
	t->bdat_left = size;
	t->bdat_last = last;
	if (t->body == NULL) {
		body_begin(s);
		data_bdat_init(&t->bdat, (uint64_t)s->env->shared.cfg->max_message_size);
		session_wait(s);
		stages_run(&s->stages, FS_DATA, bdat_begun);
		return;
	}
	bdat_go(s);
}

static void proceed_rset(struct session *s, const struct filter_reply *r)
{
	session_end_txn(s);
	if (s->state != ST_HELO)
		s->state = ST_READY;
	session_reply(s, 250, "2.0.0", "Ok");
}

static void proceed_noop(struct session *s, const struct filter_reply *r)
{
	session_reply(s, 250, "2.0.0", "Ok");
}

static void proceed_quit(struct session *s, const struct filter_reply *r)
{
	session_reply(s, 221, "2.0.0", "%s closing connection", hostname(s));
	session_close_after(s);
}

static void proceed_help(struct session *s, const struct filter_reply *r)
{
	session_reply(s, 214, "2.0.0",
	              "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT "
	              "HELP VRFY STARTTLS AUTH");
}

static void proceed_vrfy(struct session *s, const struct filter_reply *r)
{
	/* RFC 5321 3.5.3: 252 so that nobody can enumerate our users. */
	session_reply(s, 252, "2.5.0",
	              "Cannot VRFY user, but will accept message and attempt "
	              "delivery");
}

static void proceed_expn(struct session *s, const struct filter_reply *r)
{
	session_reply(s, 502, "5.5.1", "EXPN not available");
}

static int check_starttls(struct session *s, const struct smtp_cmd *c)
{
	if (s->listener->tls == NULL || s->tls) {
		session_reply(s, 503, "5.5.1", s->tls ? "Already using TLS" : "TLS not available");
		return -1;
	}
	if (c->arglen) {
		session_reply(s, 501, "5.5.4", "STARTTLS takes no arguments");
		return -1;
	}
	return 0;
}

static void proceed_starttls(struct session *s, const struct filter_reply *r)
{
	session_reply(s, 220, "2.0.0", "Ready to start TLS");
	session_start_tls(s);
}

static void cmd_auth(struct session *s, const struct smtp_cmd *c)
{
	sasl_start(s, c->arg, c->arglen);
}

#define STAGE(st) .has_stage = 1, .stage = (st)
static const struct command command_table[] = {
    {CMD_EHLO, ST_SESSION, .check = check_helo, STAGE(FS_HELO), .proceed = proceed_helo},
    {CMD_HELO, ST_SESSION, .check = check_helo, STAGE(FS_HELO), .proceed = proceed_helo},
    {CMD_MAIL, S_(ST_READY), PRE_AUTH_SUBMISSION, check_mail, STAGE(FS_MAIL),
     .proceed = proceed_mail},
    {CMD_RCPT, S_(ST_MAIL) | S_(ST_RCPT), .check = check_rcpt, STAGE(FS_RCPT),
     .proceed = proceed_rcpt},
    {CMD_DATA, S_(ST_RCPT), .check = check_data, STAGE(FS_DATA), .proceed = proceed_data},
    {CMD_BDAT, S_(ST_RCPT), .handler = cmd_bdat},
    {CMD_RSET, ST_SESSION, .proceed = proceed_rset},
    {CMD_NOOP, ST_SESSION, .proceed = proceed_noop},
    {CMD_QUIT, ST_SESSION, .proceed = proceed_quit},
    {CMD_HELP, ST_SESSION, .proceed = proceed_help},
    {CMD_VRFY, ST_SESSION, .proceed = proceed_vrfy},
    {CMD_EXPN, ST_SESSION, .proceed = proceed_expn},
    {CMD_STARTTLS, S_(ST_READY), .check = check_starttls, .proceed = proceed_starttls},
    {CMD_AUTH, S_(ST_READY), PRE_SUBMISSION | PRE_TLS | PRE_NOT_AUTHED, .handler = cmd_auth},
};

static void reply_bad_sequence(struct session *s, const struct smtp_cmd *c)
{
	if (s->state == ST_HELO)
		session_reply(s, 503, "5.5.1", "Send EHLO or HELO first");
	else if (c->verb == CMD_RCPT)
		session_reply(s, 503, "5.5.1", "Need MAIL before RCPT");
	else if (c->verb == CMD_DATA || c->verb == CMD_BDAT)
		session_reply(s, 503, "5.5.1", "Need RCPT before %s",
		              c->verb == CMD_DATA ? "DATA" : "BDAT");
	else
		session_reply(s, 503, "5.5.1", "Bad sequence of commands");
	if (c->verb == CMD_BDAT) {
		/* The chunk follows anyway and cannot be kept in step. */
		uint64_t size;
		int last;
		if (cmd_parse_bdat(c->arg, c->arglen, &size, &last) == 0 && size > 0)
			session_close_after(s);
	}
}

/* Returns 0 when the preconditions hold, else replies. */
static int preconditions(struct session *s, unsigned pre)
{
	if ((pre & PRE_SUBMISSION) && !role_is_submission(s)) {
		session_reply(s, 503, "5.5.1", "AUTH not available on this port");
		return -1;
	}
	if ((pre & PRE_TLS) && !s->tls) {
		session_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
		return -1;
	}
	if ((pre & PRE_NOT_AUTHED) && s->auth_user[0]) {
		session_reply(s, 503, "5.5.1", "Already authenticated");
		return -1;
	}
	if ((pre & PRE_AUTH_SUBMISSION) && role_is_submission(s) && !s->auth_user[0]) {
		session_reply(s, 530, "5.7.0", "Authentication required");
		return -1;
	}
	return 0;
}

static void command_proceed(struct session *s, const struct filter_reply *r)
{
	const struct command *cmd = s->command_waiting;
	s->command_waiting = NULL;
	/* The stage's wait is over; proceed may start another. */
	s->waiting = 0;
	cmd->proceed(s, r);
	if (!s->waiting)
		session_resume(s);
}

void commands_line(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd c;

	if (s->state == ST_AUTH) {
		sasl_continue(s, line, len);
		return;
	}
	if (s->draining && (s->state == ST_HELO || s->state == ST_READY)) {
		session_reply(s, 421, "4.3.2", "%s Service shutting down", hostname(s));
		session_close_after(s);
		return;
	}
	if (cmd_parse(line, len, &c) < 0) {
		session_reply(s, 500, "5.5.2", "Syntax error, command unrecognized");
		return;
	}
	for (size_t i = 0; i < sizeof(command_table) / sizeof(command_table[0]); i++) {
		const struct command *cmd = &command_table[i];
		if (cmd->verb != c.verb)
			continue;
		if (!(cmd->states & S_(s->state))) {
			reply_bad_sequence(s, &c);
			return;
		}
		if (preconditions(s, cmd->pre) < 0)
			return;
		if (cmd->handler) {
			cmd->handler(s, &c);
			return;
		}
		if (cmd->check && cmd->check(s, &c) < 0)
			return;
		if (!cmd->has_stage) {
			static const struct filter_reply none;
			cmd->proceed(s, &none);
			return;
		}
		/* Input waits while the filters are told; proceed resumes it. */
		s->command_waiting = cmd;
		session_wait(s);
		stages_run(&s->stages, cmd->stage, command_proceed);
		return;
	}
	session_reply(s, 500, "5.5.2", "Command not recognized");
}

static void message_committed(void *arg, int err)
{
	struct session *s = arg;

	if (session_release(s))
		return;
	if (err) {
		session_reply(s, 451, "4.3.0", "Local error: cannot store the message, try later");
	} else {
		s->messages++;
		session_reply(s, 250, "2.0.0", "Ok: queued as %s", s->txn->queue_id);
	}
	session_end_txn(s);
	s->state = ST_READY;
	if (s->draining) {
		session_reply(s, 421, "4.3.2", "%s Service shutting down", hostname(s));
		session_close_after(s);
		return;
	}
	session_resume(s);
}

/* Whether the envelope sender is known to be genuine, kept with the
 * message so that the delivery engine sends bounces only to such senders
 * (no backscatter to forged ones).  Never the null sender.  Always an
 * authenticated session: the accounts filter let it use only its own
 * addresses.  Local mail: a client the sender checks trust
 * (policy.trusted_networks, by default 127.0.0.0/8 and ::1, where nothing
 * else is checked) sending from one of our domains.  Otherwise, when a
 * filter vouches for it: an SPF pass for the MAIL FROM domain, or a DKIM
 * pass aligned with it. */
static int sender_verified(const struct session *s)
{
	const struct config *cfg = s->env->shared.cfg;
	const struct mailbox *from = &s->txn->mail.from;
	struct sender_env se = {.cfg = cfg, .conf = s->env->shared.sender};

	if (from->is_null)
		return 0;
	if (s->auth_user[0])
		return 1;
	if (!from->domain_is_literal && config_domain(cfg, from->domain) != NULL &&
	    sender_exempt(&se, s->ip, 0) == SENDER_TRUSTED)
		return 1;
	for (size_t i = 0; i < filter_count; i++)
		if (s->stages.filters[i] && filter_table[i]->sender_verified &&
		    filter_table[i]->sender_verified(s->stages.filters[i]))
			return 1;
	return 0;
}

/* Our Authentication-Results field, authres_begin's "Authentication-
 * Results: authserv-id;" and folds taken off: the results for the ARC
 * set's ARC-Authentication-Results (RFC 8617 4.1.1), NULL when none. */
static char *authres_results(const char *field, size_t len)
{
	const char *semi = memchr(field, ';', len);
	char *out, *o;

	if (semi == NULL)
		return NULL;
	out = o = xmalloc(len + 1);
	for (const char *p = semi + 1; p < field + len; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == ' ' || *p == '\t') {
			/* White space folds to one space, none at either end. */
			if (o != out && o[-1] != ' ')
				*o++ = ' ';
			continue;
		}
		*o++ = *p;
	}
	if (o != out && o[-1] == ' ')
		o--;
	*o = '\0';
	return out;
}

/* The message goes to the spool with the fields we add: those made at
 * FS_SEAL (an ARC set) on top of the others. */
static void message_sealed(struct session *s, const struct filter_reply *r)
{
	struct txn *t = s->txn;
	struct buf headers;

	buf_init(&headers, 2 * TXN_FIELDS_MAX);
	if ((stages_fields_seal(&s->stages, &headers) |
	     buf_append(&headers, t->fields.data, t->fields.len)) != 0)
		log_warn("event=headers_too_long sid=%s queue_id=%s", s->sid, t->queue_id);
	stages_log(&s->stages, t->queue_id);

	struct spool_msg *m = xcalloc(1, sizeof(*m));
	memcpy(m->id, t->queue_id, sizeof(m->id));
	m->sender = xstrdup(t->mail_from);
	m->rcpts = t->rcpts;
	m->nrcpt = t->nrcpt;
	t->rcpts = NULL;
	t->nrcpt = 0;
	m->client_ip = xstrdup(s->ip);
	m->helo = xstrdup(s->helo);
	m->auth_user = s->auth_user[0] ? xstrdup(s->auth_user) : NULL;
	m->arrival = time(NULL);
	m->envid = t->mail.envid[0] ? xstrdup(t->mail.envid) : NULL;
	m->ret = t->mail.ret;
	m->eightbit = t->mail.body == BODY_8BITMIME;
	m->smtputf8 = t->mail.smtputf8;
	m->sender_verified = sender_verified(s);
	m->headers = headers.data;
	m->headers_len = headers.len;
	m->body = t->body;
	t->body = NULL;
	char from[LOG_VALUE_SIZE(64)], user[LOG_VALUE_SIZE(64)];
	log_info("event=received sid=%s queue_id=%s ip=%s from=%s nrcpt=%zu size=%llu "
	         "sender_verified=%d%s%s",
	         s->sid, t->queue_id, s->ip, log_value(from, sizeof(from), m->sender), m->nrcpt,
	         (unsigned long long)spool_body_size(m->body), m->sender_verified,
	         m->auth_user ? " auth=" : "",
	         m->auth_user ? log_value(user, sizeof(user), m->auth_user) : "");
	session_hold(s);
	spool_commit(s->env->spool, m, message_committed, s);
}

/* The message's verdict, given once every filter has its results; then
 * our fields, then FS_SEAL. */
static void message_checked(struct session *s, const struct filter_reply *r)
{
	struct txn *t = s->txn;
	struct verdict v;
	struct verdict_reply vr;
	int exempt = t->nrcpt_exempt == t->nrcpt;

	stages_verdict(&s->stages, FS_EOM, &v);
	enum policy_action a =
	    r->code ? PA_REJECT : verdict_decide(&v, &s->env->shared.cfg->policy, &vr);
	/* RFC 5321 4.5.1: postmaster is reached whatever the verdict. */
	if (a != PA_ACCEPT && !r->code && exempt) {
		log_info("event=msgauth_exempt sid=%s queue_id=%s would=%s", s->sid, t->queue_id,
		         policy_action_name(a));
		a = PA_ACCEPT;
	}
	stages_decided(&s->stages, a, exempt);
	if (a != PA_ACCEPT) {
		stages_log(&s->stages, t->queue_id);
		if (r->code)
			reply_refusal(s, r);
		else
			session_reply(s, vr.code, vr.ecode, "%s", vr.text);
		session_end_txn(s);
		session_resume(s);
		return;
	}

	buf_init(&t->fields, TXN_FIELDS_MAX);
	/* RFC 6376 5.6 and RFC 5321 4.4: our signatures on top, then the
	 * trace, then what we found. */
	int rc = stages_fields_top(&s->stages, &t->fields) | trace_received(s, &t->fields);
	size_t authres_at = t->fields.len;
	rc |= stages_authres(&s->stages, &v, &t->fields);
	t->authres = authres_results(t->fields.data + authres_at, t->fields.len - authres_at);
	if ((rc | stages_fields_bottom(&s->stages, &t->fields)) != 0)
		log_warn("event=headers_too_long sid=%s queue_id=%s", s->sid, t->queue_id);
	/* Input still waits; message_sealed goes on to the spool. */
	stages_run(&s->stages, FS_SEAL, message_sealed);
}

/* RFC 5321 6.3: a message that has passed through us often already, or
 * through more hosts than any route needs, is going round in circles.
 * It is refused, never bounced: a bounce would go round too. */
static int mail_loop(struct session *s)
{
	const struct config *cfg = s->env->shared.cfg;
	struct received_count n;
	size_t len;
	const char *head = msghead_section(&s->txn->head, &len);

	if (head == NULL)
		return 0;
	received_count(head, len, cfg->hostname, &n);
	if (n.by < (size_t)cfg->max_own_received && n.total <= (size_t)cfg->max_received)
		return 0;
	session_reply(s, 554, "5.4.6",
	              "Message refused: mail loop detected (%zu Received fields, %zu of them by "
	              "%s)",
	              n.total, n.by, cfg->hostname);
	session_end_txn(s);
	return 1;
}

static void message_end_checks(struct session *s)
{
	stages_run(&s->stages, FS_EOM, message_checked);
}

void commands_message_end(struct session *s, enum data_error err)
{
	const struct config *cfg = s->env->shared.cfg;
	struct txn *t = s->txn;

	s->state = ST_READY;
	if (t->bdat_failed) {
		session_reply(s, 554, "5.5.0", "Transaction failed earlier, nothing queued");
		session_end_txn(s);
		return;
	}
	switch (err) {
	case DATA_ERR_NONE:
		break;
	case DATA_ERR_BARE_LF:
	case DATA_ERR_BARE_CR:
		/* RFC 5321 2.3.8: SMTP smuggling protection. */
		session_reply(s, 554, "5.6.0", "Message refused: bare %s in message text",
		              err == DATA_ERR_BARE_LF ? "LF" : "CR");
		session_end_txn(s);
		return;
	case DATA_ERR_LINE_TOO_LONG:
		session_reply(s, 554, "5.6.0", "Message refused: line longer than %ld octets",
		              cfg->max_line_length);
		session_end_txn(s);
		return;
	case DATA_ERR_TOO_BIG:
		session_reply(s, 552, "5.3.4", "Message size exceeds fixed limit of %ld bytes",
		              cfg->max_message_size);
		session_end_txn(s);
		return;
	}
	if (t->body_error) {
		if (t->body_error == ENOSPC || t->body_error == EDQUOT)
			session_reply(s, 452, "4.3.1",
			              "Insufficient system storage, try again later");
		else
			session_reply(s, 451, "4.3.0",
			              "Local error: cannot store the message, try later");
		session_end_txn(s);
		return;
	}
	if (mail_loop(s))
		return;
	/* Input waits until the message's verdict is given; the Received
	 * field needs the client's name. */
	session_wait(s);
	session_after_rdns(s, message_end_checks);
}
