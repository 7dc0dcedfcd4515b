/* Unit tests of SMTP command line splitting and of the MAIL, RCPT and BDAT arguments,
 * the DSN parameters (RFC 3461) included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "smtp/cmd.h"

struct line_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	int ret;
	enum smtp_verb verb;
	const char *arg;
};

static const struct line_case lines[] = {
    {"EHLO mail.example.com", 0, 0, CMD_EHLO, "mail.example.com"},
    {"ehlo mail.example.com", 0, 0, CMD_EHLO, "mail.example.com"},
    {"eHlO [192.0.2.1]", 0, 0, CMD_EHLO, "[192.0.2.1]"},
    {"HELO x", 0, 0, CMD_HELO, "x"},
    {"LHLO lmtp.example", 0, 0, CMD_LHLO, "lmtp.example"},
    {"EHLO mail.example.com  \t ", 0, 0, CMD_EHLO, "mail.example.com"},
    {"EHLO  two-spaces", 0, 0, CMD_EHLO, " two-spaces"},
    {"MAIL FROM:<a@b.example> SIZE=100", 0, 0, CMD_MAIL, "FROM:<a@b.example> SIZE=100"},
    {"rcpt TO:<a@b.example>", 0, 0, CMD_RCPT, "TO:<a@b.example>"},
    {"DATA", 0, 0, CMD_DATA, ""},
    {"data ", 0, 0, CMD_DATA, ""},
    {"BDAT 100 LAST", 0, 0, CMD_BDAT, "100 LAST"},
    {"RSET", 0, 0, CMD_RSET, ""},
    {"NOOP anything", 0, 0, CMD_NOOP, "anything"},
    {"QUIT", 0, 0, CMD_QUIT, ""},
    {"HELP MAIL", 0, 0, CMD_HELP, "MAIL"},
    {"VRFY root", 0, 0, CMD_VRFY, "root"},
    {"EXPN staff", 0, 0, CMD_EXPN, "staff"},
    {"StartTLS", 0, 0, CMD_STARTTLS, ""},
    {"AUTH PLAIN AGFsaWNlAHNlY3JldA==", 0, 0, CMD_AUTH, "PLAIN AGFsaWNlAHNlY3JldA=="},
    {"AUTH\tPLAIN", 0, 0, CMD_UNKNOWN, ""},
    {"FOO bar", 0, 0, CMD_UNKNOWN, "bar"},
    {"MAILFROM:<a@b>", 0, 0, CMD_UNKNOWN, ""},
    {"EHL", 0, 0, CMD_UNKNOWN, ""},
    {"STARTTLSX", 0, 0, CMD_UNKNOWN, ""},
    {" EHLO x", 0, 0, CMD_UNKNOWN, "EHLO x"},
    {"EHLO b\xc3\xbc"
     "cher.example",
     0, 0, CMD_EHLO,
     "b\xc3\xbc"
     "cher.example"},
    /* not commands at all */
    {"", 0, -1, CMD_UNKNOWN, NULL},
    {"   ", 0, -1, CMD_UNKNOWN, NULL},
    {"\t", 0, -1, CMD_UNKNOWN, NULL},
    {"EHLO a\0b", 8, -1, CMD_UNKNOWN, NULL},
    {"EHLO a\rb", 0, -1, CMD_UNKNOWN, NULL},
    {"EHLO a\nb", 0, -1, CMD_UNKNOWN, NULL},
    {"EHLO a\x1b[31m", 0, -1, CMD_UNKNOWN, NULL},
    {"EHLO a\x7f", 0, -1, CMD_UNKNOWN, NULL},
    {"QUIT\r", 0, -1, CMD_UNKNOWN, NULL},
};

