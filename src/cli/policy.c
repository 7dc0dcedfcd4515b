/* `postern policy test`: replays a transcript of one SMTP session
 * (client, helo, tls, auth, mail, rcpt, rset, quit) through the
 * session-free sender checks and prints, step by step, the verdict and
 * the reply the server's session would give (STYLE.md practice 9).  The
 * steps follow server/commands.c and server/checks.c: a transcript the
 * server would answer with a sequence or syntax error is refused with its
 * line number instead of being given a verdict the server never gives. */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/ipaddr.h"
#include "dns/dns.h"
#include "policy/sender.h"
#include "smtp/addr.h"
#include "smtp/cmd.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A step is short; anything longer is not a transcript line. */
#define STEP_MAX 2048

const char cli_policy_usage[] =
    "usage: postern [-c CONFIG] policy test [--zone FILE | --server HOST[:PORT]] < TRANSCRIPT\n"
    "       one step a line: client IP | helo NAME | ehlo NAME | tls | auth USER |\n"
    "       mail ADDRESS | mail <> | rcpt ADDRESS | rcpt postmaster | rset | quit\n"
    "       ('#' comments and blank lines are copied to the output)\n"
    "       --zone FILE: DNS answers from a zone file; --server: that DNS server;\n"
    "       neither: the dns.* settings\n";

/* Where the session is, as server/commands.c's states: which steps the
 * server would accept next. */
enum step_state {
	SS_START, /* no client yet */
	SS_HELO,  /* connected (or TLS just started): HELO/EHLO first */
	SS_READY, /* greeted, no transaction */
	SS_MAIL,  /* MAIL accepted, no recipient yet */
	SS_RCPT,  /* at least one recipient accepted */
	SS_QUIT,  /* QUIT: nothing may follow */
};

struct driver {
	const struct config *cfg;
	struct sender_conf *conf; /* env.conf, owned here */
	struct sender_env env;
	struct sender_check *check; /* NULL while the session is not checked */
	enum sender_exemption exemption;
	enum step_state state;
	char ip[64];
	int helo_seen; /* a HELO/EHLO since the connection or the last TLS start */
	int tls;
	int authenticated;
	int smtputf8;      /* the transaction's MAIL carried SMTPUTF8 */
	int results_shown; /* Authentication-Results of this transaction printed */
	int waiting;
	unsigned long lineno;
};

