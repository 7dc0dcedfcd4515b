/* Unit tests of the FNV-1a hash shared by the in-memory tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/hash.h"

/* The published FNV-1a 32-bit test vectors (draft-eastlake-fnv). */
static void test_vectors(void **state)
{
	(void)state;
	assert_int_equal(hash_fnv1a(HASH_FNV1A_SEED, "", 0), 0x811c9dc5u);
	assert_int_equal(hash_fnv1a(HASH_FNV1A_SEED, "a", 1), 0xe40c292cu);
	assert_int_equal(hash_fnv1a(HASH_FNV1A_SEED, "foobar", 6), 0xbf9cf968u);
	assert_int_equal(hash_fnv1a_str(HASH_FNV1A_SEED, "foobar"), 0xbf9cf968u);
}

/* A hash goes on from a previous result, and bytes past a NUL count. */
static void test_bytes(void **state)
{
	(void)state;
	assert_int_equal(hash_fnv1a(hash_fnv1a(HASH_FNV1A_SEED, "foo", 3), "bar", 3),
	                 hash_fnv1a_str(HASH_FNV1A_SEED, "foobar"));
	assert_int_not_equal(hash_fnv1a(HASH_FNV1A_SEED, "a\0b", 3),
	                     hash_fnv1a(HASH_FNV1A_SEED, "a\0c", 3));
	/* Bytes over 0x7f are unsigned: no sign extension into the hash. */
	assert_int_equal(hash_fnv1a(HASH_FNV1A_SEED, "\xff", 1),
	                 (HASH_FNV1A_SEED ^ 0xffu) * HASH_FNV1A_PRIME);
	/* The seed matters: a DNS type mixed into it separates A from MX. */
	assert_int_not_equal(hash_fnv1a_str(HASH_FNV1A_SEED ^ 1u, "example.org"),
	                     hash_fnv1a_str(HASH_FNV1A_SEED ^ 15u, "example.org"));
}

/* Case folding is ASCII only, like strcasecmp in the C locale. */
static void test_lower(void **state)
{
	(void)state;
	assert_int_equal(hash_fnv1a_str_lower(HASH_FNV1A_SEED, "ExAmPle.ORG"),
	                 hash_fnv1a_str(HASH_FNV1A_SEED, "example.org"));
	assert_int_equal(hash_fnv1a_str_lower(HASH_FNV1A_SEED, "@[`{"),
	                 hash_fnv1a_str(HASH_FNV1A_SEED, "@[`{"));
	assert_int_not_equal(hash_fnv1a_str_lower(HASH_FNV1A_SEED, "\xc4"),
	                     hash_fnv1a_str_lower(HASH_FNV1A_SEED, "\xe4"));
	assert_int_not_equal(hash_fnv1a_str(HASH_FNV1A_SEED, "A"),
	                     hash_fnv1a_str(HASH_FNV1A_SEED, "a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_bytes),
	    cmocka_unit_test(test_lower),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
