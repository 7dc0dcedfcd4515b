/* Ids are 80 bits: 36 bits of seconds since 2024, 20 bits of microseconds,
 * 8 bits of counter, 16 bits of host and process.  Sorted by time, unique
 * as long as a process makes fewer than 256 ids in one microsecond and the
 * host tag differs between hosts. */
#include "core/id.h"

#include <sys/time.h>
#include <unistd.h>

#define ID_EPOCH 1704067200 /* 2024-01-01T00:00:00Z */

static uint32_t id_host;
static uint8_t id_counter;
static int64_t id_last_usec;

void id_init(uint32_t host_tag)
{
	id_host = (host_tag * 2654435761u) ^ (uint32_t)getpid();
	id_counter = 0;
	id_last_usec = 0;
}

void id_new(char out[ID_LEN + 1])
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	struct timeval tv;
	uint64_t hi, lo;
	int64_t usec;

	gettimeofday(&tv, NULL);
	usec = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	if (usec <= id_last_usec) {
		/* Same microsecond (or the clock stepped back): count within the
		 * last one, moving on to the next microsecond when it is full. */
		usec = id_last_usec;
		if (++id_counter == 0)
			usec++;
	} else {
		id_counter = 0;
	}
	id_last_usec = usec;

	hi = ((uint64_t)(usec / 1000000 - ID_EPOCH) & 0xFFFFFFFFFull) << 20 |
	     (uint64_t)(usec % 1000000);
	lo = (uint64_t)id_counter << 16 | (id_host & 0xFFFF);
	/* 56 bits of hi and 24 bits of lo: 80 bits, 16 base32 digits. */
	for (int i = 15; i >= 0; i--) {
		out[i] = alphabet[lo & 31];
		lo = (lo >> 5) | ((hi & 31) << 19);
		hi >>= 5;
	}
	out[ID_LEN] = '\0';
}
