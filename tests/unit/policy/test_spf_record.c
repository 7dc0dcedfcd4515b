/* Unit tests of the SPF record parser: a table of records, permerror or
 * the terms each must give (RFC 7208 4.5, 4.6, 5, 6, 7.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "policy/spf.h"

struct record_case {
	const char *in;
	int ok;
	size_t nmechs;
	const char *redirect, *exp;
};

static const struct record_case cases[] = {
    /* version and spacing (4.5, 4.6.1) */
    {"v=spf1", 1, 0, NULL, NULL},
    {"V=SpF1 -all", 1, 1, NULL, NULL},
    {"v=spf1  a   -all  ", 1, 2, NULL, NULL},
    {"v=spf10", 0, 0, NULL, NULL},
    {"v=spf1\tall", 0, 0, NULL, NULL},
    /* all (5.1) */
    {"v=spf1 -all.", 0, 0, NULL, NULL},
    {"v=spf1 -all:foobar", 0, 0, NULL, NULL},
    {"v=spf1 -all/8", 0, 0, NULL, NULL},
    {"v=spf1 all -all", 1, 2, NULL, NULL},
    /* include and exists need a domain-spec, no cidr (5.2, 5.7) */
    {"v=spf1 include", 0, 0, NULL, NULL},
    {"v=spf1 include:", 0, 0, NULL, NULL},
    {"v=spf1 include:ip5.example.com/24", 0, 0, NULL, NULL},
    {"v=spf1 exists:mail.example.com/24", 0, 0, NULL, NULL},
    {"v=spf1 exists:%{ir}.sbl.example.com", 1, 1, NULL, NULL},
    /* a, mx: dual-cidr-length (5.3, 5.4) */
    {"v=spf1 a/24//64 -all", 1, 2, NULL, NULL},
    {"v=spf1 a/24/64", 0, 0, NULL, NULL},
    {"v=spf1 a/33", 0, 0, NULL, NULL},
    {"v=spf1 a//129", 0, 0, NULL, NULL},
    {"v=spf1 mx//0", 1, 1, NULL, NULL},
    {"v=spf1 a:", 0, 0, NULL, NULL},
    {"v=spf1 a:foo:bar/baz.example.com", 1, 1, NULL, NULL},
    {"v=spf1 a:example.com:8080", 0, 0, NULL, NULL},
    {"v=spf1 a:111.222.33.44", 0, 0, NULL, NULL},
    {"v=spf1 a:museum", 0, 0, NULL, NULL},
    {"v=spf1 a:museum.", 0, 0, NULL, NULL},
    {"v=spf1 a:example.-com", 0, 0, NULL, NULL},
    {"v=spf1 a:foo.example.xn--zckzah", 1, 1, NULL, NULL},
    {"v=spf1 a:%{H}", 1, 1, NULL, NULL},
    {"v=spf1 a:%{a}.example.com", 0, 0, NULL, NULL},
    /* ptr (5.5) */
    {"v=spf1 ptr/0", 0, 0, NULL, NULL},
    {"v=spf1 ptr:", 0, 0, NULL, NULL},
    {"v=spf1 ptr ptr:example.com", 1, 2, NULL, NULL},
    /* ip4, ip6 (5.6) */
    {"v=spf1 ip4:1.2.3.4/32 ip4:0.0.0.0/0", 1, 2, NULL, NULL},
    {"v=spf1 ip4:1.2.3.4/33", 0, 0, NULL, NULL},
    {"v=spf1 ip4:1.2.3.4/032", 0, 0, NULL, NULL},
    {"v=spf1 ip4:1.2.3.4//32", 0, 0, NULL, NULL},
    {"v=spf1 ip4:1.2.3", 0, 0, NULL, NULL},
    {"v=spf1 ip4:01.2.3.4", 0, 0, NULL, NULL},
    {"v=spf1 ip4:1.2.3.4:8080", 0, 0, NULL, NULL},
    {"v=spf1 ip4", 0, 0, NULL, NULL},
    {"v=spf1 ip6:::1.1.1.1/0 ip6:Cafe:Babe:8000::/33", 1, 2, NULL, NULL},
    {"v=spf1 ip6:::1.1.1.1/129", 0, 0, NULL, NULL},
    {"v=spf1 ip6:::1.1.1.1//33", 0, 0, NULL, NULL},
    {"v=spf1 ip6::CAFE::BABE", 0, 0, NULL, NULL},
    /* modifiers (6) */
    {"v=spf1 redirect=example.com", 1, 0, "example.com", NULL},
    {"v=spf1 exp=%{l}.example.com -all", 1, 1, NULL, "%{l}.example.com"},
    {"v=spf1 redirect=a.example redirect=b.example", 0, 0, NULL, NULL},
    {"v=spf1 exp=a.example exp=b.example", 0, 0, NULL, NULL},
    {"v=spf1 exp=", 0, 0, NULL, NULL},
    {"v=spf1 exp=-all", 0, 0, NULL, NULL},
    {"v=spf1 exp=%{r}.example.com", 0, 0, NULL, NULL},
    {"v=spf1 ?all redirect=", 0, 0, NULL, NULL},
    {"v=spf1 redirect:example.com", 0, 0, NULL, NULL},
    {"v=spf1 moo.cow-far_out=man:dog/cat -all", 1, 1, NULL, NULL},
    {"v=spf1 moo.cow/far_out=man:dog/cat", 0, 0, NULL, NULL},
    {"v=spf1 1up=foo", 0, 0, NULL, NULL},
    {"v=spf1 =all", 0, 0, NULL, NULL},
    {"v=spf1 -all foo=%abc", 0, 0, NULL, NULL},
    {"v=spf1 default=+", 1, 0, NULL, NULL},
    {"v=spf1 -foo=bar", 0, 0, NULL, NULL},
    /* unknown mechanisms and bytes outside visible ASCII (3.1, 4.6.1) */
    {"v=spf1 ip4:1.2.3.4 -all moo", 0, 0, NULL, NULL},
    {"v=spf1 a:\xEF\xBB\xBFgarbage.example.net -all", 0, 0, NULL, NULL},
    {"v=spf1 a:ctrl.example.com\rptr -all", 0, 0, NULL, NULL},
    {"v=spf1 a:macro%%percent%_%_space%-url-space.example.com", 1, 1, NULL, NULL},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct record_case *c = &cases[i];
		struct spf_record rec;
		char err[160] = "";
		int rc = spf_record_parse(c->in, strlen(c->in), &rec, err, sizeof(err));
		if ((rc == 0) != c->ok)
			fail_msg("case %zu '%s': rc %d (%s)", i, c->in, rc, err);
		if (c->ok) {
			assert_int_equal(rec.nmechs, c->nmechs);
			if (c->redirect != NULL)
				assert_string_equal(rec.redirect, c->redirect);
			if (c->exp != NULL)
				assert_string_equal(rec.exp, c->exp);
		} else {
			assert_true(err[0] != '\0');
		}
		spf_record_free(&rec);
	}
}

