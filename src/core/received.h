/* Mail loop detection by the trace fields a message carries (RFC 5321
 * 6.3): how many Received fields it has, and how many of them a host of
 * the given name added (their "by" clause names it).  Pure: no I/O. */
#ifndef POSTERN_CORE_RECEIVED_H
#define POSTERN_CORE_RECEIVED_H

#include <stddef.h>

struct received_count {
	size_t total; /* Received fields */
	size_t by;    /* of those, the ones whose "by" names the host */
};

/* Counts the Received fields of the header section head[0..len) (CRLF or
 * LF line ends; a section that is cut short counts what it holds).  The
 * receiving host of a field is the word after "by" (RFC 5321 4.4 Stamp),
 * outside comments, after the "from" clause when there is one; it matches
 * host without regard to ASCII case or a final dot. */
void received_count(const char *head, size_t len, const char *host, struct received_count *out);

#endif
