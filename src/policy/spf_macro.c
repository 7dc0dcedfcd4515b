/* The SPF macro language (RFC 7208 7): a pure syntax check and expander. */
#include "policy/spf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* One parsed "%{...}" (RFC 7208 7.1 macro-expand). */
struct macro {
	char letter;   /* lower case */
	int url;       /* upper-case letter: URL-escape the result (7.3) */
	unsigned keep; /* rightmost parts to keep; 0: all */
	int reverse;
	char delims[8]; /* NUL-terminated set; empty: "." */
};

/* No real value has more parts than this many octets; larger DIGIT
 * transformers are equivalent to "all". */
#define MACRO_KEEP_CAP 1000

static int is_delim(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

/* c, r and t only make sense in explanation text (7.3). */
static int letter_ok(char lower, unsigned flags)
{
	if (strchr("slodiphv", lower) != NULL)
		return 1;
	return (flags & SPF_MACRO_EXP) && strchr("crt", lower) != NULL;
}

/* Parses the macro starting at in[0] == '%' and in[1] == '{'.  Returns the
 * length consumed, or 0 on a syntax error. */
static size_t parse_macro(const char *in, size_t len, unsigned flags, struct macro *m)
{
	size_t i = 2, nd = 0;
	int have_digits = 0;

	memset(m, 0, sizeof(*m));
	if (i >= len)
		return 0;
	char c = in[i++];
	char lower = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	if (lower == '\0' || !letter_ok(lower, flags))
		return 0;
	m->letter = lower;
	m->url = (c >= 'A' && c <= 'Z');
	while (i < len && in[i] >= '0' && in[i] <= '9') {
		have_digits = 1;
		if (m->keep <= MACRO_KEEP_CAP)
			m->keep = m->keep * 10 + (unsigned)(in[i] - '0');
		i++;
	}
	/* 7.3: "If a DIGIT is specified, the value MUST be nonzero." */
	if (have_digits && m->keep == 0)
		return 0;
	if (i < len && (in[i] == 'r' || in[i] == 'R')) {
		m->reverse = 1;
		i++;
	}
	while (i < len && is_delim(in[i])) {
		if (strchr(m->delims, in[i]) == NULL && nd < sizeof(m->delims) - 1)
			m->delims[nd++] = in[i];
		i++;
	}
	if (i >= len || in[i] != '}')
		return 0;
	return i + 1;
}

static const char *dotted_quad(const unsigned char *ip, char *tmp, size_t tmpsize)
{
	snprintf(tmp, tmpsize, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
	return tmp;
}

/* 7.3: IPv6 "i" is the dot-separated nibble form.  Upper-case hex, as the
 * RFC 7208 test suite expects (v-macro-ip6); DNS ignores the case. */
static const char *nibbles(const unsigned char *ip, char *tmp, size_t tmpsize)
{
	for (size_t k = 0; k < 32 && 2 * k + 1 < tmpsize; k++) {
		unsigned nib = (k % 2 == 0) ? ip[k / 2] >> 4 : ip[k / 2] & 0xf;
		tmp[2 * k] = "0123456789ABCDEF"[nib];
		tmp[2 * k + 1] = k == 31 ? '\0' : '.';
	}
	return tmp;
}

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* The raw value of a letter, written to tmp when it must be computed. */
static const char *macro_value(char letter, const struct spf_macro_vars *v, char *tmp,
                               size_t tmpsize)
{
	int six = v->family == AF_INET6;

	switch (letter) {
	case 's':
		return or_empty(v->sender);
	case 'l':
		return or_empty(v->local);
	case 'o':
		return or_empty(v->sender_domain);
	case 'd':
		return or_empty(v->domain);
	case 'p':
		return or_empty(v->ptr);
	case 'h':
		return or_empty(v->helo);
	case 'r':
		return or_empty(v->receiver);
	case 'v':
		return six ? "ip6" : "in-addr";
	case 't':
		snprintf(tmp, tmpsize, "%lld", (long long)v->now);
		return tmp;
	case 'c':
		/* 7.3: c is the readable form (RFC 5952 for IPv6). */
		if (six)
			return inet_ntop(AF_INET6, v->ip, tmp, (socklen_t)tmpsize) ? tmp : "";
		return dotted_quad(v->ip, tmp, tmpsize);
	case 'i':
		return six ? nibbles(v->ip, tmp, tmpsize) : dotted_quad(v->ip, tmp, tmpsize);
	default:
		return "";
	}
}

static int in_set(char c, const char *delims)
{
	return delims[0] == '\0' ? c == '.' : (c != '\0' && strchr(delims, c) != NULL);
}

/* Finds part idx (0-based, left to right) of value split on delims. */
static void find_part(const char *val, size_t len, const char *delims, size_t idx, size_t *start,
                      size_t *plen)
{
	size_t i = 0, k = 0;

	while (k < idx) {
		if (in_set(val[i], delims))
			k++;
		i++;
	}
	*start = i;
	while (i < len && !in_set(val[i], delims))
		i++;
	*plen = i - *start;
}

static int append_escaped(struct buf *out, const char *s, size_t n, int url)
{
	if (!url)
		return buf_append(out, s, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* 7.3: everything outside RFC 3986 "unreserved" is escaped. */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			if (buf_append(out, s + i, 1) < 0)
				return -1;
		} else if (buf_printf(out, "%%%02X", c) < 0) {
			return -1;
		}
	}
	return 0;
}

/* 7.3: split on the delimiters, optionally reverse, keep the rightmost
 * parts, join with ".", then URL-escape for an upper-case letter. */
static int expand_macro(const struct macro *m, const struct spf_macro_vars *v, struct buf *out)
{
	char tmp[80];
	const char *val = macro_value(m->letter, v, tmp, sizeof(tmp));
	size_t len = strlen(val), nparts = 1, first, last;

	for (size_t i = 0; i < len; i++)
		if (in_set(val[i], m->delims))
			nparts++;
	size_t keep = (m->keep == 0 || m->keep > nparts) ? nparts : m->keep;
	/* Output order is over the (possibly reversed) list; map each output
	 * position to the index of the part in the original value. */
	first = nparts - keep;
	last = nparts;
	for (size_t k = first; k < last; k++) {
		size_t idx = m->reverse ? nparts - 1 - k : k, start, plen;
		find_part(val, len, m->delims, idx, &start, &plen);
		if (k > first && buf_append(out, ".", 1) < 0)
			return -1;
		if (append_escaped(out, val + start, plen, m->url) < 0)
			return -1;
	}
	return 0;
}

/* The one walk behind check and expand; v == NULL only checks. */
static enum spf_macro_status walk(const char *in, size_t len, const struct spf_macro_vars *v,
                                  unsigned flags, struct buf *out, int *uses_p)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		if (c != '%') {
			/* macro-literal = %x21-24 / %x26-7E; SP only in explain-string. */
			if (c > 0x7e || c < 0x20 || (c == ' ' && !(flags & SPF_MACRO_EXP)))
				return SPF_MACRO_SYNTAX;
			if (v != NULL && buf_append(out, in + i, 1) < 0)
				return SPF_MACRO_TOO_LONG;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return SPF_MACRO_SYNTAX;
		const char *lit = NULL;
		switch (in[i + 1]) {
		case '%':
			lit = "%";
			break;
		case '_':
			lit = " ";
			break;
		case '-':
			lit = "%20";
			break;
		case '{':
			break;
		default:
			/* 7.1: "A '%' character not followed by a '{', '%', '-',
			 * or '_' character is a syntax error." */
			return SPF_MACRO_SYNTAX;
		}
		if (lit != NULL) {
			if (v != NULL && buf_append_str(out, lit) < 0)
				return SPF_MACRO_TOO_LONG;
			i += 2;
			continue;
		}
		struct macro m;
		size_t used = parse_macro(in + i, len - i, flags, &m);
		if (used == 0)
			return SPF_MACRO_SYNTAX;
		if (m.letter == 'p' && uses_p != NULL)
			*uses_p = 1;
		if (v != NULL && expand_macro(&m, v, out) < 0)
			return SPF_MACRO_TOO_LONG;
		i += used;
	}
	return SPF_MACRO_OK;
}

enum spf_macro_status spf_macro_check(const char *in, size_t len, unsigned flags, int *uses_p)
{
	if (uses_p != NULL)
		*uses_p = 0;
	return walk(in, len, NULL, flags, NULL, uses_p);
}

enum spf_macro_status spf_macro_expand(const char *in, size_t len, const struct spf_macro_vars *v,
                                       unsigned flags, struct buf *out)
{
	size_t old = out->len;
	enum spf_macro_status st = walk(in, len, v, flags, out, NULL);

	if (st != SPF_MACRO_OK && out->cap > 0) {
		out->len = old;
		out->data[old] = '\0';
	}
	return st;
}

char *spf_domain_truncate(char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		name[--len] = '\0';
	while (len > 253) {
		char *dot = strchr(name, '.');
		if (dot == NULL)
			break;
		len -= (size_t)(dot + 1 - name);
		name = dot + 1;
	}
	return name;
}
