/* xtext and utf-8-addr-xtext: validation, decoding and encoding. */
#include "smtp/xtext.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static const char hex_upper[] = "0123456789ABCDEF";

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
 * except for "+" and "=" (RFC 3461 4). */
static int is_xchar(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '+' && c != '=';
}

int xtext_valid(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '+') {
			/* hexchar = "+" 2(%x30-39 / %x41-46): upper case only. */
			if (n - i < 3 || hex_value((unsigned char)v[i + 1]) < 0 ||
			    hex_value((unsigned char)v[i + 2]) < 0)
				return 0;
			i += 2;
		} else if (!is_xchar(c)) {
			return 0;
		}
	}
	return 1;
}

long xtext_decode(const char *v, size_t n, char *out, size_t outsize)
{
	size_t len = 0;

	if (!xtext_valid(v, n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '+') {
			c = (unsigned char)(hex_value((unsigned char)v[i + 1]) * 16 +
			                    hex_value((unsigned char)v[i + 2]));
			i += 2;
		}
		if (c < 0x20 || c > 0x7e)
			return -1;
		if (len + 1 >= outsize)
			return -1;
		out[len++] = (char)c;
	}
	if (outsize == 0)
		return -1;
	out[len] = '\0';
	return (long)len;
}

long xtext_encode(const char *s, size_t n, char *out, size_t outsize)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_xchar(c)) {
			if (len + 1 >= outsize)
				return -1;
			out[len++] = (char)c;
		} else {
			if (len + 3 >= outsize)
				return -1;
			out[len++] = '+';
			out[len++] = hex_upper[c >> 4];
			out[len++] = hex_upper[c & 15];
		}
	}
	if (outsize == 0)
		return -1;
	out[len] = '\0';
	return (long)len;
}

int xtext_utf8_char(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c = s[0], min;
	int len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (n < (size_t)len)
		return -1;
	for (int k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	return len;
}

static int utf8_put(uint32_t cp, char *out, size_t outsize, size_t *len)
{
	unsigned char b[4];
	int n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*len + (size_t)n >= outsize)
		return -1;
	for (int k = 0; k < n; k++)
		out[(*len)++] = (char)b[k];
	return 0;
}

/* Control characters have no place in an address written into a DSN. */
static int is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e (RFC 6533 3). */
static int is_qchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\';
}

/* EmbeddedUnicodeChar = %x5C.78 "{" HEXPOINT "}" at v (n bytes left):
 * 1 to 6 hex digits without leading zeros, a Unicode scalar value.
 * Returns the bytes used, or -1. */
static int embedded_char(const char *v, size_t n, uint32_t *cp)
{
	size_t i = 3;
	uint32_t c = 0;

	if (n < 5 || v[0] != '\\' || v[1] != 'x' || v[2] != '{' || v[3] == '0')
		return -1;
	/* ABNF strings are case-insensitive: HEXDIG takes a-f too. */
	while (i < n && i < 10 && v[i] != '}') {
		unsigned char d = (unsigned char)v[i];
		int x = hex_value(d >= 'a' && d <= 'f' ? (unsigned char)(d - 32) : d);
		if (x < 0)
			return -1;
		c = c * 16 + (uint32_t)x;
		i++;
	}
	if (i == 3 || i >= n || v[i] != '}' || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	return (int)i + 1;
}

long xtext_utf8_decode(const char *v, size_t n, int unitext, char *out, size_t outsize)
{
	size_t len = 0, i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)v[i];
		uint32_t cp;
		int used;
		if (c == '\\') {
			used = embedded_char(v + i, n - i, &cp);
		} else if (c >= 0x80 && unitext) {
			used = xtext_utf8_char(v + i, n - i, &cp);
		} else if (is_qchar(c)) {
			cp = c;
			used = 1;
		} else {
			return -1;
		}
		if (used < 0 || is_control(cp) || utf8_put(cp, out, outsize, &len) < 0)
			return -1;
		i += (size_t)used;
	}
	if (outsize == 0)
		return -1;
	out[len] = '\0';
	return (long)len;
}

long xtext_utf8_encode(const char *s, size_t n, char *out, size_t outsize)
{
	size_t len = 0, i = 0;

	while (i < n) {
		uint32_t cp;
		int used = xtext_utf8_char(s + i, n - i, &cp);
		if (used < 0)
			return -1;
		if (cp < 0x80 && is_qchar((unsigned char)cp)) {
			if (len + 1 >= outsize)
				return -1;
			out[len++] = (char)cp;
		} else {
			/* "\x{10FFFF}" is at most 10 bytes. */
			char esc[16];
			int w = snprintf(esc, sizeof(esc), "\\x{%X}", (unsigned)cp);
			if (len + (size_t)w >= outsize)
				return -1;
			for (int k = 0; k < w; k++)
				out[len++] = esc[k];
		}
		i += (size_t)used;
	}
	if (outsize == 0)
		return -1;
	out[len] = '\0';
	return (long)len;
}
