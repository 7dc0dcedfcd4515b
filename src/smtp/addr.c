/* The Mailbox grammar of RFC 5321 4.1.2 (with RFC 6531 UTF-8): a pure parser of "<path>". */
#include "smtp/addr.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#define LABEL_MAX 63 /* RFC 1035 2.3.4 */

/* "IPv6:" plus the longest textual IPv6 address (with an embedded IPv4
 * address) is 5 + 45 bytes; anything longer cannot be a literal we accept. */
#define LITERAL_MAX 50

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 3.2.3 atext, without '%' and '!' which the caller refuses as
 * routes before asking. */
static int is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("#$&'*+-/=?^_`{|}~", c) != NULL);
}

/* Length of the well-formed UTF-8 sequence of a non-ASCII character at p
 * (RFC 3629 4), or 0: overlong forms, surrogates, code points above
 * U+10FFFF and truncated sequences are all refused. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0; /* continuation byte, C0/C1 (overlong) or F5..FF */
	if (avail < n)
		return 0;
	/* The second byte's range is narrowed for the lead bytes whose full
	 * range would allow overlongs (E0, F0), surrogates (ED) or values
	 * past U+10FFFF (F4). */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Checks one non-ASCII character at s[i]; *n is set to its length. */
static enum addr_status utf8_check(const char *s, size_t len, size_t i, int allow_utf8, size_t *n)
{
	*n = utf8_len((const unsigned char *)s + i, len - i);
	if (*n == 0)
		return ADDR_SYNTAX;
	/* RFC 6531 3.3: UTF-8 in a path only after SMTPUTF8. */
	return allow_utf8 ? ADDR_OK : ADDR_UTF8_NOT_ALLOWED;
}

/* Dot-string = Atom *("." Atom) (RFC 5321 4.1.2).  '%' and '!' are atext
 * but mean a %-hack or a bang path to some relays: refused as routes so
 * that nobody can make us relay through a local part. */
static enum addr_status dot_string_scan(const char *s, size_t len, int allow_utf8, size_t *used,
                                        int *utf8)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;
		while (i < len) {
			unsigned char c = (unsigned char)s[i];
			if (c == '%' || c == '!')
				return ADDR_ROUTE;
			if (is_atext(c)) {
				i++;
			} else if (c >= 0x80) {
				size_t n;
				enum addr_status st = utf8_check(s, len, i, allow_utf8, &n);
				if (st != ADDR_OK)
					return st;
				*utf8 = 1;
				i += n;
			} else {
				break;
			}
			if (i > ADDR_LOCAL_MAX)
				return ADDR_TOO_LONG;
		}
		/* An empty atom: empty local part, leading, trailing or double dot. */
		if (i == start)
			return ADDR_SYNTAX;
		if (i < len && s[i] == '.') {
			i++;
			continue;
		}
		*used = i;
		return ADDR_OK;
	}
}

/* Quoted-string (RFC 5321 4.1.2): qtextSMTP and quoted-pairSMTP between
 * DQUOTEs.  s[0] is the opening quote.  ADDR_LOCAL_MAX bounds the content
 * once unquoted, so the wire form fits struct mailbox's local (which has
 * room for every character escaped). */
static enum addr_status quoted_scan(const char *s, size_t len, int allow_utf8, size_t *used,
                                    int *utf8)
{
	size_t i = 1, content = 0;

	for (;;) {
		unsigned char c;
		if (i >= len)
			return ADDR_SYNTAX;
		c = (unsigned char)s[i];
		if (c == '"') {
			i++;
			break;
		}
		if (c == '\\') {
			if (i + 1 >= len)
				return ADDR_SYNTAX;
			c = (unsigned char)s[i + 1];
			if (c < 32 || c > 126)
				return ADDR_SYNTAX;
			i += 2;
		} else if (c >= 32 && c <= 126) {
			i++;
		} else if (c >= 0x80) {
			size_t n;
			enum addr_status st = utf8_check(s, len, i, allow_utf8, &n);
			if (st != ADDR_OK)
				return st;
			*utf8 = 1;
			i += n;
		} else {
			return ADDR_SYNTAX;
		}
		/* A quoted '@', '%' or '!' is the classic way to smuggle a
		 * route past a parser ("user@victim"@us): refused. */
		if (c == '@' || c == '%' || c == '!')
			return ADDR_ROUTE;
		if (++content > ADDR_LOCAL_MAX)
			return ADDR_TOO_LONG;
	}
	/* "" is grammatical but names no mailbox: an empty local part. */
	if (content == 0)
		return ADDR_SYNTAX;
	*used = i;
	return ADDR_OK;
}

/* Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * (RFC 5321 4.1.2), or a U-label under RFC 6531 3.3.  Labels are measured
 * in octets of what was sent, a conservative bound for U-labels. */
static enum addr_status domain_scan(const char *s, size_t len, int allow_utf8, size_t *used,
                                    int *utf8)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;
		int hyphen = 0;
		while (i < len) {
			unsigned char c = (unsigned char)s[i];
			if (is_alpha(c) || is_digit(c)) {
				i++;
				hyphen = 0;
			} else if (c == '-') {
				if (i == start)
					return ADDR_SYNTAX;
				i++;
				hyphen = 1;
			} else if (c >= 0x80) {
				size_t n;
				enum addr_status st = utf8_check(s, len, i, allow_utf8, &n);
				if (st != ADDR_OK)
					return st;
				*utf8 = 1;
				i += n;
				hyphen = 0;
			} else {
				break;
			}
			if (i - start > LABEL_MAX || i > ADDR_DOMAIN_MAX)
				return ADDR_TOO_LONG;
		}
		/* Empty label (leading, double or trailing dot) or a label
		 * ending in a hyphen. */
		if (i == start || hyphen)
			return ADDR_SYNTAX;
		if (i < len && s[i] == '.') {
			i++;
			continue;
		}
		*used = i;
		return ADDR_OK;
	}
}

