/* Unit tests of the DKIM-Signature parser (RFC 6376 3.5, 6.1.1, RFC 8301)
 * and the key record parser (RFC 6376 3.6.1, RFC 8301 3.2, RFC 8463 4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth/dkim_key.h"
#include "auth/dkim_sig.h"

#define BASE "v=1; a=rsa-sha256; d=example.com; s=sel; h=From:To; bh=YWJj; b=ZGVm"

struct sig_case {
	const char *in;
	int ok;
};

static const struct sig_case sig_cases[] = {
    {BASE, 1},
    {BASE "; c=relaxed/relaxed; i=joe@sub.example.com; l=10; q=dns/txt; t=5; x=6; z=a", 1},
    {BASE "; i=@EXAMPLE.com", 1},
    {BASE "; c=relaxed", 1},
    {"a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=ZGVm", 0},      /* no v= */
    {"v=2; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=ZGVm", 0}, /* v= */
    {"v=1; a=rsa-sha512; d=example.com; s=sel; h=From; bh=YWJj; b=ZGVm", 0}, /* a= */
    {"v=1; a=rsa-sha256; d=example.com; s=sel; h=To; bh=YWJj; b=ZGVm", 0},   /* no From */
    {"v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj", 0},         /* no b= */
    {"v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=YWJj; b=", 0},     /* empty b= */
    {"v=1; a=rsa-sha256; d=example.com; s=sel; h=From; bh=Y; b=ZGVm", 0},    /* base64 */
    {"v=1; a=rsa-sha256; d=legitimate.com(.attacker.com; s=sel; h=From; bh=YWJj; b=ZGVm", 0},
    {"v=1; a=rsa-sha256; d=example.com; s=se l; h=From; bh=YWJj; b=ZGVm", 0},
    {BASE "; i=joe@example.org", 0}, /* i= outside d= */
    {BASE "; i=joe@badexample.com", 0},
    {BASE "; i=joe", 0},
    {BASE "; c=foobar", 0},
    {BASE "; c=simple/foo", 0},
    {BASE "; q=dns", 0},
    {BASE "; t=10; x=9", 0},       /* x before t (3.5) */
    {BASE "; t=1234567890123", 0}, /* 1*12DIGIT */
    {BASE "; l=-1", 0},
    {BASE "; h=From", 0}, /* duplicate */
    {"v=1; a=rsa-sha256; d=example.com; s=sel; h=From::To; bh=YWJj; b=ZGVm", 0},
};

static void test_sig_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++) {
		struct dkim_sig sig;
		char err[160] = "";
		int rc = dkim_sig_parse(sig_cases[i].in, strlen(sig_cases[i].in), &sig, err,
		                        sizeof(err));
		if ((rc == 0) != sig_cases[i].ok)
			fail_msg("case %zu \"%s\": rc %d (%s)", i, sig_cases[i].in, rc, err);
	}
}

static void test_sig_fields(void **state)
{
	const char *in = "v=1; a=ed25519-sha256; c=simple/relaxed;\r\n d=Example.COM; s=a.b;\r\n"
	                 " h=from : Subject:\r\n\tfrom; l=76; t=100; x=200;\r\n bh=YWJj;\r\n"
	                 " b=ZGVm\r\n ZGVm";
	struct dkim_sig sig;
	char err[160];
	(void)state;

	assert_int_equal(dkim_sig_parse(in, strlen(in), &sig, err, sizeof(err)), 0);
	assert_int_equal(sig.alg, DKIM_ALG_ED25519_SHA256);
	assert_int_equal(sig.hcanon, CANON_SIMPLE);
	assert_int_equal(sig.bcanon, CANON_RELAXED);
	assert_string_equal(sig.d, "Example.COM");
	assert_string_equal(sig.s, "a.b");
	assert_int_equal(sig.nh, 3);
	assert_string_equal(dkim_sig_header(&sig, 1), "Subject");
	assert_int_equal(sig.l, 76);
	assert_int_equal(sig.t, 100);
	assert_int_equal(sig.x, 200);
	assert_int_equal(sig.bh_len, 3);
	assert_int_equal(sig.b_len, 6);
	assert_memory_equal(sig.b, "defdef", 6);
	assert_string_equal(sig.b_prefix, "ZGVmZGVm");
	assert_string_equal(sig.i, "");
}

static void test_sig_defaults_and_sha1(void **state)
{
	struct dkim_sig sig;
	char err[160];
	(void)state;

	assert_int_equal(dkim_sig_parse(BASE, strlen(BASE), &sig, err, sizeof(err)), 0);
	assert_int_equal(sig.hcanon, CANON_SIMPLE);
	assert_int_equal(sig.bcanon, CANON_SIMPLE);
	assert_true(sig.l == CANON_NO_LIMIT);
	assert_true(sig.t == DKIM_NO_TIME && sig.x == DKIM_NO_TIME);
	/* rsa-sha1 parses; the verifier fails it (RFC 8301 3.1). */
	const char *sha1 = "v=1; a=rsa-sha1; d=example.com; s=s; h=from; bh=YWJj; b=ZGVm";
	assert_int_equal(dkim_sig_parse(sha1, strlen(sha1), &sig, err, sizeof(err)), 0);
	assert_int_equal(sig.alg, DKIM_ALG_RSA_SHA1);
	/* A huge l= saturates instead of wrapping. */
	const char *big = BASE "; l=99999999999999999999999999";
	assert_int_equal(dkim_sig_parse(big, strlen(big), &sig, err, sizeof(err)), 0);
	assert_true(sig.l == UINT64_MAX - 1);
}

