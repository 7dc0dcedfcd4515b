/* libFuzzer target for the header section collector: the input fed in
 * chunks whose sizes come from its first bytes must give the same header
 * section and the same body as fed whole, within the limit, and the header
 * section must end where a plain search finds the first empty line; the
 * section the verifiers are given must be that one, its fields up to the
 * empty line. */
#include "auth/msghead.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LIMIT 512

/* Feeds msg in chunks of the sizes in steps (cycled); the body given
 * back is appended to body.  Returns its length. */
static size_t feed(struct msghead *h, const uint8_t *msg, size_t len, const uint8_t *steps,
                   size_t nsteps, uint8_t *body)
{
	size_t off = 0, blen = 0, k = 0;

	while (off < len) {
		size_t n = nsteps ? (size_t)steps[k++ % nsteps] % 17 + 1 : len;
		if (n > len - off)
			n = len - off;
		size_t used = msghead_feed(h, msg + off, n);
		if (used > n)
			abort();
		memcpy(body + blen, msg + off + used, n - used);
		blen += n - used;
		off += n;
	}
	return blen;
}

/* Where the body begins (after the first empty line), or 0 without one:
 * an empty first line, or the first CR LF CR LF. */
static size_t body_start(const uint8_t *msg, size_t len)
{
	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		return 2;
	for (size_t k = 0; k + 4 <= len; k++)
		if (memcmp(msg + k, "\r\n\r\n", 4) == 0)
			return k + 4;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nsteps = size > 0 ? data[0] % 8 : 0;
	struct msghead whole, parts;
	uint8_t *b1, *b2;

	if (size < 1 + nsteps)
		return 0;
	const uint8_t *steps = data + 1, *msg = data + 1 + nsteps;
	size_t len = size - 1 - nsteps;
	b1 = malloc(len + 1);
	b2 = malloc(len + 1);
	msghead_init(&whole, FUZZ_LIMIT);
	msghead_init(&parts, FUZZ_LIMIT);
	size_t l1 = feed(&whole, msg, len, NULL, 0, b1);
	size_t l2 = feed(&parts, msg, len, steps, nsteps, b2);
	if (whole.state == MSGHEAD_DONE) {
		/* Chunks may only end sooner in TOO_BIG when the empty line
		 * straddles the limit; otherwise both agree exactly. */
		if (parts.state == MSGHEAD_DONE &&
		    (parts.hlen != whole.hlen || l1 != l2 || memcmp(b1, b2, l1) != 0 ||
		     memcmp(parts.head.data, whole.head.data, whole.hlen) != 0))
			abort();
		if (whole.hlen > len || l1 + whole.head.len != len)
			abort();
		if (whole.head.len != body_start(msg, len))
			abort();
	}
	if (whole.state == MSGHEAD_OPEN &&
	    (parts.state != MSGHEAD_OPEN || l1 != 0 || l2 != 0 || body_start(msg, len) != 0))
		abort();
	size_t slen;
	const char *s = msghead_section(&whole, &slen);
	if ((s == NULL) != (whole.state == MSGHEAD_TOO_BIG))
		abort();
	if (whole.state == MSGHEAD_DONE &&
	    (slen != whole.head.len || msghead_fields_len(s, slen) != whole.hlen))
		abort();
	if (whole.state == MSGHEAD_OPEN &&
	    (slen != len || memcmp(s, msg, len) != 0 || msghead_fields_len(s, slen) != len))
		abort();
	msghead_free(&whole);
	msghead_free(&parts);
	free(b1);
	free(b2);
	return 0;
}
