/* The SPF record parser (RFC 7208 4.5, 4.6, 5, 6): a pure function from
 * record text to mechanisms and modifiers, with every syntax check. */
#include "policy/spf.h"

#include "core/xmalloc.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Longest text ip6-network that inet_pton can take (INET6_ADDRSTRLEN - 1). */
#define IP6_TEXT_MAX 45

int spf_record_is_spf(const char *txt, size_t len)
{
	/* 4.5: "v=spf1" (case-insensitive, ABNF) followed by SP or the end. */
	if (len < 6 || strncasecmp(txt, "v=spf1", 6) != 0)
		return 0;
	return len == 6 || txt[6] == ' ';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 7.1: toplabel = ( *alphanum ALPHA *alphanum ) /
 *                 ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int toplabel_valid(const char *s, size_t n)
{
	int alpha = 0, dash = 0;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (is_alpha(s[i]))
			alpha = 1;
		else if (s[i] == '-')
			dash = 1;
		else if (!is_digit(s[i]))
			return 0;
	}
	return alpha || dash;
}

int spf_domain_spec_valid(const char *spec, size_t len)
{
	size_t i = 0, macro_end = 0;

	if (len == 0 || spf_macro_check(spec, len, 0, NULL) != SPF_MACRO_OK)
		return 0;
	/* Where the last macro-expand ends; the syntax is known good here. */
	while (i < len) {
		if (spec[i] != '%') {
			i++;
		} else if (spec[i + 1] == '{') {
			i = (size_t)((const char *)memchr(spec + i, '}', len - i) - spec) + 1;
			macro_end = i;
		} else {
			i += 2;
			macro_end = i;
		}
	}
	/* domain-end = ( "." toplabel [ "." ] ) / macro-expand */
	if (macro_end == len)
		return 1;
	size_t end = len;
	if (spec[end - 1] == '.')
		end--;
	size_t dot = end;
	while (dot > macro_end && spec[dot - 1] != '.')
		dot--;
	if (dot == macro_end)
		return 0;
	return toplabel_valid(spec + dot, end - dot);
}

/* Strips a trailing "/N" (RFC 7208 5.6 cidr-length: no leading zero, at
 * most three digits) from s[0..*n).  Returns 1 with *val set, or 0 when s
 * does not end that way. */
static int strip_cidr(const char *s, size_t *n, unsigned *val)
{
	size_t end = *n, start = end;

	while (start > 0 && is_digit(s[start - 1]))
		start--;
	size_t digits = end - start;
	if (digits == 0 || digits > 3 || start == 0 || s[start - 1] != '/')
		return 0;
	if (digits > 1 && s[start] == '0')
		return 0;
	*val = 0;
	for (size_t i = start; i < end; i++)
		*val = *val * 10 + (unsigned)(s[i] - '0');
	*n = start - 1;
	return 1;
}

/* 5.6: ip4-network is a strict dotted quad, no leading zeros. */
static int parse_ip4(const char *s, size_t n, unsigned char out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;
		while (i < n && is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return -1;
		out[part] = (unsigned char)v;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
	}
	return i == n ? 0 : -1;
}

static int parse_ip6(const char *s, size_t n, unsigned char out[16])
{
	char text[IP6_TEXT_MAX + 1];

	if (n == 0 || n > IP6_TEXT_MAX || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	return inet_pton(AF_INET6, text, out) == 1 ? 0 : -1;
}

static int fail(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A log-safe copy of a term: at most 40 visible characters. */
static const char *shown(const char *t, size_t n, char *out, size_t outsize)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < outsize && k < 40; i++)
		out[k++] = (t[i] > 0x20 && t[i] < 0x7f) ? t[i] : '?';
	out[k] = '\0';
	return out;
}

/* ":" domain-spec, required (include, exists) or optional (a, mx, ptr). */
static int take_domain(const char *rest, size_t n, int required, struct spf_mech *m)
{
	if (n == 0)
		return required ? -1 : 0;
	if (rest[0] != ':' || !spf_domain_spec_valid(rest + 1, n - 1))
		return -1;
	m->domain_spec = xstrndup(rest + 1, n - 1);
	return 0;
}

