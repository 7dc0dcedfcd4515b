/* RFC 5321 4.1.2 Mailbox grammar, with RFC 6531 SMTPUTF8.  A pure parser:
 * no allocation, no I/O. */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2 */
#define ADDR_PATH_MAX 256   /* RFC 5321 4.5.3.1.3, brackets included */

enum addr_status {
	ADDR_OK = 0,
	ADDR_SYNTAX,           /* not a Mailbox */
	ADDR_TOO_LONG,         /* a part over its RFC limit */
	ADDR_ROUTE,            /* source route (@a,@b:), %-hack or bang path: refused, never used */
	ADDR_UTF8_NOT_ALLOWED, /* non-ASCII without SMTPUTF8 */
};

struct mailbox {
	/* The local part as it appears on the wire (a quoted string keeps its
	 * quotes), the domain as given (for an address literal, with its
	 * brackets).  Both empty for the null path <>. */
	char local[ADDR_LOCAL_MAX * 2 + 3];
	char domain[ADDR_DOMAIN_MAX + 1];
	int is_null; /* <> */
	int domain_is_literal;
	int has_utf8; /* non-ASCII octets in local part or domain */
};

/* Parses a Reverse-path or Forward-path "<...>" at the start of s (len bytes).
 * allow_null: accept "<>" (MAIL FROM).  allow_utf8: the session negotiated
 * SMTPUTF8 for this transaction.  *consumed is set to the bytes used (path
 * only; parameters follow).  Quoted local parts that contain '@', '%' or '!'
 * count as routes.  RFC 5321 4.1.1.3 "<Postmaster>" without a domain is
 * accepted for RCPT only when allow_null is 0, giving domain "". */
enum addr_status addr_parse_path(const char *s, size_t len, int allow_null, int allow_utf8,
                                 struct mailbox *out, size_t *consumed);

/* Writes "local@domain" (or "" for the null path) to out; returns the length,
 * or -1 when outsize is too small. */
int addr_format(const struct mailbox *m, char *out, size_t outsize);

/* Checks a domain name or address literal on its own (for EHLO/HELO):
 * 1 when it is a syntactically valid Domain or address-literal. */
int addr_valid_domain(const char *s, size_t len, int allow_utf8);

const char *addr_status_text(enum addr_status st);

#endif
