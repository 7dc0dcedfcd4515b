/* libFuzzer target for DKIM canonicalisation: every header field of the
 * input in both algorithms, relaxed as a character-by-character reference
 * of RFC 6376 3.4.2 gives it; msghdr_count agreeing with msghdr_split; and
 * the body stream split at a fuzzed point must hash as the unsplit body
 * does and as a line-by-line reference of RFC 6376 3.4.3 / 3.4.4 does. */
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

/* RFC 6376 3.4.3 / 3.4.4 the slow way, as the text reads: split into
 * CRLF lines (a bare CR or LF is content), canonicalise each line, drop
 * the empty lines at the end; the oracle for the streaming code. */
static unsigned body_reference(enum canon_alg c, const uint8_t *p, size_t n, unsigned char *out)
{
	unsigned char *canon = malloc(2 * n + 2);
	size_t len = 0, keep = 0, start = 0;
	unsigned dlen = 0;

	while (start < n) {
		size_t end = start, line = len;
		int wsp = 0;
		while (end < n && !(p[end] == '\r' && end + 1 < n && p[end + 1] == '\n'))
			end++;
		for (size_t i = start; i < end; i++) {
			if (c == CANON_RELAXED && (p[i] == ' ' || p[i] == '\t')) {
				wsp = 1;
				continue;
			}
			if (wsp)
				canon[len++] = ' ';
			wsp = 0;
			canon[len++] = p[i];
		}
		canon[len++] = '\r';
		canon[len++] = '\n';
		if (len - line > 2)
			keep = len; /* empty lines before it are inside the body */
		start = end + 2;
	}
	len = keep;
	if (c == CANON_SIMPLE && len == 0) {
		canon[0] = '\r';
		canon[1] = '\n';
		len = 2;
	}
	EVP_Digest(canon, len, out, &dlen, EVP_sha256(), NULL);
	free(canon);
	return dlen;
}

/* RFC 6376 3.4.2 the slow way: the field without its CRLF; the name
 * lower-cased without WSP before the colon; every CR and LF of the value
 * deleted (unfolding), WSP runs made one SP, WSP at both ends removed.
 * Returns the length written to out (len + 2 bytes), or -1 without colon. */
static long header_reference(const char *h, size_t len, char *out)
{
	const char *colon = memchr(h, ':', len);
	size_t o = 0, name_end, v = 0;

	if (colon == NULL)
		return -1;
	if (len >= 2 && h[len - 2] == '\r' && h[len - 1] == '\n')
		len -= 2;
	name_end = (size_t)(colon - h);
	while (name_end > 0 && (h[name_end - 1] == ' ' || h[name_end - 1] == '\t'))
		name_end--;
	for (size_t i = 0; i < name_end; i++)
		out[o++] = h[i] >= 'A' && h[i] <= 'Z' ? (char)(h[i] + 32) : h[i];
	out[o++] = ':';
	char *value = out + o;
	for (size_t i = (size_t)(colon - h) + 1; i < len; i++) {
		char c = h[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\t')
			c = ' ';
		if (c == ' ' && (v == 0 || value[v - 1] == ' '))
			continue;
		value[v++] = c;
	}
	if (v > 0 && value[v - 1] == ' ')
		v--;
	o += v;
	out[o++] = '\r';
	out[o++] = '\n';
	return (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msghdr_field f[FUZZ_FIELDS];
	long n = msghdr_split((const char *)data, size, f, FUZZ_FIELDS);
	struct buf out;

	size_t count = msghdr_count((const char *)data, size);
	if (n >= 0 ? count != (size_t)n : count <= FUZZ_FIELDS)
		abort();
	char *ref = malloc(size + 2);
	buf_init(&out, 4 * size + 16);
	for (long k = 0; k < n; k++) {
		for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
			buf_reset(&out);
			int rc = canon_header((enum canon_alg)c, f[k].p, f[k].len, 1, &out);
			if (c != CANON_RELAXED)
				continue;
			long rl = header_reference(f[k].p, f[k].len, ref);
			if ((rc == 0) != (rl >= 0) ||
			    (rc == 0 &&
			     (out.len != (size_t)rl || memcmp(out.data, ref, out.len) != 0)))
				abort();
		}
	}
	buf_free(&out);
	free(ref);
	if (size > 0) {
		unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
		size_t split = data[0] % size;
		for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
			unsigned la = body_digest((enum canon_alg)c, data, size, 0, a);
			unsigned lb = body_digest((enum canon_alg)c, data, size, split, b);
			if (la != lb || memcmp(a, b, la) != 0)
				abort();
			lb = body_reference((enum canon_alg)c, data, size, b);
			if (la != lb || memcmp(a, b, la) != 0)
				abort();
		}
	}
	return 0;
}
