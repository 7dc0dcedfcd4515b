/* Unit tests of the bounded buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/buf.h"

static void test_append_and_limit(void **state)
{
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_string_equal(b.data, "hello");
	assert_int_equal(buf_append(&b, "world", 5), 0);
	assert_int_equal(b.len, 10);
	/* One byte over the maximum is refused and leaves the buffer as it was. */
	assert_int_equal(buf_append(&b, "!", 1), -1);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "helloworld");
	buf_free(&b);
}

static void test_printf_grows(void **state)
{
	struct buf b;
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 4096);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, big), 0);
	assert_int_equal(b.len, 3 + 999);
	assert_memory_equal(b.data, "42-xxx", 6);
	assert_int_equal(b.data[b.len], '\0');
	buf_free(&b);

	buf_init(&b, 100);
	assert_int_equal(buf_printf(&b, "%s", big), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_consume(void **state)
{
	struct buf b;
	buf_init(&b, 100);
	buf_append_str(&b, "abcdef");
	buf_consume(&b, 2);
	assert_string_equal(b.data, "cdef");
	buf_consume(&b, 10);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_free(&b);
}

static void test_overflow_guard(void **state)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_append_str(&b, "x");
	assert_int_equal(buf_append(&b, "y", SIZE_MAX), -1);
	buf_free(&b);
}

static void test_space_advance(void **state)
{
	struct buf b;
	buf_init(&b, 8);
	buf_append_str(&b, "ab");
	char *p = buf_space(&b, 6);
	assert_non_null(p);
	memcpy(p, "cde", 3); /* fewer bytes than asked for */
	buf_advance(&b, 3);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "abcde");
	/* Room beyond the maximum is refused and changes nothing. */
	assert_null(buf_space(&b, 4));
	assert_int_equal(buf_reserve(&b, 4), -1);
	assert_int_equal(buf_reserve(&b, 3), 0);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "abcde");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_and_limit), cmocka_unit_test(test_printf_grows),
	    cmocka_unit_test(test_consume),          cmocka_unit_test(test_overflow_guard),
	    cmocka_unit_test(test_space_advance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
