/* Unit tests of Authentication-Results payload reading (RFC 8601 2.2,
 * RFC 8617 4.1.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth/authres_read.h"

/* authres_find on a literal that may hold a NUL. */
#define FIND_LIT(lit, method, out) authres_find(lit, sizeof(lit) - 1, method, NULL, out)

static int find(const char *payload, const char *method, const char *prop,
                struct authres_found *out)
{
	return authres_find(payload, strlen(payload), method, prop, out);
}

/* RFC 8601 appendix B.2 to B.6. */
static void test_rfc8601_examples(void **state)
{
	struct authres_found f;
	(void)state;

	assert_int_equal(find("example.org 1; none", "dkim", NULL, &f), 0);
	assert_int_equal(find("example.org; none", "none", NULL, &f), 0);

	assert_int_equal(
	    find("example.com; spf=pass smtp.mailfrom=example.net", "spf", "smtp.mailfrom", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "example.net");

	const char *b4 = "example.com;\r\n"
	                 "\t  auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
	                 "\t  spf=pass smtp.mailfrom=example.net";
	assert_int_equal(find(b4, "auth", "smtp.auth", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "sender@example.net");
	assert_int_equal(find(b4, "spf", "smtp.mailfrom", &f), 1);
	assert_string_equal(f.value, "example.net");
	assert_int_equal(find(b4, "spf", "smtp.auth", &f), 1);
	assert_string_equal(f.value, ""); /* auth's property, not spf's */

	assert_int_equal(
	    find("example.com; iprev=pass policy.iprev=192.0.2.200", "iprev", "policy.iprev", &f),
	    1);
	assert_string_equal(f.value, "192.0.2.200");

	const char *b5 = "example.com;\r\n"
	                 "          sender-id=fail header.from=example.com;\r\n"
	                 "          dkim=pass (good signature) header.d=example.com";
	assert_int_equal(find(b5, "sender-id", "header.from", &f), 1);
	assert_string_equal(f.result, "fail");
	assert_string_equal(f.value, "example.com");
	assert_int_equal(find(b5, "dkim", "header.d", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "example.com");

	const char *b6 = "example.com;\r\n"
	                 "    dkim=pass reason=\"good signature\"\r\n"
	                 "      header.i=@mail-router.example.net;\r\n"
	                 "    dkim=fail reason=\"bad signature\"\r\n"
	                 "      header.i=@newyork.example.com";
	assert_int_equal(find(b6, "dkim", "header.i", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "@mail-router.example.net");
	assert_int_equal(find(b6, "dkim", "reason", &f), 1);
	assert_string_equal(f.value, "good signature");
}

/* RFC 8601 B.7: comments wherever CFWS may be. */
static void test_rfc8601_comments(void **state)
{
	const char *b7 = "foo.example.net (foobar) 1 (baz);\r\n"
	                 "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n"
	                 "      policy (A dot can go here) . (like that) expired\r\n"
	                 "      (this surprised me) = (as I wasn't expecting it) 1362471462";
	struct authres_found f;
	(void)state;

	assert_int_equal(find(b7, "dkim", "policy.expired", &f), 1);
	assert_string_equal(f.result, "fail");
	assert_string_equal(f.value, "1362471462");
	assert_int_equal(find(b7, "spf", "policy.expired", &f), 0);
}

/* RFC 8617 appendix B: payloads after "i=N;", with their leading space. */
static void test_rfc8617_examples(void **state)
{
	const char *aar1 = " lists.example.org;\r\n"
	                   "      spf=pass smtp.mfrom=jqd@d1.example;\r\n"
	                   "      dkim=pass (1024-bit key) header.i=@d1.example;\r\n"
	                   "      dmarc=pass";
	const char *aar2 = " gmail.example; spf=fail smtp.from=jqd@d1.example;\r\n"
	                   "      dkim=fail (512-bit key) header.i=@example.org;\r\n"
	                   "      dmarc=fail;\r\n"
	                   "      arc=pass (as.2.gmail.example=pass, ams.2.gmail.example=pass,\r\n"
	                   "        as.1.lists.example.org=pass,\r\n"
	                   "        ams.1.lists.example.org=fail (message has been altered))";
	struct authres_found f;
	(void)state;

	assert_int_equal(find(aar1, "dmarc", "header.from", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "");
	assert_int_equal(find(aar1, "dkim", "header.i", &f), 1);
	assert_string_equal(f.value, "@d1.example");
	assert_int_equal(find(aar1, "spf", "smtp.mfrom", &f), 1);
	assert_string_equal(f.value, "jqd@d1.example");
	assert_int_equal(find(aar2, "arc", NULL, &f), 1);
	assert_string_equal(f.result, "pass");
	assert_int_equal(find(aar2, "dmarc", NULL, &f), 1);
	assert_string_equal(f.result, "fail");
}

/* Payloads as large providers write them. */
static void test_real_world(void **state)
{
	const char *google =
	    " mx.google.com;\r\n"
	    "       dkim=pass header.i=@a.example header.s=s1 header.b=Ab/+Cd9=;\r\n"
	    "       spf=pass (google.com: domain of x@a.example designates 192.0.2.1 as "
	    "permitted sender) smtp.mailfrom=x@a.example;\r\n"
	    "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=a.example";
	const char *microsoft = " mx.microsoft.com 1; spf=pass\r\n"
	                        " smtp.mailfrom=a.example; dmarc=pass action=none\r\n"
	                        " header.from=a.example; dkim=pass header.d=a.example; arc=none";
	const char *v6 = "mx.example; iprev=pass policy.iprev=[2001:db8::1]";
	struct authres_found f;
	(void)state;

	assert_int_equal(find(google, "dmarc", "header.from", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "a.example");
	assert_int_equal(find(google, "dkim", "header.b", &f), 1);
	assert_string_equal(f.value, "Ab/+Cd9=");
	assert_int_equal(find(microsoft, "dmarc", "header.from", &f), 1);
	assert_string_equal(f.value, "a.example");
	assert_int_equal(find(microsoft, "dmarc", "action", &f), 1);
	assert_string_equal(f.value, "none");
	assert_int_equal(find(microsoft, "arc", NULL, &f), 1);
	assert_string_equal(f.result, "none");
	assert_int_equal(find(v6, "iprev", "policy.iprev", &f), 1);
	assert_string_equal(f.value, "[2001:db8::1]");
}

static void test_nested_comments(void **state)
{
	char deep[128];
	struct authres_found f;
	(void)state;

	assert_int_equal(find("a.example; dkim=pass (x (y \\) (z)) w) (\\(\\() header.d=b.example",
	                      "dkim", "header.d", &f),
	                 1);
	assert_string_equal(f.value, "b.example");
	assert_int_equal(find("a.example; dkim=pass (x (y) header.d=b.example", "dkim", NULL, &f),
	                 -1);
	assert_int_equal(find("a.example; dkim=pass (x) y) header.d=b", "dkim", NULL, &f), -1);
	assert_int_equal(find("a.example; dkim=pass (x\\", "dkim", NULL, &f), -1);

	/* 16 levels are allowed, 17 are not */
	for (int depth = 16; depth <= 17; depth++) {
		size_t n = (size_t)snprintf(deep, sizeof(deep), "a.example; dkim=pass ");
		for (int j = 0; j < depth; j++)
			deep[n++] = '(';
		for (int j = 0; j < depth; j++)
			deep[n++] = ')';
		deep[n] = '\0';
		assert_int_equal(find(deep, "dkim", NULL, &f), depth == 16 ? 1 : -1);
	}
}

static void test_quoted_values(void **state)
{
	struct authres_found f;
	(void)state;

	assert_int_equal(
	    find("a.example; dmarc=pass header.from=\"b.example\"", "dmarc", "header.from", &f), 1);
	assert_string_equal(f.value, "b.example");
	assert_int_equal(
	    find("a.example; dkim=pass reason=\"a \\\"b\\\" (c);\"", "dkim", "reason", &f), 1);
	assert_string_equal(f.value, "a \"b\" (c);");
	assert_int_equal(find("a.example; dkim=pass header.d=\"\"", "dkim", "header.d", &f), 1);
	assert_string_equal(f.value, "");
	/* a quoted local-part stays quoted: it belongs to the address */
	assert_int_equal(
	    find("a.example; auth=pass smtp.auth=\"j smith\"@b.example", "auth", "smtp.auth", &f),
	    1);
	assert_string_equal(f.value, "\"j smith\"@b.example");
	/* a quoted authserv-id, and a property right after a quoted value */
	assert_int_equal(
	    find("\"a;b\"; dkim=pass header.s=\"s\"header.d=c", "dkim", "header.d", &f), 1);
	assert_string_equal(f.value, "c");
	/* folding inside a quoted string is removed */
	assert_int_equal(
	    find("a.example; dkim=pass reason=\"good\r\n\tsig\"", "dkim", "reason", &f), 1);
	assert_string_equal(f.value, "good\tsig");
	assert_int_equal(find("a.example; dkim=pass reason=\"x\\\r\n y\"", "dkim", NULL, &f), -1);
	assert_int_equal(find("a.example; dkim=pass reason=\"open", "dkim", NULL, &f), -1);
	assert_int_equal(find("a.example; dkim=pass header.d=b\"c\"", "dkim", NULL, &f), -1);
}

static void test_folding(void **state)
{
	struct authres_found f;
	(void)state;

	assert_int_equal(find("\r\n\ta.example\r\n\t;\r\n\tdkim\r\n\t=\r\n\tpass\r\n\theader\r\n\t."
	                      "\r\n\td\r\n\t=\r\n\tb.example\r\n\t",
	                      "dkim", "header.d", &f),
	                 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "b.example");
}

static void test_method_version(void **state)
{
	struct authres_found f;
	(void)state;

	assert_int_equal(find("a.example; dkim/1=pass header.d=b", "dkim", "header.d", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "b");
	assert_int_equal(find("a.example; dkim / 2 = pass", "dkim", NULL, &f), 1);
	assert_int_equal(find("a.example; dkim/=pass", "dkim", NULL, &f), -1);
	assert_int_equal(find("a.example; dkim/x=pass", "dkim", NULL, &f), -1);
	assert_int_equal(find("a.example; dkim/1", "dkim", NULL, &f), -1);
}

static void test_authres_version(void **state)
{
	struct authres_found f;
	(void)state;

	assert_int_equal(find("a.example 1; dkim=pass", "dkim", NULL, &f), 1);
	assert_int_equal(find("a.example (c) 01 (d) ; dkim=pass", "dkim", NULL, &f), 1);
	assert_int_equal(find("a.example 2; dkim=pass", "dkim", NULL, &f), -1);
	assert_int_equal(find("a.example 1 2; dkim=pass", "dkim", NULL, &f), -1);
	assert_int_equal(find("\"a.example\"1; dkim=pass", "dkim", NULL, &f), -1);
}

static void test_case(void **state)
{
	struct authres_found f;
	(void)state;

	assert_int_equal(
	    find("A.Example; DKIM=PASS Header.From=B.Example", "dkim", "header.from", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "B.Example"); /* as written */
	assert_int_equal(find("a.example; dkim=Pass HEADER.D=b", "DKim", "Header.d", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "b");
}

/* A result inside a comment, a quoted string, another resinfo's property
 * or the authserv-id is never taken for one. */
static void test_decoys(void **state)
{
	static const char *const decoys[] = {
	    "a.example; spf=pass (dmarc=pass) smtp.mailfrom=b",
	    "a.example; spf=pass (; dmarc=pass) smtp.mailfrom=b",
	    "a.example; spf=pass smtp.mailfrom=\"x; dmarc=pass\"",
	    "a.example; dkim=fail header.d=\"b; dmarc=pass header.from=b\"",
	    "a.example; spf=pass smtp.mailfrom=b dmarc=pass",
	    "a.example; spf=pass policy.x=dmarc=pass",
	    "\"a; dmarc=pass\"; spf=pass",
	    "a.example (; dmarc=pass); spf=pass",
	    "a.example; spf=pass (\\); dmarc=pass)",
	};
	struct authres_found f;
	(void)state;

	for (size_t k = 0; k < sizeof(decoys) / sizeof(decoys[0]); k++)
		assert_int_equal(find(decoys[k], "dmarc", "header.from", &f), 0);
	/* an escaped ")" does not close the comment early */
	assert_int_equal(find("a.example; spf=pass (\\); dmarc=pass", "dmarc", NULL, &f), -1);
}

static void test_first_counts(void **state)
{
	const char *two = "a.example; dmarc=fail header.from=x.example;"
	                  " dmarc=pass header.from=y.example";
	struct authres_found f;
	(void)state;

	assert_int_equal(find(two, "dmarc", "header.from", &f), 1);
	assert_string_equal(f.result, "fail");
	assert_string_equal(f.value, "x.example");
	/* another method's property is not reported */
	assert_int_equal(find("a.example; dkim=pass header.from=evil.example; dmarc=pass", "dmarc",
	                      "header.from", &f),
	                 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "");
	/* nor a later resinfo's of the same method */
	assert_int_equal(
	    find("a.example; dmarc=pass; dmarc=fail header.from=b", "dmarc", "header.from", &f), 1);
	assert_string_equal(f.result, "pass");
	assert_string_equal(f.value, "");
	/* a repeated property: the first */
	assert_int_equal(
	    find("a.example; dmarc=pass header.from=b header.from=c", "dmarc", "header.from", &f),
	    1);
	assert_string_equal(f.value, "b");
}

static void test_reason(void **state)
{
	const char *p = "a.example; dkim=pass reason=\"good signature\" header.i=@b.example;"
	                " compauth=pass reason=100";
	struct authres_found f;
	(void)state;

	assert_int_equal(find(p, "dkim", "header.i", &f), 1);
	assert_string_equal(f.value, "@b.example");
	assert_int_equal(find(p, "dkim", "reason", &f), 1);
	assert_string_equal(f.value, "good signature");
	assert_int_equal(find(p, "compauth", "reason", &f), 1);
	assert_string_equal(f.value, "100");
	assert_int_equal(find(p, "dkim", "i", &f), 1);
	assert_string_equal(f.value, ""); /* "header.i" is not "i" */
	assert_int_equal(find(p, "dkim", "header", &f), 1);
	assert_string_equal(f.value, "");
}

static void test_not_found(void **state)
{
	struct authres_found f;
	(void)state;

	assert_int_equal(find("a.example; spf=pass", "dkim", NULL, &f), 0);
	assert_int_equal(find("a.example; dkim-adsp=pass", "dkim", NULL, &f), 0);
	assert_int_equal(find("a.example; dkim=pass", "dkim-adsp", NULL, &f), 0);
	assert_int_equal(find("a.example; dkim=pass", "", NULL, &f), 0);
	assert_int_equal(find("a.example; none", "dkim", "header.d", &f), 0);
	assert_int_equal(find("a.example; none;", "dkim", NULL, &f), 0);
	assert_int_equal(find("a.example;none (nothing)", "dkim", NULL, &f), 0);
	/* "none" as a method name is a method */
	assert_int_equal(find("a.example; none=pass", "none", NULL, &f), 1);
}

static void test_trailing_semicolon(void **state)
{
	struct authres_found f;
	(void)state;

	assert_int_equal(find("a.example; dkim=pass;", "dkim", NULL, &f), 1);
	assert_int_equal(find("a.example; dkim=pass header.d=b ; (c)\r\n ", "dkim", "header.d", &f),
	                 1);
	assert_string_equal(f.value, "b");
	assert_int_equal(find("a.example; dkim=pass;;", "dkim", NULL, &f), -1);
	assert_int_equal(find("a.example;", "dkim", NULL, &f), -1);
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "(c)",
	    "a.example",
	    "a.example ",
	    ";dkim=pass",
	    "a@example; dkim=pass",
	    "a.example dkim=pass",
	    "a.example; dkim",
	    "a.example; dkim pass",
	    "a.example; dkim=",
	    "a.example; =pass",
	    "a.example; dkim=pass header",
	    "a.example; dkim=pass header.",
	    "a.example; dkim=pass header.d",
	    "a.example; dkim=pass header.d=",
	    "a.example; dkim=pass header.d= ;",
	    "a.example; dkim=pass .d=b",
	    "a.example; dkim=pass header..d=b",
	    "a.example; dkim=pa$s",
	    "a.example; dkim=pass.x",
	    "a.example; dkim=pass )",
	    "a.example; dkim=pass header.d=b\\c",
	    "a.example; d_kim=pass",
	    "a.example; none; dkim=pass",
	    "a.example; dkim=pass; none",
	    "a.example; none none",
	    "a.example; dkim=pass; spf=",
	    "a.example; dkim=pass; spf=pass (unclosed",
	};
	struct authres_found f;
	(void)state;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memset(&f, 'x', sizeof(f));
		assert_int_equal(find(bad[k], "dkim", "header.d", &f), -1);
		assert_string_equal(f.result, "");
		assert_string_equal(f.value, "");
	}
	/* a NUL is never part of a payload */
	assert_int_equal(FIND_LIT("a.example; dkim=pass\0", "dkim", &f), -1);
	assert_int_equal(FIND_LIT("a.example; dkim=pass (\0)", "dkim", &f), -1);
	assert_int_equal(FIND_LIT("a.example; dkim=pass reason=\"\0\"", "dkim", &f), -1);
	assert_int_equal(FIND_LIT("a.example; dkim=pass reason=\"\\\0\"", "dkim", &f), -1);
	/* the length, not a NUL, ends the payload */
	assert_int_equal(
	    authres_find("a.example; dkim=pass header.d=b", 20, "dkim", "header.d", &f), 1);
	assert_string_equal(f.value, "");
	assert_int_equal(authres_find(NULL, 0, "dkim", NULL, &f), -1);
	assert_int_equal(authres_find("a; dkim=pass", 12, NULL, NULL, &f), -1);
	assert_int_equal(authres_find("a; dkim=pass", 12, "dkim", NULL, NULL), -1);
}

static void test_too_long(void **state)
{
	char p[700];
	struct authres_found f;
	(void)state;

	/* results: 31 characters fit, 32 do not; another method's may be long */
	snprintf(p, sizeof(p), "a.example; dkim=%031d", 0);
	assert_int_equal(find(p, "dkim", NULL, &f), 1);
	assert_int_equal(strlen(f.result), 31);
	snprintf(p, sizeof(p), "a.example; dkim=%032d", 0);
	assert_int_equal(find(p, "dkim", NULL, &f), -1);
	assert_int_equal(find(p, "spf", NULL, &f), 0);

	/* values: 255 characters fit, 256 do not; other values may be long */
	snprintf(p, sizeof(p), "a.example; dkim=pass header.d=%0255d", 0);
	assert_int_equal(find(p, "dkim", "header.d", &f), 1);
	assert_int_equal(strlen(f.value), 255);
	snprintf(p, sizeof(p), "a.example; dkim=pass header.d=\"%0255d\"", 0);
	assert_int_equal(find(p, "dkim", "header.d", &f), 1);
	snprintf(p, sizeof(p), "a.example; dkim=pass header.d=%0256d", 0);
	assert_int_equal(find(p, "dkim", "header.d", &f), -1);
	assert_int_equal(find(p, "dkim", "header.s", &f), 1);
	assert_int_equal(find(p, "dkim", NULL, &f), 1);
	snprintf(p, sizeof(p), "a.example; dkim=pass header.d=\"%0256d\"", 0);
	assert_int_equal(find(p, "dkim", "header.d", &f), -1);
	snprintf(p, sizeof(p), "a.example; spf=pass header.d=%0600d; dkim=pass", 0);
	assert_int_equal(find(p, "dkim", "header.d", &f), 1);
}

static void test_prop_null(void **state)
{
	struct authres_found f;
	(void)state;

	memset(&f, 'x', sizeof(f));
	assert_int_equal(find("a.example; dmarc=Quarantine header.from=b", "dmarc", NULL, &f), 1);
	assert_string_equal(f.result, "quarantine");
	assert_string_equal(f.value, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc8601_examples),
	    cmocka_unit_test(test_rfc8601_comments),
	    cmocka_unit_test(test_rfc8617_examples),
	    cmocka_unit_test(test_real_world),
	    cmocka_unit_test(test_nested_comments),
	    cmocka_unit_test(test_quoted_values),
	    cmocka_unit_test(test_folding),
	    cmocka_unit_test(test_method_version),
	    cmocka_unit_test(test_authres_version),
	    cmocka_unit_test(test_case),
	    cmocka_unit_test(test_decoys),
	    cmocka_unit_test(test_first_counts),
	    cmocka_unit_test(test_reason),
	    cmocka_unit_test(test_not_found),
	    cmocka_unit_test(test_trailing_semicolon),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_prop_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
