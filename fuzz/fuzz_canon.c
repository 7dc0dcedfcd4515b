/* libFuzzer target for DKIM canonicalisation: every header field of the
 * input, both algorithms, and the body stream split at a fuzzed point must
 * hash as the unsplit body does. */
#include "auth/canon.h"
#include "auth/msghdr.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FIELDS 256

static unsigned body_digest(enum canon_alg c, const uint8_t *p, size_t n, size_t split,
                            unsigned char *out)
{
	struct canon_body cb;

	canon_body_init(&cb, c, EVP_sha256(), CANON_NO_LIMIT);
	canon_body_update(&cb, p, split);
	canon_body_update(&cb, p + split, n - split);
	unsigned len = canon_body_final(&cb, out);
	canon_body_free(&cb);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msghdr_field f[FUZZ_FIELDS];
	long n = msghdr_split((const char *)data, size, f, FUZZ_FIELDS);
	struct buf out;

	buf_init(&out, 4 * size + 16);
	for (long k = 0; k < n; k++) {
		for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
			buf_reset(&out);
			int rc = canon_header((enum canon_alg)c, f[k].p, f[k].len, 1, &out);
			/* Relaxed output is never longer than the field plus CRLF. */
			if (rc == 0 && c == CANON_RELAXED && out.len > f[k].len + 2)
				abort();
		}
	}
	buf_free(&out);
	if (size > 0) {
		unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
		size_t split = data[0] % size;
		for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
			unsigned la = body_digest((enum canon_alg)c, data, size, 0, a);
			unsigned lb = body_digest((enum canon_alg)c, data, size, split, b);
			if (la != lb || memcmp(a, b, la) != 0)
				abort();
		}
	}
	return 0;
}
