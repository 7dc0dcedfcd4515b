/* Base64 decoding and encoding (RFC 4648 4) with explicit bounds. */
#include "core/b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* One more than the value of each alphabet character; 0 for any other
 * byte. */
static const unsigned char digit[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

long b64_decode(const char *s, size_t len, unsigned char *out, size_t outsize)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, pad = 0, i = 0;

	while (pad < 2 && len > 0 && s[len - 1] == '=') {
		len--;
		pad++;
	}
	if ((len + pad) % 4 != 0 && pad > 0)
		return -1;
	if (len % 4 == 1)
		return -1;
	if (len / 4 * 3 > outsize)
		return -1;
	/* Whole quanta: four characters, three bytes. */
	for (; i + 4 <= len; i += 4) {
		unsigned d0 = digit[u[i]], d1 = digit[u[i + 1]], d2 = digit[u[i + 2]],
		         d3 = digit[u[i + 3]];
		if (d0 == 0 || d1 == 0 || d2 == 0 || d3 == 0)
			return -1;
		unsigned long acc = (unsigned long)(d0 - 1) << 18 | (unsigned long)(d1 - 1) << 12 |
		                    (unsigned long)(d2 - 1) << 6 | (d3 - 1);
		out[o++] = (unsigned char)(acc >> 16);
		out[o++] = (unsigned char)(acc >> 8);
		out[o++] = (unsigned char)acc;
	}
	/* 2 or 3 leftover characters carry 1 or 2 bytes. */
	size_t left = len - i;
	if (left >= 2) {
		unsigned long acc = 0;
		for (size_t k = 0; k < left; k++) {
			unsigned d = digit[u[i + k]];
			if (d == 0)
				return -1;
			acc = acc << 6 | (d - 1);
		}
		acc <<= 6 * (4 - left);
		if (o + left - 1 > outsize)
			return -1;
		out[o++] = (unsigned char)(acc >> 16);
		if (left == 3)
			out[o++] = (unsigned char)(acc >> 8);
	}
	return (long)o;
}

long b64_decode_sasl(const char *s, size_t len, unsigned char *out, size_t outsize)
{
	if (len == 1 && s[0] == '=')
		return 0;
	if (len == 0 || len % 4 != 0)
		return -1;
	return b64_decode(s, len, out, outsize);
}

long b64_encode(const unsigned char *p, size_t n, char *out, size_t outsize)
{
	size_t o = 0;

	if (outsize < 4 * ((n + 2) / 3) + 1)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		unsigned long acc = (unsigned long)p[i] << 16;
		if (i + 1 < n)
			acc |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < n)
			acc |= p[i + 2];
		out[o++] = alphabet[(acc >> 18) & 63];
		out[o++] = alphabet[(acc >> 12) & 63];
		out[o++] = i + 1 < n ? alphabet[(acc >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? alphabet[acc & 63] : '=';
	}
	out[o] = '\0';
	return (long)o;
}
