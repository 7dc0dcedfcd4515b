/* Unit tests of the sampling random number generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/rng.h"

static void test_range(void **state)
{
	static const uint32_t ns[] = {1, 2, 3, 7, 100, 1000, 0x80000001u, UINT32_MAX};

	(void)state;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
		for (int i = 0; i < 10000; i++)
			assert_true(rng_below(ns[k]) < ns[k]);
}

/* Not constant, and spread: in 100,000 draws each of 100 values turns up
 * about 1,000 times; the bounds are 16 standard deviations away. */
static void test_spread(void **state)
{
	unsigned seen[100] = {0};
	uint32_t first = rng_u32();
	int differs = 0;

	(void)state;
	for (int i = 0; i < 100; i++)
		differs |= rng_u32() != first;
	assert_true(differs);
	for (int i = 0; i < 100000; i++)
		seen[rng_below(100)]++;
	for (int i = 0; i < 100; i++) {
		assert_true(seen[i] > 500);
		assert_true(seen[i] < 1500);
	}
}

/* A scripted source of "random" values, counting what was drawn. */
struct script {
	const uint32_t *v;
	size_t n, used;
};

static uint32_t script_next(void *arg)
{
	struct script *s = arg;

	assert_true(s->used < s->n);
	return s->v[s->used++];
}

/* The values below 2^32 mod n are refused and the next one is drawn; the
 * first value at or above it is taken, modulo n. */
static void test_rejection(void **state)
{
	static const uint32_t ns[] = {1, 2, 3, 100, 1000000007u, 0x80000001u, UINT32_MAX};

	(void)state;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		uint32_t n = ns[k];
		uint32_t threshold = (uint32_t)((UINT64_C(1) << 32) % n);
		/* What is kept is a whole number of rounds of 0..n-1. */
		assert_int_equal(((UINT64_C(1) << 32) - threshold) % n, 0);
		if (threshold > 0) {
			uint32_t v[] = {0, threshold - 1, threshold};
			struct script s = {v, 3, 0};
			assert_int_equal(rng_below_from(script_next, &s, n), threshold % n);
			assert_int_equal(s.used, 3);
		}
		uint32_t top[] = {UINT32_MAX};
		struct script s = {top, 1, 0};
		assert_int_equal(rng_below_from(script_next, &s, n), UINT32_MAX % n);
		assert_int_equal(s.used, 1);
	}
	/* Powers of two refuse nothing: zero is a fair draw. */
	uint32_t zero[] = {0};
	struct script s = {zero, 1, 0};
	assert_int_equal(rng_below_from(script_next, &s, 256), 0);
	assert_int_equal(s.used, 1);
	/* For n = 3, 2^32 mod 3 = 1: only 0 is refused. */
	uint32_t three[] = {0, 0, 1, 5};
	struct script t = {three, 4, 0};
	assert_int_equal(rng_below_from(script_next, &t, 3), 1);
	assert_int_equal(t.used, 3);
}

/* A child draws other numbers than its parent, although it starts with a
 * copy of the parent's state. */
static void test_fork_reseeds(void **state)
{
	int fd[2];
	uint32_t mine[4], theirs[4];
	pid_t pid;
	int status;

	(void)state;
	rng_u32(); /* seeded before the fork */
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 4; i++)
			theirs[i] = rng_u32();
		_exit(write(fd[1], theirs, sizeof(theirs)) == (ssize_t)sizeof(theirs) ? 0 : 1);
	}
	for (int i = 0; i < 4; i++)
		mine[i] = rng_u32();
	assert_int_equal(read(fd[0], theirs, sizeof(theirs)), sizeof(theirs));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd[0]);
	close(fd[1]);
	assert_true(memcmp(mine, theirs, sizeof(mine)) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range),
	    cmocka_unit_test(test_spread),
	    cmocka_unit_test(test_rejection),
	    cmocka_unit_test(test_fork_reseeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
