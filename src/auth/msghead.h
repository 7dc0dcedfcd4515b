/* The header section of a message that arrives in chunks (RFC 5322 2.1):
 * kept up to a limit, with the point where the body starts. */
#ifndef POSTERN_AUTH_MSGHEAD_H
#define POSTERN_AUTH_MSGHEAD_H

#include "core/buf.h"

#include <stddef.h>

enum msghead_state {
	MSGHEAD_OPEN,    /* still in the header section */
	MSGHEAD_DONE,    /* head.data[0..hlen) is the header section */
	MSGHEAD_TOO_BIG, /* no empty line within the limit: nothing is kept */
};

struct msghead {
	struct buf head;
	size_t hlen; /* up to and including the last field's CRLF */
	enum msghead_state state;
};

void msghead_init(struct msghead *h, size_t max);
/* Feeds p[0..n) (CRLF line ends).  Returns how many leading bytes of p
 * belong to the header section (the empty line included); the rest of p
 * is body.  Once the section is over, returns 0; once it is too big, n. */
size_t msghead_feed(struct msghead *h, const void *p, size_t n);
/* The header section for its consumers (the DKIM and ARC verifiers), once
 * h is MSGHEAD_DONE or the message is over: the fields and the empty line
 * that ends them, or, for a message that ended without an empty line, the
 * whole message (RFC 5322 2.1: it is all header section).  A view into h,
 * valid until h is fed again or freed; *len is its length.  NULL (and 0)
 * when the section was too big. */
const char *msghead_section(const struct msghead *h, size_t *len);
/* The length of the fields of a section s[0..len) as msghead_section gives
 * it: without the empty line that ends it, when there is one. */
size_t msghead_fields_len(const char *s, size_t len);
void msghead_free(struct msghead *h);

#endif
