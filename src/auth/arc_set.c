/* ARC header field parsers (RFC 8617 4.1, 4.2.1). */
#include "auth/arc_set.h"

#include "core/b64.h"
#include "auth/tags.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errsize, const char *msg)
{
	snprintf(err, errsize, "%s", msg);
	return -1;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

unsigned arc_instance_value(const char *v, size_t len)
{
	size_t a = 0, b = len;
	unsigned n = 0;

	while (a < b && is_wsp(v[a]))
		a++;
	while (b > a && is_wsp(v[b - 1]))
		b--;
	if (b == a || b - a > 2)
		return 0;
	for (size_t k = a; k < b; k++) {
		if (v[k] < '0' || v[k] > '9')
			return 0;
		n = n * 10 + (unsigned)(v[k] - '0');
	}
	return n <= ARC_MAX_SETS ? n : 0;
}

int arc_aar_parse(const char *v, size_t len, unsigned *instance, char *err, size_t errsize)
{
	size_t k = 0;

	/* instance = [CFWS] %s"i" [CFWS] "=" [CFWS] 1*2DIGIT (RFC 8617 4.2.1);
	 * comments are not written by any sealer and are not accepted here. */
	while (k < len && is_wsp(v[k]))
		k++;
	if (k == len || v[k] != 'i')
		return fail(err, errsize, "does not start with i=");
	k++;
	while (k < len && is_wsp(v[k]))
		k++;
	if (k == len || v[k] != '=')
		return fail(err, errsize, "does not start with i=");
	const char *semi = memchr(v + k, ';', len - k);
	if (semi == NULL)
		return fail(err, errsize, "no ';' after i=");
	*instance = arc_instance_value(v + k + 1, (size_t)(semi - (v + k + 1)));
	if (*instance == 0)
		return fail(err, errsize, "invalid instance (i=)");
	/* authres-payload begins with the authserv-id (RFC 8601 2.2). */
	for (const char *p = semi + 1; p < v + len; p++) {
		if (!is_wsp(*p))
			return 0;
	}
	return fail(err, errsize, "no authserv-id after i=");
}

static unsigned instance_tag(const struct tag_list *tl)
{
	const struct tag *t = tags_get(tl, "i");
	return t != NULL ? arc_instance_value(t->value, t->value_len) : 0;
}

int arc_ams_parse(const char *v, size_t len, struct arc_ams *out, char *err, size_t errsize)
{
	struct tag_list tl;

	if (dkim_sig_parse_flags(v, len, DKIM_SIG_ARC, &out->sig, err, errsize) != 0)
		return -1;
	/* dkim_sig_parse_flags parsed the same list without error. */
	tags_parse(v, len, &tl, err, errsize);
	if ((out->i = instance_tag(&tl)) == 0)
		return fail(err, errsize, "missing or invalid instance (i=)");
	if (out->sig.alg == DKIM_ALG_RSA_SHA1)
		return fail(err, errsize, "rsa-sha1 is not accepted (RFC 8301 3.1)");
	/* The seals sign the ARC sets; an AMS over a seal would tie the two
	 * in a circle (RFC 8617 4.1.2: ARC-Seal is not signed by the AMS). */
	for (size_t k = 0; k < out->sig.nh; k++) {
		if (strcasecmp(dkim_sig_header(&out->sig, k), "arc-seal") == 0)
			return fail(err, errsize, "h= includes ARC-Seal");
	}
	return 0;
}

static int parse_cv(const struct tag *t, enum arc_cv *cv)
{
	if (tags_value_is(t, "none"))
		*cv = ARC_CV_NONE;
	else if (tags_value_is(t, "pass"))
		*cv = ARC_CV_PASS;
	else if (tags_value_is(t, "fail"))
		*cv = ARC_CV_FAIL;
	else
		return -1;
	return 0;
}

/* t= 1*12DIGIT (RFC 6376 3.5, which RFC 8617 4.1.3 refers to). */
static int parse_time(const struct tag *t, int64_t *out)
{
	int64_t n = 0;

	if (t->value_len == 0 || t->value_len > 12)
		return -1;
	for (size_t k = 0; k < t->value_len; k++) {
		if (t->value[k] < '0' || t->value[k] > '9')
			return -1;
		n = n * 10 + (t->value[k] - '0');
	}
	*out = n;
	return 0;
}

static int copy_domain(const struct tag *t, int selector, char *out, size_t outsize)
{
	if (!dkim_domain_valid(t->value, t->value_len, selector) || t->value_len >= outsize)
		return -1;
	memcpy(out, t->value, t->value_len);
	out[t->value_len] = '\0';
	return 0;
}

static const char *const seal_required[] = {"a", "b", "cv", "d", "i", "s"};

int arc_seal_parse(const char *v, size_t len, struct arc_seal *out, char *err, size_t errsize)
{
	struct dkim_sig *sig = &out->sig;
	struct tag_list tl;
	const struct tag *t;
	char b64[2 * DKIM_B_MAX];

	memset(out, 0, sizeof(*out));
	sig->hcanon = CANON_RELAXED;
	sig->l = CANON_NO_LIMIT;
	sig->t = sig->x = DKIM_NO_TIME;
	if (tags_parse(v, len, &tl, err, errsize) != 0)
		return -1;
	for (size_t k = 0; k < sizeof(seal_required) / sizeof(seal_required[0]); k++) {
		if (tags_get(&tl, seal_required[k]) == NULL) {
			snprintf(err, errsize, "missing required tag %s=", seal_required[k]);
			return -1;
		}
	}
	/* RFC 8617 4.1.3: the seal's scope is fixed, so h= has no place. */
	if (tags_get(&tl, "h") != NULL)
		return fail(err, errsize, "h= is not allowed in ARC-Seal");
	if ((out->i = instance_tag(&tl)) == 0)
		return fail(err, errsize, "invalid instance (i=)");
	if (parse_cv(tags_get(&tl, "cv"), &out->cv) != 0)
		return fail(err, errsize, "invalid chain validation status (cv=)");
	t = tags_get(&tl, "a");
	if (tags_value_is(t, "rsa-sha256"))
		sig->alg = DKIM_ALG_RSA_SHA256;
	else if (tags_value_is(t, "ed25519-sha256"))
		sig->alg = DKIM_ALG_ED25519_SHA256;
	else if (tags_value_is(t, "rsa-sha1"))
		return fail(err, errsize, "rsa-sha1 is not accepted (RFC 8301 3.1)");
	else
		return fail(err, errsize, "unknown signing algorithm (a=)");
	if (copy_domain(tags_get(&tl, "d"), 0, sig->d, sizeof(sig->d)) != 0)
		return fail(err, errsize, "invalid domain (d=)");
	if (copy_domain(tags_get(&tl, "s"), 1, sig->s, sizeof(sig->s)) != 0)
		return fail(err, errsize, "invalid selector (s=)");
	t = tags_get(&tl, "b");
	long n = tags_strip_fws(t->value, t->value_len, b64, sizeof(b64));
	long d = n > 0 ? b64_decode(b64, (size_t)n, sig->b, sizeof(sig->b)) : -1;
	if (d <= 0)
		return fail(err, errsize, "invalid signature data (b=)");
	sig->b_len = (size_t)d;
	snprintf(sig->b_prefix, sizeof(sig->b_prefix), "%.8s", b64);
	if ((t = tags_get(&tl, "t")) != NULL && parse_time(t, &sig->t) != 0)
		return fail(err, errsize, "invalid timestamp (t=)");
	return 0;
}

const char *arc_cv_name(enum arc_cv cv)
{
	switch (cv) {
	case ARC_CV_NONE:
		return "none";
	case ARC_CV_PASS:
		return "pass";
	case ARC_CV_FAIL:
		return "fail";
	}
	return "fail";
}
