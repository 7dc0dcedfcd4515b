/* RFC 6376 3.2 tag-list parser: tag-spec *(";" tag-spec) [";"]. */
#include "auth/tags.h"

#include <stdio.h>
#include <string.h>

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 6376 3.2 VALCHAR: %x21-3A / %x3C-7E (printable, not ";"). */
static int is_valchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

/* ALNUMPUNC = ALPHA / DIGIT / "_" */
static int is_alnumpunc(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the FWS (RFC 5322 3.2.2: [*WSP CRLF] 1*WSP, or plain WSP) at
 * s[i..len); 0 when there is none.  A CRLF not followed by WSP is not FWS. */
static size_t fws_len(const char *s, size_t i, size_t len)
{
	size_t j = i;

	while (j < len) {
		if (is_wsp(s[j])) {
			j++;
		} else if (j + 2 < len && s[j] == '\r' && s[j + 1] == '\n' && is_wsp(s[j + 2])) {
			j += 3;
		} else {
			break;
		}
	}
	return j - i;
}

static int fail(char *err, size_t errsize, const char *what, size_t at)
{
	snprintf(err, errsize, "%s at offset %zu", what, at);
	return -1;
}

int tags_parse(const char *s, size_t len, struct tag_list *out, char *err, size_t errsize)
{
	size_t i = 0;

	out->n = 0;
	if (errsize > 0)
		err[0] = '\0';
	for (;;) {
		i += fws_len(s, i, len);
		/* A trailing ";" (with optional FWS after it) ends the list. */
		if (i == len)
			return 0;
		size_t name_start = i;
		if (!is_alpha(s[i]))
			return fail(err, errsize, "tag name expected", i);
		while (i < len && is_alnumpunc(s[i]))
			i++;
		size_t name_len = i - name_start;
		i += fws_len(s, i, len);
		if (i == len || s[i] != '=')
			return fail(err, errsize, "'=' expected", i);
		i++;
		i += fws_len(s, i, len);
		size_t value_start = i, value_end = i;
		/* tag-value = [ tval *( 1*(WSP / FWS) tval ) ] */
		while (i < len && s[i] != ';') {
			/* Most of a value (b=, bh=) is VALCHAR: no FWS to look for. */
			if (is_valchar((unsigned char)s[i])) {
				i++;
				value_end = i;
				continue;
			}
			size_t f = fws_len(s, i, len);
			if (f == 0)
				return fail(err, errsize, "invalid character in tag value", i);
			i += f;
		}
		for (size_t k = 0; k < out->n; k++) {
			if (out->tags[k].name_len == name_len &&
			    memcmp(out->tags[k].name, s + name_start, name_len) == 0)
				return fail(err, errsize, "duplicate tag", name_start);
		}
		if (out->n == TAGS_MAX)
			return fail(err, errsize, "too many tags", name_start);
		out->tags[out->n++] = (struct tag){s + name_start, name_len, s + value_start,
		                                   value_end - value_start};
		if (i == len)
			return 0;
		i++; /* the ";" */
	}
}

const struct tag *tags_get(const struct tag_list *l, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < l->n; i++) {
		if (l->tags[i].name_len == n && memcmp(l->tags[i].name, name, n) == 0)
			return &l->tags[i];
	}
	return NULL;
}

int tags_value_is(const struct tag *t, const char *v)
{
	return t != NULL && t->value_len == strlen(v) && memcmp(t->value, v, t->value_len) == 0;
}

long tags_strip_fws(const char *v, size_t len, char *out, size_t outsize)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (is_wsp(v[i]) || v[i] == '\r' || v[i] == '\n')
			continue;
		if (o + 1 >= outsize)
			return -1;
		out[o++] = v[i];
	}
	if (outsize == 0)
		return -1;
	out[o] = '\0';
	return (long)o;
}
