/* Unit tests of the strict base64 codec (RFC 4648 4, 10 test vectors) and
 * its SMTP AUTH variant (RFC 4954 4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/b64.h"

static const char *const vectors[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
	unsigned char out[16];
	char enc[16];
	(void)state;

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *plain = vectors[i][0], *b64 = vectors[i][1];
		assert_int_equal(b64_decode(b64, strlen(b64), out, sizeof(out)),
		                 (long)strlen(plain));
		assert_memory_equal(out, plain, strlen(plain));
		assert_int_equal(
		    b64_encode((const unsigned char *)plain, strlen(plain), enc, sizeof(enc)),
		    (long)strlen(b64));
		assert_string_equal(enc, b64);
	}
	/* Padding is optional on input. */
	assert_int_equal(b64_decode("Zg", 2, out, sizeof(out)), 1);
	assert_int_equal(b64_decode("Zm8", 3, out, sizeof(out)), 2);
}

static void test_rejects(void **state)
{
	unsigned char out[4];
	char enc[4];
	(void)state;

	assert_int_equal(b64_decode("Z", 1, out, sizeof(out)), -1);   /* 6 bits */
	assert_int_equal(b64_decode("Zg=", 3, out, sizeof(out)), -1); /* short padding */
	assert_int_equal(b64_decode("Zm8==", 5, out, sizeof(out)), -1);
	assert_int_equal(b64_decode("Z=g=", 4, out, sizeof(out)), -1);     /* inner '=' */
	assert_int_equal(b64_decode("Zm 9v", 5, out, sizeof(out)), -1);    /* no whitespace */
	assert_int_equal(b64_decode("Zm9vYmFy", 8, out, sizeof(out)), -1); /* too long */
	assert_int_equal(b64_encode((const unsigned char *)"foo", 3, enc, sizeof(enc)), -1);
	/* A bad character anywhere in a quantum or in the leftover. */
	assert_int_equal(b64_decode("Zm9v*mFy", 8, out, 6), -1);
	assert_int_equal(b64_decode("Zm9vY"
	                            "\x80"
	                            "Fy",
	                            8, out, 6),
	                 -1);
	assert_int_equal(b64_decode("Zm9vY.", 6, out, 6), -1);
	/* The leftover bytes must fit too. */
	assert_int_equal(b64_decode("Zm9vYg", 6, out, 3), -1);
	assert_int_equal(b64_decode("Zm9vYg", 6, out, 4), 4);
}

/* Every byte value: the 64 of the alphabet decode to their index, every
 * other byte is refused. */
static void test_alphabet(void **state)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char out[3];
	(void)state;

	for (int c = 0; c < 256; c++) {
		char q[4] = {(char)c, 'A', 'A', 'A'};
		const char *at = c != 0 ? strchr(alpha, c) : NULL;
		long n = b64_decode(q, 4, out, sizeof(out));
		if (at == NULL) {
			assert_int_equal(n, -1);
			continue;
		}
		assert_int_equal(n, 3);
		assert_int_equal(out[0] >> 2, at - alpha);
	}
}

/* SMTP AUTH responses (RFC 4954 4): "=" is the empty response, and the
 * padding the DKIM decoder lets go is required. */
static void test_sasl(void **state)
{
	unsigned char out[16];
	(void)state;

	assert_int_equal(b64_decode_sasl("=", 1, out, sizeof(out)), 0);
	assert_int_equal(b64_decode_sasl("", 0, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("Zm9v", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "foo", 3);
	assert_int_equal(b64_decode_sasl("Zg==", 4, out, sizeof(out)), 1);
	assert_int_equal(out[0], 'f');
	assert_int_equal(b64_decode_sasl("AHVzZXIAcGFzcw==", 16, out, sizeof(out)), 10);
	assert_memory_equal(out, "\0user\0pass", 10);
	/* Unpadded, short padding, padding in the middle or alone. */
	assert_int_equal(b64_decode_sasl("Zg", 2, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("Zm8", 3, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("Zg=", 3, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("Zg=g", 4, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("Z===", 4, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("====", 4, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("==", 2, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("Zg==Zg==", 8, out, sizeof(out)), -1);
	/* Outside the alphabet, and over the output bound. */
	assert_int_equal(b64_decode_sasl("Zm9-", 4, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("Zm9v\r\n", 6, out, sizeof(out)), -1);
	assert_int_equal(b64_decode_sasl("Zm9vYmFy", 8, out, 5), -1);
	assert_int_equal(b64_decode_sasl("Zm9vYmE=", 8, out, 5), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4648_vectors),
	    cmocka_unit_test(test_rejects),
	    cmocka_unit_test(test_alphabet),
	    cmocka_unit_test(test_sasl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
