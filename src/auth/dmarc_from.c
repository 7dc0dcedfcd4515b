/* Extraction of the RFC5322.From domain (see dmarc_from.h): a small scan of
 * the address list of RFC 5322 3.4 that knows quoted strings, comments,
 * angle brackets and groups, enough to find the one mailbox and its
 * domain without validating everything else. */
#include "auth/dmarc_from.h"

#include <stdint.h>
#include <string.h>

#define NOT_CLOSED SIZE_MAX

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Index just past the quoted string (RFC 5322 3.2.4) opening at s[i]. */
static size_t skip_quoted(const char *s, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return NOT_CLOSED;
}

/* Index just past the comment (RFC 5322 3.2.2, nested) opening at s[i]. */
static size_t skip_comment(const char *s, size_t i, size_t len)
{
	size_t depth = 0;

	for (; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return NOT_CLOSED;
}

/* Index past the quoted string or comment at s[i], or i + 1 for any
 * other character. */
static size_t skip_token(const char *s, size_t i, size_t len)
{
	if (s[i] == '"')
		return skip_quoted(s, i, len);
	if (s[i] == '(')
		return skip_comment(s, i, len);
	return i + 1;
}

/* Copies the domain s[0..n) (dot-atom after the "@", CFWS allowed around
 * its atoms) to out, lowercase.  Labels are host-name characters, "_", or
 * UTF-8 octets (RFC 6532); a domain-literal cannot be a DMARC domain. */
static enum dmarc_from_status copy_domain(const char *s, size_t n, char *out, size_t outsize)
{
	size_t o = 0;
	int gap = 0;
	char prev = '\0';

	for (size_t i = 0; i < n;) {
		char c = s[i];
		if (is_space(c) || c == '(') {
			i = c == '(' ? skip_comment(s, i, n) : i + 1;
			if (i == NOT_CLOSED)
				return DMARC_FROM_SYNTAX;
			gap = o > 0;
			continue;
		}
		/* Atoms split by CFWS must be joined by a dot (obs-domain). */
		if (gap && prev != '.' && c != '.')
			return DMARC_FROM_SYNTAX;
		gap = 0;
		if (c == '.') {
			if (o == 0 || prev == '.')
				return DMARC_FROM_SYNTAX;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		             (unsigned char)c >= 0x80)) {
			return DMARC_FROM_SYNTAX;
		}
		if (o >= 253 || o + 1 >= outsize)
			return DMARC_FROM_SYNTAX;
		out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c + 'a' - 'A') : c;
		prev = c;
		i++;
	}
	if (o == 0 || prev == '.')
		return DMARC_FROM_SYNTAX;
	out[o] = '\0';
	return DMARC_FROM_OK;
}

/* 1 when s[0..n) holds something other than CFWS. */
static int has_content(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (is_space(s[i])) {
			i++;
		} else if (s[i] == '(') {
			i = skip_comment(s, i, n);
			if (i == NOT_CLOSED)
				return 1;
		} else {
			return 1;
		}
	}
	return 0;
}

/* One element of the list, s[0..n) between separators: a mailbox
 * (name-addr or addr-spec, RFC 5322 3.4) or nothing.  Returns DMARC_FROM_OK
 * with the domain in out, DMARC_FROM_NO_ADDRESS for an empty element, or
 * DMARC_FROM_SYNTAX. */
static enum dmarc_from_status element(const char *s, size_t n, char *out, size_t outsize)
{
	size_t a = 0, b = n, open = NOT_CLOSED, at = NOT_CLOSED;
	int brackets = 0;

