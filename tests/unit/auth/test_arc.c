/* Unit tests of the ARC header parsers (RFC 8617 4.1, 4.2.1) and the chain
 * structure rules (RFC 8617 5.2 steps 1-3): instance gaps, duplicates,
 * cv= rules and the limit of 50 sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth/arc_chain.h"
#include "auth/arc_set.h"
#include "core/buf.h"

#define SEAL "a=rsa-sha256; b=ZGVm; d=example.org; s=sel"

struct seal_case {
	const char *in;
	int ok;
};

static const struct seal_case seal_cases[] = {
    {SEAL "; i=1; cv=none", 1},
    {SEAL "; i=50; cv=pass; t=12345", 1},
    {SEAL "; i=2; cv=fail; zz=unknown", 1},
    {" a = ed25519-sha256 ; b=ZG Vm; d=example.org; s=sel; i=1; cv=none;", 1},
    {SEAL "; cv=none", 0},              /* no i= */
    {SEAL "; i=; cv=none", 0},          /* empty i= */
    {SEAL "; i=0; cv=none", 0},         /* RFC 8617 4.2.1: 1..50 */
    {SEAL "; i=51; cv=none", 0},        /* over 50 */
    {SEAL "; i=001; cv=none", 0},       /* 1*2DIGIT */
    {SEAL "; i=x; cv=none", 0},         /* not a number */
    {SEAL "; i=1", 0},                  /* no cv= */
    {SEAL "; i=1; cv=", 0},             /* empty cv= */
    {SEAL "; i=1; cv=Pass", 0},         /* values are case-sensitive */
    {SEAL "; i=1; cv=maybe", 0},        /* unknown cv= */
    {SEAL "; i=1; cv=none; h=from", 0}, /* RFC 8617 4.1.3: no h= */
    {SEAL "; i=1; cv=none; t=", 0},     /* empty t= */
    {SEAL "; i=1; cv=none; t=1 2", 0},  /* whitespace inside t= */
    {SEAL "; I=1; cv=none", 0},         /* tag names are case-sensitive */
    {SEAL "; i=1; cv=none; i=1", 0},    /* duplicate tag */
    {SEAL "; i=1;; cv=none", 0},        /* empty tag-spec */
    {"a=rsa-sha1; b=ZGVm; d=example.org; s=sel; i=1; cv=none", 0},   /* RFC 8301 3.1 */
    {"a=rsa-sha512; b=ZGVm; d=example.org; s=sel; i=1; cv=none", 0}, /* unknown a= */
    {"a=RSA-SHA256; b=ZGVm; d=example.org; s=sel; i=1; cv=none", 0},
    {"b=ZGVm; d=example.org; s=sel; i=1; cv=none", 0},            /* no a= */
    {"a=rsa-sha256; d=example.org; s=sel; i=1; cv=none", 0},      /* no b= */
    {"a=rsa-sha256; b=; d=example.org; s=sel; i=1; cv=none", 0},  /* empty b= */
    {"a=rsa-sha256; b=Z; d=example.org; s=sel; i=1; cv=none", 0}, /* not base64 */
    {"a=rsa-sha256; b=ZGVm; s=sel; i=1; cv=none", 0},             /* no d= */
    {"a=rsa-sha256; b=ZGVm; d=exa mple.org; s=sel; i=1; cv=none", 0},
    {"a=rsa-sha256; b=ZGVm; d=example.org; i=1; cv=none", 0}, /* no s= */
    {"a=rsa-sha256; b=ZGVm; d=example.org; s=; i=1; cv=none", 0},
};

static void test_seal_table(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(seal_cases) / sizeof(seal_cases[0]); k++) {
		struct arc_seal s;
		char err[160] = "";
		int rc = arc_seal_parse(seal_cases[k].in, strlen(seal_cases[k].in), &s, err,
		                        sizeof(err));
		if ((rc == 0) != seal_cases[k].ok)
			fail_msg("case %zu \"%s\": rc %d (%s)", k, seal_cases[k].in, rc, err);
		if (rc != 0 && err[0] == '\0')
			fail_msg("case %zu: no reason", k);
	}
}

