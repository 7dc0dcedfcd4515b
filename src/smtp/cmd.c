/* Splits SMTP command lines into verb and argument and parses MAIL, RCPT and BDAT arguments. */
#include "smtp/cmd.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
    {"HELO", CMD_HELO}, {"EHLO", CMD_EHLO}, {"LHLO", CMD_LHLO},         {"MAIL", CMD_MAIL},
    {"RCPT", CMD_RCPT}, {"DATA", CMD_DATA}, {"BDAT", CMD_BDAT},         {"RSET", CMD_RSET},
    {"NOOP", CMD_NOOP}, {"QUIT", CMD_QUIT}, {"HELP", CMD_HELP},         {"VRFY", CMD_VRFY},
    {"EXPN", CMD_EXPN}, {"AUTH", CMD_AUTH}, {"STARTTLS", CMD_STARTTLS},
};

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_hex_upper(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F');
}

/* Length of s without trailing SP and HTAB: some clients pad their lines,
 * and the padding carries no meaning. */
static size_t trim_right(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

int cmd_parse(const char *line, size_t len, struct smtp_cmd *out)
{
	size_t vlen;
	const char *sp;

	out->verb = CMD_UNKNOWN;
	out->arg = line + len;
	out->arglen = 0;
	/* RFC 5321 4.1.1: commands are text; a NUL or other control byte is
	 * noise or an attack on a C-string consumer further along. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
	}
	len = trim_right(line, len);
	if (len == 0)
		return -1;

	sp = memchr(line, ' ', len);
	vlen = sp != NULL ? (size_t)(sp - line) : len;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strlen(verbs[i].name) == vlen && strncasecmp(line, verbs[i].name, vlen) == 0) {
			out->verb = verbs[i].verb;
			break;
		}
	}
	/* The verb, one SP, then the argument (RFC 5321 4.1.1). */
	if (sp != NULL) {
		out->arg = sp + 1;
		out->arglen = len - vlen - 1;
	}
	return 0;
}

/* Matches the keyword that opens a MAIL or RCPT argument ("FROM:",
 * case-insensitive).  The argument as given by cmd_parse starts at the
 * keyword; one leading SP, as in the text right after the verb, is also
 * accepted.  Returns the offset of the path, or 0 when the keyword is
 * missing. */
static size_t path_start(const char *arg, size_t len, const char *kw)
{
	size_t i = 0, kwlen = strlen(kw);

	if (len > 0 && arg[0] == ' ')
		i++;
	if (len - i < kwlen || strncasecmp(arg + i, kw, kwlen) != 0)
		return 0;
	i += kwlen;
	/* RFC 5321 3.3 has no space after the colon, but many clients send
	 * one. */
	if (i < len && arg[i] == ' ')
		i++;
	return i;
}

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") and
 * esmtp-value = 1*(%d33-60 / %d62-126) (RFC 5321 4.1.2), the value being
 * widened to UTF-8 by RFC 6531 3.3. */
static int param_split(const char *p, size_t n, size_t *kwlen, const char **val, size_t *vallen)
{
	size_t i = 0;

	while (i < n && (is_alnum((unsigned char)p[i]) || (i > 0 && p[i] == '-')))
		i++;
	if (i == 0)
		return -1;
	*kwlen = i;
	*val = NULL;
	*vallen = 0;
	if (i == n)
		return 0;
	if (p[i] != '=')
		return -1;
	*val = p + i + 1;
	*vallen = n - i - 1;
	if (*vallen == 0)
		return -1;
	for (size_t k = 0; k < *vallen; k++) {
		unsigned char c = (unsigned char)(*val)[k];
		if (c < 33 || c == '=' || c == 127)
			return -1;
	}
	return 0;
}

static int kw_is(const char *p, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(p, kw, n) == 0;
}

/* SIZE=1*20DIGIT (RFC 1870 4): refused when it does not fit 64 bits. */
static int size_parse(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d;
		if (!is_digit((unsigned char)v[i]))
			return -1;
		d = (unsigned)(v[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/* xtext (RFC 3461 4): printable ASCII except '+' and '=', or '+' and
 * two upper-case hex digits. */
static int xtext_valid(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '+') {
			if (n - i < 3)
				return 0;
			if (!is_hex_upper((unsigned char)v[i + 1]) ||
			    !is_hex_upper((unsigned char)v[i + 2]))
				return 0;
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return 0;
		}
	}
	return 1;
}

enum { P_SIZE = 1, P_BODY = 2, P_SMTPUTF8 = 4, P_AUTH = 8 };

/* One MAIL parameter; *seen collects the keywords met so far. */
static enum param_status mail_param(const char *p, size_t n, unsigned offered, int *seen,
                                    struct mail_params *out)
{
	size_t kwlen, vlen;
	const char *v;
	int bit;

	if (param_split(p, n, &kwlen, &v, &vlen) < 0)
		return PARAM_SYNTAX;
	if (kw_is(p, kwlen, "SIZE"))
		bit = P_SIZE;
	else if (kw_is(p, kwlen, "BODY"))
		bit = P_BODY;
	else if (kw_is(p, kwlen, "SMTPUTF8") && (offered & MAIL_OFFER_SMTPUTF8))
		bit = P_SMTPUTF8;
	else if (kw_is(p, kwlen, "AUTH") && (offered & MAIL_OFFER_AUTH))
		bit = P_AUTH;
	else
		return PARAM_UNKNOWN;
	/* RFC 5321 4.1.2 lets each keyword appear once. */
	if (*seen & bit)
		return PARAM_UNKNOWN;
	*seen |= bit;

	switch (bit) {
	case P_SIZE:
		if (v == NULL || size_parse(v, vlen, &out->size) < 0)
			return PARAM_BAD_VALUE;
		return PARAM_OK;
	case P_BODY:
		/* body-value = "7BIT" / "8BITMIME" (RFC 6152 2).  BINARYMIME
		 * is a value of the BINARYMIME extension (RFC 3030 3), which
		 * is not advertised: well-formed but not implemented, so 555
		 * (RFC 5321 4.1.1.11) rather than the 501 of a malformed
		 * value. */
		if (v != NULL && kw_is(v, vlen, "7BIT"))
			out->body = BODY_7BIT;
		else if (v != NULL && kw_is(v, vlen, "8BITMIME"))
			out->body = BODY_8BITMIME;
		else if (v != NULL && kw_is(v, vlen, "BINARYMIME"))
			return PARAM_UNKNOWN;
		else
			return PARAM_BAD_VALUE;
		return PARAM_OK;
	case P_SMTPUTF8:
		/* RFC 6531 3.4: a keyword without a value. */
		if (v != NULL)
			return PARAM_BAD_VALUE;
		out->smtputf8 = 1;
		return PARAM_OK;
	default:
		/* AUTH=<>, or the xtext of an authorized sender (RFC 4954 5). */
		if (v == NULL || vlen >= sizeof(out->auth) || !xtext_valid(v, vlen))
			return PARAM_BAD_VALUE;
		memcpy(out->auth, v, vlen);
		out->auth[vlen] = '\0';
		return PARAM_OK;
	}
}

enum param_status cmd_parse_mail(const char *arg, size_t len, unsigned offered,
                                 struct mail_params *out)
{
	size_t i, used;
	int seen = 0;

	memset(out, 0, sizeof(*out));
	out->body = BODY_7BIT;
	out->addr_status = ADDR_OK;
	len = trim_right(arg, len);
	i = path_start(arg, len, "FROM:");
	if (i == 0)
		return PARAM_SYNTAX;
	/* The path is read with UTF-8 allowed whenever SMTPUTF8 is offered:
	 * whether this transaction uses it is known only from the parameters
	 * that follow, and is checked after them. */
	out->addr_status = addr_parse_path(arg + i, len - i, 1,
	                                   (offered & MAIL_OFFER_SMTPUTF8) != 0, &out->from, &used);
	if (out->addr_status != ADDR_OK)
		return PARAM_ADDR;
	i += used;
	if (i < len && arg[i] != ' ')
		return PARAM_SYNTAX;

	/* Mail-parameters = esmtp-param *(SP esmtp-param) (RFC 5321 4.1.2). */
	while (i < len) {
		size_t start;
		enum param_status st;
		while (i < len && arg[i] == ' ')
			i++;
		start = i;
		while (i < len && arg[i] != ' ')
			i++;
		if (i == start)
			break;
		st = mail_param(arg + start, i - start, offered, &seen, out);
		if (st != PARAM_OK)
			return st;
	}
	if (out->from.has_utf8 && !out->smtputf8) {
		out->addr_status = ADDR_UTF8_NOT_ALLOWED;
		return PARAM_ADDR;
	}
	return PARAM_OK;
}

enum param_status cmd_parse_rcpt(const char *arg, size_t len, int utf8_ok, struct rcpt_params *out)
{
	size_t i, used;

	memset(out, 0, sizeof(*out));
	out->addr_status = ADDR_OK;
	len = trim_right(arg, len);
	i = path_start(arg, len, "TO:");
	if (i == 0)
		return PARAM_SYNTAX;
	out->addr_status = addr_parse_path(arg + i, len - i, 0, utf8_ok, &out->to, &used);
	if (out->addr_status != ADDR_OK)
		return PARAM_ADDR;
	i += used;
	if (i == len)
		return PARAM_OK;
	if (arg[i] != ' ')
		return PARAM_SYNTAX;
	/* No RCPT parameter is supported yet (no DSN, RFC 3461): any one is
	 * unknown. */
	return PARAM_UNKNOWN;
}

int cmd_parse_bdat(const char *arg, size_t len, uint64_t *size, int *last)
{
	size_t i = 0;
	uint64_t x = 0;

	*size = 0;
	*last = 0;
	len = trim_right(arg, len);
	/* bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] (RFC 3030 2). */
	while (i < len && is_digit((unsigned char)arg[i])) {
		unsigned d = (unsigned)(arg[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
		i++;
	}
	if (i == 0)
		return -1;
	if (i < len) {
		if (len - i != 5 || arg[i] != ' ' || strncasecmp(arg + i + 1, "LAST", 4) != 0)
			return -1;
		*last = 1;
	}
	*size = x;
	return 0;
}
