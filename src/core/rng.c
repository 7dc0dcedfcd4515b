/* PCG32 (O'Neill, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation", XSH RR
 * variant) seeded from the kernel. */
#include "core/rng.h"
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/types.h>

#define PCG_MULT UINT64_C(6364136223846793005)

struct rng {
	uint64_t state, inc; /* inc is odd */
	int seeded;
};

/* Per thread, so that no lock is needed.  A forked child starts with a
 * copy of its parent's: the child handler of pthread_atfork, run by the
 * child's only thread, makes it seed its own (as log.c rebuilds its pid). */
static _Thread_local struct rng rng;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_seed(void)
{
	rng.seeded = 0;
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, forget_seed);
}

static uint32_t pcg32(struct rng *r)
{
	uint64_t old = r->state;
	uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
	uint32_t rot = (uint32_t)(old >> 59);

	r->state = old * PCG_MULT + r->inc;
	return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

static void rng_seed(struct rng *r)
{
	uint64_t seed[2];
	ssize_t n;

	/* Up to 256 bytes come whole once the kernel's pool is ready; only
	 * the wait for it, early at boot, can be interrupted. */
	while ((n = getrandom(seed, sizeof(seed), 0)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(seed))
		fatal("rng: getrandom: %m");
	/* pcg32_srandom_r of the reference implementation. */
	r->state = 0;
	r->inc = seed[1] << 1 | 1;
	pcg32(r);
	r->state += seed[0];
	pcg32(r);
	r->seeded = 1;
}

uint32_t rng_u32(void)
{
	if (!rng.seeded) {
		pthread_once(&atfork_once, watch_forks);
		rng_seed(&rng);
	}
	return pcg32(&rng);
}

static uint32_t next_u32(void *arg)
{
	(void)arg;
	return rng_u32();
}

uint32_t rng_below(uint32_t n)
{
	return rng_below_from(next_u32, NULL, n);
}

uint32_t rng_below_from(uint32_t (*next)(void *), void *arg, uint32_t n)
{
	if (n == 0)
		panic("rng_below: empty range");
	/* 2^32 mod n: the values below it are the incomplete round of
	 * [0, 2^32) modulo n, which would favour the small results; the
	 * rest is a whole number of rounds, so r % n is uniform on it. */
	uint32_t threshold = (uint32_t)-n % n;

	for (;;) {
		uint32_t r = next(arg);
		if (r >= threshold)
			return r % n;
	}
}