static void test_seal_fields(void **state)
{
	const char *v = "a=ed25519-sha256; b=ZGVmZ2hp; cv=pass; d=Example.org; i=7; "
	                "s=s_1; t=1528637909";
	struct arc_seal s;
	char err[160];
	(void)state;

	assert_int_equal(arc_seal_parse(v, strlen(v), &s, err, sizeof(err)), 0);
	assert_int_equal(s.i, 7);
	assert_int_equal(s.cv, ARC_CV_PASS);
	assert_int_equal(s.sig.alg, DKIM_ALG_ED25519_SHA256);
	assert_int_equal(s.sig.hcanon, CANON_RELAXED);
	assert_string_equal(s.sig.d, "Example.org");
	assert_string_equal(s.sig.s, "s_1");
	assert_int_equal(s.sig.t, 1528637909);
	assert_int_equal(s.sig.b_len, 6);
	assert_memory_equal(s.sig.b, "defghi", 6);
	assert_string_equal(arc_cv_name(s.cv), "pass");
}

static void test_aar(void **state)
{
	static const struct {
		const char *in;
		unsigned i; /* 0: invalid */
	} cases[] = {
	    {"i=1; lists.example.org; spf=pass smtp.mfrom=a@b.example", 1},
	    {" i = 12 ;\r\n example.org; none", 12},
	    {"i=50; x", 50},
	    {"i=1 lists.example.org; spf=pass", 0},  /* no ';' after the instance */
	    {"lists.example.org; i=1; spf=pass", 0}, /* not prefixed */
	    {"i=; example.org", 0},
	    {"i=0; example.org", 0},
	    {"i=51; example.org", 0},
	    {"i=1;   ", 0}, /* no authserv-id */
	    {"i=1", 0},
	    {"", 0},
	    {"I=1; example.org", 0},
	};
	(void)state;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		unsigned i = 0;
		char err[160] = "";
		int rc = arc_aar_parse(cases[k].in, strlen(cases[k].in), &i, err, sizeof(err));
		if ((rc == 0) != (cases[k].i != 0) || (rc == 0 && i != cases[k].i))
			fail_msg("case %zu \"%s\": rc %d i %u (%s)", k, cases[k].in, rc, i, err);
	}
}

static void test_ams(void **state)
{
	static const struct {
		const char *in;
		int ok;
	} cases[] = {
	    /* No v=, no From, i= an instance (RFC 8617 4.1.2). */
	    {"a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=to:subject; i=2", 1},
	    {"a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=; i=1", 1},
	    {"a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=from::to; i=1", 1},
	    {"v=1; a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=from; i=1", 1},
	    {"a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=from", 0},
	    {"a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=from; i=a@example.org", 0},
	    {"a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=from:ARC-Seal; i=1", 0},
	    {"a=rsa-sha1; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=from; i=1", 0},
	    {"a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; i=1", 0}, /* no h= */
	    {"a=rsa-sha256; b=ZGVm; d=example.org; s=sel; h=from; i=1", 0},  /* no bh= */
	    {"a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=from; i=1; t=1 2", 0},
	};
	(void)state;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct arc_ams a;
		char err[160] = "";
		int rc = arc_ams_parse(cases[k].in, strlen(cases[k].in), &a, err, sizeof(err));
		if ((rc == 0) != cases[k].ok)
			fail_msg("case %zu \"%s\": rc %d (%s)", k, cases[k].in, rc, err);
	}
	/* The DKIM parser itself still refuses what ARC allows. */
	const char *no_from = "v=1; a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org; s=sel; h=to";
	struct dkim_sig sig;
	char err[160];
	assert_int_equal(dkim_sig_parse(no_from, strlen(no_from), &sig, err, sizeof(err)), -1);
}

