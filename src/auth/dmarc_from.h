/* The RFC5322.From domain that DMARC evaluates (RFC 7489 3.1, 6.6.1): a
 * pure extraction from the raw From header field bodies of a message. */
#ifndef POSTERN_AUTH_DMARC_FROM_H
#define POSTERN_AUTH_DMARC_FROM_H

#include <stddef.h>

enum dmarc_from_status {
	DMARC_FROM_OK = 0,
	DMARC_FROM_NO_FIELD,           /* the message has no From field */
	DMARC_FROM_MULTIPLE_FIELDS,    /* more than one From field */
	DMARC_FROM_NO_ADDRESS,         /* no mailbox: empty, "<>", or an empty group */
	DMARC_FROM_MULTIPLE_ADDRESSES, /* more than one mailbox */
	DMARC_FROM_SYNTAX,             /* unbalanced quotes, comments or brackets, or a
	                                  domain that is not a host name */
};

/* The domain of the single mailbox in one field body value[0..len) (the
 * text after "From:", folding allowed): written lowercase (ASCII letters)
 * and NUL-terminated into out, which must hold 254 bytes for every domain
 * to fit (a longer one is DMARC_FROM_SYNTAX).  Display names, comments,
 * quoted strings and a group around the mailbox are allowed. */
enum dmarc_from_status dmarc_from_value(const char *value, size_t len, char *out, size_t outsize);

/* The same over all the From field bodies of a message (NUL-terminated):
 * 6.6.1 asks for exactly one field with exactly one mailbox. */
enum dmarc_from_status dmarc_from_domain(const char *const *fields, size_t nfields, char *out,
                                         size_t outsize);

const char *dmarc_from_status_text(enum dmarc_from_status st);

#endif
