/* Splits SMTP command lines into verb and argument and parses MAIL, RCPT and BDAT arguments,
 * the DSN parameters (RFC 3461) among them. */
#include "smtp/cmd.h"
#include "smtp/xtext.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

enum { P_SIZE = 1, P_BODY = 2, P_SMTPUTF8 = 4, P_AUTH = 8, P_RET = 16, P_ENVID = 32 };

/* One parameter of a MAIL or RCPT command into out; *seen collects the
 * keywords met so far. */
typedef enum param_status (*param_fn)(const char *p, size_t n, unsigned offered, int *seen,
                                      void *out);

/* Mail-parameters and Rcpt-parameters = esmtp-param *(SP esmtp-param)
 * (RFC 5321 4.1.2), from arg[i] on. */
static enum param_status params_parse(const char *arg, size_t i, size_t len, unsigned offered,
                                      param_fn one, void *out)
{
	int seen = 0;

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
		st = one(arg + start, i - start, offered, &seen, out);
		if (st != PARAM_OK)
			return st;
	}
	return PARAM_OK;
}

static enum param_status mail_param(const char *p, size_t n, unsigned offered, int *seen,
                                    void *params)
{
	struct mail_params *out = params;
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
	else if (kw_is(p, kwlen, "RET") && (offered & MAIL_OFFER_DSN))
		bit = P_RET;
	else if (kw_is(p, kwlen, "ENVID") && (offered & MAIL_OFFER_DSN))
		bit = P_ENVID;
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
	case P_AUTH:
		/* AUTH=<>, or the xtext of an authorized sender (RFC 4954 5). */
		if (v == NULL || vlen >= sizeof(out->auth) || !xtext_valid(v, vlen))
			return PARAM_BAD_VALUE;
		memcpy(out->auth, v, vlen);
		out->auth[vlen] = '\0';
		return PARAM_OK;
	case P_RET:
		/* ret-value = "FULL" / "HDRS" (RFC 3461 4.3) */
		if (v != NULL && kw_is(v, vlen, "FULL"))
			out->ret = DSN_RET_FULL;
		else if (v != NULL && kw_is(v, vlen, "HDRS"))
			out->ret = DSN_RET_HDRS;
		else
			return PARAM_BAD_VALUE;
		return PARAM_OK;
	default:
		/* envid-parameter = "ENVID=" xtext (RFC 3461 4.4), at most 100
		 * characters, stored decoded. */
		if (v == NULL || vlen > DSN_ENVID_MAX ||
		    xtext_decode(v, vlen, out->envid, sizeof(out->envid)) < 0)
			return PARAM_BAD_VALUE;
		return PARAM_OK;
	}
}

enum param_status cmd_parse_mail(const char *arg, size_t len, unsigned offered,
                                 struct mail_params *out)
{
	size_t i, used;
	enum param_status st;

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
	st = params_parse(arg, i, len, offered, mail_param, out);
	if (st != PARAM_OK)
		return st;
	if (out->from.has_utf8 && !out->smtputf8) {
		out->addr_status = ADDR_UTF8_NOT_ALLOWED;
		return PARAM_ADDR;
	}
	return PARAM_OK;
}

static const struct {
	const char *name;
	unsigned bit;
} notify_words[] = {
    {"SUCCESS", DSN_NOTIFY_SUCCESS},
    {"FAILURE", DSN_NOTIFY_FAILURE},
    {"DELAY", DSN_NOTIFY_DELAY},
    {"NEVER", DSN_NOTIFY_NEVER},
};

/* notify-esmtp-value = "NEVER" / 1#notify-list-element (RFC 3461 4.1);
 * a word repeated in the list changes nothing. */
int cmd_parse_notify(const char *v, size_t n, unsigned *notify)
{
	unsigned bits = 0;
	size_t i = 0;

	while (i <= n) {
		size_t start = i, k;
		while (i < n && v[i] != ',')
			i++;
		for (k = 0; k < sizeof(notify_words) / sizeof(notify_words[0]); k++)
			if (kw_is(v + start, i - start, notify_words[k].name))
				break;
		if (k == sizeof(notify_words) / sizeof(notify_words[0]))
			return -1;
		bits |= notify_words[k].bit;
		i++;
	}
	if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
		return -1;
	*notify = bits;
	return 0;
}