static int bad_line(const struct driver *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bad_line(const struct driver *d, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "postern policy: line %lu: ", d->lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static void waited(void *arg)
{
	struct driver *d = arg;
	d->waiting = 0;
}

/* Runs the event loop until every lookup the step started has answered,
 * as the session does before it gives the RCPT verdict. */
static int wait_checks(struct driver *d)
{
	if (d->check == NULL || !sender_check_wait(d->check, waited, d))
		return 0;
	d->waiting = 1;
	while (d->waiting)
		if (event_base_loop(d->env.base, EVLOOP_ONCE) != 0 && d->waiting)
			return bad_line(d, "lookups pending but nothing left to wait for");
	return 0;
}

/* The action name as Authentication-Results gives it (x-postern=). */
static const char *action_word(enum policy_action act, const struct verdict *v)
{
	return act == PA_ACCEPT && v->tags[0] ? "tag" : policy_action_name(act);
}

static void print_unchecked(const struct driver *d)
{
	printf("  not checked: %s\n", sender_exemption_name(d->exemption));
}

static void print_verdict(const struct driver *d)
{
	struct verdict_reply reply;

	if (d->check == NULL) {
		print_unchecked(d);
		return;
	}
	const struct verdict *v = sender_check_verdict(d->check);
	enum policy_action act = sender_check_decide(d->check, &reply);
	printf("  verdict: %s score=%ld tags=%s\n", action_word(act, v), v->score,
	       v->tags[0] ? v->tags : "-");
}

/* Authentication-Results as the message would carry it, one folded line
 * per method, and the fields of the event=checks log line. */
static void print_results(const struct driver *d)
{
	struct buf b;

	if (d->check == NULL)
		return;
	buf_init(&b, 64 * 1024);
	if (sender_check_authres(d->check, &b) == 0) {
		const char *p = b.data;
		printf("  ");
		while (*p) {
			size_t n = strcspn(p, "\r\n");
			printf("%.*s\n", (int)n, p);
			p += n;
			p += strspn(p, "\r\n");
			if (*p == '\t')
				p++;
			if (*p)
				printf("      ");
		}
	} else {
		printf("  Authentication-Results: (too long)\n");
	}
	buf_reset(&b);
	if (sender_check_log(d->check, &b) == 0)
		printf("  log: %s\n", b.data);
	buf_free(&b);
}

/* The transaction ends (RSET, a new HELO, STARTTLS, the end of a
 * message): its lookups stop, the connect and HELO results stay. */
static void end_transaction(struct driver *d)
{
	if (d->state != SS_MAIL && d->state != SS_RCPT)
		return;
	if (d->check)
		sender_check_reset(d->check);
	d->smtputf8 = 0;
	d->state = d->helo_seen ? SS_READY : SS_HELO;
}

static int step_client(struct driver *d, const char *arg)
{
	struct ipaddr a;

	if (d->state != SS_START)
		return bad_line(d, "client: one client per transcript, and it comes first");
	if (arg[0] == '\0' || strlen(arg) >= sizeof(d->ip) || ipaddr_parse(arg, &a) < 0)
		return bad_line(d, "client: '%s' is not an IPv4 or IPv6 address", arg);
	snprintf(d->ip, sizeof(d->ip), "%s", arg);
	d->exemption = sender_exempt(&d->env, d->ip, 0);
	if (d->exemption == SENDER_CHECKED)
		d->check = sender_check_new(&d->env, d->ip);
	d->state = SS_HELO;
	if (wait_checks(d) < 0)
		return -1;
	print_verdict(d);
	return 0;
}

static int step_helo(struct driver *d, const char *verb, const char *arg)
{
	size_t len = strlen(arg);

	if (len == 0)
		return bad_line(d, "%s: a name is needed (the server answers 501 5.5.4)", verb);
	/* As do_helo: the argument is a Domain or an address literal. */
	if (len >= 256 || !addr_valid_domain(arg, len, 1))
		return bad_line(d,
		                "%s: '%s' is not a domain or address literal (the server "
		                "answers 501 5.5.4)",
		                verb, arg);
	/* HELO/EHLO resets the transaction (RFC 5321 4.1.4). */
	end_transaction(d);
	d->helo_seen = 1;
	d->state = SS_READY;
	if (d->check)
		sender_check_helo(d->check, arg);
	if (wait_checks(d) < 0)
		return -1;
	print_verdict(d);
	return 0;
}

static int step_tls(struct driver *d)
{
	if (d->tls)
		return bad_line(d, "tls: the session is already under TLS");
	if (d->state == SS_MAIL || d->state == SS_RCPT)
		return bad_line(d, "tls: STARTTLS is not allowed in a transaction (the server "
		                   "answers 503 5.5.1)");
	/* Before any greeting: implicit TLS (a submissions listener).  After
	 * one: STARTTLS, and RFC 3207 4.2 starts the session over, so the
	 * client greets again; the checks keep their first HELO. */
	d->tls = 1;
	d->helo_seen = 0;
	d->state = SS_HELO;
	print_verdict(d);
	return 0;
}

static int step_auth(struct driver *d, const char *arg)
{
	if (arg[0] == '\0')
		return bad_line(d, "auth: a user name is needed");
	if (!d->tls)
		return bad_line(d, "auth: AUTH needs TLS first (the server answers 530 5.7.0)");
	if (d->authenticated)
		return bad_line(d, "auth: already authenticated (the server answers 503 5.5.1)");
	if (d->state != SS_READY)
		return bad_line(d, "auth: AUTH comes after EHLO and outside a transaction (the "
		                   "server answers 503 5.5.1)");
	d->authenticated = 1;
	/* As checks_authenticated: an authenticated session is no longer
	 * checked unless policy.check_submission says so. */
	enum sender_exemption e = sender_exempt(&d->env, d->ip, 1);
	if (d->check && e != SENDER_CHECKED) {
		sender_check_free(d->check);
		d->check = NULL;
		d->exemption = e;
	}
	print_verdict(d);
	return 0;
}

/* "ADDRESS [PARAMS]" as a MAIL or RCPT argument: the path gets its angle
 * brackets when the transcript left them out. */
static int path_arg(const char *keyword, const char *arg, char *out, size_t outsize)
{
	size_t n = strcspn(arg, " \t");
	int len;

	if (arg[0] == '<' || arg[0] == '\0')
		len = snprintf(out, outsize, " %s:%s", keyword, arg[0] ? arg : "<>");
	else
		len = snprintf(out, outsize, " %s:<%.*s>%s", keyword, (int)n, arg, arg + n);
	return len < 0 || (size_t)len >= outsize ? -1 : len;
}

static int step_mail(struct driver *d, const char *arg)
{
	char line[STEP_MAX + 16], addr[ADDR_PATH_MAX + 1];
	struct mail_params mp;
	int len;

	if (d->state == SS_START || d->state == SS_HELO || d->state == SS_QUIT)
		return bad_line(d, "mail: HELO/EHLO first (the server answers 503 5.5.1)");
	if (d->state == SS_MAIL)
		return bad_line(d, "mail: a transaction without recipients is open; rset "
		                   "first (the server answers 503 5.5.1)");
	len = path_arg("FROM", arg, line, sizeof(line));
	if (len < 0 || cmd_parse_mail(line, (size_t)len, 1, &mp) != PARAM_OK ||
	    addr_format(&mp.from, addr, sizeof(addr)) < 0)
		return bad_line(d, "mail: '%s' is not a reverse-path with valid parameters", arg);
	if (d->authenticated && mp.from.is_null)
		return bad_line(d, "mail: an authenticated user cannot send from <> (the "
		                   "server answers 553 5.7.1)");
	/* After at least one recipient, a new MAIL means the message was sent
	 * (the end of DATA resets the transaction). */
	end_transaction(d);
	d->smtputf8 = mp.smtputf8;
	d->results_shown = 0;
	d->state = SS_MAIL;
	if (d->check)
		sender_check_mail(d->check, addr);
	if (wait_checks(d) < 0)
		return -1;
	print_verdict(d);
	return 0;
}

static int step_rcpt(struct driver *d, const char *arg)
{
	char line[STEP_MAX + 16], addr[ADDR_PATH_MAX + 1];
	struct rcpt_params rp;
	struct verdict_reply reply;
	int len, exempt;

	if (d->state != SS_MAIL && d->state != SS_RCPT)
		return bad_line(d, "rcpt: MAIL first (the server answers 503 5.5.1)");
	if (arg[0] == '\0')
		return bad_line(d, "rcpt: an address is needed");
	len = path_arg("TO", arg, line, sizeof(line));
	if (len < 0 || cmd_parse_rcpt(line, (size_t)len, d->smtputf8, &rp) != PARAM_OK)
		return bad_line(d, "rcpt: '%s' is not a forward-path", arg);
	if (rp.to.domain[0] == '\0') {
		/* RFC 5321 4.1.1.3: <Postmaster> without a domain. */
		snprintf(addr, sizeof(addr), "postmaster");
	} else if (addr_format(&rp.to, addr, sizeof(addr)) < 0) {
		return bad_line(d, "rcpt: '%s' is too long", arg);
	}
	exempt = sender_recipient_exempt(d->cfg, addr, 0);
	if (wait_checks(d) < 0)
		return -1;
	print_verdict(d);
	/* As cmd_rcpt: the sender checks' verdict unless the recipient is
	 * postmaster or abuse; relay and unknown users are not ours to judge
	 * here, every other recipient is taken to be deliverable. */
	enum policy_action act = d->check ? sender_check_decide(d->check, &reply) : PA_ACCEPT;
	if (act != PA_ACCEPT && !exempt) {
		printf("  reply: %d %s <%s>: %s\n", reply.code, reply.ecode, addr, reply.text);
	} else {
		printf("  reply: 250 2.1.5 Ok\n");
		d->state = SS_RCPT;
	}
	if (act != PA_ACCEPT && exempt)
		printf("  exempt: postmaster and abuse are reachable whatever the verdict\n");
	/* Every lookup is in by now, so the results are those of the whole
	 * transaction: shown once, at its first recipient. */
	if (!d->results_shown)
		print_results(d);
	d->results_shown = 1;
	return 0;
}

static int step_rset(struct driver *d)
{
	if (d->state == SS_START)
		return bad_line(d, "rset: no client yet");
	end_transaction(d);
	print_verdict(d);
	return 0;
}

static int step_quit(struct driver *d)
{
	if (d->state == SS_START)
		return bad_line(d, "quit: no client yet");
	d->state = SS_QUIT;
	return 0;
}

/* One line of the transcript; returns 0, or -1 for a bad line. */
static int step(struct driver *d, char *line)
{
	char *verb, *arg, *end;

	verb = line + strspn(line, " \t");
	end = verb + strlen(verb);
	while (end > verb && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (verb[0] == '\0' || verb[0] == '#') {
		printf("%s\n", verb);
		return 0;
	}
	printf("%s\n", verb);
	if (d->state == SS_QUIT)
		return bad_line(d, "nothing may follow quit");
	arg = verb + strcspn(verb, " \t");
	if (*arg) {
		*arg++ = '\0';
		arg += strspn(arg, " \t");
	}
	if (strcasecmp(verb, "client") == 0)
		return step_client(d, arg);
	if (d->state == SS_START)
		return bad_line(d, "the transcript must start with 'client IP'");
	if (strcasecmp(verb, "helo") == 0 || strcasecmp(verb, "ehlo") == 0)
		return step_helo(d, verb, arg);
	if (strcasecmp(verb, "mail") == 0)
		return step_mail(d, arg);
	if (strcasecmp(verb, "rcpt") == 0)
		return step_rcpt(d, arg);
	if (strcasecmp(verb, "auth") == 0)
		return step_auth(d, arg);
	if (arg[0] != '\0')
		return bad_line(d, "%s takes no argument", verb);
	if (strcasecmp(verb, "tls") == 0)
		return step_tls(d);
	if (strcasecmp(verb, "rset") == 0)
		return step_rset(d);
	if (strcasecmp(verb, "quit") == 0)
		return step_quit(d);
	return bad_line(d,
	                "unknown step '%s' (client, helo, ehlo, tls, auth, mail, rcpt, "
	                "rset, quit)",
	                verb);
}

static int run(struct driver *d)
{
	char line[STEP_MAX + 2];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t len = strlen(line);
		d->lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(stdin))
			return bad_line(d, "longer than %d octets", STEP_MAX);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (strlen(line) != len)
			return bad_line(d, "a NUL octet");
		if (step(d, line) < 0)
			return -1;
		fflush(stdout);
	}
	if (ferror(stdin)) {
		fprintf(stderr, "postern policy: reading the transcript failed\n");
		return -1;
	}
	return 0;
}

int cli_policy(int argc, char **argv, const struct config *cfg)
{
	const char *zone = NULL, *server = NULL;
	struct driver d;
	char err[512];
	int rc;

	if (argc < 1 || strcmp(argv[0], "test") != 0)
		return cli_usage_error(cli_policy_usage);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc && zone == NULL && !server)
			zone = argv[++i];
		else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc && server == NULL &&
		         !zone)
			server = argv[++i];
		else
			return cli_usage_error(cli_policy_usage);
	}

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.env.cfg = cfg;
	d.conf = sender_conf_new(cfg, err, sizeof(err));
	d.env.conf = d.conf;
	if (d.conf == NULL) {
		fprintf(stderr, "postern policy: %s\n", err);
		return 1;
	}
	d.env.base = event_base_new();
	if (d.env.base == NULL) {
		fprintf(stderr, "postern policy: cannot create an event loop\n");
		sender_conf_free(d.conf);
		return 1;
	}
	d.env.dns = cli_resolver("policy", d.env.base, zone, server, cfg);
	if (d.env.dns == NULL) {
		event_base_free(d.env.base);
		sender_conf_free(d.conf);
		return 1;
	}
	rc = run(&d) < 0 ? 1 : 0;
	if (d.check)
		sender_check_free(d.check);
	dns_resolver_free(d.env.dns);
	event_base_free(d.env.base);
	sender_conf_free(d.conf);
	fflush(stdout);
	return rc;
}
