/* The SMTP command table (RFC 5321 4.1, RFC 1870, 2920, 3030, 3207, 4954,
 * 6152, 6531): for each verb the states it is allowed in and its handler.
 * Checks that need blocking work (account lookups) run on the worker's
 * pool and resume the session when done. */
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "queue/spool.h"
#include "server/checks.h"
#include "server/msgauth.h"
#include "server/listener.h"
#include "server/session.h"
#include "server/worker.h"
#include "store/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S_(st) (1u << (st))

struct command {
	enum smtp_verb verb;
	unsigned states; /* where the verb is allowed; elsewhere 503 */
	void (*handler)(struct session *s, const struct smtp_cmd *c);
};

static const char *hostname(const struct session *s)
{
	return s->worker->cfg->hostname;
}

static int role_is_submission(const struct session *s)
{
	return s->listener->conf->role != ROLE_MX;
}

void commands_greet(struct session *s)
{
	const struct config *cfg = s->worker->cfg;

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

static void do_helo(struct session *s, const struct smtp_cmd *c, int esmtp)
{
	const struct config *cfg = s->worker->cfg;
	char name[256];

	if (c->arglen == 0) {
		session_reply(s, 501, "5.5.4", "Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
		return;
	}
	if (c->arglen >= sizeof(name) || !addr_valid_domain(c->arg, c->arglen, 1)) {
		session_reply(s, 501, "5.5.4", "Invalid domain name or address literal");
		return;
	}
	memcpy(name, c->arg, c->arglen);
	name[c->arglen] = '\0';
	session_reset_transaction(s);
	snprintf(s->helo, sizeof(s->helo), "%s", name);
	s->esmtp = esmtp;
	s->state = ST_READY;
	checks_helo(s);
	if (!esmtp) {
		session_reply(s, 250, NULL, "%s", hostname(s));
		return;
	}
	char text[1024];
	int n = snprintf(text, sizeof(text),
	                 "%s Hello %s [%s]\nPIPELINING\nSIZE %ld\n8BITMIME\nENHANCEDSTATUSCODES\n"
	                 "SMTPUTF8\nCHUNKING",
	                 hostname(s), name, s->ip, cfg->max_message_size);
	if (s->listener->tls && !s->tls)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "\nSTARTTLS");
	/* RFC 8314 and RFC 4954 14: credentials only under TLS, and only on
	 * the submission ports: the MX relays for nobody. */
	if (role_is_submission(s) && s->tls && !s->auth_user[0])
		snprintf(text + n, sizeof(text) - (size_t)n, "\nAUTH PLAIN LOGIN");
	session_reply(s, 250, NULL, "%s", text);
}

static void cmd_ehlo(struct session *s, const struct smtp_cmd *c)
{
	do_helo(s, c, 1);
}

static void cmd_helo(struct session *s, const struct smtp_cmd *c)
{
	do_helo(s, c, 0);
}

/* An account check on the pool: used for MAIL (sender ownership) and RCPT
 * (does the mailbox exist). */
struct account_job {
	struct session *s;
	char user[256];
	char addr[ADDR_PATH_MAX + 1];
	char orcpt[ADDR_PATH_MAX + 1];
	enum accounts_status result;
	int is_rcpt;
};

static void account_work(void *arg)
{
	struct account_job *j = arg;
	struct accounts *a = j->s->worker->accounts;
	j->result =
	    j->is_rcpt ? accounts_exists(a, j->addr) : accounts_sender_allowed(a, j->user, j->addr);
}

static void rcpt_add(struct session *s, const char *addr, const char *orcpt)
{
	s->rcpts = xrealloc(s->rcpts, (s->nrcpt + 1) * sizeof(*s->rcpts));
	s->rcpts[s->nrcpt].addr = xstrdup(addr);
	s->rcpts[s->nrcpt].orcpt = xstrdup(orcpt);
	s->nrcpt++;
	s->state = ST_RCPT;
}

static void account_done(void *arg)
{
	struct account_job *j = arg;
	struct session *s = j->s;

	if (session_release(s)) {
		free(j);
		return;
	}
	if (j->is_rcpt) {
		if (j->result == ACCOUNTS_OK) {
			rcpt_add(s, j->addr, j->orcpt);
			session_reply(s, 250, "2.1.5", "Ok");
		} else if (j->result == ACCOUNTS_NOT_FOUND) {
			session_reply(s, 550, "5.1.1",
			              "<%s>: Recipient address rejected: "
			              "User unknown",
			              j->orcpt);
		} else {
			session_reply(s, 451, "4.3.0", "<%s>: Temporary lookup failure", j->orcpt);
		}
	} else {
		if (j->result == ACCOUNTS_OK) {
			snprintf(s->mail_from, sizeof(s->mail_from), "%s", j->addr);
			s->state = ST_MAIL;
			checks_mail(s);
			session_reply(s, 250, "2.1.0", "Ok");
		} else if (j->result == ACCOUNTS_NOT_FOUND || j->result == ACCOUNTS_INVALID) {
			memset(&s->mail, 0, sizeof(s->mail));
			session_reply(s, 553, "5.7.1",
			              "<%s>: Sender address rejected: not owned "
			              "by user %s",
			              j->addr, s->auth_user);
		} else {
			memset(&s->mail, 0, sizeof(s->mail));
			session_reply(s, 451, "4.3.0", "<%s>: Temporary lookup failure", j->addr);
		}
	}
	free(j);
	session_resume(s);
}

static void account_check(struct session *s, int is_rcpt, const char *addr, const char *orcpt)
{
	struct account_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->is_rcpt = is_rcpt;
	snprintf(j->user, sizeof(j->user), "%s", s->auth_user);
	snprintf(j->addr, sizeof(j->addr), "%s", addr);
	snprintf(j->orcpt, sizeof(j->orcpt), "%s", orcpt);
	session_hold(s);
	s->waiting = 1;
	pool_submit(s->worker->pool, account_work, account_done, j);
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

static void cmd_mail(struct session *s, const struct smtp_cmd *c)
{
	const struct config *cfg = s->worker->cfg;
	enum param_status st;
	char addr[ADDR_PATH_MAX + 1];

	if (role_is_submission(s) && !s->auth_user[0]) {
		session_reply(s, 530, "5.7.0", "Authentication required");
		return;
	}
	st = cmd_parse_mail(c->arg, c->arglen, 1, &s->mail);
	if (st != PARAM_OK) {
		enum addr_status ast = s->mail.addr_status;
		memset(&s->mail, 0, sizeof(s->mail));
		reply_param_error(s, st, ast);
		return;
	}
	/* RFC 1870 6.2: refuse early when the declared size is too big. */
	if (s->mail.size > (uint64_t)cfg->max_message_size) {
		memset(&s->mail, 0, sizeof(s->mail));
		session_reply(s, 552, "5.3.4", "Message size exceeds fixed limit of %ld bytes",
		              cfg->max_message_size);
		return;
	}
	if (addr_format(&s->mail.from, addr, sizeof(addr)) < 0) {
		memset(&s->mail, 0, sizeof(s->mail));
		session_reply(s, 501, "5.1.7", "Bad sender address");
		return;
	}
	if (s->auth_user[0]) {
		/* Our own users may only send as addresses they own. */
		if (s->mail.from.is_null) {
			memset(&s->mail, 0, sizeof(s->mail));
			session_reply(s, 553, "5.7.1",
			              "<>: Sender address rejected: not owned by "
			              "user %s",
			              s->auth_user);
			return;
		}
		account_check(s, 0, addr, addr);
		return;
	}
	snprintf(s->mail_from, sizeof(s->mail_from), "%s", addr);
	s->state = ST_MAIL;
	checks_mail(s);
	session_reply(s, 250, "2.1.0", "Ok");
}

static int local_is(const char *local, const char *word)
{
	return strcasecmp(local, word) == 0;
}

static void cmd_rcpt(struct session *s, const struct smtp_cmd *c)
{
	const struct config *cfg = s->worker->cfg;
	struct rcpt_params rp;
	enum param_status st;
	char addr[ADDR_PATH_MAX + 1];

	if (s->nrcpt >= (size_t)cfg->max_recipients) {
		/* RFC 5321 4.5.3.1.10 */
		session_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	st = cmd_parse_rcpt(c->arg, c->arglen, s->mail.smtputf8, &rp);
	if (st != PARAM_OK) {
		reply_param_error(s, st, rp.addr_status);
		return;
	}
	if (rp.to.domain[0] == '\0') {
		/* RFC 5321 4.1.1.3: <Postmaster> without a domain. */
		rcpt_add(s, cfg->postmaster, "postmaster");
		s->nrcpt_exempt++;
		session_reply(s, 250, "2.1.5", "Ok");
		return;
	}
	if (addr_format(&rp.to, addr, sizeof(addr)) < 0) {
		session_reply(s, 501, "5.1.3", "Bad recipient address");
		return;
	}
	const struct domain_conf *dom =
	    rp.to.domain_is_literal ? NULL : config_domain(cfg, rp.to.domain);
	/* RFC 5321 4.5.1: postmaster is reached whatever the verdict. */
	int exempt = dom && (local_is(rp.to.local, "postmaster") || local_is(rp.to.local, "abuse"));
	struct verdict_reply vr;
	if (!exempt && (dom || s->auth_user[0]) && checks_decide(s, &vr) != PA_ACCEPT) {
		session_reply(s, vr.code, vr.ecode, "<%s>: %s", addr, vr.text);
		return;
	}
	if (dom == NULL) {
		if (s->auth_user[0]) {
			rcpt_add(s, addr, addr);
			session_reply(s, 250, "2.1.5", "Ok");
			return;
		}
		session_reply(s, 554, "5.7.1", "<%s>: Relay access denied", addr);
		return;
	}
	/* RFC 5321 4.5.1 and RFC 2142: these exist at every local domain,
	 * whatever the accounts say. */
	if (local_is(rp.to.local, "postmaster")) {
		rcpt_add(s, cfg->postmaster, addr);
		s->nrcpt_exempt++;
		session_reply(s, 250, "2.1.5", "Ok");
		return;
	}
	if (local_is(rp.to.local, "abuse")) {
		rcpt_add(s, cfg->abuse, addr);
		s->nrcpt_exempt++;
		session_reply(s, 250, "2.1.5", "Ok");
		return;
	}
	account_check(s, 1, addr, addr);
}

/* The body is stored as it arrives; our own header fields are known only
 * at its end and are kept beside it (spool_msg.headers). */
static void data_ready(struct session *s)
{
	id_new(s->queue_id);
	s->body = spool_body_new(s->worker->spool, s->queue_id);
	msgauth_start(s);
}

static void cmd_data(struct session *s, const struct smtp_cmd *c)
{
	const struct config *cfg = s->worker->cfg;

	if (c->arglen) {
		session_reply(s, 501, "5.5.4", "DATA takes no arguments");
		return;
	}
	if (s->body) {
		/* RFC 3030 2: DATA after BDAT in one transaction is an error. */
		session_reply(s, 503, "5.5.1", "DATA not allowed after BDAT");
		return;
	}
	data_ready(s);
	data_reader_init(&s->data, (size_t)cfg->max_line_length, (uint64_t)cfg->max_message_size);
	s->state = ST_DATA;
	session_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
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
	if (s->body == NULL)
		data_ready(s);
	s->bdat_left = size;
	s->bdat_last = last;
	s->state = ST_BDAT;
	if (size == 0) {
		s->state = ST_RCPT;
		if (last)
			commands_message_end(s, s->bdat_failed ? DATA_ERR_NONE : s->bdat_error);
		else
			session_reply(s, 250, "2.0.0", "0 octets received");
		return;
	}
	session_resume(s);
}

static void cmd_rset(struct session *s, const struct smtp_cmd *c)
{
	session_reset_transaction(s);
	if (s->state != ST_HELO)
		s->state = ST_READY;
	session_reply(s, 250, "2.0.0", "Ok");
}

static void cmd_noop(struct session *s, const struct smtp_cmd *c)
{
	session_reply(s, 250, "2.0.0", "Ok");
}

static void cmd_quit(struct session *s, const struct smtp_cmd *c)
{
	session_reply(s, 221, "2.0.0", "%s closing connection", hostname(s));
	session_close_after(s);
}

static void cmd_help(struct session *s, const struct smtp_cmd *c)
{
	session_reply(s, 214, "2.0.0",
	              "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT "
	              "HELP VRFY STARTTLS AUTH");
}

static void cmd_vrfy(struct session *s, const struct smtp_cmd *c)
{
	/* RFC 5321 3.5.3: 252 so that nobody can enumerate our users. */
	session_reply(s, 252, "2.5.0",
	              "Cannot VRFY user, but will accept message and attempt "
	              "delivery");
}

static void cmd_expn(struct session *s, const struct smtp_cmd *c)
{
	session_reply(s, 502, "5.5.1", "EXPN not available");
}

static void cmd_starttls(struct session *s, const struct smtp_cmd *c)
{
	if (s->listener->tls == NULL || s->tls) {
		session_reply(s, 503, "5.5.1", s->tls ? "Already using TLS" : "TLS not available");
		return;
	}
	if (c->arglen) {
		session_reply(s, 501, "5.5.4", "STARTTLS takes no arguments");
		return;
	}
	session_reply(s, 220, "2.0.0", "Ready to start TLS");
	session_start_tls(s);
}

static void cmd_auth(struct session *s, const struct smtp_cmd *c)
{
	if (!role_is_submission(s)) {
		session_reply(s, 503, "5.5.1", "AUTH not available on this port");
		return;
	}
	if (!s->tls) {
		session_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
		return;
	}
	if (s->auth_user[0]) {
		session_reply(s, 503, "5.5.1", "Already authenticated");
		return;
	}
	auth_start(s, c->arg, c->arglen);
}

static const struct command command_table[] = {
    {CMD_EHLO, S_(ST_HELO) | S_(ST_READY) | S_(ST_MAIL) | S_(ST_RCPT), cmd_ehlo},
    {CMD_HELO, S_(ST_HELO) | S_(ST_READY) | S_(ST_MAIL) | S_(ST_RCPT), cmd_helo},
    {CMD_MAIL, S_(ST_READY), cmd_mail},
    {CMD_RCPT, S_(ST_MAIL) | S_(ST_RCPT), cmd_rcpt},
    {CMD_DATA, S_(ST_RCPT), cmd_data},
    {CMD_BDAT, S_(ST_RCPT), cmd_bdat},
    {CMD_RSET, S_(ST_HELO) | S_(ST_READY) | S_(ST_MAIL) | S_(ST_RCPT), cmd_rset},
    {CMD_NOOP, S_(ST_HELO) | S_(ST_READY) | S_(ST_MAIL) | S_(ST_RCPT), cmd_noop},
    {CMD_QUIT, S_(ST_HELO) | S_(ST_READY) | S_(ST_MAIL) | S_(ST_RCPT), cmd_quit},
    {CMD_HELP, S_(ST_HELO) | S_(ST_READY) | S_(ST_MAIL) | S_(ST_RCPT), cmd_help},
    {CMD_VRFY, S_(ST_HELO) | S_(ST_READY) | S_(ST_MAIL) | S_(ST_RCPT), cmd_vrfy},
    {CMD_EXPN, S_(ST_HELO) | S_(ST_READY) | S_(ST_MAIL) | S_(ST_RCPT), cmd_expn},
    {CMD_STARTTLS, S_(ST_READY), cmd_starttls},
    {CMD_AUTH, S_(ST_READY), cmd_auth},
};

void commands_dispatch(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd c;

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
			if (s->state == ST_HELO)
				session_reply(s, 503, "5.5.1", "Send EHLO or HELO first");
			else if (c.verb == CMD_RCPT)
				session_reply(s, 503, "5.5.1", "Need MAIL before RCPT");
			else if (c.verb == CMD_DATA || c.verb == CMD_BDAT)
				session_reply(s, 503, "5.5.1", "Need RCPT before %s",
				              c.verb == CMD_DATA ? "DATA" : "BDAT");
			else
				session_reply(s, 503, "5.5.1", "Bad sequence of commands");
			if (c.verb == CMD_BDAT) {
				/* The chunk follows anyway: swallow it, in step. */
				uint64_t size;
				int last;
				if (cmd_parse_bdat(c.arg, c.arglen, &size, &last) == 0 && size > 0)
					session_close_after(s);
			}
			return;
		} /* RCPT waits for the checks still running: the verdict is given
		   * here, where postmaster can still be let through. */
		if (c.verb == CMD_RCPT && checks_defer(s, line, len))
			return;
		cmd->handler(s, &c);
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
		session_reply(s, 250, "2.0.0", "Ok: queued as %s", s->queue_id);
	}
	session_reset_transaction(s);
	s->state = ST_READY;
	if (s->draining) {
		session_reply(s, 421, "4.3.2", "%s Service shutting down", hostname(s));
		session_close_after(s);
		return;
	}
	session_resume(s);
}

static void message_checked(struct session *s);

void commands_message_end(struct session *s, enum data_error err)
{
	const struct config *cfg = s->worker->cfg;

	s->state = ST_READY;
	if (s->bdat_failed) {
		session_reply(s, 554, "5.5.0", "Transaction failed earlier, nothing queued");
		session_reset_transaction(s);
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
		session_reset_transaction(s);
		return;
	case DATA_ERR_LINE_TOO_LONG:
		session_reply(s, 554, "5.6.0", "Message refused: line longer than %ld octets",
		              cfg->max_line_length);
		session_reset_transaction(s);
		return;
	case DATA_ERR_TOO_BIG:
		session_reply(s, 552, "5.3.4", "Message size exceeds fixed limit of %ld bytes",
		              cfg->max_message_size);
		session_reset_transaction(s);
		return;
	}
	if (s->body_error) {
		session_reply(s, 451, "4.3.0", "Local error: cannot store the message, try later");
		session_reset_transaction(s);
		return;
	}
	/* Input waits until the message's verdict is given. */
	s->waiting = 1;
	msgauth_finish(s, message_checked);
}

/* The message's own verdict, then the spool. */
static void message_checked(struct session *s)
{
	struct verdict_reply vr;
	struct buf headers;

	if (msgauth_decide(s, s->nrcpt_exempt == s->nrcpt, &vr) != PA_ACCEPT) {
		checks_log(s);
		msgauth_log(s);
		session_reply(s, vr.code, vr.ecode, "%s", vr.text);
		session_reset_transaction(s);
		session_resume(s);
		return;
	}
	buf_init(&headers, 1024 * 1024);
	if (msgauth_headers(s, &headers) != 0)
		log_warn("event=headers_too_long sid=%s queue_id=%s", s->sid, s->queue_id);

	struct spool_msg *m = xcalloc(1, sizeof(*m));
	memcpy(m->id, s->queue_id, sizeof(m->id));
	m->sender = xstrdup(s->mail_from);
	m->rcpts = s->rcpts;
	m->nrcpt = s->nrcpt;
	s->rcpts = NULL;
	s->nrcpt = 0;
	m->client_ip = xstrdup(s->ip);
	m->helo = xstrdup(s->helo);
	m->auth_user = s->auth_user[0] ? xstrdup(s->auth_user) : NULL;
	m->arrival = time(NULL);
	m->headers = headers.data;
	m->headers_len = headers.len;
	m->body = s->body;
	s->body = NULL;
	checks_log(s);
	msgauth_log(s);
	log_info("event=received sid=%s queue_id=%s ip=%s from=<%s> nrcpt=%zu size=%llu%s%s",
	         s->sid, s->queue_id, s->ip, m->sender, m->nrcpt,
	         (unsigned long long)spool_body_size(m->body), m->auth_user ? " auth=" : "",
	         m->auth_user ? m->auth_user : "");
	session_hold(s);
	spool_commit(s->worker->spool, m, message_committed, s);
}
