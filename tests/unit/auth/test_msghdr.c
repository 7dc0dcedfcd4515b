/* Unit tests of header section splitting (RFC 5322 2.2, 2.2.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "auth/msghdr.h"

static void test_split(void **state)
{
	const char *h = "From: a\r\nB : Y\t\r\n\tZ  \r\nno colon\r\nSubject:x";
	struct msghdr_field f[8];
	(void)state;

	assert_int_equal(msghdr_split(h, strlen(h), f, 8), 4);
	assert_int_equal(f[0].len, 9);
	assert_true(msghdr_name_is(&f[0], "FROM", 4));
	assert_int_equal(f[1].len, 14); /* the folded line belongs to B */
	assert_true(msghdr_name_is(&f[1], "b", 1));
	assert_int_equal(f[2].name_len, 0);
	assert_false(msghdr_name_is(&f[2], "no colon", 8));
	assert_int_equal(f[3].len, 9); /* last field without CRLF */
	assert_true(msghdr_name_is(&f[3], "subject", 7));
	assert_false(msghdr_name_is(&f[3], "subjec", 6));
	assert_int_equal(msghdr_split(h, strlen(h), f, 3), -1);
	assert_int_equal(msghdr_split("", 0, f, 8), 0);
}

/* msghdr_count gives what msghdr_split finds: callers size arrays by it. */
static void test_count(void **state)
{
	static const char *const heads[] = {
	    "From: a\r\nB : Y\t\r\n\tZ  \r\nno colon\r\nSubject:x",
	    "",
	    "\tleading fold\r\nA: b\r\n",
	    " \r\n \r\n",
	    "A: 1\r\n\r\nB: 2\r\n",
	    "A: 1\nB: 2\r\n C\n",
	};
	struct msghdr_field f[16];
	(void)state;

	for (size_t k = 0; k < sizeof(heads) / sizeof(heads[0]); k++) {
		size_t len = strlen(heads[k]);
		assert_int_equal((long)msghdr_count(heads[k], len),
		                 msghdr_split(heads[k], len, f, 16));
	}
	assert_int_equal(msghdr_count(heads[0], strlen(heads[0])), 4);
	assert_int_equal(msghdr_count(heads[2], strlen(heads[2])), 2);
}

static void test_split_new(void **state)
{
	const char *h = "A: 1\r\nB: 2\r\n C\r\nD: 3\r\n";
	long n;
	(void)state;

	struct msghdr_field *f = msghdr_split_new(h, strlen(h), 10, 1, &n);
	assert_int_equal(n, 3);
	assert_null(f[0].p); /* the caller's front entry */
	assert_true(msghdr_name_is(&f[1], "a", 1));
	assert_true(msghdr_name_is(&f[3], "d", 1));
	free(f);
	f = msghdr_split_new(h, strlen(h), 2, 0, &n);
	assert_int_equal(n, -1);
	free(f);
	f = msghdr_split_new(NULL, 0, 2, 0, &n);
	assert_int_equal(n, 0);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_count),
	    cmocka_unit_test(test_split_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
