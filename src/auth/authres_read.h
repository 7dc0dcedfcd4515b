/* Reads an RFC 8601 Authentication-Results payload, as carried by an
 * ARC-Authentication-Results field after its "i=N;" (RFC 8617 4.1.1), and
 * finds one method's result and one of its properties.  Pure: no I/O, no
 * allocation. */
#ifndef POSTERN_AUTH_AUTHRES_READ_H
#define POSTERN_AUTH_AUTHRES_READ_H

#include <stddef.h>

/* What authres_find found for one method. */
struct authres_found {
	char result[32]; /* the method's result, lower-cased, e.g. "pass" */
	/* The asked property's value as written (quotes removed), "" when
	 * absent. */
	char value[256];
};

/* Looks in payload[0..len) (RFC 8601 2.2: authserv-id [CFWS authres-version]
 * ( no-result / 1*resinfo ), i.e. "example.org; dkim=pass header.d=a.example;
 * dmarc=pass (p=none) header.from=a.example") for the first resinfo whose
 * method is method (case-insensitive; a "/version" after the method name is
 * allowed and ignored), and there for the property prop ("ptype.property",
 * e.g. "header.from", case-insensitive; may be NULL).  Comments (nested
 * parentheses, with quoted-pairs) are skipped everywhere; quoted strings are
 * values.  Returns 1 when the method was found (out filled), 0 when the
 * payload parses but has no such resinfo (or is "none"), -1 when it cannot
 * be parsed.  Results or values longer than out's fields: -1.
 *
 * The whole payload must parse, not only the part before the method: a
 * damaged field is not half trusted.  An authres-version other than 1 is -1
 * (its grammar is unknown).  Besides ptype.property, a resinfo may hold
 * "keyword=value" pairs without a ptype ("reason=", and extensions such as
 * "action=none" that real servers write); prop may name one of those too
 * ("reason").  When a property repeats in the resinfo the first counts.  A
 * quoted local-part followed by "@domain" is given as written, quotes
 * included; a value that is one quoted string is given unquoted.  Folding
 * (CR, LF) inside a quoted string is removed. */
int authres_find(const char *payload, size_t len, const char *method, const char *prop,
                 struct authres_found *out);

#endif
