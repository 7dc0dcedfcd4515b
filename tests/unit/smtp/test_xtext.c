/* Unit tests of xtext (RFC 3461 4) and utf-8-addr-xtext (RFC 6533 3):
 * validation, decoding, encoding and their round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "smtp/xtext.h"

struct decode_case {
	const char *in;
	long want; /* decoded length, -1: refused */
	const char *out;
};

static const struct decode_case decodes[] = {
    {"abc", 3, "abc"},
    {"a+2Bb", 3, "a+b"},
    {"+3D+2B", 2, "=+"},
    {"John+20Doe", 8, "John Doe"},
    {"<id@host>", 9, "<id@host>"},
    {"~!", 2, "~!"},
    {"", 0, ""},
    {"a+2b", -1, NULL},    /* lower-case hex is not xtext */
    {"a+2", -1, NULL},     /* cut */
    {"a+", -1, NULL},      /* cut */
    {"a=b", -1, NULL},     /* '=' only as +3D */
    {"a b", -1, NULL},     /* SP only as +20 */
    {"a+00b", -1, NULL},   /* decodes to NUL */
    {"a+0Db", -1, NULL},   /* CR */
    {"a+0Ab", -1, NULL},   /* LF */
    {"a+09b", -1, NULL},   /* TAB */
    {"a+7Fb", -1, NULL},   /* DEL */
    {"a+C3+A9", -1, NULL}, /* not US-ASCII */
    {"\xc3\xa9", -1, NULL},
    {"a\x7f", -1, NULL},
};

static void test_decode_table(void **state)
{
	for (size_t i = 0; i < sizeof(decodes) / sizeof(decodes[0]); i++) {
		const struct decode_case *c = &decodes[i];
		char out[64];
		long n = xtext_decode(c->in, strlen(c->in), out, sizeof(out));
		if (n != c->want)
			fail_msg("decode case %zu '%s': %ld", i, c->in, n);
		if (n >= 0)
			assert_string_equal(out, c->out);
	}
}

static void test_valid(void **state)
{
	assert_true(xtext_valid("e+3Dmc2@example.com", 19));
	assert_true(xtext_valid("+C3+A9", 6)); /* well-formed, if not printable */
	assert_false(xtext_valid("a+3d", 4));
	assert_false(xtext_valid("a\x01", 2));
}

static void test_decode_bounds(void **state)
{
	char out[4];
	assert_int_equal(xtext_decode("abc", 3, out, sizeof(out)), 3);
	assert_int_equal(xtext_decode("abcd", 4, out, sizeof(out)), -1);
	assert_int_equal(xtext_decode("ab+2B", 5, out, sizeof(out)), 3);
	assert_int_equal(xtext_decode("", 0, out, 0), -1);
}

static void test_encode(void **state)
{
	char out[64], back[64];
	const char raw[] = "a+b=c d\x01\xff~!";
	long n = xtext_encode(raw, sizeof(raw) - 1, out, sizeof(out));

	assert_int_equal(n, (long)strlen("a+2Bb+3Dc+20d+01+FF~!"));
	assert_string_equal(out, "a+2Bb+3Dc+20d+01+FF~!");
	assert_true(xtext_valid(out, (size_t)n));
	/* Printable text comes back. */
	n = xtext_encode("x+y z", 5, out, sizeof(out));
	assert_int_equal(xtext_decode(out, (size_t)n, back, sizeof(back)), 5);
	assert_string_equal(back, "x+y z");
	/* Too small: nothing half-written is claimed. */
	assert_int_equal(xtext_encode("a+", 2, out, 4), -1);
	assert_int_equal(xtext_encode("a+", 2, out, 5), 4);
}

struct utf8_case {
	const char *in;
	int unitext;
	long want;
	const char *out;
};

