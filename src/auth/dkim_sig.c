/* DKIM-Signature tag parsing and the validity rules of RFC 6376 3.5/6.1.1. */
#include "auth/dkim_sig.h"

#include "core/b64.h"
#include "auth/tags.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errsize, const char *fmt, const char *arg)
{
	snprintf(err, errsize, fmt, arg);
	return -1;
}

int dkim_domain_valid(const char *s, size_t len, int allow_underscore)
{
	size_t label = 0;

	if (len == 0 || len > DKIM_DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		         (c >= '0' && c <= '9') || (c == '-' && label > 0) ||
		         (c == '_' && allow_underscore);
		if (!ok || ++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* Copies a tag value into a fixed field; -1 when it does not fit. */
static int copy_value(const struct tag *t, char *out, size_t outsize)
{
	if (t->value_len >= outsize)
		return -1;
	memcpy(out, t->value, t->value_len);
	out[t->value_len] = '\0';
	return 0;
}

/* 1*max DIGIT, saturating at limit. */
static int parse_number(const struct tag *t, size_t max_digits, uint64_t limit, uint64_t *out)
{
	uint64_t v = 0;

	if (t->value_len == 0 || t->value_len > max_digits)
		return -1;
	for (size_t k = 0; k < t->value_len; k++) {
		char c = t->value[k];
		if (c < '0' || c > '9')
			return -1;
		v = v > (limit - 9) / 10 ? limit : v * 10 + (uint64_t)(c - '0');
	}
	*out = v;
	return 0;
}

static int parse_canon(const char *s, size_t n, enum canon_alg *out)
{
	if (n == 6 && memcmp(s, "simple", 6) == 0)
		*out = CANON_SIMPLE;
	else if (n == 7 && memcmp(s, "relaxed", 7) == 0)
		*out = CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* c= header[/body], each simple or relaxed; body defaults to simple (3.5). */
static int parse_c(const struct tag *t, struct dkim_sig *sig)
{
	const char *slash = memchr(t->value, '/', t->value_len);
	size_t hn = slash != NULL ? (size_t)(slash - t->value) : t->value_len;

	if (parse_canon(t->value, hn, &sig->hcanon) != 0)
		return -1;
	if (slash == NULL)
		return 0;
	return parse_canon(slash + 1, t->value_len - hn - 1, &sig->bcanon);
}

/* h= hdr-name *(":" hdr-name), FWS allowed around the colons (3.5). */
static int parse_h(const struct tag *t, struct dkim_sig *sig, int *has_from, int arc)
{
	char tmp[DKIM_SIG_H_MAX];
	long n = tags_strip_fws(t->value, t->value_len, tmp, sizeof(tmp));
	size_t start = 0;

	if (n < 0 || (n == 0 && !arc))
		return -1;
	memcpy(sig->h, tmp, (size_t)n + 1);
	sig->nh = 0;
	for (size_t k = 0; k <= (size_t)n; k++) {
		if (k < (size_t)n && sig->h[k] != ':') {
			/* RFC 5322 ftext: printable except ":" */
			unsigned char c = (unsigned char)sig->h[k];
			if (c < 33 || c > 126)
				return -1;
			continue;
		}
		if (k == start && arc) {
			start = k + 1;
			continue;
		}
		if (k == start || sig->nh == DKIM_SIG_MAX_HEADERS)
			return -1;
		sig->h[k] = '\0';
		sig->h_off[sig->nh++] = (uint16_t)start;
		if (strcasecmp(sig->h + start, "from") == 0)
			*has_from = 1;
		start = k + 1;
	}
	return 0;
}

static int parse_b64(const struct tag *t, unsigned char *out, size_t outsize, size_t *outlen,
                     char *prefix)
{
	char tmp[2 * DKIM_B_MAX];
	long n = tags_strip_fws(t->value, t->value_len, tmp, sizeof(tmp));
	if (n <= 0)
		return -1;
	if (prefix != NULL) {
		size_t pl = n < 8 ? (size_t)n : 8;
		memcpy(prefix, tmp, pl);
		prefix[pl] = '\0';
	}
	long d = b64_decode(tmp, (size_t)n, out, outsize);
	if (d <= 0)
		return -1;
	*outlen = (size_t)d;
	return 0;
}

/* q= must offer dns/txt, the only method defined (3.5). */
static int q_has_dns_txt(const struct tag *t)
{
	char tmp[256];
	long n = tags_strip_fws(t->value, t->value_len, tmp, sizeof(tmp));
	if (n < 0)
		return 0;
	for (char *save = NULL, *m = strtok_r(tmp, ":", &save); m != NULL;
	     m = strtok_r(NULL, ":", &save)) {
		if (strcmp(m, "dns/txt") == 0)
			return 1;
	}
	return 0;
}

/* i= [local-part] "@" domain: domain is d= or a subdomain of it (3.5). */
static int i_matches_d(const char *i, const char *d)
{
	const char *at = strrchr(i, '@');
	size_t il, dl = strlen(d);

	if (at == NULL)
		return 0;
	at++;
	il = strlen(at);
	if (il == dl)
		return strcasecmp(at, d) == 0;
	return il > dl && at[il - dl - 1] == '.' && strcasecmp(at + il - dl, d) == 0;
}

static const char *const required[] = {"v", "a", "b", "bh", "d", "h", "s"};

int dkim_sig_parse(const char *v, size_t len, struct dkim_sig *sig, char *err, size_t errsize)
{
	return dkim_sig_parse_flags(v, len, 0, sig, err, errsize);
}

int dkim_sig_parse_flags(const char *v, size_t len, unsigned flags, struct dkim_sig *sig, char *err,
                         size_t errsize)
{
	int arc = (flags & DKIM_SIG_ARC) != 0;

	struct tag_list tl;
	const struct tag *t;
	int has_from = 0;
	uint64_t num;

	memset(sig, 0, sizeof(*sig));
	sig->l = CANON_NO_LIMIT;
	sig->t = sig->x = DKIM_NO_TIME;
	if (tags_parse(v, len, &tl, err, errsize) != 0)
		return -1;
	/* 6.1.1: a signature missing a required tag is PERMFAIL. */
	for (size_t k = arc ? 1 : 0; k < sizeof(required) / sizeof(required[0]); k++) {
		if (tags_get(&tl, required[k]) == NULL)
			return fail(err, errsize, "missing required tag %s=", required[k]);
	}
	if (!arc && !tags_value_is(tags_get(&tl, "v"), "1"))
		return fail(err, errsize, "%s", "incompatible version (v= is not 1)");
	t = tags_get(&tl, "a");
	if (tags_value_is(t, "rsa-sha256"))
		sig->alg = DKIM_ALG_RSA_SHA256;
	else if (tags_value_is(t, "ed25519-sha256"))
		sig->alg = DKIM_ALG_ED25519_SHA256;
	else if (tags_value_is(t, "rsa-sha1"))
		sig->alg = DKIM_ALG_RSA_SHA1;
	else
		return fail(err, errsize, "%s", "unknown signing algorithm (a=)");
	t = tags_get(&tl, "d");
	if (!dkim_domain_valid(t->value, t->value_len, 0) || copy_value(t, sig->d, sizeof(sig->d)))
		return fail(err, errsize, "%s", "invalid domain (d=)");
	t = tags_get(&tl, "s");
	if (!dkim_domain_valid(t->value, t->value_len, 1) || copy_value(t, sig->s, sizeof(sig->s)))
		return fail(err, errsize, "%s", "invalid selector (s=)");
	if ((t = tags_get(&tl, "c")) != NULL && parse_c(t, sig) != 0)
		return fail(err, errsize, "%s", "unknown canonicalization (c=)");
	if (parse_h(tags_get(&tl, "h"), sig, &has_from, arc) != 0)
		return fail(err, errsize, "%s", "invalid header list (h=)");
	if (!has_from && !arc)
		return fail(err, errsize, "%s", "From is not signed (h=, RFC 6376 5.4)");
	if (parse_b64(tags_get(&tl, "bh"), sig->bh, sizeof(sig->bh), &sig->bh_len, NULL) != 0)
		return fail(err, errsize, "%s", "invalid body hash (bh=)");
	if (parse_b64(tags_get(&tl, "b"), sig->b, sizeof(sig->b), &sig->b_len, sig->b_prefix) != 0)
		return fail(err, errsize, "%s", "invalid signature data (b=)");
	if (!arc && (t = tags_get(&tl, "i")) != NULL) {
		if (copy_value(t, sig->i, sizeof(sig->i)) != 0 || !i_matches_d(sig->i, sig->d))
			return fail(err, errsize, "%s", "i= is not d= or a subdomain of it");
	}
	if ((t = tags_get(&tl, "l")) != NULL) {
		/* 1*76DIGIT; a count beyond 2^64 is beyond any body. */
		if (parse_number(t, 76, UINT64_MAX - 1, &sig->l) != 0)
			return fail(err, errsize, "%s", "invalid body length (l=)");
	}
	if ((t = tags_get(&tl, "q")) != NULL && !q_has_dns_txt(t))
		return fail(err, errsize, "%s", "no supported query method (q=)");
	if ((t = tags_get(&tl, "t")) != NULL) {
		if (parse_number(t, 12, INT64_MAX, &num) != 0)
			return fail(err, errsize, "%s", "invalid timestamp (t=)");
		sig->t = (int64_t)num;
	}
	if ((t = tags_get(&tl, "x")) != NULL) {
		if (parse_number(t, 12, INT64_MAX, &num) != 0)
			return fail(err, errsize, "%s", "invalid expiration (x=)");
		sig->x = (int64_t)num;
	}
	/* 3.5 x=: "MUST be greater than the value of the t= tag". */
	if (sig->t != DKIM_NO_TIME && sig->x != DKIM_NO_TIME && sig->x < sig->t)
		return fail(err, errsize, "%s", "x= is before t=");
	return 0;
}

const char *dkim_sig_header(const struct dkim_sig *sig, size_t k)
{
	return sig->h + sig->h_off[k];
}

const char *dkim_alg_name(enum dkim_alg a)
{
	switch (a) {
	case DKIM_ALG_RSA_SHA256:
		return "rsa-sha256";
	case DKIM_ALG_ED25519_SHA256:
		return "ed25519-sha256";
	case DKIM_ALG_RSA_SHA1:
		return "rsa-sha1";
	}
	return "unknown";
}