/* Header sections built from a compact description of the ARC fields. */
static void add_aar(struct buf *b, unsigned i)
{
	buf_printf(b, "ARC-Authentication-Results: i=%u; example.org; spf=pass\r\n", i);
}

static void add_ams(struct buf *b, unsigned i)
{
	buf_printf(b,
	           "ARC-Message-Signature: a=rsa-sha256; b=ZGVm; bh=YWJj; d=example.org;\r\n"
	           " s=sel; h=from:to; i=%u\r\n",
	           i);
}

static void add_as(struct buf *b, unsigned i, const char *cv)
{
	buf_printf(b, "ARC-Seal: a=rsa-sha256; b=ZGVm; cv=%s; d=example.org; s=sel; i=%u\r\n", cv,
	           i);
}

static void add_set(struct buf *b, unsigned i, const char *cv)
{
	add_as(b, i, cv);
	add_ams(b, i);
	add_aar(b, i);
}

static enum arc_cv collect(struct buf *b, struct arc_chain *c, char *err, size_t errsize)
{
	static struct msghdr_field f[1000];

	buf_append_str(b, "From: a@example.org\r\nTo: b@example.net\r\n");
	long n = msghdr_split(b->data, b->len, f, 1000);
	assert_true(n >= 0);
	err[0] = '\0';
	return arc_chain_collect(f, (size_t)n, c, err, errsize);
}

/* Sets 1..n, newest on top, with cv= none for 1 and pass above. */
static void add_chain(struct buf *b, unsigned n)
{
	for (unsigned i = n; i >= 1; i--)
		add_set(b, i, i == 1 ? "none" : "pass");
}

static void expect(struct buf *b, enum arc_cv want, unsigned n, const char *reason)
{
	static struct arc_chain c;
	char err[200];
	enum arc_cv got = collect(b, &c, err, sizeof(err));

	if (got != want || c.n != n || (reason != NULL && strstr(err, reason) == NULL))
		fail_msg("got %s n=%u (%s), want %s n=%u (%s)", arc_cv_name(got), c.n, err,
		         arc_cv_name(want), n, reason != NULL ? reason : "");
	if (want != ARC_CV_FAIL && err[0] != '\0')
		fail_msg("reason without failure: %s", err);
	buf_reset(b);
}