#define RSA1024_SPKI                                                                               \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi" \
	"Y/J"                                                                                      \
	"16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/"                                                  \
	"8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBf"                                     \
	"O2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
#define RSA1024_PKCS1                                                                              \
	"MIGJAoGBALppqRbOu5gApf05051Icx6apV0ZC6s1gsLUfs79PYtAgdVuQoXooqOWAUzuWvyyR9kyEl78pEYy9WMJ" \
	"Xll"                                                                                      \
	"qRkgZ4/ceLWpcIS+aNLgSWkw8w/I+tmKC33mKmrLA9hklYdtGInTzlV2RIK0tS+jmzKkDSdMl7KcSi4A37/"      \
	"AFoI7pAg"                                                                                 \
	"MBAAE="
#define RSA512_SPKI                                                                                \
	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANmBe10IgY+u7h3enWTukkqtUD5PR52Tb/mPfjC0QJTocVBq6Za/"     \
	"PlzfV+P"                                                                                  \
	"y92VaCak19F4WrbVTK5Gg5tW220MCAwEAAQ=="
#define ED25519_P "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

struct key_case {
	const char *in;
	int ok;
	int type, revoked, testing, strict;
};

static const struct key_case key_cases[] = {
    {"v=DKIM1; k=rsa; p=" RSA1024_SPKI, 1, DKIM_KEY_RSA, 0, 0, 0},
    {"p=" RSA1024_SPKI, 1, DKIM_KEY_RSA, 0, 0, 0},         /* k defaults to rsa */
    {"k=rsa; p=" RSA1024_PKCS1, 1, DKIM_KEY_RSA, 0, 0, 0}, /* bare RSAPublicKey */
    {"v=DKIM1; k=ed25519; p=" ED25519_P, 1, DKIM_KEY_ED25519, 0, 0, 0},
    {"v=DKIM1; k=ed25519; t=y:s; p=" ED25519_P, 1, DKIM_KEY_ED25519, 0, 1, 1},
    {"v=DKIM1; p=", 1, DKIM_KEY_RSA, 1, 0, 0}, /* revoked */
    {"s=email:*; h=sha1:sha256; n=note; p=" RSA1024_SPKI, 1, DKIM_KEY_RSA, 0, 0, 0},
    {"v=DKIM1: k=rsa; p=" RSA1024_SPKI, 0, 0, 0, 0, 0}, /* badversion.txt */
    {"k=rsa; v=DKIM1; p=" RSA1024_SPKI, 0, 0, 0, 0, 0}, /* v= not first */
    {"v=DKIM2; p=" RSA1024_SPKI, 0, 0, 0, 0, 0},
    {"k=ed25519-sha256; p=" ED25519_P, 0, 0, 0, 0, 0}, /* badk.txt */
    {"k=rsa; p=" RSA512_SPKI, 0, 0, 0, 0, 0},          /* RFC 8301 3.2 */
    {"k=rsa; s=tlsrpt; p=" RSA1024_SPKI, 0, 0, 0, 0, 0},
    {"k=ed25519; p=" RSA1024_SPKI, 0, 0, 0, 0, 0}, /* not 32 bytes */
    {"k=rsa; p=" ED25519_P, 0, 0, 0, 0, 0},
    {"k=rsa; p=MFwwDQYJKoZIhvNAQEBBQADSwAwSAJBANmBe10IgY", 0, 0, 0, 0, 0},
    {"k=rsa", 0, 0, 0, 0, 0}, /* no p= */
    {"k=rsa; p=!!!!", 0, 0, 0, 0, 0},
};

static void test_key_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *c = &key_cases[i];
		struct dkim_key k;
		char err[160] = "";
		int rc = dkim_key_parse(c->in, strlen(c->in), &k, err, sizeof(err));
		if ((rc == 0) != c->ok)
			fail_msg("case %zu \"%.40s\": rc %d (%s)", i, c->in, rc, err);
		if (rc != 0) {
			assert_true(err[0] != '\0');
			continue;
		}
		assert_int_equal(k.type, c->type);
		assert_int_equal(k.revoked, c->revoked);
		assert_int_equal(k.testing, c->testing);
		assert_int_equal(k.strict, c->strict);
		assert_true(k.revoked ? k.pkey == NULL : k.pkey != NULL);
		dkim_key_free(&k);
	}
}

static void test_key_hash_list(void **state)
{
	struct dkim_key k;
	char err[160];
	const char *only_sha1 = "h=sha1; p=" RSA1024_SPKI;
	(void)state;

	assert_int_equal(dkim_key_parse(only_sha1, strlen(only_sha1), &k, err, sizeof(err)), 0);
	assert_false(k.sha256_ok);
	assert_true(k.sha1_ok);
	assert_int_equal(k.bits, 1024);
	dkim_key_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sig_table),
	    cmocka_unit_test(test_sig_fields),
	    cmocka_unit_test(test_sig_defaults_and_sha1),
	    cmocka_unit_test(test_key_table),
	    cmocka_unit_test(test_key_hash_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
