/* SMTP replies (RFC 5321 4.2, RFC 3463 enhanced status codes): parsing the
 * replies of a server we talk to (LMTP, later SMTP), one line at a time. */
#ifndef POSTERN_REPLY_H
#define POSTERN_REPLY_H

#include <stddef.h>

struct reply {
	int code;          /* 200..599 */
	char enhanced[16]; /* "2.0.0" or "" */
	char text[512];    /* text of all lines joined with " ", bounded */
	int done;          /* the last line (space after the code) was seen */
};

void reply_init(struct reply *r);
/* Feeds one line (without CRLF).  Returns 0, or -1 when the line is not a
 * reply line or its code differs from the previous lines'. */
int reply_feed_line(struct reply *r, const char *line, size_t len);

#endif
