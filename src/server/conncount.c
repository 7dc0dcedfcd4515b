/* Shared connection counters: one row of per-address buckets per slot. */
#include "server/conncount.h"
#include "core/hash.h"
#include "core/log.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define CONNCOUNT_BUCKETS 65536

struct slot {
	uint32_t total;
	uint16_t per_ip[CONNCOUNT_BUCKETS];
};

struct conncount {
	int nslots;
	struct slot slots[];
};

struct conncount *conncount_new(int nslots)
{
	size_t size = sizeof(struct conncount) + (size_t)nslots * sizeof(struct slot);
	struct conncount *cc =
	    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cc == MAP_FAILED)
		fatal("cannot map %zu bytes of connection counters: %m", size);
	cc->nslots = nslots;
	return cc;
}

int conncount_slots(const struct conncount *cc)
{
	return cc->nslots;
}

void conncount_clear_slot(struct conncount *cc, int slot)
{
	memset(&cc->slots[slot], 0, sizeof(cc->slots[slot]));
}

static unsigned bucket_of(const char *ip)
{
	return hash_fnv1a_str(HASH_FNV1A_SEED, ip) % CONNCOUNT_BUCKETS;
}

unsigned conncount_add(struct conncount *cc, int slot, const char *ip, int delta, unsigned *total)
{
	unsigned b = bucket_of(ip);
	unsigned ip_count = 0, all = 0;
	struct slot *own = &cc->slots[slot];

	/* Only this process writes its own slot; relaxed atomics keep the
	 * other readers from seeing torn values. */
	__atomic_store_n(&own->per_ip[b], (uint16_t)(own->per_ip[b] + delta), __ATOMIC_RELAXED);
	__atomic_store_n(&own->total, own->total + (uint32_t)delta, __ATOMIC_RELAXED);
	for (int i = 0; i < cc->nslots; i++) {
		ip_count += __atomic_load_n(&cc->slots[i].per_ip[b], __ATOMIC_RELAXED);
		all += __atomic_load_n(&cc->slots[i].total, __ATOMIC_RELAXED);
	}
	*total = all;
	return ip_count;
}
