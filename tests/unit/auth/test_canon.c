/* Unit tests of DKIM canonicalisation: the RFC 6376 3.4.5 examples, the
 * empty-body rules, the RFC 8463 body, l=, and every chunk split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/b64.h"
#include "auth/canon.h"

/* From conformance/dkim/rfc/canonicalization-vectors.json. */
static const char rfc_body[] = " C \r\nD \t E\r\n\r\n\r\n";
static const char rfc8463_body[] =
    "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n";

static void header_case(enum canon_alg c, const char *in, int crlf, const char *want)
{
	struct buf out;

	buf_init(&out, 1024);
	assert_int_equal(canon_header(c, in, strlen(in), crlf, &out), 0);
	assert_string_equal(out.data, want);
	buf_free(&out);
}

static void test_header_rfc_example(void **state)
{
	(void)state;
	/* RFC 6376 3.4.5: "A: X" and "B : Y<TAB><CRLF><TAB>Z  " */
	header_case(CANON_RELAXED, "A: X\r\n", 1, "a:X\r\n");
	header_case(CANON_RELAXED, "B : Y\t\r\n\tZ  \r\n", 1, "b:Y Z\r\n");
	header_case(CANON_SIMPLE, "A: X\r\n", 1, "A: X\r\n");
	header_case(CANON_SIMPLE, "B : Y\t\r\n\tZ  \r\n", 1, "B : Y\t\r\n\tZ  \r\n");
}

static void test_header_more(void **state)
{
	struct buf out;
	(void)state;

	header_case(CANON_RELAXED, "SUBJECT:\t  hello   world \t", 1, "subject:hello world\r\n");
	header_case(CANON_RELAXED, "X-Empty:   \r\n", 1, "x-empty:\r\n");
	header_case(CANON_RELAXED, "DKIM-Signature: v=1;\r\n b=", 0, "dkim-signature:v=1; b=");
	header_case(CANON_SIMPLE, "From: a", 1, "From: a\r\n");
	buf_init(&out, 64);
	assert_int_equal(canon_header(CANON_RELAXED, "no colon", 8, 1, &out), -1);
	buf_free(&out);
	buf_init(&out, 4);
	assert_int_equal(canon_header(CANON_SIMPLE, "From: abc", 9, 1, &out), -1);
	buf_free(&out);
}

/* Canonical body of in, fed in chunks of step bytes, as base64 of SHA-256. */
static void body_hash(enum canon_alg c, const char *in, size_t len, size_t step, uint64_t limit,
                      char *b64, struct canon_body *keep)
{
	struct canon_body cb;
	unsigned char d[EVP_MAX_MD_SIZE];

	canon_body_init(&cb, c, EVP_sha256(), limit);
	for (size_t off = 0; off < len; off += step)
		canon_body_update(&cb, in + off, len - off < step ? len - off : step);
	unsigned n = canon_body_final(&cb, d);
	assert_true(b64_encode(d, n, b64, 64) > 0);
	*keep = cb;
	canon_body_free(&cb);
}

/* The digest of the expected canonical form, to compare with. */
static void expect_hash(const char *canonical, char *b64)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	assert_int_equal(EVP_Digest(canonical, strlen(canonical), d, &n, EVP_sha256(), NULL), 1);
	assert_true(b64_encode(d, n, b64, 64) > 0);
}

static void check_all_splits(enum canon_alg c, const char *in, const char *want_b64)
{
	char got[64];
	struct canon_body cb;

	for (size_t step = 1; step <= strlen(in) + 1; step++) {
		body_hash(c, in, strlen(in), step, CANON_NO_LIMIT, got, &cb);
		if (strcmp(got, want_b64) != 0)
			fail_msg("split %zu: %s, want %s", step, got, want_b64);
	}
}