/* 5.3, 5.4: [ ":" domain-spec ] [ ip4-cidr-length ] [ "/" ip6-cidr-length ] */
static int take_dual(const char *rest, size_t n, struct spf_mech *m)
{
	unsigned v;

	if (strip_cidr(rest, &n, &v)) {
		if (n > 0 && rest[n - 1] == '/') {
			n--;
			m->cidr6 = v;
			if (strip_cidr(rest, &n, &v))
				m->cidr4 = v;
		} else {
			m->cidr4 = v;
		}
	}
	if (m->cidr4 > 32 || m->cidr6 > 128)
		return -1;
	return take_domain(rest, n, 0, m);
}

static int take_network(const char *rest, size_t n, struct spf_mech *m)
{
	unsigned v;
	int six = m->type == SPF_MECH_IP6;

	if (n == 0 || rest[0] != ':')
		return -1;
	rest++;
	n--;
	if (strip_cidr(rest, &n, &v)) {
		if (six)
			m->cidr6 = v;
		else
			m->cidr4 = v;
	}
	if (m->cidr4 > 32 || m->cidr6 > 128)
		return -1;
	return six ? parse_ip6(rest, n, m->addr) : parse_ip4(rest, n, m->addr);
}

static const struct {
	const char *name;
	enum spf_mech_type type;
} mech_names[] = {
    {"all", SPF_MECH_ALL}, {"include", SPF_MECH_INCLUDE}, {"a", SPF_MECH_A},
    {"mx", SPF_MECH_MX},   {"ptr", SPF_MECH_PTR},         {"ip4", SPF_MECH_IP4},
    {"ip6", SPF_MECH_IP6}, {"exists", SPF_MECH_EXISTS},
};

static int parse_mechanism(const char *t, size_t n, size_t name_at, size_t name_end,
                           enum spf_result qual, struct spf_record *rec, char *err, size_t errsize)
{
	struct spf_mech m;
	size_t k;
	char sh[48];
	const char *rest = t + name_end;
	size_t rn = n - name_end;
	int rc;

	memset(&m, 0, sizeof(m));
	m.qualifier = qual;
	m.cidr4 = 32;
	m.cidr6 = 128;
	for (k = 0; k < sizeof(mech_names) / sizeof(mech_names[0]); k++)
		if (strlen(mech_names[k].name) == name_end - name_at &&
		    strncasecmp(t + name_at, mech_names[k].name, name_end - name_at) == 0)
			break;
	if (k == sizeof(mech_names) / sizeof(mech_names[0]))
		return fail(err, errsize, "unknown mechanism in '%s'", shown(t, n, sh, sizeof(sh)));
	m.type = mech_names[k].type;
	switch (m.type) {
	case SPF_MECH_ALL:
		rc = rn == 0 ? 0 : -1; /* 5.1: all = "all" */
		break;
	case SPF_MECH_INCLUDE: /* 5.2 */
	case SPF_MECH_EXISTS:  /* 5.7 */
		rc = take_domain(rest, rn, 1, &m);
		break;
	case SPF_MECH_PTR: /* 5.5 */
		rc = take_domain(rest, rn, 0, &m);
		break;
	case SPF_MECH_A:
	case SPF_MECH_MX:
		rc = take_dual(rest, rn, &m);
		break;
	default: /* 5.6: ip4, ip6 */
		rc = take_network(rest, rn, &m);
		break;
	}
	if (rc < 0) {
		free(m.domain_spec);
		return fail(err, errsize, "bad mechanism '%s'", shown(t, n, sh, sizeof(sh)));
	}
	rec->mechs = xrealloc(rec->mechs, (rec->nmechs + 1) * sizeof(*rec->mechs));
	rec->mechs[rec->nmechs++] = m;
	return 0;
}

