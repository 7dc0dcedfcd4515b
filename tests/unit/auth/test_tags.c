/* Unit tests of the RFC 6376 3.2 tag-list parser and the FWS stripper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth/tags.h"

struct tag_case {
	const char *in;
	int ok;
	size_t n;
};

static const struct tag_case cases[] = {
    {"", 1, 0},
    {"v=1", 1, 1},
    {"v=1;", 1, 1},
    {"v=1; ", 1, 1},
    {" v = 1 ; a = b ", 1, 2},
    {"v=1;\r\n\ta=b", 1, 2}, /* FWS between tags */
    {"v=\r\n 1", 1, 1},      /* FWS before the value */
    {"v=a b\r\n\tc", 1, 1},  /* FWS inside the value */
    {"v=", 1, 1},            /* empty value */
    {"a_1=x", 1, 1},         /* ALNUMPUNC */
    {"v=1;;a=b", 0, 0},      /* empty tag-spec */
    {";", 0, 0},
    {"1v=1", 0, 0}, /* tag-name starts with ALPHA */
    {"v", 0, 0},
    {"v 1", 0, 0},
    {"v=1; v=2", 0, 0},   /* duplicate */
    {"v=1; V=2", 1, 2},   /* names are case-sensitive */
    {"v=a\r\nb", 0, 0},   /* CRLF not followed by WSP */
    {"v=a\x01", 0, 0},    /* control character */
    {"v=\xc3\xa9", 0, 0}, /* VALCHAR is 7-bit */
    {"a-b=1", 0, 0},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tag_list tl;
		char err[80];
		int rc = tags_parse(cases[i].in, strlen(cases[i].in), &tl, err, sizeof(err));
		if ((rc == 0) != cases[i].ok)
			fail_msg("case %zu \"%s\": rc %d (%s)", i, cases[i].in, rc, err);
		if (rc == 0 && tl.n != cases[i].n)
			fail_msg("case %zu: %zu tags", i, tl.n);
		if (rc != 0)
			assert_true(err[0] != '\0');
	}
}

static void test_values_raw(void **state)
{
	const char *in = " v = 1 ; b = ab\r\n cd  ; c=";
	struct tag_list tl;
	char err[80];
	(void)state;

	assert_int_equal(tags_parse(in, strlen(in), &tl, err, sizeof(err)), 0);
	const struct tag *b = tags_get(&tl, "b");
	assert_non_null(b);
	assert_int_equal(b->value_len, 7);
	assert_memory_equal(b->value, "ab\r\n cd", 7);
	assert_true(tags_value_is(tags_get(&tl, "v"), "1"));
	assert_true(tags_value_is(tags_get(&tl, "c"), ""));
	assert_null(tags_get(&tl, "V"));
	assert_null(tags_get(&tl, "d"));
}

static void test_too_many(void **state)
{
	char in[TAGS_MAX * 8 + 16];
	size_t o = 0;
	struct tag_list tl;
	char err[80];
	(void)state;

	for (int i = 0; i <= TAGS_MAX; i++)
		o += (size_t)snprintf(in + o, sizeof(in) - o, "t%d=1;", i);
	assert_int_equal(tags_parse(in, o, &tl, err, sizeof(err)), -1);
}

static void test_strip_fws(void **state)
{
	char out[16];
	(void)state;

	assert_int_equal(tags_strip_fws("ab\r\n\tc d", 8, out, sizeof(out)), 4);
	assert_string_equal(out, "abcd");
	assert_int_equal(tags_strip_fws("abcd", 4, out, 4), -1);
	assert_int_equal(tags_strip_fws("abc", 3, out, 4), 3);
	assert_int_equal(tags_strip_fws("", 0, out, 1), 0);
	assert_int_equal(tags_strip_fws("", 0, out, 0), -1);
	/* Runs between whitespace, and whitespace at both ends. */
	assert_int_equal(tags_strip_fws(" \tab \r\n cd\te \r\n", 15, out, sizeof(out)), 5);
	assert_string_equal(out, "abcde");
	assert_int_equal(tags_strip_fws(" ab cd ", 7, out, 5), 4);
	assert_int_equal(tags_strip_fws(" ab cde", 7, out, 5), -1);
}

/* Every byte value inside a value and inside a name, against the
 * grammar's character classes (RFC 6376 3.2). */
static void test_every_byte(void **state)
{
	struct tag_list tl;
	char err[64];
	(void)state;

	for (int c = 0; c < 256; c++) {
		if (c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		char value[] = {'v', '=', 'x', (char)c, 'x'};
		int valchar = c >= 0x21 && c <= 0x7e;
		assert_int_equal(tags_parse(value, sizeof(value), &tl, err, sizeof(err)),
		                 valchar ? 0 : -1);
		char name[] = {(char)c, 'a', '=', '1'};
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		assert_int_equal(tags_parse(name, sizeof(name), &tl, err, sizeof(err)),
		                 alpha ? 0 : -1);
		/* "a==1" is tag a with the value "=1". */
		char rest[] = {'a', (char)c, '=', '1'};
		int alnumpunc = alpha || (c >= '0' && c <= '9') || c == '_' || c == '=';
		assert_int_equal(tags_parse(rest, sizeof(rest), &tl, err, sizeof(err)),
		                 alnumpunc ? 0 : -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),      cmocka_unit_test(test_values_raw),
	    cmocka_unit_test(test_too_many),   cmocka_unit_test(test_strip_fws),
	    cmocka_unit_test(test_every_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