void cmd_notify_format(unsigned notify, char *out, size_t outsize)
{
	size_t len = 0;

	if (outsize == 0)
		return;
	out[0] = '\0';
	for (size_t k = 0; k < sizeof(notify_words) / sizeof(notify_words[0]); k++) {
		if (!(notify & notify_words[k].bit))
			continue;
		int w = snprintf(out + len, outsize - len, "%s%s", len ? "," : "",
		                 notify_words[k].name);
		if (w < 0 || (size_t)w >= outsize - len) {
			out[len] = '\0';
			return;
		}
		len += (size_t)w;
	}
}

/* orcpt-parameter = "ORCPT=" original-recipient-address, addr-type ";"
 * xtext (RFC 3461 4.2).  The address need not follow the type's syntax
 * (4.2 says so), but is written into DSNs, so it must decode to
 * printable text.  Of the registered types, rfc822 and utf-8 (RFC 6533
 * 3, whose own escapes replace xtext's) are taken. */
static enum param_status orcpt_parse(const char *v, size_t n, int utf8_ok, struct rcpt_params *out)
{
	const char *semi = memchr(v, ';', n);
	size_t tlen, off;
	int utf8_type;
	long dlen;

	if (semi == NULL || n > DSN_ORCPT_MAX)
		return PARAM_BAD_VALUE;
	tlen = (size_t)(semi - v);
	if (kw_is(v, tlen, "rfc822"))
		utf8_type = 0;
	else if (kw_is(v, tlen, "utf-8"))
		utf8_type = 1;
	else
		return PARAM_BAD_VALUE;
	/* The type in lower case, then the address, which is never longer
	 * decoded than encoded: it fits. */
	off =
	    (size_t)snprintf(out->orcpt, sizeof(out->orcpt), "%s;", utf8_type ? "utf-8" : "rfc822");
	if (utf8_type)
		dlen = xtext_utf8_decode(semi + 1, n - tlen - 1, utf8_ok, out->orcpt + off,
		                         sizeof(out->orcpt) - off);
	else
		dlen = xtext_decode(semi + 1, n - tlen - 1, out->orcpt + off,
		                    sizeof(out->orcpt) - off);
	if (dlen <= 0) {
		out->orcpt[0] = '\0';
		return PARAM_BAD_VALUE;
	}
	return PARAM_OK;
}

enum { P_NOTIFY = 1, P_ORCPT = 2 };

static enum param_status rcpt_param(const char *p, size_t n, unsigned offered, int *seen,
                                    void *params)
{
	struct rcpt_params *out = params;
	size_t kwlen, vlen;
	const char *v;
	int bit;

	if (param_split(p, n, &kwlen, &v, &vlen) < 0)
		return PARAM_SYNTAX;
	if (kw_is(p, kwlen, "NOTIFY") && (offered & MAIL_OFFER_DSN))
		bit = P_NOTIFY;
	else if (kw_is(p, kwlen, "ORCPT") && (offered & MAIL_OFFER_DSN))
		bit = P_ORCPT;
	else
		return PARAM_UNKNOWN;
	if (*seen & bit)
		return PARAM_UNKNOWN;
	*seen |= bit;
	if (v == NULL)
		return PARAM_BAD_VALUE;
	if (bit == P_NOTIFY)
		return cmd_parse_notify(v, vlen, &out->notify) == 0 ? PARAM_OK : PARAM_BAD_VALUE;
	return orcpt_parse(v, vlen, (offered & MAIL_OFFER_SMTPUTF8) != 0, out);
}

enum param_status cmd_parse_rcpt(const char *arg, size_t len, unsigned offered,
                                 struct rcpt_params *out)
{
	size_t i, used;

	memset(out, 0, sizeof(*out));
	out->addr_status = ADDR_OK;
	len = trim_right(arg, len);
	i = path_start(arg, len, "TO:");
	if (i == 0)
		return PARAM_SYNTAX;
	out->addr_status = addr_parse_path(arg + i, len - i, 0,
	                                   (offered & MAIL_OFFER_SMTPUTF8) != 0, &out->to, &used);
	if (out->addr_status != ADDR_OK)
		return PARAM_ADDR;
	i += used;
	if (i < len && arg[i] != ' ')
		return PARAM_SYNTAX;
	return params_parse(arg, i, len, offered, rcpt_param, out);
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
