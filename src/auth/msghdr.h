/* Splits an RFC 5322 header section into its fields (RFC 5322 2.2, 2.2.3). */
#ifndef POSTERN_AUTH_MSGHDR_H
#define POSTERN_AUTH_MSGHDR_H

#include <stddef.h>

/* A view of one field: p[0..len) includes its folded lines and final CRLF;
 * name_len is the length of the name without WSP before the colon (0 for a
 * line without a colon). */
struct msghdr_field {
	const char *p;
	size_t len;
	size_t name_len;
};

/* Splits h[0..len) (the header section without the empty line) into at
 * most max fields.  Returns the number of fields, or -1 when there are
 * more than max. */
long msghdr_split(const char *h, size_t len, struct msghdr_field *out, size_t max);
/* The number of fields msghdr_split finds in h[0..len). */
size_t msghdr_count(const char *h, size_t len);
/* The fields of h[0..len) in a new array sized to them, after front zeroed
 * entries for the caller; *n is their number, or -1 (and no fields) when
 * there are more than max.  The caller frees the array. */
struct msghdr_field *msghdr_split_new(const char *h, size_t len, size_t max, size_t front, long *n);
/* 1 when the field's name equals name, ignoring case (RFC 5322 1.2.2). */
int msghdr_name_is(const struct msghdr_field *f, const char *name, size_t name_len);

#endif