static void test_cmd_parse_table(void **state)
{
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const struct line_case *c = &lines[i];
		struct smtp_cmd cmd;
		size_t len = c->len ? c->len : strlen(c->in);
		int ret = cmd_parse(c->in, len, &cmd);
		if (ret != c->ret)
			fail_msg("line case %zu '%s': returned %d", i, c->in, ret);
		if (ret < 0)
			continue;
		if (cmd.verb != c->verb)
			fail_msg("line case %zu '%s': verb %d", i, c->in, (int)cmd.verb);
		if (cmd.arglen != strlen(c->arg) || memcmp(cmd.arg, c->arg, cmd.arglen) != 0)
			fail_msg("line case %zu '%s': arg '%.*s'", i, c->in, (int)cmd.arglen,
			         cmd.arg);
		/* The argument is a view into the line. */
		assert_true(cmd.arg >= c->in && cmd.arg + cmd.arglen <= c->in + len);
	}
}

/* What the EHLO reply advertised. */
#define U MAIL_OFFER_SMTPUTF8
#define A MAIL_OFFER_AUTH
#define D MAIL_OFFER_DSN

struct mail_case {
	const char *in;
	unsigned offered;
	enum param_status want;
	enum addr_status addr;
	const char *local, *domain;
	uint64_t size;
	enum body_type body;
	int smtputf8;
	const char *auth;
	enum dsn_ret ret;
	const char *envid; /* NULL: "" */
};

/* A case that fails: only the statuses matter. */
#define MERR(in, offered, st, ast)                                                                 \
	{                                                                                          \
		in, offered, st, ast, NULL, NULL, 0, BODY_7BIT, 0, NULL, DSN_RET_UNSET, NULL       \
	}