static void test_chain_rules(void **state)
{
	struct buf b;
	(void)state;

	buf_init(&b, 1 << 20);
	/* 5.2 step 1: no ARC field is "none". */
	buf_append_str(&b, "Subject: x\r\n");
	expect(&b, ARC_CV_NONE, 0, NULL);
	add_chain(&b, 1);
	expect(&b, ARC_CV_PASS, 1, NULL);
	add_chain(&b, 3);
	expect(&b, ARC_CV_PASS, 3, NULL);
	/* Field order within the header section does not matter. */
	add_aar(&b, 1);
	add_as(&b, 2, "pass");
	add_ams(&b, 1);
	add_aar(&b, 2);
	add_as(&b, 1, "none");
	add_ams(&b, 2);
	expect(&b, ARC_CV_PASS, 2, NULL);
	/* A gap: instance 2 missing. */
	add_set(&b, 3, "pass");
	add_set(&b, 1, "none");
	expect(&b, ARC_CV_FAIL, 3, "instance 2 has no");
	/* A set without its seal, its AMS or its AAR. */
	add_ams(&b, 1);
	add_aar(&b, 1);
	expect(&b, ARC_CV_FAIL, 1, "instance 1 has no ARC-Seal");
	add_as(&b, 1, "none");
	add_aar(&b, 1);
	expect(&b, ARC_CV_FAIL, 1, "instance 1 has no ARC-Message-Signature");
	add_as(&b, 1, "none");
	add_ams(&b, 1);
	expect(&b, ARC_CV_FAIL, 1, "instance 1 has no ARC-Authentication-Results");
	/* Duplicates of each kind. */
	add_chain(&b, 2);
	add_ams(&b, 1);
	expect(&b, ARC_CV_FAIL, 2, "more than one ARC-Message-Signature with i=1");
	add_chain(&b, 1);
	add_as(&b, 1, "none");
	expect(&b, ARC_CV_FAIL, 1, "more than one ARC-Seal with i=1");
	add_chain(&b, 1);
	add_aar(&b, 1);
	expect(&b, ARC_CV_FAIL, 1, "more than one ARC-Authentication-Results");
	/* cv= rules: none at 1, pass above, fail anywhere fails. */
	add_set(&b, 1, "pass");
	expect(&b, ARC_CV_FAIL, 1, "i=1 says cv=pass, not none");
	add_set(&b, 2, "none");
	add_set(&b, 1, "none");
	expect(&b, ARC_CV_FAIL, 2, "i=2 says cv=none, not pass");
	add_set(&b, 3, "pass");
	add_set(&b, 2, "fail");
	add_set(&b, 1, "none");
	expect(&b, ARC_CV_FAIL, 3, "ARC-Seal i=2 says cv=fail");
	/* A field that does not parse breaks the chain. */
	add_chain(&b, 1);
	buf_append_str(&b, "ARC-Seal: i=1; cv=none; a=rsa-sha256\r\n");
	expect(&b, ARC_CV_FAIL, 1, "ARC-Seal i=1: missing required tag b=");
	add_chain(&b, 1);
	buf_append_str(&b, "ARC-Seal: i=2; garbage\r\n");
	expect(&b, ARC_CV_FAIL, 1, "ARC-Seal: '=' expected");
	buf_append_str(&b, "ARC-Authentication-Results: example.org; i=1\r\n");
	expect(&b, ARC_CV_FAIL, 0, "does not start with i=");
	/* RFC 8617 4.2.1: 50 sets at most. */
	add_chain(&b, 50);
	expect(&b, ARC_CV_PASS, 50, NULL);
	add_set(&b, 51, "pass");
	add_chain(&b, 50);
	expect(&b, ARC_CV_FAIL, 50, "invalid instance");
	buf_free(&b);
}

static void test_latest_cv_fail(void **state)
{
	static struct arc_chain c;
	struct buf b;
	char err[200];
	(void)state;

	buf_init(&b, 1 << 16);
	add_set(&b, 2, "fail");
	add_set(&b, 1, "none");
	assert_int_equal(collect(&b, &c, err, sizeof(err)), ARC_CV_FAIL);
	assert_true(c.latest_cv_fail);
	assert_non_null(strstr(err, "latest ARC-Seal (i=2) says cv=fail"));
	buf_reset(&b);
	/* A failed older seal is not the latest one's verdict. */
	add_set(&b, 2, "pass");
	add_set(&b, 1, "fail");
	assert_int_equal(collect(&b, &c, err, sizeof(err)), ARC_CV_FAIL);
	assert_false(c.latest_cv_fail);
	buf_free(&b);
}

static void test_instance_value(void **state)
{
	(void)state;
	assert_int_equal(arc_instance_value("1", 1), 1);
	assert_int_equal(arc_instance_value(" 50 ", 4), 50);
	assert_int_equal(arc_instance_value("51", 2), 0);
	assert_int_equal(arc_instance_value("0", 1), 0);
	assert_int_equal(arc_instance_value("", 0), 0);
	assert_int_equal(arc_instance_value("1 2", 3), 0);
	assert_int_equal(arc_instance_value("-1", 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_table),
	    cmocka_unit_test(test_seal_fields),
	    cmocka_unit_test(test_aar),
	    cmocka_unit_test(test_ams),
	    cmocka_unit_test(test_chain_rules),
	    cmocka_unit_test(test_latest_cv_fail),
	    cmocka_unit_test(test_instance_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
