/* The Authentication-Results header (RFC 8601) that records every check
 * result of a message: spf (MAIL FROM and HELO), iprev, and one
 * x-postern method for the checks that have no registered method (rDNS
 * class, HELO, CSA, DNSBL, score).  Pure formatting. */
#ifndef POSTERN_AUTHRES_H
#define POSTERN_AUTHRES_H

#include "core/buf.h"

struct authres {
	const char *authserv_id; /* our host name */
	const char *client_ip;
	const char *iprev;        /* RFC 8601 result, NULL: not checked */
	const char *iprev_name;   /* the confirmed name, or NULL */
	const char *spf_mailfrom; /* NULL: not checked */
	const char *mailfrom;     /* the identity checked */
	const char *spf_helo;
	const char *helo;
	const char *rdns;       /* rDNS class, NULL: not checked */
	const char *helo_check; /* HELO class */
	const char *csa;
	const char *dnsbl;   /* "none", "listed zone,zone", "temperror" */
	const char *verdict; /* "accept", "tag", ... */
	long score;
};

/* Appends the header, folded, CRLF-terminated.  Returns 0 or -1 (full). */
int authres_format(const struct authres *a, struct buf *out);

/* The same field in parts, for results gathered from several checks:
 * "Authentication-Results: id"; then the sender checks' resinfo entries
 * (iprev, spf) into entries and their x-postern properties into props;
 * then the x-postern method with the verdict, props and the score, and
 * the CRLF. */
int authres_begin(struct buf *out, const char *authserv_id);
int authres_sender(const struct authres *a, struct buf *entries, struct buf *props);
int authres_end(struct buf *out, const char *verdict, const struct buf *props, long score);

/* Building blocks for resinfo entries of other methods: ";\r\n\tname=result",
 * then optional " (comment)", then " ptype.property=value" each; values and
 * comments are quoted or cleaned as RFC 8601 2.2 requires. */
int authres_method(struct buf *out, const char *name, const char *result, const char *comment);
int authres_prop(struct buf *out, const char *name, const char *value);

#endif
