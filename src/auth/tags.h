/* The tag=value list of RFC 6376 3.2, shared by DKIM signatures, DKIM key
 * records, DMARC records and ARC headers: a pure parser over raw bytes. */
#ifndef POSTERN_AUTH_TAGS_H
#define POSTERN_AUTH_TAGS_H

#include <stddef.h>

/* More tags than any of the record types defines; a longer list is refused. */
#define TAGS_MAX 32

/* A view into the parsed input: name and value point into it and are not
 * NUL-terminated.  The value is raw: inner FWS is kept, leading and trailing
 * FWS are not part of it (RFC 6376 3.2). */
struct tag {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct tag_list {
	struct tag tags[TAGS_MAX];
	size_t n;
};

/* Parses s[0..len) into out (views into s).  Returns 0, or -1 with a reason
 * in err for a syntax error, a duplicate tag name (RFC 6376 3.2: "Tags with
 * duplicate names MUST NOT occur") or more than TAGS_MAX tags. */
int tags_parse(const char *s, size_t len, struct tag_list *out, char *err, size_t errsize);

/* The tag named name (case-sensitive, RFC 6376 3.2), or NULL. */
const struct tag *tags_get(const struct tag_list *l, const char *name);

/* 1 when the tag's value equals v exactly. */
int tags_value_is(const struct tag *t, const char *v);

/* Copies v[0..len) into out without any whitespace or CRLF, as base64
 * values are read (RFC 6376 3.5 b=, bh=; 3.6.1 p=).  Returns the length
 * written (NUL-terminated), or -1 when it does not fit in outsize. */
long tags_strip_fws(const char *v, size_t len, char *out, size_t outsize);

#endif