static const struct utf8_case utf8s[] = {
    {"j\\x{F6}rg@example.com", 0, 17, "j\xc3\xb6rg@example.com"},
    {"j\\x{f6}rg@x", 0, 7, "j\xc3\xb6rg@x"},
    {"\\x{1F600}", 0, 4, "\xf0\x9f\x98\x80"},
    {"\\x{10FFFF}", 0, 4, "\xf4\x8f\xbf\xbf"},
    {"\\x{5C}\\x{2B}\\x{3D}\\x{20}", 0, 4, "\\+= "},
    {"j\xc3\xb6rg", 1, 5, "j\xc3\xb6rg"},
    {"j\xc3\xb6rg", 0, -1, NULL},
    {"a+b", 0, -1, NULL},
    {"a=b", 1, -1, NULL},
    {"a b", 1, -1, NULL},
    {"a\\b", 0, -1, NULL},
    {"\\x{}", 0, -1, NULL},
    {"\\x{0}", 0, -1, NULL},
    {"\\x{0041}", 0, -1, NULL}, /* leading zero */
    {"\\x{9}", 0, -1, NULL},    /* control */
    {"\\x{7F}", 0, -1, NULL},
    {"\\x{85}", 0, -1, NULL},   /* C1 control */
    {"\\x{D800}", 0, -1, NULL}, /* surrogate */
    {"\\x{110000}", 0, -1, NULL},
    {"\\x{1000000}", 0, -1, NULL},
    {"\\x{E9", 0, -1, NULL},
    {"\\x{G9}", 0, -1, NULL},
    {"\\X{E9}", 0, -1, NULL},
    {"\xc0\xaf", 1, -1, NULL},     /* overlong */
    {"\xed\xa0\x80", 1, -1, NULL}, /* surrogate */
    {"\xf4\x90\x80\x80", 1, -1, NULL},
    {"\xe2\x82", 1, -1, NULL}, /* cut */
    {"\xc2\x85", 1, -1, NULL}, /* C1 control */
};

static void test_utf8_decode_table(void **state)
{
	for (size_t i = 0; i < sizeof(utf8s) / sizeof(utf8s[0]); i++) {
		const struct utf8_case *c = &utf8s[i];
		char out[64];
		long n = xtext_utf8_decode(c->in, strlen(c->in), c->unitext, out, sizeof(out));
		if (n != c->want)
			fail_msg("utf-8 case %zu '%s': %ld", i, c->in, n);
		if (n >= 0)
			assert_string_equal(out, c->out);
	}
}

static void test_utf8_encode(void **state)
{
	const char raw[] = "j\xc3\xb6rg+x=y\\z \xf0\x9f\x98\x80@example.com";
	char out[128], back[128];
	long n = xtext_utf8_encode(raw, strlen(raw), out, sizeof(out));

	assert_true(n > 0);
	assert_string_equal(out, "j\\x{F6}rg\\x{2B}x\\x{3D}y\\x{5C}z\\x{20}\\x{1F600}@example.com");
	assert_int_equal(xtext_utf8_decode(out, (size_t)n, 0, back, sizeof(back)),
	                 (long)strlen(raw));
	assert_string_equal(back, raw);
	assert_int_equal(xtext_utf8_encode("\xc3", 1, out, sizeof(out)), -1);
	assert_int_equal(xtext_utf8_encode("\xc3\xb6", 2, out, 6), -1);
	assert_int_equal(xtext_utf8_encode("\xc3\xb6", 2, out, 7), 6);
}

static void test_utf8_char(void **state)
{
	uint32_t cp;
	assert_int_equal(xtext_utf8_char("a", 1, &cp), 1);
	assert_int_equal(cp, 'a');
	assert_int_equal(xtext_utf8_char("\xe2\x82\xac", 3, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(xtext_utf8_char("\xe2\x82\xac", 2, &cp), -1);
	assert_int_equal(xtext_utf8_char("\x80", 1, &cp), -1);
	assert_int_equal(xtext_utf8_char("\xf8\x88\x80\x80\x80", 5, &cp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_table),      cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_decode_bounds),     cmocka_unit_test(test_encode),
	    cmocka_unit_test(test_utf8_decode_table), cmocka_unit_test(test_utf8_encode),
	    cmocka_unit_test(test_utf8_char),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
