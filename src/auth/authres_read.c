/* Reading of an Authentication-Results payload (see authres_read.h): a
 * single bounded left-to-right pass over the RFC 8601 2.2 grammar, with the
 * CFWS, comment and quoted-string rules of RFC 5322 3.2.  Method names and
 * results are only ever read where the grammar puts them (after a ";"),
 * never inside a comment or a quoted string, so neither can smuggle one. */
#include "auth/authres_read.h"

#include <stdint.h>
#include <string.h>

/* Comments nest; a depth counter (no recursion) with a bound keeps a
 * hostile "((((..." cheap and makes the limit explicit. */
#define MAX_COMMENT_DEPTH 16

/* The resinfo reader's verdicts besides -1. */
enum {
	RES_OTHER = 0, /* a resinfo for another method, or a later one of ours */
	RES_MINE = 1,  /* the first resinfo of the asked method */
	RES_NONE = 2,  /* the payload is "authserv-id; none" */
};

struct cursor {
	const char *s;
	size_t len;
	size_t i;
};

/* Where a value is copied to; buf NULL when it is only skipped. */
struct sink {
	char *buf;
	size_t cap;
	size_t n;
};

static int at_end(const struct cursor *c)
{
	return c->i >= c->len;
}

/* The next octet, or NUL at the end (never compared equal to what the
 * callers look for, and a NUL in the payload is never valid there). */
static char peek(const struct cursor *c)
{
	return at_end(c) ? '\0' : c->s[c->i];
}

