/* Strict base64 (RFC 4648 4): DKIM's b=, bh= and p= values, SMTP AUTH
 * responses (RFC 4954), report attachments. */
#ifndef POSTERN_CORE_B64_H
#define POSTERN_CORE_B64_H

#include <stddef.h>

/* Decodes s[0..len) (no whitespace; padding optional) into out.  Returns
 * the decoded length, or -1 for a character outside the alphabet, padding
 * in the middle, an impossible length or an output over outsize. */
long b64_decode(const char *s, size_t len, unsigned char *out, size_t outsize);
/* An SMTP AUTH response (RFC 4954 4): "=" alone is the empty response;
 * anything else is base64 with its padding, so a length that is not a
 * multiple of four is refused, as is an empty line.  Returns the decoded
 * length, or -1 as b64_decode does. */
long b64_decode_sasl(const char *s, size_t len, unsigned char *out, size_t outsize);
/* Encodes p[0..n) into out with padding, NUL-terminated; returns the length,
 * or -1 when out (which needs 4 * ((n + 2) / 3) + 1 bytes) is too small. */
long b64_encode(const unsigned char *p, size_t n, char *out, size_t outsize);

#endif