static void test_terms(void **state)
{
	const char *in =
	    "v=spf1 ~a:Example.com/24//64 ?mx ip4:192.0.2.0/24 -ip6:2001:db8::/32 +all";
	struct spf_record rec;
	char err[160];

	assert_int_equal(spf_record_parse(in, strlen(in), &rec, err, sizeof(err)), 0);
	assert_int_equal(rec.nmechs, 5);
	assert_int_equal(rec.mechs[0].type, SPF_MECH_A);
	assert_int_equal(rec.mechs[0].qualifier, SPF_SOFTFAIL);
	assert_string_equal(rec.mechs[0].domain_spec, "Example.com");
	assert_int_equal(rec.mechs[0].cidr4, 24);
	assert_int_equal(rec.mechs[0].cidr6, 64);
	assert_int_equal(rec.mechs[1].type, SPF_MECH_MX);
	assert_int_equal(rec.mechs[1].qualifier, SPF_NEUTRAL);
	assert_null(rec.mechs[1].domain_spec);
	assert_int_equal(rec.mechs[1].cidr4, 32);
	assert_int_equal(rec.mechs[1].cidr6, 128);
	assert_int_equal(rec.mechs[2].type, SPF_MECH_IP4);
	assert_memory_equal(rec.mechs[2].addr, "\xc0\x00\x02\x00", 4);
	assert_int_equal(rec.mechs[2].cidr4, 24);
	assert_int_equal(rec.mechs[3].type, SPF_MECH_IP6);
	assert_int_equal(rec.mechs[3].qualifier, SPF_FAIL);
	assert_int_equal(rec.mechs[3].cidr6, 32);
	assert_int_equal(rec.mechs[4].type, SPF_MECH_ALL);
	assert_int_equal(rec.mechs[4].qualifier, SPF_PASS);
	spf_record_free(&rec);
}

static void test_is_spf(void **state)
{
	assert_true(spf_record_is_spf("v=spf1", 6));
	assert_true(spf_record_is_spf("v=SPF1 mx", 9));
	assert_false(spf_record_is_spf("v=spf1mx", 8));
	assert_false(spf_record_is_spf("v=spf10", 7));
	assert_false(spf_record_is_spf("v=spf", 5));
	assert_false(spf_record_is_spf(" v=spf1", 7));
}

static void test_embedded_nul_and_length(void **state)
{
	static const char nul[] = "v=spf1 a:foo.example.com\0";
	char big[SPF_RECORD_MAX + 16];
	struct spf_record rec;
	char err[160];

	assert_int_equal(spf_record_parse(nul, sizeof(nul) - 1, &rec, err, sizeof(err)), -1);
	spf_record_free(&rec);
	memset(big, ' ', sizeof(big));
	memcpy(big, "v=spf1", 6);
	assert_int_equal(spf_record_parse(big, sizeof(big), &rec, err, sizeof(err)), -1);
	spf_record_free(&rec);
}

static void test_domain_spec(void **state)
{
	assert_true(spf_domain_spec_valid("example.com", 11));
	assert_true(spf_domain_spec_valid("example.com.", 12));
	assert_true(spf_domain_spec_valid("%{d}", 4));
	assert_true(spf_domain_spec_valid("_spf.%{d2}", 10));
	assert_true(spf_domain_spec_valid("a.123-456", 9));
	assert_false(spf_domain_spec_valid("", 0));
	assert_false(spf_domain_spec_valid("%{d}com", 7));
	assert_false(spf_domain_spec_valid("foo.%{d}x", 9));
	assert_false(spf_domain_spec_valid("abc.123", 7));
	assert_false(spf_domain_spec_valid("foo.com-", 8));
	assert_false(spf_domain_spec_valid("foo bar.com", 11));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),       cmocka_unit_test(test_terms),
	    cmocka_unit_test(test_is_spf),      cmocka_unit_test(test_embedded_nul_and_length),
	    cmocka_unit_test(test_domain_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