/* 6: redirect and exp at most once each, with a valid domain-spec (no
 * "greedy" unknown-modifier reading); other modifiers only need valid
 * macro-string syntax and are ignored (6/3). */
static int parse_modifier(const char *t, size_t n, size_t name_end, struct spf_record *rec,
                          char *err, size_t errsize)
{
	const char *val = t + name_end + 1;
	size_t vn = n - name_end - 1;
	char **slot = NULL;
	char sh[48];

	if (name_end == 8 && strncasecmp(t, "redirect", 8) == 0)
		slot = &rec->redirect;
	else if (name_end == 3 && strncasecmp(t, "exp", 3) == 0)
		slot = &rec->exp;
	if (slot == NULL) {
		if (spf_macro_check(val, vn, 0, NULL) != SPF_MACRO_OK)
			return fail(err, errsize, "bad modifier '%s'", shown(t, n, sh, sizeof(sh)));
		return 0;
	}
	if (*slot != NULL)
		return fail(err, errsize, "%.*s= given twice", (int)name_end, t);
	if (!spf_domain_spec_valid(val, vn))
		return fail(err, errsize, "bad modifier '%s'", shown(t, n, sh, sizeof(sh)));
	*slot = xstrndup(val, vn);
	return 0;
}

/* 4.6.1: term = directive / modifier; directive = [ qualifier ] mechanism;
 * a name followed by "=" is a modifier. */
static int parse_term(const char *t, size_t n, struct spf_record *rec, char *err, size_t errsize)
{
	enum spf_result qual = SPF_PASS;
	size_t i = 0, name_end;
	char sh[48];

	for (size_t k = 0; k < n; k++)
		if (t[k] < 0x21 || t[k] > 0x7e) /* 3.1, 4.6.1: 7-bit, no controls */
			return fail(err, errsize, "bad character in '%s'",
			            shown(t, n, sh, sizeof(sh)));
	switch (t[0]) {
	case '+':
		i = 1;
		break;
	case '-':
		qual = SPF_FAIL;
		i = 1;
		break;
	case '~':
		qual = SPF_SOFTFAIL;
		i = 1;
		break;
	case '?':
		qual = SPF_NEUTRAL;
		i = 1;
		break;
	default:
		break;
	}
	/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
	if (i >= n || !is_alpha(t[i]))
		return fail(err, errsize, "bad term '%s'", shown(t, n, sh, sizeof(sh)));
	name_end = i + 1;
	while (name_end < n && (is_alpha(t[name_end]) || is_digit(t[name_end]) ||
	                        t[name_end] == '-' || t[name_end] == '_' || t[name_end] == '.'))
		name_end++;
	if (i == 0 && name_end < n && t[name_end] == '=')
		return parse_modifier(t, n, name_end, rec, err, errsize);
	return parse_mechanism(t, n, i, name_end, qual, rec, err, errsize);
}

int spf_record_parse(const char *txt, size_t len, struct spf_record *rec, char *err, size_t errsize)
{
	size_t i;

	memset(rec, 0, sizeof(*rec));
	if (len > SPF_RECORD_MAX)
		return fail(err, errsize, "record longer than %d octets", SPF_RECORD_MAX);
	if (!spf_record_is_spf(txt, len))
		return fail(err, errsize, "not an SPF record");
	/* record = version terms *SP; terms = *( 1*SP ( directive / modifier ) ) */
	i = 6;
	while (i < len) {
		while (i < len && txt[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && txt[i] != ' ')
			i++;
		if (i > start && parse_term(txt + start, i - start, rec, err, errsize) < 0)
			return -1;
	}
	return 0;
}

void spf_record_free(struct spf_record *rec)
{
	for (size_t i = 0; i < rec->nmechs; i++)
		free(rec->mechs[i].domain_spec);
	free(rec->mechs);
	free(rec->redirect);
	free(rec->exp);
	memset(rec, 0, sizeof(*rec));
}