static char lower(char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Keyword (RFC 8601 2.2 via RFC 5321 Ldh-str): letters, digits, "-". */
static int is_ldh(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '-';
}

/* RFC 2045 token characters (the authserv-id), plus UTF-8 (RFC 8616). */
static int is_token(char ch)
{
	unsigned char u = (unsigned char)ch;

	if (u >= 0x80)
		return 1;
	return u > 0x20 && u < 0x7f && strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* Characters of an unquoted property value.  Wider than a token because
 * real values are addresses ("@"), base64 ("/", "+", "=") and IPv6
 * literals (":", "[]"); a value still ends only at CFWS, ";" or the end,
 * and a quote or backslash in it is an error rather than a guess. */
static int is_pchar(char ch)
{
	unsigned char u = (unsigned char)ch;

	if (u >= 0x80)
		return 1;
	return u > 0x20 && u < 0x7f && strchr("();\"\\", ch) == NULL;
}

/* 1 when s[0..n) is a prefix of z, ignoring ASCII case; stops at z's NUL. */
static int prefix_is(const char *s, size_t n, const char *z)
{
	for (size_t j = 0; j < n; j++) {
		if (z[j] == '\0' || lower(s[j]) != lower(z[j]))
			return 0;
	}
	return 1;
}

/* 1 when s[0..n) equals z, ignoring ASCII case. */
static int equals(const char *s, size_t n, const char *z)
{
	return prefix_is(s, n, z) && z[n] == '\0';
}

/* Skips the comment opening at c (RFC 5322 3.2.2: nested, quoted-pairs).
 * -1 when it is not closed, nests too deep or holds a NUL. */
static int skip_comment(struct cursor *c)
{
	unsigned depth = 0;

	while (!at_end(c)) {
		char ch = c->s[c->i++];
		if (ch == '\0')
			return -1;
		if (ch == '\\') {
			if (peek(c) == '\0')
				return -1;
			c->i++;
		} else if (ch == '(') {
			if (++depth > MAX_COMMENT_DEPTH)
				return -1;
		} else if (ch == ')') {
			if (--depth == 0)
				return 0;
		}
	}
	return -1;
}

/* Skips CFWS.  Folding is taken liberally: any CR, LF, SP or HTAB. */
static int skip_cfws(struct cursor *c)
{
	while (!at_end(c)) {
		char ch = c->s[c->i];
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			c->i++;
		else if (ch == '(') {
			if (skip_comment(c) < 0)
				return -1;
		} else
			break;
	}
	return 0;
}

/* "=" and the CFWS after it; -1 when c is not at an "=". */
static int equals_sign(struct cursor *c)
{
	if (peek(c) != '=')
		return -1;
	c->i++;
	return skip_cfws(c);
}

/* The length of the Keyword at c, which is skipped (0: none there). */
static size_t keyword(struct cursor *c)
{
	size_t start = c->i;

	while (!at_end(c) && is_ldh(c->s[c->i]))
		c->i++;
	return c->i - start;
}

static size_t digits(struct cursor *c)
{
	size_t start = c->i;

	while (!at_end(c) && is_digit(c->s[c->i]))
		c->i++;
	return c->i - start;
}

/* Appends ch, keeping room for the NUL; -1 when it does not fit. */
static int put(struct sink *k, char ch)
{
	if (k->buf == NULL)
		return 0;
	if (k->n + 1 >= k->cap)
		return -1;
	k->buf[k->n++] = ch;
	return 0;
}

/* Reads the quoted string opening at c (RFC 5322 3.2.4) into k: its
 * content with quoted-pairs resolved, or (raw) as written.  Folding inside
 * is removed in both cases; a NUL, or a quoted CR, LF or NUL, is -1 so
 * that no value can carry a line break or end early. */
static int read_quoted(struct cursor *c, struct sink *k, int raw)
{
	if (raw && put(k, '"') < 0)
		return -1;
	c->i++;
	while (!at_end(c)) {
		char ch = c->s[c->i++];
		if (ch == '\0')
			return -1;
		if (ch == '"')
			return raw ? put(k, '"') : 0;
		if (ch == '\r' || ch == '\n')
			continue;
		if (ch == '\\') {
			ch = peek(c);
			if (ch == '\0' || ch == '\r' || ch == '\n')
				return -1;
			c->i++;
			if (raw && put(k, '\\') < 0)
				return -1;
		}
		if (put(k, ch) < 0)
			return -1;
	}
	return -1;
}

/* Reads a value at c into k, NUL-terminated: a quoted string, or a
 * non-empty run of token characters (pvalue 0: the authserv-id) or of
 * property value characters (pvalue 1), where a quoted local-part may be
 * followed by "@" and a domain (RFC 8601 2.2 pvalue). */
static int read_value(struct cursor *c, int pvalue, struct sink *k)
{
	size_t start = c->i;

	if (peek(c) == '"') {
		if (read_quoted(c, k, 0) < 0)
			return -1;
		if (pvalue && peek(c) == '@') {
			/* An address: its quotes belong to it, so give it as
			 * written; read it again raw. */
			k->n = 0;
			c->i = start;
			if (read_quoted(c, k, 1) < 0 || put(k, '@') < 0)
				return -1;
			c->i++;
			start = c->i;
		} else {
			start = SIZE_MAX; /* complete: no run follows */
		}
	}
	if (start != SIZE_MAX) {
		while (!at_end(c) && (pvalue ? is_pchar(c->s[c->i]) : is_token(c->s[c->i]))) {
			if (put(k, c->s[c->i]) < 0)
				return -1;
			c->i++;
		}
		if (c->i == start)
			return -1;
	}
	if (k->buf != NULL)
		k->buf[k->n] = '\0';
	return 0;
}

/* 1 when the property t[0..tn) "." p[0..pn) (or the bare keyword t[0..tn)
 * when not dotted) is the asked name, ignoring case. */
static int name_is(const char *name, const char *t, size_t tn, const char *p, size_t pn, int dotted)
{
	if (!prefix_is(t, tn, name))
		return 0;
	if (!dotted)
		return name[tn] == '\0';
	return name[tn] == '.' && equals(p, pn, name + tn + 1);
}

/* Reads one resinfo after its ";" and CFWS, up to the next ";" or the end:
 * methodspec [reasonspec] *propspec.  out is NULL once the method was
 * found, so that only its first resinfo fills it.  Returns a RES_ value or
 * -1. */
static int resinfo(struct cursor *c, int first, const char *method, const char *prop,
                   struct authres_found *out)
{
	const char *s = c->s;
	size_t m = c->i, mn = keyword(c);

	if (mn == 0 || skip_cfws(c) < 0)
		return -1;
	/* no-result: "none" alone, not a method called "none" */
	if (first && equals(s + m, mn, "none") && (at_end(c) || peek(c) == ';')) {
		if (!at_end(c)) {
			c->i++; /* a trailing ";" */
			if (skip_cfws(c) < 0)
				return -1;
		}
		return at_end(c) ? RES_NONE : -1;
	}
	if (peek(c) == '/') {
		/* method-version: allowed and ignored */
		c->i++;
		if (skip_cfws(c) < 0 || digits(c) == 0 || skip_cfws(c) < 0)
			return -1;
	}
	if (equals_sign(c) < 0)
		return -1;
	size_t r = c->i, rn = keyword(c);
	if (rn == 0)
		return -1;

	int mine = out != NULL && equals(s + m, mn, method);
	if (mine) {
		if (rn >= sizeof(out->result))
			return -1;
		for (size_t j = 0; j < rn; j++)
			out->result[j] = lower(s[r + j]);
		out->result[rn] = '\0';
	}

	int have = 0;
	for (;;) {
		if (skip_cfws(c) < 0)
			return -1;
		if (at_end(c) || peek(c) == ';')
			return mine ? RES_MINE : RES_OTHER;
		/* ptype "." property "=" pvalue, or keyword "=" value (reason,
		 * and extensions such as "action=none"): a "x=y" here is a
		 * property of this resinfo, never a method. */
		size_t t = c->i, tn = keyword(c), p = 0, pn = 0;
		int dotted = 0;
		if (tn == 0 || skip_cfws(c) < 0)
			return -1;
		if (peek(c) == '.') {
			dotted = 1;
			c->i++;
			if (skip_cfws(c) < 0)
				return -1;
			p = c->i;
			pn = keyword(c);
			if (pn == 0 || skip_cfws(c) < 0)
				return -1;
		}
		if (equals_sign(c) < 0)
			return -1;
		int want =
		    mine && prop != NULL && !have && name_is(prop, s + t, tn, s + p, pn, dotted);
		struct sink k = {want ? out->value : NULL, sizeof(out->value), 0};
		if (read_value(c, 1, &k) < 0)
			return -1;
		have |= want;
	}
}

static int find(struct cursor *c, const char *method, const char *prop, struct authres_found *out)
{
	struct sink skip = {NULL, 0, 0};
	int found = 0;

	if (skip_cfws(c) < 0 || read_value(c, 0, &skip) < 0)
		return -1;
	size_t id_end = c->i;
	if (skip_cfws(c) < 0)
		return -1;
	if (c->i > id_end && is_digit(peek(c))) {
		/* authres-version: only 1 is known (leading zeros allowed) */
		size_t v = c->i, vn = digits(c);
		while (vn > 1 && c->s[v] == '0') {
			v++;
			vn--;
		}
		if (vn != 1 || c->s[v] != '1' || skip_cfws(c) < 0)
			return -1;
	}
	if (peek(c) != ';')
		return -1;
	for (int first = 1;; first = 0) {
		c->i++; /* the ";" */
		if (skip_cfws(c) < 0)
			return -1;
		if (at_end(c))
			return first ? -1 : found; /* a trailing ";" */
		int r = resinfo(c, first, method, prop, found ? NULL : out);
		if (r < 0)
			return -1;
		if (r == RES_NONE)
			return 0;
		if (r == RES_MINE)
			found = 1;
		if (at_end(c))
			return found;
	}
}

int authres_find(const char *payload, size_t len, const char *method, const char *prop,
                 struct authres_found *out)
{
	struct cursor c = {payload, len, 0};

	if (out == NULL)
		return -1;
	out->result[0] = '\0';
	out->value[0] = '\0';
	if (method == NULL || (payload == NULL && len > 0))
		return -1;
	int r = find(&c, method, prop, out);
	if (r != 1) {
		/* nothing half filled from a resinfo the rest made invalid */
		out->result[0] = '\0';
		out->value[0] = '\0';
	}
	return r;
}
