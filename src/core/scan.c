/* Byte-class scans, sixteen bytes at a time. */
#include "core/scan.h"

#include <stdint.h>
#include <string.h>

static int visible(unsigned char c, unsigned char except)
{
	return c >= 0x21 && c <= 0x7e && c != except;
}

size_t scan_visible(const char *s, size_t n, char except)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char x = (unsigned char)except;
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		scan_vec a;
		memcpy(&a, u + i, 16);
		scan_vec stop = (scan_vec)(a <= 0x20) | (scan_vec)(a >= 0x7f) | (scan_vec)(a == x);
		size_t k = scan_first_marked(stop);
		if (k < 16)
			return i + k;
	}
	while (i < n && visible(u[i], x))
		i++;
	return i;
}
