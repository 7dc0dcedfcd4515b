/* Unit tests of queue ids: shape, order and uniqueness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/id.h"

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_shape(void **state)
{
	char id[ID_LEN + 1];
	id_init(7);
	id_new(id);
	assert_int_equal(strlen(id), ID_LEN);
	for (int i = 0; i < ID_LEN; i++)
		assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", id[i]));
}

static void test_unique_and_sorted(void **state)
{
	enum { N = 100000 };
	char(*ids)[ID_LEN + 1] = malloc(N * sizeof(*ids));
	id_init(1);
	for (int i = 0; i < N; i++) {
		id_new(ids[i]);
		if (i > 0)
			assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	}
	qsort(ids, N, sizeof(*ids), cmp);
	for (int i = 1; i < N; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) != 0);
	free(ids);
}

static void test_hosts_differ(void **state)
{
	char a[ID_LEN + 1], b[ID_LEN + 1];
	id_init(1);
	id_new(a);
	id_init(2);
	id_new(b);
	assert_memory_not_equal(a + ID_LEN - 4, b + ID_LEN - 4, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_unique_and_sorted),
	    cmocka_unit_test(test_hosts_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
