/* RFC 6376 3.2 tag-list parser: tag-spec *(";" tag-spec) [";"]. */
#include "auth/tags.h"

#include "core/scan.h"

#include <stdio.h>
#include <string.h>

enum {
	C_WSP = 1,       /* SP, HTAB */
	C_VALCHAR = 2,   /* RFC 6376 3.2 VALCHAR: %x21-3A / %x3C-7E */
	C_ALPHA = 4,     /* a tag name's first character */
	C_ALNUMPUNC = 8, /* ALPHA / DIGIT / "_": the rest of a tag name */
	C_STRIP = 16,    /* WSP, CR, LF: dropped from base64 values */
};

#define V C_VALCHAR
/* The classes of every byte (ranges are a GNU C extension gcc and clang
 * share); bytes not named are in none. */
static const unsigned char cls[256] = {
    ['\t'] = C_WSP | C_STRIP,
    ['\n'] = C_STRIP,
    ['\r'] = C_STRIP,
    [' '] = C_WSP | C_STRIP,
    ['!' ... '/'] = V,
    ['0' ... '9'] = V | C_ALNUMPUNC,
    [':'] = V,
    ['<' ... '@'] = V,
    ['A' ... 'Z'] = V | C_ALPHA | C_ALNUMPUNC,
    ['[' ... '^'] = V,
    ['_'] = V | C_ALNUMPUNC,
    ['`'] = V,
    ['a' ... 'z'] = V | C_ALPHA | C_ALNUMPUNC,
    ['{' ... '~'] = V,
};
#undef V

static int is(char c, unsigned what)
{
	return (cls[(unsigned char)c] & what) != 0;
}

static int is_wsp(char c)
{
	return is(c, C_WSP);
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
		if (!is(s[i], C_ALPHA))
			return fail(err, errsize, "tag name expected", i);
		while (i < len && is(s[i], C_ALNUMPUNC))
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
			if (is(s[i], C_VALCHAR)) {
				i += scan_visible(s + i, len - i, ';');
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
		const struct tag *t = &l->tags[i];
		if (t->name_len == n && t->name[0] == name[0] && memcmp(t->name, name, n) == 0)
			return t;
	}
	return NULL;
}

int tags_value_is(const struct tag *t, const char *v)
{
	return t != NULL && t->value_len == strlen(v) && memcmp(t->value, v, t->value_len) == 0;
}

long tags_strip_fws(const char *v, size_t len, char *out, size_t outsize)
{
	size_t o = 0, i = 0;

	if (outsize == 0)
		return -1;
	while (i < len) {
		if (is(v[i], C_STRIP)) {
			i++;
			continue;
		}
		/* A run of kept characters is copied at once. */
		size_t j = i;
		while (j < len && !is(v[j], C_STRIP)) {
			j++;
			j += scan_visible(v + j, len - j, ' ');
		}
		if (j - i >= outsize - o)
			return -1;
		memcpy(out + o, v + i, j - i);
		o += j - i;
		i = j;
	}
	out[o] = '\0';
	return (long)o;
}
