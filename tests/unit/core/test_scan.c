/* Unit tests of the byte-class scans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/scan.h"

/* The byte-by-byte definition, for comparison. */
static size_t visible_ref(const unsigned char *s, size_t n, unsigned char except)
{
	size_t i = 0;

	while (i < n && s[i] >= 0x21 && s[i] <= 0x7e && s[i] != except)
		i++;
	return i;
}

static void test_visible(void **state)
{
	(void)state;

	assert_int_equal(scan_visible("", 0, ';'), 0);
	assert_int_equal(scan_visible("abc", 3, ';'), 3);
	assert_int_equal(scan_visible("ab;c", 4, ';'), 2);
	assert_int_equal(scan_visible("ab c", 4, ';'), 2);
	/* Past the first sixteen bytes, and at each offset of a block. */
	char s[64];
	for (size_t stop = 0; stop < sizeof(s); stop++) {
		memset(s, 'x', sizeof(s));
		s[stop] = '\t';
		assert_int_equal(scan_visible(s, sizeof(s), ';'), stop);
	}
	assert_int_equal(scan_visible(s, 10, ';'), 10);
}

/* Every byte value at every position of a 40-byte string. */
static void test_every_byte(void **state)
{
	unsigned char s[40];
	(void)state;

	for (int c = 0; c < 256; c++)
		for (size_t at = 0; at < sizeof(s); at++) {
			memset(s, 'A', sizeof(s));
			s[at] = (unsigned char)c;
			assert_int_equal(scan_visible((const char *)s, sizeof(s), ';'),
			                 visible_ref(s, sizeof(s), ';'));
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_visible),
	    cmocka_unit_test(test_every_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