static const struct mail_case mails[] = {
    {"FROM:<a@b.example>", 0, PARAM_OK, ADDR_OK, "a", "b.example", 0, BODY_7BIT, 0, "",
     DSN_RET_UNSET, NULL},
    {" FROM:<a@b.example>", 0, PARAM_OK, ADDR_OK, "a", "b.example", 0, BODY_7BIT, 0, "",
     DSN_RET_UNSET, NULL},
    {"from:<a@b.example>", 0, PARAM_OK, ADDR_OK, "a", "b.example", 0, BODY_7BIT, 0, "",
     DSN_RET_UNSET, NULL},
    {"FROM: <a@b.example>", 0, PARAM_OK, ADDR_OK, "a", "b.example", 0, BODY_7BIT, 0, "",
     DSN_RET_UNSET, NULL},
    {"FROM:<>", 0, PARAM_OK, ADDR_OK, "", "", 0, BODY_7BIT, 0, "", DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example>   ", 0, PARAM_OK, ADDR_OK, "a", "b.example", 0, BODY_7BIT, 0, "",
     DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example> SIZE=12345", 0, PARAM_OK, ADDR_OK, "a", "b.example", 12345, BODY_7BIT, 0,
     "", DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example> size=0 body=8bitmime", 0, PARAM_OK, ADDR_OK, "a", "b.example", 0,
     BODY_8BITMIME, 0, "", DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example> BODY=7BIT", 0, PARAM_OK, ADDR_OK, "a", "b.example", 0, BODY_7BIT, 0, "",
     DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example> SIZE=18446744073709551615", 0, PARAM_OK, ADDR_OK, "a", "b.example",
     UINT64_MAX, BODY_7BIT, 0, "", DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example> AUTH=<>", A, PARAM_OK, ADDR_OK, "a", "b.example", 0, BODY_7BIT, 0, "<>",
     DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example> AUTH=e+3Dmc2@example.com", A, PARAM_OK, ADDR_OK, "a", "b.example", 0,
     BODY_7BIT, 0, "e+3Dmc2@example.com", DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example> SMTPUTF8", U, PARAM_OK, ADDR_OK, "a", "b.example", 0, BODY_7BIT, 1, "",
     DSN_RET_UNSET, NULL},
    {"FROM:<j\xc3\xb6rg@b.example> SMTPUTF8 BODY=8BITMIME", U, PARAM_OK, ADDR_OK, "j\xc3\xb6rg",
     "b.example", 0, BODY_8BITMIME, 1, "", DSN_RET_UNSET, NULL},
    {"FROM:<j\xc3\xb6rg@b.example> SMTPUTF8 AUTH=<> BODY=8BITMIME SIZE=5", U | A, PARAM_OK, ADDR_OK,
     "j\xc3\xb6rg", "b.example", 5, BODY_8BITMIME, 1, "<>", DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example> AUTH=<> SMTPUTF8", U | A, PARAM_OK, ADDR_OK, "a", "b.example", 0,
     BODY_7BIT, 1, "<>", DSN_RET_UNSET, NULL},
    {"FROM:<a@b.example>  SIZE=1   BODY=7BIT", 0, PARAM_OK, ADDR_OK, "a", "b.example", 1, BODY_7BIT,
     0, "", DSN_RET_UNSET, NULL},
    /* UTF-8 path needs SMTPUTF8 offered and given */
    MERR("FROM:<j\xc3\xb6rg@b.example>", U, PARAM_ADDR, ADDR_UTF8_NOT_ALLOWED),
    MERR("FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", 0, PARAM_ADDR, ADDR_UTF8_NOT_ALLOWED),
    MERR("FROM:<a@b.example> SMTPUTF8", 0, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> SMTPUTF8=yes", U, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> SMTPUTF8", A, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", A, PARAM_ADDR, ADDR_UTF8_NOT_ALLOWED),
    /* AUTH= only where AUTH is advertised (RFC 4954 5): not on the MX
     * port */
    MERR("FROM:<a@b.example> AUTH=<>", 0, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> AUTH=<>", U, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> auth=e+3Dmc2@example.com", U, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> AUTH=a+3d", 0, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> AUTH=<> AUTH=<>", A, PARAM_UNKNOWN, ADDR_OK),
    /* BINARYMIME (RFC 3030) is not advertised: its BODY value is not
     * implemented, whatever else is offered */
    MERR("FROM:<a@b.example> BODY=BINARYMIME", 0, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> body=binarymime", U | A, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> SIZE=10 BODY=BINARYMIME", U | A, PARAM_UNKNOWN, ADDR_OK),
    /* keyword errors */
    MERR("FROM", 0, PARAM_SYNTAX, ADDR_OK),
    MERR("", 0, PARAM_SYNTAX, ADDR_OK),
    MERR("TO:<a@b.example>", 0, PARAM_SYNTAX, ADDR_OK),
    MERR("FROM <a@b.example>", 0, PARAM_SYNTAX, ADDR_OK),
    MERR("  FROM:<a@b.example>", 0, PARAM_SYNTAX, ADDR_OK),
    MERR("FROM:  <a@b.example>", 0, PARAM_ADDR, ADDR_SYNTAX),
    MERR("FROM:a@b.example", 0, PARAM_ADDR, ADDR_SYNTAX),
    MERR("FROM:", 0, PARAM_ADDR, ADDR_SYNTAX),
    MERR("FROM:<a%c@b.example>", 0, PARAM_ADDR, ADDR_ROUTE),
    MERR("FROM:<a@b.example>SIZE=1", 0, PARAM_SYNTAX, ADDR_OK),
    /* parameter errors */
    MERR("FROM:<a@b.example> SIZE=abc", 0, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> SIZE=", 0, PARAM_SYNTAX, ADDR_OK),
    MERR("FROM:<a@b.example> SIZE", 0, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> SIZE=-1", 0, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> SIZE=18446744073709551616", 0, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> SIZE=99999999999999999999999", 0, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> BODY=9BIT", 0, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> BODY", 0, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> AUTH=a+3d", A, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> AUTH=a+4", A, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> AUTH", A, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> AUTH=a\xc3\xa9", A, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> SIZE=1 SIZE=2", 0, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> BODY=7BIT body=8BITMIME", 0, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> RET=HDRS", 0, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> X-FOO", 0, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> -X=1", 0, PARAM_SYNTAX, ADDR_OK),
    MERR("FROM:<a@b.example> SIZE==1", 0, PARAM_SYNTAX, ADDR_OK),
    MERR("FROM:<a@b.example> =1", 0, PARAM_SYNTAX, ADDR_OK),
    /* DSN (RFC 3461 4.3, 4.4) */
    {"FROM:<a@b.example> RET=FULL ENVID=QQ314159", D, PARAM_OK, ADDR_OK, "a", "b.example", 0,
     BODY_7BIT, 0, "", DSN_RET_FULL, "QQ314159"},
    {"FROM:<> ret=hdrs envid=a+2Bb+3Dc+20d", D | U | A, PARAM_OK, ADDR_OK, "", "", 0, BODY_7BIT, 0,
     "", DSN_RET_HDRS, "a+b=c d"},
    {"FROM:<a@b.example> ENVID=<1@b.example> BODY=8BITMIME", D, PARAM_OK, ADDR_OK, "a", "b.example",
     0, BODY_8BITMIME, 0, "", DSN_RET_UNSET, "<1@b.example>"},
    MERR("FROM:<a@b.example> RET=FULL", U | A, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> ENVID=x", 0, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> RET=FULL RET=HDRS", D, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> ENVID=x envid=x", D, PARAM_UNKNOWN, ADDR_OK),
    MERR("FROM:<a@b.example> RET=PART", D, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> RET", D, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> RET=", D, PARAM_SYNTAX, ADDR_OK),
    MERR("FROM:<a@b.example> ENVID", D, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> ENVID=a+2b", D, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> ENVID=a+", D, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> ENVID=a+00b", D, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> ENVID=a+0D+0Ab", D, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> ENVID=a+09b", D, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> ENVID=a+C3+A9", D, PARAM_BAD_VALUE, ADDR_OK),
    MERR("FROM:<a@b.example> SMTPUTF8 ENVID=\xc3\xa9", D | U, PARAM_BAD_VALUE, ADDR_OK),
};

static void test_mail_table(void **state)
{
	for (size_t i = 0; i < sizeof(mails) / sizeof(mails[0]); i++) {
		const struct mail_case *c = &mails[i];
		struct mail_params mp;
		enum param_status st = cmd_parse_mail(c->in, strlen(c->in), c->offered, &mp);
		if (st != c->want || mp.addr_status != c->addr)
			fail_msg("mail case %zu '%s': status %d addr %d", i, c->in, (int)st,
			         (int)mp.addr_status);
		if (st != PARAM_OK)
			continue;
		assert_string_equal(mp.from.local, c->local);
		assert_string_equal(mp.from.domain, c->domain);
		assert_true(mp.size == c->size);
		assert_int_equal(mp.body, c->body);
		assert_int_equal(mp.smtputf8, c->smtputf8);
		assert_string_equal(mp.auth, c->auth);
		assert_int_equal(mp.ret, c->ret);
		assert_string_equal(mp.envid, c->envid ? c->envid : "");
	}
}

/* The argument as cmd_parse hands it over. */
static void test_mail_through_cmd_parse(void **state)
{
	const char *line = "MAIL FROM:<sender@example.org> BODY=8BITMIME SIZE=1000  ";
	struct smtp_cmd c;
	struct mail_params mp;
	assert_int_equal(cmd_parse(line, strlen(line), &c), 0);
	assert_int_equal(c.verb, CMD_MAIL);
	assert_int_equal(cmd_parse_mail(c.arg, c.arglen, 0, &mp), PARAM_OK);
	assert_string_equal(mp.from.local, "sender");
	assert_true(mp.size == 1000);
	assert_int_equal(mp.body, BODY_8BITMIME);
}

static void test_mail_auth_bound(void **state)
{
	char line[400];
	struct mail_params mp;
	size_t pre;
	strcpy(line, "FROM:<a@b.example> AUTH=");
	pre = strlen(line);
	memset(line + pre, 'x', ADDR_PATH_MAX);
	line[pre + ADDR_PATH_MAX] = '\0';
	assert_int_equal(cmd_parse_mail(line, strlen(line), MAIL_OFFER_AUTH, &mp), PARAM_OK);
	assert_int_equal(strlen(mp.auth), ADDR_PATH_MAX);
	strcat(line, "x");
	assert_int_equal(cmd_parse_mail(line, strlen(line), MAIL_OFFER_AUTH, &mp), PARAM_BAD_VALUE);
}

/* ENVID: at most 100 characters of xtext (RFC 3461 4.4). */
static void test_mail_envid_bound(void **state)
{
	char line[200];
	struct mail_params mp;
	size_t pre;
	strcpy(line, "FROM:<a@b.example> ENVID=");
	pre = strlen(line);
	memset(line + pre, 'e', DSN_ENVID_MAX);
	line[pre + DSN_ENVID_MAX] = '\0';
	assert_int_equal(cmd_parse_mail(line, strlen(line), D, &mp), PARAM_OK);
	assert_int_equal(strlen(mp.envid), DSN_ENVID_MAX);
	strcat(line, "e");
	assert_int_equal(cmd_parse_mail(line, strlen(line), D, &mp), PARAM_BAD_VALUE);
}

struct rcpt_case {
	const char *in;
	unsigned offered;
	enum param_status want;
	enum addr_status addr;
	const char *local, *domain;
	unsigned notify;
	const char *orcpt; /* NULL: "" */
};

#define RERR(in, offered, st, ast)                                                                 \
	{                                                                                          \
		in, offered, st, ast, NULL, NULL, 0, NULL                                          \
	}
#define NS DSN_NOTIFY_SUCCESS
#define NF DSN_NOTIFY_FAILURE
#define ND DSN_NOTIFY_DELAY

static const struct rcpt_case rcpts[] = {
    {"TO:<user@example.com>", 0, PARAM_OK, ADDR_OK, "user", "example.com", 0, NULL},
    {" to:<user@example.com>", 0, PARAM_OK, ADDR_OK, "user", "example.com", 0, NULL},
    {"To: <user@example.com> ", 0, PARAM_OK, ADDR_OK, "user", "example.com", 0, NULL},
    {"TO:<Postmaster>", 0, PARAM_OK, ADDR_OK, "Postmaster", "", 0, NULL},
    {"TO:<j\xc3\xb6rg@example.com>", 1, PARAM_OK, ADDR_OK, "j\xc3\xb6rg", "example.com", 0, NULL},
    RERR("TO:<j\xc3\xb6rg@example.com>", 0, PARAM_ADDR, ADDR_UTF8_NOT_ALLOWED),
    RERR("TO:<>", 0, PARAM_ADDR, ADDR_SYNTAX),
    RERR("TO:<@relay.example:user@example.com>", 0, PARAM_ADDR, ADDR_ROUTE),
    RERR("TO:<user%example.com@relay.example>", 0, PARAM_ADDR, ADDR_ROUTE),
    RERR("TO:<\"user@example.com\"@relay.example>", 0, PARAM_ADDR, ADDR_ROUTE),
    RERR("TO:user@example.com", 0, PARAM_ADDR, ADDR_SYNTAX),
    RERR("TO:<user@example.com> NOTIFY=NEVER", 0, PARAM_UNKNOWN, ADDR_OK),
    RERR("TO:<user@example.com> ORCPT=rfc822;user@example.com", U, PARAM_UNKNOWN, ADDR_OK),
    RERR("TO:<user@example.com>junk", 0, PARAM_SYNTAX, ADDR_OK),
    /* DSN (RFC 3461 4.1, 4.2; RFC 6533 3) */
    {"TO:<u@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u@example.com", D, PARAM_OK, ADDR_OK,
     "u", "example.com", NS | NF, "rfc822;u@example.com"},
    {"TO:<u@example.com> notify=never", D, PARAM_OK, ADDR_OK, "u", "example.com", DSN_NOTIFY_NEVER,
     NULL},
    {"TO:<u@example.com> NOTIFY=delay,Failure,DELAY", D, PARAM_OK, ADDR_OK, "u", "example.com",
     NF | ND, NULL},
    {"TO:<u@example.com> ORCPT=RFC822;John+20Doe+40x.example  NOTIFY=DELAY", D, PARAM_OK, ADDR_OK,
     "u", "example.com", ND, "rfc822;John Doe@x.example"},
    {"TO:<Postmaster> ORCPT=rfc822;+22a+20b+22@x.example", D, PARAM_OK, ADDR_OK, "Postmaster", "",
     0, "rfc822;\"a b\"@x.example"},
    {"TO:<u@example.com> ORCPT=UTF-8;j\\x{F6}rg@example.com", D, PARAM_OK, ADDR_OK, "u",
     "example.com", 0, "utf-8;j\xc3\xb6rg@example.com"},
    {"TO:<u@example.com> ORCPT=utf-8;\\x{1F600}\\x{5C}\\x{2b}@example.com", D, PARAM_OK, ADDR_OK,
     "u", "example.com", 0, "utf-8;\xf0\x9f\x98\x80\\+@example.com"},
    {"TO:<j\xc3\xb6rg@example.com> ORCPT=utf-8;j\xc3\xb6rg@example.com", D | U, PARAM_OK, ADDR_OK,
     "j\xc3\xb6rg", "example.com", 0, "utf-8;j\xc3\xb6rg@example.com"},
    RERR("TO:<u@example.com> ORCPT=utf-8;j\xc3\xb6rg@example.com", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY=NEVER,SUCCESS", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY=FAILURE,NEVER", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY=SUCCESS,", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY=,SUCCESS", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY=SUCCESS,,DELAY", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY=SOMETIMES", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY=", D, PARAM_SYNTAX, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY=SUCCESS NOTIFY=FAILURE", D, PARAM_UNKNOWN, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=rfc822;a@x ORCPT=rfc822;a@x", D, PARAM_UNKNOWN, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=x400;abc", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=;a@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=rfc822", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=rfc822;", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=rfc822;a+0Ab@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=rfc822;a+7Fb@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=rfc822;a+e9@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;a+b@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;a\\x{0}b@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;a\\x{9}b@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;a\\x{85}b@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;\\x{00E9}@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;\\x{D800}@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;\\x{110000}@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;\\x{1234567}@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;\\x{E9@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;\\y{E9}@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;\\x{}@x", D, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;\xc3\x28@x", D | U, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> ORCPT=utf-8;\xc2\x85@x", D | U, PARAM_BAD_VALUE, ADDR_OK),
    RERR("TO:<u@example.com> X-FOO=1", D | U, PARAM_UNKNOWN, ADDR_OK),
    RERR("TO:<u@example.com> NOTIFY=NEVER =1", D, PARAM_SYNTAX, ADDR_OK),
    RERR("FROM:<user@example.com>", 0, PARAM_SYNTAX, ADDR_OK),
    RERR("TO", 0, PARAM_SYNTAX, ADDR_OK),
    RERR("", 0, PARAM_SYNTAX, ADDR_OK),
};

static void test_rcpt_table(void **state)
{
	for (size_t i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++) {
		const struct rcpt_case *c = &rcpts[i];
		struct rcpt_params rp;
		enum param_status st = cmd_parse_rcpt(c->in, strlen(c->in), c->offered, &rp);
		if (st != c->want || rp.addr_status != c->addr)
			fail_msg("rcpt case %zu '%s': status %d addr %d", i, c->in, (int)st,
			         (int)rp.addr_status);
		if (st != PARAM_OK)
			continue;
		assert_string_equal(rp.to.local, c->local);
		assert_string_equal(rp.to.domain, c->domain);
		assert_int_equal(rp.notify, c->notify);
		assert_string_equal(rp.orcpt, c->orcpt ? c->orcpt : "");
	}
}

/* ORCPT: at most 500 characters (RFC 3461 4.2), and the decoded address
 * fits where it is kept. */
static void test_rcpt_orcpt_bound(void **state)
{
	char line[700];
	struct rcpt_params rp;
	size_t pre;
	strcpy(line, "TO:<u@example.com> ORCPT=rfc822;");
	pre = strlen(line);
	memset(line + pre, 'o', DSN_ORCPT_MAX - 7);
	line[pre + DSN_ORCPT_MAX - 7] = '\0';
	assert_int_equal(cmd_parse_rcpt(line, strlen(line), D, &rp), PARAM_OK);
	assert_int_equal(strlen(rp.orcpt), DSN_ORCPT_MAX);
	strcat(line, "o");
	assert_int_equal(cmd_parse_rcpt(line, strlen(line), D, &rp), PARAM_BAD_VALUE);
	assert_string_equal(rp.orcpt, "");
}

/* What the queue stores and reads back. */
static void test_notify_format_parse(void **state)
{
	static const struct {
		unsigned bits;
		const char *text;
	} cases[] = {
	    {0, ""},
	    {DSN_NOTIFY_NEVER, "NEVER"},
	    {NS, "SUCCESS"},
	    {NF | ND, "FAILURE,DELAY"},
	    {ND | NS, "SUCCESS,DELAY"},
	    {NS | NF | ND, "SUCCESS,FAILURE,DELAY"},
	};
	char text[DSN_NOTIFY_TEXT_MAX];
	unsigned back;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cmd_notify_format(cases[i].bits, text, sizeof(text));
		assert_string_equal(text, cases[i].text);
		if (cases[i].bits == 0)
			continue;
		assert_int_equal(cmd_parse_notify(text, strlen(text), &back), 0);
		assert_int_equal(back, cases[i].bits);
	}
	/* Cut to what fits, never beyond. */
	cmd_notify_format(NS | NF, text, 10);
	assert_string_equal(text, "SUCCESS");
	assert_int_equal(cmd_parse_notify("", 0, &back), -1);
	assert_int_equal(cmd_parse_notify("NEVER,NEVER", 11, &back), 0);
	assert_int_equal(back, DSN_NOTIFY_NEVER);
}

struct bdat_case {
	const char *in;
	int ret;
	uint64_t size;
	int last;
};

static const struct bdat_case bdats[] = {
    {"100", 0, 100, 0},
    {"0 LAST", 0, 0, 1},
    {"86 last", 0, 86, 1},
    {"4096 LAST  ", 0, 4096, 1},
    {"18446744073709551615", 0, UINT64_MAX, 0},
    {"18446744073709551616", -1, 0, 0},
    {"", -1, 0, 0},
    {"LAST", -1, 0, 0},
    {" 100", -1, 0, 0},
    {"100 LASTX", -1, 0, 0},
    {"100 FIRST", -1, 0, 0},
    {"100  LAST", -1, 0, 0},
    {"-1", -1, 0, 0},
    {"1e3", -1, 0, 0},
    {"100 LAST extra", -1, 0, 0},
};

static void test_bdat_table(void **state)
{
	for (size_t i = 0; i < sizeof(bdats) / sizeof(bdats[0]); i++) {
		const struct bdat_case *c = &bdats[i];
		uint64_t size = 7;
		int last = 7;
		int ret = cmd_parse_bdat(c->in, strlen(c->in), &size, &last);
		if (ret != c->ret)
			fail_msg("bdat case %zu '%s': returned %d", i, c->in, ret);
		if (ret < 0)
			continue;
		assert_true(size == c->size);
		assert_int_equal(last, c->last);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cmd_parse_table),
	    cmocka_unit_test(test_mail_table),
	    cmocka_unit_test(test_mail_through_cmd_parse),
	    cmocka_unit_test(test_mail_auth_bound),
	    cmocka_unit_test(test_mail_envid_bound),
	    cmocka_unit_test(test_rcpt_table),
	    cmocka_unit_test(test_rcpt_orcpt_bound),
	    cmocka_unit_test(test_notify_format_parse),
	    cmocka_unit_test(test_bdat_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