/* address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]" (RFC 5321 4.1.3).  The address forms are
 * checked with inet_pton; general literals name no transport we speak and
 * are refused as syntax. */
static enum addr_status literal_scan(const char *s, size_t len, size_t *used)
{
	char text[LITERAL_MAX + 1];
	const char *end;
	size_t n;
	unsigned char bin[16];

	end = memchr(s, ']', len < LITERAL_MAX + 2 ? len : LITERAL_MAX + 2);
	if (end == NULL)
		return ADDR_SYNTAX;
	n = (size_t)(end - s) - 1;
	memcpy(text, s + 1, n);
	text[n] = '\0';
	/* inet_pton stops at a NUL, which would hide what follows it. */
	if (memchr(text, '\0', n) != NULL)
		return ADDR_SYNTAX;
	if (n > 5 && strncasecmp(text, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, text + 5, bin) != 1)
			return ADDR_SYNTAX;
	} else if (inet_pton(AF_INET, text, bin) != 1) {
		return ADDR_SYNTAX;
	}
	*used = n + 2;
	return ADDR_OK;
}

static enum addr_status domain_or_literal_scan(const char *s, size_t len, int allow_utf8,
                                               size_t *used, int *utf8, int *literal)
{
	*literal = len > 0 && s[0] == '[';
	if (*literal)
		return literal_scan(s, len, used);
	return domain_scan(s, len, allow_utf8, used, utf8);
}

/* A source route "<@a,@b:user@c>" (RFC 5321 4.1.2 A-d-l, 3.6.1): the
 * '@' opens it and a ':' closes it before the path ends.  Refused without
 * looking further; RFC 5321 C says it MAY be ignored, and we would rather
 * say no than deliver somewhere the client did not name. */
static int is_source_route(const char *s, size_t len)
{
	if (len < 2 || s[1] != '@')
		return 0;
	for (size_t i = 2; i < len && s[i] != '>'; i++)
		if (s[i] == ':')
			return 1;
	return 0;
}

enum addr_status addr_parse_path(const char *s, size_t len, int allow_null, int allow_utf8,
                                 struct mailbox *out, size_t *consumed)
{
	size_t i, n = 0, local_len;
	int utf8 = 0, literal = 0;
	enum addr_status st;

	memset(out, 0, sizeof(*out));
	*consumed = 0;
	if (len < 2 || s[0] != '<')
		return ADDR_SYNTAX;
	if (s[1] == '>') {
		if (!allow_null)
			return ADDR_SYNTAX;
		out->is_null = 1;
		*consumed = 2;
		return ADDR_OK;
	}
	if (is_source_route(s, len))
		return ADDR_ROUTE;

	if (s[1] == '"')
		st = quoted_scan(s + 1, len - 1, allow_utf8, &n, &utf8);
	else
		st = dot_string_scan(s + 1, len - 1, allow_utf8, &n, &utf8);
	if (st != ADDR_OK)
		return st;
	local_len = n;
	i = 1 + n;
	if (i >= len)
		return ADDR_SYNTAX;

	if (s[i] == '>') {
		/* RFC 5321 4.1.1.3: "<Postmaster>" (any case) must be accepted
		 * as a recipient even without a domain. */
		if (allow_null || local_len != 10 || strncasecmp(s + 1, "Postmaster", 10) != 0)
			return ADDR_SYNTAX;
		memcpy(out->local, s + 1, local_len);
		*consumed = i + 1;
		return ADDR_OK;
	}
	if (s[i] != '@')
		return ADDR_SYNTAX;
	i++;
	st = domain_or_literal_scan(s + i, len - i, allow_utf8, &n, &utf8, &literal);
	if (st != ADDR_OK)
		return st;
	if (i + n >= len || s[i + n] != '>')
		return ADDR_SYNTAX;
	/* RFC 5321 4.5.3.1.3: the whole path, brackets included. */
	if (i + n + 1 > ADDR_PATH_MAX)
		return ADDR_TOO_LONG;

	memcpy(out->local, s + 1, local_len);
	memcpy(out->domain, s + i, n);
	out->domain_is_literal = literal;
	out->has_utf8 = utf8;
	*consumed = i + n + 1;
	return ADDR_OK;
}

int addr_format(const struct mailbox *m, char *out, size_t outsize)
{
	size_t l = strlen(m->local), d = strlen(m->domain);
	/* The domain-less <Postmaster> is written without an '@'. */
	size_t need = m->is_null ? 0 : l + (d > 0 ? 1 + d : 0);

	if (need + 1 > outsize)
		return -1;
	if (m->is_null) {
		out[0] = '\0';
		return 0;
	}
	memcpy(out, m->local, l);
	if (d > 0) {
		out[l] = '@';
		memcpy(out + l + 1, m->domain, d);
	}
	out[need] = '\0';
	return (int)need;
}

int addr_valid_domain(const char *s, size_t len, int allow_utf8)
{
	size_t used = 0;
	int utf8 = 0, literal = 0;

	return domain_or_literal_scan(s, len, allow_utf8, &used, &utf8, &literal) == ADDR_OK &&
	       used == len;
}

const char *addr_status_text(enum addr_status st)
{
	switch (st) {
	case ADDR_OK:
		return "ok";
	case ADDR_SYNTAX:
		return "bad address syntax";
	case ADDR_TOO_LONG:
		return "address too long";
	case ADDR_ROUTE:
		return "source route, %-hack or bang path";
	case ADDR_UTF8_NOT_ALLOWED:
		return "non-ASCII address without SMTPUTF8";
	}
	return "unknown address status";
}