static void test_body_rfc_example(void **state)
{
	char want[64];
	(void)state;

	expect_hash(" C\r\nD E\r\n", want);
	check_all_splits(CANON_RELAXED, rfc_body, want);
	expect_hash(" C \r\nD \t E\r\n", want);
	check_all_splits(CANON_SIMPLE, rfc_body, want);
}

static void test_body_empty(void **state)
{
	(void)state;
	/* 3.4.3: an empty body is CRLF; 3.4.4: it is nothing. */
	check_all_splits(CANON_SIMPLE, "", "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	check_all_splits(CANON_RELAXED, "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	check_all_splits(CANON_SIMPLE, "\r\n\r\n\r\n",
	                 "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	check_all_splits(CANON_RELAXED, " \r\n\t\r\n",
	                 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

static void test_body_rfc8463(void **state)
{
	(void)state;
	check_all_splits(CANON_SIMPLE, rfc8463_body,
	                 "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
	check_all_splits(CANON_RELAXED, rfc8463_body,
	                 "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
}

static void test_body_edges(void **state)
{
	char want[64];
	(void)state;

	/* No final CRLF: one is added (3.4.3, 3.4.4). */
	expect_hash("abc\r\n", want);
	check_all_splits(CANON_SIMPLE, "abc", want);
	check_all_splits(CANON_RELAXED, "abc \t", want);
	/* A bare CR is content; the empty lines inside the body stay. */
	expect_hash("a\rb\r\n\r\nc\r\n", want);
	check_all_splits(CANON_SIMPLE, "a\rb\r\n\r\nc\r\n\r\n", want);
	expect_hash("a\r\r\n", want);
	check_all_splits(CANON_SIMPLE, "a\r", want);
	/* Relaxed: WSP-only lines at the end are empty lines. */
	expect_hash("x y\r\n", want);
	check_all_splits(CANON_RELAXED, "x \t y  \r\n  \r\n\t\r\n", want);
}

static void test_body_limit(void **state)
{
	char got[64], want[64];
	struct canon_body cb;
	(void)state;

	/* l=4 of "abc\r\nmore\r\n": only "abc\r" is hashed, the rest is flagged. */
	expect_hash("abc\r", want);
	for (size_t step = 1; step < 12; step++) {
		body_hash(CANON_SIMPLE, "abc\r\nmore\r\n", 11, step, 4, got, &cb);
		assert_string_equal(got, want);
		assert_int_equal(cb.total, 11);
		assert_true(canon_body_beyond_limit(&cb));
	}
	expect_hash("abc\r\n", want);
	body_hash(CANON_SIMPLE, "abc\r\n\r\n", 7, 3, 5, got, &cb);
	assert_string_equal(got, want);
	assert_false(canon_body_beyond_limit(&cb));
	/* l=0 hashes nothing. */
	expect_hash("", want);
	body_hash(CANON_RELAXED, "abc\r\n", 5, 2, 0, got, &cb);
	assert_string_equal(got, want);
	assert_true(canon_body_beyond_limit(&cb));
}

static void test_body_large(void **state)
{
	static char big[3 * CANON_STAGE + 7];
	char got[64], want[64];
	struct canon_body cb;
	(void)state;

	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (i % 61 == 60) ? '\n' : (i % 61 == 59 ? '\r' : 'x');
	big[sizeof(big) - 1] = '\0';
	body_hash(CANON_SIMPLE, big, sizeof(big) - 1, sizeof(big), CANON_NO_LIMIT, want, &cb);
	for (size_t step = 1; step < 200; step += 37) {
		body_hash(CANON_SIMPLE, big, sizeof(big) - 1, step, CANON_NO_LIMIT, got, &cb);
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_rfc_example), cmocka_unit_test(test_header_more),
	    cmocka_unit_test(test_body_rfc_example),   cmocka_unit_test(test_body_empty),
	    cmocka_unit_test(test_body_rfc8463),       cmocka_unit_test(test_body_edges),
	    cmocka_unit_test(test_body_limit),         cmocka_unit_test(test_body_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
