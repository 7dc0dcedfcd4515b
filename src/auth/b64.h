/* Strict base64 (RFC 4648 4) for DKIM's b=, bh= and p= values. */
#ifndef POSTERN_AUTH_B64_H
#define POSTERN_AUTH_B64_H

#include <stddef.h>

/* Decodes s[0..len) (no whitespace; padding optional) into out.  Returns
 * the decoded length, or -1 for a character outside the alphabet, padding
 * in the middle, an impossible length or an output over outsize. */
long b64_decode(const char *s, size_t len, unsigned char *out, size_t outsize);
/* Encodes p[0..n) into out with padding, NUL-terminated; returns the length,
 * or -1 when out (which needs 4 * ((n + 2) / 3) + 1 bytes) is too small. */
long b64_encode(const unsigned char *p, size_t n, char *out, size_t outsize);

#endif
