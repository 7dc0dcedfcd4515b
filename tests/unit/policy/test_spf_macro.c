/* Unit tests of the SPF macro expander: the examples of RFC 7208 7.4 and
 * the syntax rules of 7.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "policy/spf.h"

static const unsigned char ip4[4] = {192, 0, 2, 3};
/* 2001:db8::cb01 */
static const unsigned char ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,    0,
                                      0,    0,    0,    0,    0, 0, 0xcb, 0x01};

/* RFC 7208 7.4: "the <sender> is strong-bad@email.example.com". */
static void vars(struct spf_macro_vars *v, int six)
{
	memset(v, 0, sizeof(*v));
	v->sender = "strong-bad@email.example.com";
	v->local = "strong-bad";
	v->sender_domain = "email.example.com";
	v->domain = "email.example.com";
	v->ip = six ? ip6 : ip4;
	v->family = six ? AF_INET6 : AF_INET;
	v->ptr = "mx.example.org";
	v->helo = "mail.example.org";
	v->receiver = "mx.example.net";
	v->now = 1700000000;
}

struct macro_case {
	const char *in;
	unsigned flags;
	int six;
	enum spf_macro_status want;
	const char *out;
};

static const struct macro_case cases[] = {
    /* RFC 7208 7.4 */
    {"%{s}", 0, 0, SPF_MACRO_OK, "strong-bad@email.example.com"},
    {"%{o}", 0, 0, SPF_MACRO_OK, "email.example.com"},
    {"%{d}", 0, 0, SPF_MACRO_OK, "email.example.com"},
    {"%{d4}", 0, 0, SPF_MACRO_OK, "email.example.com"},
    {"%{d3}", 0, 0, SPF_MACRO_OK, "email.example.com"},
    {"%{d2}", 0, 0, SPF_MACRO_OK, "example.com"},
    {"%{d1}", 0, 0, SPF_MACRO_OK, "com"},
    {"%{dr}", 0, 0, SPF_MACRO_OK, "com.example.email"},
    {"%{d2r}", 0, 0, SPF_MACRO_OK, "example.email"},
    {"%{l}", 0, 0, SPF_MACRO_OK, "strong-bad"},
    {"%{l-}", 0, 0, SPF_MACRO_OK, "strong.bad"},
    {"%{lr}", 0, 0, SPF_MACRO_OK, "strong-bad"},
    {"%{lr-}", 0, 0, SPF_MACRO_OK, "bad.strong"},
    {"%{l1r-}", 0, 0, SPF_MACRO_OK, "strong"},
    {"%{ir}.%{v}._spf.%{d2}", 0, 0, SPF_MACRO_OK, "3.2.0.192.in-addr._spf.example.com"},
    {"%{lr-}.lp._spf.%{d2}", 0, 0, SPF_MACRO_OK, "bad.strong.lp._spf.example.com"},
    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", 0, 0, SPF_MACRO_OK,
     "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", 0, 0, SPF_MACRO_OK,
     "3.2.0.192.in-addr.strong.lp._spf.example.com"},
    {"%{d2}.trusted-domains.example.net", 0, 0, SPF_MACRO_OK,
     "example.com.trusted-domains.example.net"},
    /* 7.4 with IPv6; upper-case nibbles (see test_ip6_nibbles_case) */
    {"%{ir}.%{v}._spf.%{d2}", 0, 1, SPF_MACRO_OK,
     "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"},
    /* the other letters */
    {"%{p}.%{h}", 0, 0, SPF_MACRO_OK, "mx.example.org.mail.example.org"},
    {"%{c} %{r} %{t}", SPF_MACRO_EXP, 0, SPF_MACRO_OK, "192.0.2.3 mx.example.net 1700000000"},
    {"%{c}", SPF_MACRO_EXP, 1, SPF_MACRO_OK, "2001:db8::cb01"},
    {"%{v}", 0, 1, SPF_MACRO_OK, "ip6"},
    /* escapes and URL encoding (7.1, 7.3) */
    {"a%%b%_c%-d", 0, 0, SPF_MACRO_OK, "a%b c%20d"},
    {"%{L}", 0, 0, SPF_MACRO_OK, "strong-bad"},
    {"%{S}", 0, 0, SPF_MACRO_OK, "strong-bad%40email.example.com"},
    {"%{D2R}", 0, 0, SPF_MACRO_OK, "example.email"},
    /* delimiters, several at once, and large digits */
    {"%{l-+}", 0, 0, SPF_MACRO_OK, "strong.bad"},
    {"%{d99999999999999999}", 0, 0, SPF_MACRO_OK, "email.example.com"},
    {"%{s@.}", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%{s=@}", 0, 0, SPF_MACRO_SYNTAX, NULL},
    /* syntax errors (7.1) */
    {"%", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%x", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%(ir)", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%{d", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%{}", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%{a}", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%{d0}", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%{dx}", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%{c}", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%{r}", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"%{t}", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"a b", 0, 0, SPF_MACRO_SYNTAX, NULL},
    {"a b", SPF_MACRO_EXP, 0, SPF_MACRO_OK, "a b"},
    {"caf\xc3\xa9", SPF_MACRO_EXP, 0, SPF_MACRO_SYNTAX, NULL},
    {"tab\there", SPF_MACRO_EXP, 0, SPF_MACRO_SYNTAX, NULL},
    {"", 0, 0, SPF_MACRO_OK, ""},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct macro_case *c = &cases[i];
		struct spf_macro_vars v;
		struct buf out;
		int uses_p;

		vars(&v, c->six);
		buf_init(&out, 4096);
		enum spf_macro_status st =
		    spf_macro_expand(c->in, strlen(c->in), &v, c->flags, &out);
		if (st != c->want)
			fail_msg("case %zu '%s': status %d", i, c->in, st);
		assert_int_equal(spf_macro_check(c->in, strlen(c->in), c->flags, &uses_p), st);
		if (c->out != NULL)
			assert_string_equal(out.data != NULL ? out.data : "", c->out);
		else
			assert_int_equal(out.len, 0);
		buf_free(&out);
	}
}

/* RFC 7208 7.4 writes the IPv6 nibbles in lower case; the test suite
 * (v-macro-ip6) wants upper case.  DNS does not care, so the two agree. */
static void test_ip6_nibbles_case(void **state)
{
	static const char rfc[] =
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com";
	struct spf_macro_vars v;
	struct buf out;

	vars(&v, 1);
	buf_init(&out, 4096);
	assert_int_equal(spf_macro_expand("%{ir}.%{v}._spf.%{d2}", 21, &v, 0, &out), SPF_MACRO_OK);
	assert_int_equal(strcasecmp(out.data, rfc), 0);
	buf_free(&out);
}

static void test_uses_p(void **state)
{
	int p = 0;

	assert_int_equal(spf_macro_check("%{p}.example.com", 16, 0, &p), SPF_MACRO_OK);
	assert_int_equal(p, 1);
	assert_int_equal(spf_macro_check("%{P2}", 5, 0, &p), SPF_MACRO_OK);
	assert_int_equal(p, 1);
	assert_int_equal(spf_macro_check("%{d}.p.example", 14, 0, &p), SPF_MACRO_OK);
	assert_int_equal(p, 0);
}

static void test_too_long_keeps_out(void **state)
{
	struct spf_macro_vars v;
	struct buf out;

	vars(&v, 0);
	buf_init(&out, 16);
	assert_int_equal(buf_append_str(&out, "keep"), 0);
	assert_int_equal(spf_macro_expand("%{s}", 4, &v, 0, &out), SPF_MACRO_TOO_LONG);
	assert_string_equal(out.data, "keep");
	assert_int_equal(spf_macro_expand("%{x}", 4, &v, 0, &out), SPF_MACRO_SYNTAX);
	assert_string_equal(out.data, "keep");
	buf_free(&out);
}

/* RFC 7208 7.3: labels go from the left until 253 octets remain. */
static void test_truncate(void **state)
{
	char name[700], *t;
	size_t n = 0;

	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(name + n, sizeof(name) - n, "label%02d.", i);
	memcpy(name + n, "example.com.", 13);
	t = spf_domain_truncate(name);
	assert_true(strlen(t) <= 253);
	assert_true(strlen(t) > 253 - 9);
	assert_string_equal(t + strlen(t) - 11, "example.com");
	assert_int_equal(t[-1], '.');

	char shortname[] = "example.com.";
	assert_string_equal(spf_domain_truncate(shortname), "example.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),    cmocka_unit_test(test_ip6_nibbles_case),
	    cmocka_unit_test(test_uses_p),   cmocka_unit_test(test_too_long_keeps_out),
	    cmocka_unit_test(test_truncate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
