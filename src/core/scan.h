/* Byte-class scans sixteen bytes at a time, for the parsers whose inputs
 * are long runs of ordinary characters (base64 tag values, header field
 * values). */
#ifndef POSTERN_CORE_SCAN_H
#define POSTERN_CORE_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Sixteen bytes in the compiler's generic vectors (SSE2 on x86-64, NEON on
 * arm64, plain words elsewhere); a comparison gives 0xff where it holds. */
typedef unsigned char scan_vec __attribute__((vector_size(16)));

/* The offset of the first byte marked 0xff in v, or 16 when none is. */
static inline size_t scan_first_marked(scan_vec v)
{
	uint64_t m[2];

	memcpy(m, &v, 16);
	for (size_t k = 0; k < 2; k++)
		if (m[k] != 0)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return 8 * k + (size_t)__builtin_ctzll(m[k]) / 8;
#else
			return 8 * k + (size_t)__builtin_clzll(m[k]) / 8;
#endif
	return 16;
}

/* The length of the longest prefix of s[0..n) made of visible ASCII
 * (%x21-7E) other than except. */
size_t scan_visible(const char *s, size_t n, char except);

#endif