	/* name-addr: the address is in angle brackets; take the innermost
	 * pair with something in it, so that stray "<>" do not hide it. */
	for (size_t i = 0; i < n; i = skip_token(s, i, n)) {
		if (s[i] == '<') {
			brackets = 1;
			open = i;
		} else if (s[i] == '>' && open != NOT_CLOSED) {
			if (has_content(s + open + 1, i - open - 1)) {
				a = open + 1;
				b = i;
				break;
			}
			open = NOT_CLOSED;
		}
	}
	if (brackets && a == 0)
		return DMARC_FROM_NO_ADDRESS;
	if (!has_content(s + a, b - a))
		return DMARC_FROM_NO_ADDRESS;
	/* addr-spec = local-part "@" domain; an "@" in a quoted local-part or
	 * a comment is skipped with it. */
	for (size_t i = a; i < b; i = skip_token(s, i, b)) {
		if (s[i] == '@') {
			if (at != NOT_CLOSED)
				return DMARC_FROM_SYNTAX;
			at = i;
		}
	}
	if (at == NOT_CLOSED || !has_content(s + a, at - a))
		return DMARC_FROM_SYNTAX;
	return copy_domain(s + at + 1, b - at - 1, out, outsize);
}

enum dmarc_from_status dmarc_from_value(const char *value, size_t len, char *out, size_t outsize)
{
	size_t start = 0, depth = 0, naddr = 0;
	int addr_chars = 0;

	if (outsize > 0)
		out[0] = '\0';
	for (size_t i = 0; i <= len;) {
		char c = i < len ? value[i] : ',';
		if (depth == 0 && (c == ',' || c == ';')) {
			/* mailbox-list elements are split by ","; ";" ends a group. */
			char dom[254];
			enum dmarc_from_status st =
			    element(value + start, i - start, dom, sizeof(dom));
			if (st == DMARC_FROM_SYNTAX)
				return st;
			if (st == DMARC_FROM_OK) {
				if (++naddr > 1)
					return DMARC_FROM_MULTIPLE_ADDRESSES;
				if (strlen(dom) + 1 > outsize)
					return DMARC_FROM_SYNTAX;
				memcpy(out, dom, strlen(dom) + 1);
			}
			start = i + 1;
			addr_chars = 0;
			i++;
			continue;
		}
		if (c == '"' || c == '(') {
			i = skip_token(value, i, len);
			if (i == NOT_CLOSED)
				return DMARC_FROM_SYNTAX;
			continue;
		}
		if (c == '<') {
			depth++;
			addr_chars = 1;
		} else if (c == '>') {
			if (depth == 0)
				return DMARC_FROM_SYNTAX;
			depth--;
		} else if (c == '@') {
			addr_chars = 1;
		} else if (c == ':' && depth == 0) {
			/* group = display-name ":" [group-list] ";" (3.4): what came
			 * before is the group's name, not a mailbox. */
			if (addr_chars)
				return DMARC_FROM_SYNTAX;
			start = i + 1;
		}
		i++;
	}
	if (depth != 0)
		return DMARC_FROM_SYNTAX;
	return naddr == 0 ? DMARC_FROM_NO_ADDRESS : DMARC_FROM_OK;
}

enum dmarc_from_status dmarc_from_domain(const char *const *fields, size_t nfields, char *out,
                                         size_t outsize)
{
	/* 6.6.1: a message without a From field, or with several, is not one
	 * DMARC can evaluate. */
	if (outsize > 0)
		out[0] = '\0';
	if (nfields == 0)
		return DMARC_FROM_NO_FIELD;
	if (nfields > 1)
		return DMARC_FROM_MULTIPLE_FIELDS;
	return dmarc_from_value(fields[0], strlen(fields[0]), out, outsize);
}

const char *dmarc_from_status_text(enum dmarc_from_status st)
{
	switch (st) {
	case DMARC_FROM_OK:
		return "ok";
	case DMARC_FROM_NO_FIELD:
		return "no From field";
	case DMARC_FROM_MULTIPLE_FIELDS:
		return "several From fields";
	case DMARC_FROM_NO_ADDRESS:
		return "no address in From";
	case DMARC_FROM_MULTIPLE_ADDRESSES:
		return "several addresses in From";
	case DMARC_FROM_SYNTAX:
		return "malformed From";
	}
	return "malformed From";
}
