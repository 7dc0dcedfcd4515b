/* Base64 decoding and encoding (RFC 4648 4) with explicit bounds. */
#include "auth/b64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long b64_decode(const char *s, size_t len, unsigned char *out, size_t outsize)
{
	unsigned long acc = 0;
	size_t o = 0, nchars = 0, pad = 0;

	while (pad < 2 && len > 0 && s[len - 1] == '=') {
		len--;
		pad++;
	}
	if ((len + pad) % 4 != 0 && pad > 0)
		return -1;
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = value_of(s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		if (++nchars == 4) {
			if (o + 3 > outsize)
				return -1;
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			acc = 0;
			nchars = 0;
		}
	}
	/* 2 or 3 leftover characters carry 1 or 2 bytes. */
	if (nchars >= 2) {
		size_t extra = nchars - 1;
		acc <<= 6 * (4 - nchars);
		if (o + extra > outsize)
			return -1;
		out[o++] = (unsigned char)(acc >> 16);
		if (extra == 2)
			out[o++] = (unsigned char)(acc >> 8);
	}
	return (long)o;
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
