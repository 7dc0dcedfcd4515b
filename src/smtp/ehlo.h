/* The service extensions a server advertises in its EHLO or LHLO reply
 * (RFC 5321 4.1.1.1): a pure parser of the reply's lines, for our SMTP and
 * LMTP client. */
#ifndef POSTERN_EHLO_H
#define POSTERN_EHLO_H

#include <stddef.h>
#include <stdint.h>

enum ehlo_flag {
	EHLO_PIPELINING = 1 << 0,          /* RFC 2920 */
	EHLO_SIZE = 1 << 1,                /* RFC 1870 */
	EHLO_8BITMIME = 1 << 2,            /* RFC 6152 */
	EHLO_SMTPUTF8 = 1 << 3,            /* RFC 6531 */
	EHLO_CHUNKING = 1 << 4,            /* RFC 3030 */
	EHLO_ENHANCEDSTATUSCODES = 1 << 5, /* RFC 2034 */
	EHLO_STARTTLS = 1 << 6,            /* RFC 3207 */
	EHLO_DSN = 1 << 7,                 /* RFC 3461 */
	EHLO_AUTH = 1 << 8,                /* RFC 4954 */
};

/* The SASL mechanisms of AUTH that our client can use. */
enum ehlo_auth {
	EHLO_AUTH_PLAIN = 1 << 0,
	EHLO_AUTH_LOGIN = 1 << 1,
};

struct ehlo_ext {
	unsigned flags; /* enum ehlo_flag bits */
	uint64_t size;  /* SIZE's fixed maximum; 0: none given (or not usable) */
	unsigned auth;  /* enum ehlo_auth bits */
};

void ehlo_ext_init(struct ehlo_ext *e);

/* Takes one line of the reply: its text after "250-" or "250 ", without
 * the CRLF, for every line but the first (which is the greeting).
 *
 * A line is a keyword and its parameters, separated by spaces.  Keywords
 * are case-insensitive; unknown ones, and lines that do not start with a
 * keyword, are ignored.  SIZE sets EHLO_SIZE and, when its parameter is a
 * decimal number that fits in 64 bits, size; a missing or malformed
 * parameter leaves size 0 (no limit known) but the flag set, since the
 * server still takes SIZE= on MAIL.  AUTH adds the PLAIN and LOGIN
 * mechanisms it lists; "AUTH=" is taken as a spelling of "AUTH", as old
 * servers advertise both.  Lines may be fed in any number: flags and
 * mechanisms add up. */
void ehlo_ext_feed(struct ehlo_ext *e, const char *text, size_t len);

#endif
