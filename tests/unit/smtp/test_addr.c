/* Unit tests of the RFC 5321 path parser: a table of paths and what each must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "smtp/addr.h"

struct path_case {
	const char *in;
	int allow_null, allow_utf8;
	enum addr_status want;
	const char *local, *domain; /* when ADDR_OK */
	int literal, utf8;
};

#define OK ADDR_OK
#define SYN ADDR_SYNTAX
#define LONG ADDR_TOO_LONG
#define ROUTE ADDR_ROUTE
#define NOUTF ADDR_UTF8_NOT_ALLOWED

static const struct path_case cases[] = {
    /* plain mailboxes */
    {"<user@example.com>", 0, 0, OK, "user", "example.com", 0, 0},
    {"<first.last@sub.example.org>", 0, 0, OK, "first.last", "sub.example.org", 0, 0},
    {"<a@b>", 0, 0, OK, "a", "b", 0, 0},
    {"<User+Tag@Example.COM>", 0, 0, OK, "User+Tag", "Example.COM", 0, 0},
    {"<x#$&'*+-/=?^_`{|}~y@example.com>", 0, 0, OK, "x#$&'*+-/=?^_`{|}~y", "example.com", 0, 0},
    {"<user@my-host.example>", 0, 0, OK, "user", "my-host.example", 0, 0},
    {"<user@1.2.3.4>", 0, 0, OK, "user", "1.2.3.4", 0, 0},
    {"<user@xn--bcher-kva.example>", 0, 0, OK, "user", "xn--bcher-kva.example", 0, 0},
    /* the null path */
    {"<>", 1, 0, OK, "", "", 0, 0},
    {"<>", 0, 0, SYN, NULL, NULL, 0, 0},
    /* quoted local parts */
    {"<\"john doe\"@example.com>", 0, 0, OK, "\"john doe\"", "example.com", 0, 0},
    {"<\"a\\\"b\"@example.com>", 0, 0, OK, "\"a\\\"b\"", "example.com", 0, 0},
    {"<\"a>b\"@example.com>", 0, 0, OK, "\"a>b\"", "example.com", 0, 0},
    {"<\"\"@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<\"unterminated>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<\"tab\there\"@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<\"a\"b@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    /* address literals */
    {"<user@[192.0.2.1]>", 0, 0, OK, "user", "[192.0.2.1]", 1, 0},
    {"<user@[IPv6:2001:db8::1]>", 0, 0, OK, "user", "[IPv6:2001:db8::1]", 1, 0},
    {"<user@[ipv6:::ffff:192.0.2.1]>", 0, 0, OK, "user", "[ipv6:::ffff:192.0.2.1]", 1, 0},
    {"<user@[256.0.0.1]>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@[1.2.3]>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@[IPv6:2001:db8::g]>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@[2001:db8::1]>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@[x400:c=us]>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@[192.0.2.1>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@[]>", 0, 0, SYN, NULL, NULL, 0, 0},
    /* open-relay tricks: all refused as routes */
    {"<@relay.example:user@victim.example>", 0, 0, ROUTE, NULL, NULL, 0, 0},
    {"<@a.example,@b.example:user@c.example>", 0, 0, ROUTE, NULL, NULL, 0, 0},
    {"<user%victim.example@relay.example>", 0, 0, ROUTE, NULL, NULL, 0, 0},
    {"<victim.example!user@relay.example>", 0, 0, ROUTE, NULL, NULL, 0, 0},
    {"<victim.example!user>", 0, 0, ROUTE, NULL, NULL, 0, 0},
    {"<\"user@victim.example\"@relay.example>", 0, 0, ROUTE, NULL, NULL, 0, 0},
    {"<\"user%victim\"@relay.example>", 0, 0, ROUTE, NULL, NULL, 0, 0},
    {"<\"host!user\"@relay.example>", 0, 0, ROUTE, NULL, NULL, 0, 0},
    {"<\"user\\@victim.example\"@relay.example>", 0, 0, ROUTE, NULL, NULL, 0, 0},
    /* syntax errors */
    {"user@example.com", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@example.com", 0, 0, SYN, NULL, NULL, 0, 0},
    {"user@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@example.com.>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@.example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@example..com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@-example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@example-.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@exa_mple.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<.user@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user.@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<us..er@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"< user@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@example.com >", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<us er@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user@@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<user(comment)@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<\"q\"\"r\"@example.com>", 0, 0, SYN, NULL, NULL, 0, 0},
    /* Postmaster without a domain (RFC 5321 4.1.1.3), RCPT only */
    {"<Postmaster>", 0, 0, OK, "Postmaster", "", 0, 0},
    {"<postMASTER>", 0, 0, OK, "postMASTER", "", 0, 0},
    {"<Postmaster>", 1, 0, SYN, NULL, NULL, 0, 0},
    {"<\"Postmaster\">", 0, 0, SYN, NULL, NULL, 0, 0},
    {"<Postmasters>", 0, 0, SYN, NULL, NULL, 0, 0},
    /* SMTPUTF8 (RFC 6531) */
    {"<j\xc3\xb6rg@example.com>", 0, 1, OK, "j\xc3\xb6rg", "example.com", 0, 1},
    {"<j\xc3\xb6rg@example.com>", 0, 0, NOUTF, NULL, NULL, 0, 0},
    {"<user@b\xc3\xbc"
     "cher.example>",
     0, 1, OK, "user",
     "b\xc3\xbc"
     "cher.example",
     0, 1},
    {"<user@b\xc3\xbc"
     "cher.example>",
     0, 0, NOUTF, NULL, NULL, 0, 0},
    {"<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>", 0, 1, OK,
     "\xe7\x94\xa8\xe6\x88\xb7", "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", 0, 1},
    {"<\"j\xc3\xb6rg doe\"@example.com>", 0, 1, OK, "\"j\xc3\xb6rg doe\"", "example.com", 0, 1},
    {"<\xf0\x9f\x93\xa7@example.com>", 0, 1, OK, "\xf0\x9f\x93\xa7", "example.com", 0, 1},
    {"<a\xc0\xaf@example.com>", 0, 1, SYN, NULL, NULL, 0, 0},         /* overlong '/' */
    {"<a\xe0\x80\xaf@example.com>", 0, 1, SYN, NULL, NULL, 0, 0},     /* overlong, 3 bytes */
    {"<a\xed\xa0\x80@example.com>", 0, 1, SYN, NULL, NULL, 0, 0},     /* surrogate */
    {"<a\xf4\x90\x80\x80@example.com>", 0, 1, SYN, NULL, NULL, 0, 0}, /* > U+10FFFF */
    {"<a\x80@example.com>", 0, 1, SYN, NULL, NULL, 0, 0},             /* lone continuation */
    {"<a\xc3@example.com>", 0, 1, SYN, NULL, NULL, 0, 0},             /* truncated */
    {"<a\xff@example.com>", 0, 1, SYN, NULL, NULL, 0, 0},
    {"<user@b\xc3\xbc-.example>", 0, 1, SYN, NULL, NULL, 0, 0},
};

static void test_path_table(void **state)
{
	char label[600];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct path_case *c = &cases[i];
		struct mailbox m;
		size_t used = 99;
		enum addr_status st =
		    addr_parse_path(c->in, strlen(c->in), c->allow_null, c->allow_utf8, &m, &used);
		snprintf(label, sizeof(label), "case %zu: %s", i, c->in);
		if (st != c->want)
			fail_msg("%s: got %s, want %s", label, addr_status_text(st),
			         addr_status_text(c->want));
		if (st != ADDR_OK) {
			assert_int_equal(used, 0);
			continue;
		}
		assert_int_equal(used, strlen(c->in));
		if (strcmp(m.local, c->local) != 0 || strcmp(m.domain, c->domain) != 0)
			fail_msg("%s: got local '%s' domain '%s'", label, m.local, m.domain);
		assert_int_equal(m.domain_is_literal, c->literal);
		assert_int_equal(m.has_utf8, c->utf8);
		assert_int_equal(m.is_null, strcmp(c->in, "<>") == 0);
	}
}

/* The path is followed by parameters: consumed stops at '>'. */
static void test_consumed_stops_at_bracket(void **state)
{
	const char *s = "<a@example.com> SIZE=10";
	struct mailbox m;
	size_t used;
	assert_int_equal(addr_parse_path(s, strlen(s), 1, 0, &m, &used), ADDR_OK);
	assert_int_equal(used, 15);
	s = "<> BODY=8BITMIME";
	assert_int_equal(addr_parse_path(s, strlen(s), 1, 0, &m, &used), ADDR_OK);
	assert_int_equal(used, 2);
	assert_true(m.is_null);
}

/* Only len bytes are read: a path cut short is incomplete. */
static void test_length_is_respected(void **state)
{
	const char *s = "<user@example.com>";
	struct mailbox m;
	size_t used;
	for (size_t n = 0; n < strlen(s); n++)
		assert_int_equal(addr_parse_path(s, n, 0, 0, &m, &used), ADDR_SYNTAX);
	/* An embedded NUL is not the end of the input, and not a character. */
	assert_int_equal(addr_parse_path("<us\0er@example.com>", 19, 0, 0, &m, &used), ADDR_SYNTAX);
	assert_int_equal(addr_parse_path("<user@[1.2.3.4\0]>", 17, 0, 0, &m, &used), ADDR_SYNTAX);
}

static void build(char *out, const char *pre, char fill, size_t n, const char *post)
{
	size_t p = strlen(pre);
	memcpy(out, pre, p);
	memset(out + p, fill, n);
	strcpy(out + p + n, post);
}

static enum addr_status parse(const char *s)
{
	struct mailbox m;
	size_t used;
	return addr_parse_path(s, strlen(s), 0, 0, &m, &used);
}

/* RFC 5321 4.5.3.1: local part 64, domain 255, path 256 octets. */
static void test_limits(void **state)
{
	char s[1024], dom[400];
	struct mailbox m;
	size_t used;

	build(s, "<", 'a', 64, "@example.com>");
	assert_int_equal(parse(s), ADDR_OK);
	build(s, "<", 'a', 65, "@example.com>");
	assert_int_equal(parse(s), ADDR_TOO_LONG);
	/* Quoting counts the characters, not the quotes and backslashes:
	 * 64 escaped characters still fit struct mailbox. */
	strcpy(s, "<\"");
	for (int i = 0; i < 64; i++)
		strcat(s, "\\\"");
	strcat(s, "\"@example.com>");
	assert_int_equal(addr_parse_path(s, strlen(s), 0, 0, &m, &used), ADDR_OK);
	assert_int_equal(strlen(m.local), 130);
	strcpy(s, "<\"");
	for (int i = 0; i < 65; i++)
		strcat(s, "x");
	strcat(s, "\"@example.com>");
	assert_int_equal(parse(s), ADDR_TOO_LONG);

	/* A label of 63 octets is fine, 64 is not. */
	build(s, "<a@", 'b', 63, ".example>");
	assert_int_equal(parse(s), ADDR_OK);
	build(s, "<a@", 'b', 64, ".example>");
	assert_int_equal(parse(s), ADDR_TOO_LONG);

	/* A domain of 4 x 63 + 3 = 255 octets is fine; the path is then
	 * "<a@" + 255 + ">" = 259 octets, over 256. */
	build(dom, "", 'c', 63, "");
	strcat(dom, ".");
	build(dom + 64, "", 'd', 63, ".");
	build(dom + 128, "", 'e', 63, ".");
	build(dom + 192, "", 'f', 63, "");
	assert_int_equal(strlen(dom), 255);
	assert_int_equal(addr_valid_domain(dom, 255, 0), 1);
	snprintf(s, sizeof(s), "<a@%s>", dom);
	assert_int_equal(parse(s), ADDR_TOO_LONG);
	/* 257 octets of domain are too long on their own. */
	strcat(dom, ".g");
	assert_int_equal(addr_valid_domain(dom, strlen(dom), 0), 0);
	snprintf(s, sizeof(s), "<a@%s>", dom);
	assert_int_equal(parse(s), ADDR_TOO_LONG);

	/* The longest path that fits: 256 octets, brackets included. */
	build(dom, "", 'h', 63, ".");
	build(dom + 64, "", 'i', 63, ".");
	build(dom + 128, "", 'j', 63, ".");
	build(dom + 192, "", 'k', 60, "");
	snprintf(s, sizeof(s), "<a@%s>", dom);
	assert_int_equal(strlen(s), 256);
	assert_int_equal(parse(s), ADDR_OK);
	strcat(dom, "k");
	snprintf(s, sizeof(s), "<a@%s>", dom);
	assert_int_equal(strlen(s), 257);
	assert_int_equal(parse(s), ADDR_TOO_LONG);
}

static void test_format(void **state)
{
	struct mailbox m;
	size_t used;
	char out[ADDR_PATH_MAX + 1];
	const char *s = "<\"john doe\"@[192.0.2.1]>";

	assert_int_equal(addr_parse_path(s, strlen(s), 0, 0, &m, &used), ADDR_OK);
	assert_int_equal(addr_format(&m, out, sizeof(out)), 22);
	assert_string_equal(out, "\"john doe\"@[192.0.2.1]");
	/* Exactly enough room, then one byte short. */
	assert_int_equal(addr_format(&m, out, 23), 22);
	assert_int_equal(addr_format(&m, out, 22), -1);

	assert_int_equal(addr_parse_path("<>", 2, 1, 0, &m, &used), ADDR_OK);
	assert_int_equal(addr_format(&m, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(addr_format(&m, out, 0), -1);

	assert_int_equal(addr_parse_path("<Postmaster>", 12, 0, 0, &m, &used), ADDR_OK);
	assert_int_equal(addr_format(&m, out, sizeof(out)), 10);
	assert_string_equal(out, "Postmaster");
}

struct domain_case {
	const char *in;
	int allow_utf8;
	int want;
};

static const struct domain_case domains[] = {
    {"mail.example.com", 0, 1},
    {"localhost", 0, 1},
    {"a-b.c-d.example", 0, 1},
    {"[192.0.2.25]", 0, 1},
    {"[IPv6:::1]", 0, 1},
    {"b\xc3\xbc"
     "cher.example",
     1, 1},
    {"b\xc3\xbc"
     "cher.example",
     0, 0},
    {"", 0, 0},
    {"example.com.", 0, 0},
    {".example.com", 0, 0},
    {"exa mple.com", 0, 0},
    {"example.com ", 0, 0},
    {"-x.example", 0, 0},
    {"x-.example", 0, 0},
    {"under_score.example", 0, 0},
    {"[300.1.1.1]", 0, 0},
    {"[192.0.2.25", 0, 0},
    {"[192.0.2.25]x", 0, 0},
    {"user@example.com", 0, 0},
};

static void test_valid_domain(void **state)
{
	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		const struct domain_case *c = &domains[i];
		if (addr_valid_domain(c->in, strlen(c->in), c->allow_utf8) != c->want)
			fail_msg("domain case %zu '%s': want %d", i, c->in, c->want);
	}
}

static void test_status_text(void **state)
{
	assert_string_equal(addr_status_text(ADDR_OK), "ok");
	assert_string_equal(addr_status_text(ADDR_ROUTE), "source route, %-hack or bang path");
	assert_string_equal(addr_status_text((enum addr_status)99), "unknown address status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_table),
	    cmocka_unit_test(test_consumed_stops_at_bracket),
	    cmocka_unit_test(test_length_is_respected),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_valid_domain),
	    cmocka_unit_test(test_status_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
