/* Formatting of Authentication-Results (RFC 8601 2.2). */
#include "policy/authres.h"

#include <stdio.h>
#include <string.h>

/* RFC 8601 2.2: a pvalue is a value (token or quoted-string) or an
 * addr-spec; anything else is quoted. */
static int is_token_char(unsigned char c)
{
	return c > 32 && c < 127 && !strchr("()<>,;:\\\"/[]?=", c);
}

static int pvalue_plain(const char *s)
{
	if (*s == '\0')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!is_token_char(*p) && *p != '@' && *p != '.')
			return 0;
	return 1;
}

static int put_value(struct buf *out, const char *s)
{
	int rc = 0;
	if (pvalue_plain(s))
		return buf_append_str(out, s);
	rc |= buf_append(out, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 32 || *p == 127)
			continue; /* never a control character in a header */
		if (*p == '"' || *p == '\\')
			rc |= buf_append(out, "\\", 1);
		rc |= buf_append(out, p, 1);
	}
	rc |= buf_append(out, "\"", 1);
	return rc;
}

/* A comment (RFC 5322 3.2.2) with only characters that cannot end it. */
static int put_comment(struct buf *out, const char *s)
{
	int rc = buf_append(out, " (", 2);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 32 && *p != 127 && *p != '(' && *p != ')' && *p != '\\')
			rc |= buf_append(out, p, 1);
	return rc | buf_append(out, ")", 1);
}

static int method(struct buf *out, const char *name, const char *result)
{
	int rc = buf_append_str(out, ";\r\n\t");
	rc |= buf_append_str(out, name);
	rc |= buf_append(out, "=", 1);
	return rc | put_value(out, result);
}

int authres_method(struct buf *out, const char *name, const char *result, const char *comment)
{
	int rc = method(out, name, result);
	if (comment && comment[0])
		rc |= put_comment(out, comment);
	return rc;
}

int authres_prop(struct buf *out, const char *name, const char *value)
{
	int rc = buf_append(out, " ", 1);
	rc |= buf_append_str(out, name);
	rc |= buf_append(out, "=", 1);
	return rc | put_value(out, value);
}

int authres_begin(struct buf *out, const char *authserv_id)
{
	return buf_append_str(out, "Authentication-Results: ") | put_value(out, authserv_id);
}

int authres_sender(const struct authres *a, struct buf *entries, struct buf *props)
{
	int rc = 0;
	if (a->iprev) {
		rc |= method(entries, "iprev", a->iprev);
		rc |= authres_prop(entries, "policy.iprev", a->client_ip);
		if (a->iprev_name)
			rc |= put_comment(entries, a->iprev_name);
	}
	if (a->spf_mailfrom && a->mailfrom && a->mailfrom[0]) {
		rc |= method(entries, "spf", a->spf_mailfrom);
		rc |= authres_prop(entries, "smtp.mailfrom", a->mailfrom);
	}
	if (a->spf_helo && a->helo) {
		rc |= method(entries, "spf", a->spf_helo);
		rc |= authres_prop(entries, "smtp.helo", a->helo);
	}
	if (a->rdns)
		rc |= authres_prop(props, "policy.rdns", a->rdns);
	if (a->helo_check)
		rc |= authres_prop(props, "policy.helo", a->helo_check);
	if (a->csa)
		rc |= authres_prop(props, "policy.csa", a->csa);
	if (a->dnsbl)
		rc |= authres_prop(props, "policy.dnsbl", a->dnsbl);
	return rc;
}

int authres_end(struct buf *out, const char *verdict, const struct buf *props, long score)
{
	char text[32];
	int rc = method(out, "x-postern", verdict ? verdict : "none");
	rc |= buf_append(out, props->data, props->len);
	snprintf(text, sizeof(text), "%ld", score);
	rc |= authres_prop(out, "policy.score", text);
	return rc | buf_append_str(out, "\r\n");
}

int authres_format(const struct authres *a, struct buf *out)
{
	struct buf props;
	int rc = authres_begin(out, a->authserv_id);

	buf_init(&props, 4096);
	rc |= authres_sender(a, out, &props);
	rc |= authres_end(out, a->verdict, &props, a->score);
	buf_free(&props);
	return rc;
}
