/* Parses the extension lines of an EHLO or LHLO reply into flags, the SIZE
 * limit and the AUTH mechanisms we can use. */
#include "smtp/ehlo.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	unsigned flag;
} keywords[] = {
    {"PIPELINING", EHLO_PIPELINING},
    {"SIZE", EHLO_SIZE},
    {"8BITMIME", EHLO_8BITMIME},
    {"SMTPUTF8", EHLO_SMTPUTF8},
    {"CHUNKING", EHLO_CHUNKING},
    {"ENHANCEDSTATUSCODES", EHLO_ENHANCEDSTATUSCODES},
    {"STARTTLS", EHLO_STARTTLS},
    {"DSN", EHLO_DSN},
    {"AUTH", EHLO_AUTH},
};

static const struct {
	const char *name;
	unsigned bit;
} mechanisms[] = {
    {"PLAIN", EHLO_AUTH_PLAIN},
    {"LOGIN", EHLO_AUTH_LOGIN},
};

/* A cursor over the space-separated words of one line. */
struct words {
	const char *p, *end;
};

/* The next word, or NULL at the end of the line; *len is its length. */
static const char *word_next(struct words *w, size_t *len)
{
	const char *start;

	while (w->p < w->end && *w->p == ' ')
		w->p++;
	if (w->p == w->end)
		return NULL;
	start = w->p;
	while (w->p < w->end && *w->p != ' ')
		w->p++;
	*len = (size_t)(w->p - start);
	return start;
}

static int word_is(const char *w, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(w, name, len) == 0;
}

/* RFC 1870 4: size-param = 1*20DIGIT.  Returns 0, or -1 for anything else
 * and for a value over 2^64 - 1. */
static int parse_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static void feed_size(struct ehlo_ext *e, struct words *w)
{
	size_t len;
	const char *arg = word_next(w, &len);

	if (arg == NULL || parse_size(arg, len, &e->size) < 0)
		e->size = 0;
}

static void feed_auth(struct ehlo_ext *e, struct words *w)
{
	const char *mech;
	size_t len;

	while ((mech = word_next(w, &len)) != NULL)
		for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++)
			if (word_is(mech, len, mechanisms[i].name))
				e->auth |= mechanisms[i].bit;
}

void ehlo_ext_init(struct ehlo_ext *e)
{
	memset(e, 0, sizeof(*e));
}

void ehlo_ext_feed(struct ehlo_ext *e, const char *text, size_t len)
{
	struct words w = {text, text + len};
	const char *kw;
	size_t kwlen = 0;

	/* Keywords start the line: a line opening with a space is not one. */
	if (len == 0 || text[0] == ' ')
		return;
	kw = word_next(&w, &kwlen);
	if (kwlen > 5 && strncasecmp(kw, "AUTH=", 5) == 0) {
		/* "AUTH=PLAIN LOGIN": the first mechanism follows the '='. */
		w.p = kw + 5;
		kwlen = 4;
	}
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (!word_is(kw, kwlen, keywords[i].name))
			continue;
		e->flags |= keywords[i].flag;
		if (keywords[i].flag == EHLO_SIZE)
			feed_size(e, &w);
		else if (keywords[i].flag == EHLO_AUTH)
			feed_auth(e, &w);
		return;
	}
}
