/* Pseudo-random numbers for sampling (DMARC pct), never for secrets: a
 * PCG32 generator per thread, seeded from getrandom(2) at its first use
 * and again in a child after fork, so that processes forked from one
 * parent do not draw the same numbers. */
#ifndef POSTERN_CORE_RNG_H
#define POSTERN_CORE_RNG_H

#include <stdint.h>

uint32_t rng_u32(void);
/* Uniform in [0, n) without modulo bias; n must be at least 1. */
uint32_t rng_below(uint32_t n);
/* rng_below's reduction over any source of uniform 32-bit values (tests
 * drive it with chosen ones). */
uint32_t rng_below_from(uint32_t (*next)(void *arg), void *arg, uint32_t n);

#endif
