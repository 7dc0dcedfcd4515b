/* ARC sealer (RFC 8617 5.1): one new set over a whole message.  The
 * fields are written in the tag order and spacing of the ARC test suite
 * (tags sorted, "; " between them), so that equal inputs give equal
 * fields. */
#include "auth/arc_seal.h"

#include "auth/arc_chain.h"
#include "core/b64.h"
#include "auth/canon.h"
#include "auth/dkim_check.h"
#include "auth/msghdr.h"
#include "core/xmalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARC_SEAL_MAX_FIELDS 1000
#define ARC_SEAL_INPUT_MAX (1024 * 1024)
#define ARC_SEAL_FIELD_MAX (64 * 1024)
#define ARC_LINE_MAX 78 /* RFC 5322 2.1.1 */

static int fail(char *err, size_t errsize, const char *msg)
{
	snprintf(err, errsize, "%s", msg);
	return -1;
}

/* One line of printable text or WSP: anything else would end the field
 * or smuggle another one in. */
static int one_line(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 32 && *s != '\t')
			return 0;
	}
	return 1;
}

/* authserv-id is a value (RFC 8601 2.2): a token here, no quoting. */
static int token_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 32 || c >= 127 || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
			return 0;
	}
	return 1;
}

/* h= from a ':'-separated list into sig (names NUL-separated, as
 * dkim_sig_parse leaves them) and h (the tag value): names lower-cased,
 * empty names and FWS refused, ARC-Seal refused (RFC 8617 4.1.2). */
static int parse_headers(const char *list, struct dkim_sig *sig, struct buf *h)
{
	size_t off = 0, len = strlen(list);

	sig->nh = 0;
	if (len == 0 || len >= sizeof(sig->h))
		return -1;
	for (size_t k = 0; k <= len; k++) {
		unsigned char c = (unsigned char)list[k];
		if (k < len && c != ':') {
			if (c < 33 || c > 126)
				return -1;
			sig->h[k] = (char)tolower(c);
			continue;
		}
		if (k == off || sig->nh == DKIM_SIG_MAX_HEADERS)
			return -1;
		sig->h[k] = '\0';
		sig->h_off[sig->nh++] = (uint16_t)off;
		if (strcmp(sig->h + off, "arc-seal") == 0 ||
		    buf_printf(h, "%s%s", off > 0 ? ":" : "", sig->h + off) != 0)
			return -1;
		off = k + 1;
	}
	return 0;
}

/* The signature over in[0..len), base64: RSASSA-PKCS1-v1_5 with SHA-256
 * (RFC 6376 3.3.1) or PureEdDSA over the SHA-256 of the input (RFC 8463
 * 3), as dkim_check_signature verifies them. */
static int sign_b64(EVP_PKEY *key, int ed, const char *in, size_t len, char *b64, size_t b64size)
{
	unsigned char hash[EVP_MAX_MD_SIZE], sig[DKIM_B_MAX];
	unsigned hlen = 0;
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ed)
		ok = ctx != NULL && EVP_Digest(in, len, hash, &hlen, canon_sha256(), NULL) == 1 &&
		     EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		     EVP_DigestSign(ctx, sig, &siglen, hash, hlen) == 1;
	else
		ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, canon_sha256(), NULL, key) == 1 &&
		     EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)in, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok && b64_encode(sig, siglen, b64, b64size) > 0 ? 0 : -1;
}

/* name ":" value CRLF with the space after a ';' turned into CRLF SP where
 * a line would pass 78 characters.  Relaxed canonicalisation (RFC 6376
 * 3.4.2), which both ARC signatures use, reads the two alike, so the
 * signatures made over the unfolded text still hold. */
static int append_folded(struct buf *out, const char *name, const char *value)
{
	size_t col = strlen(name) + 1;
	const char *p = value;
	int rc = buf_printf(out, "%s:", name);

	while (*p != '\0') {
		const char *semi = strstr(p, "; ");
		size_t tl = semi != NULL ? (size_t)(semi - p) + 1 : strlen(p);
		if (p != value && col + 1 + tl > ARC_LINE_MAX) {
			rc |= buf_append(out, "\r\n ", 3);
			col = 1;
		} else {
			rc |= buf_append(out, " ", 1);
			col++;
		}
		rc |= buf_append(out, p, tl);
		col += tl;
		p += tl + (semi != NULL ? 1 : 0);
	}
	return rc | buf_append(out, "\r\n", 2);
}

static struct msghdr_field field_of(const struct buf *b)
{
	struct msghdr_field f = {b->data, b->len, (size_t)(strchr(b->data, ':') - b->data)};
	return f;
}

/* The end of the header section (RFC 5322 2.1) and the body's start. */
static size_t split_message(const char *msg, size_t len, size_t *body)
{
	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n') {
		*body = 2;
		return 0;
	}
	for (size_t k = 0; k + 4 <= len; k++) {
		if (memcmp(msg + k, "\r\n\r\n", 4) == 0) {
			*body = k + 4;
			return k + 2;
		}
	}
	*body = len;
	return len;
}

struct sealing {
	const struct arc_seal_options *o;
	int ed;
	const char *alg;
	unsigned i;
	char bh[64];
	struct dkim_sig ams_sig;
	struct buf h, aar, ams, as, input;
};

static int check_options(const struct arc_seal_options *o, struct sealing *s, char *err,
                         size_t errsize)
{
	if (!dkim_domain_valid(o->domain, strlen(o->domain), 0))
		return fail(err, errsize, "invalid domain");
	if (!dkim_domain_valid(o->selector, strlen(o->selector), 1))
		return fail(err, errsize, "invalid selector");
	if (!token_ok(o->authserv_id))
		return fail(err, errsize, "invalid authserv-id");
	if (o->authres != NULL && !one_line(o->authres))
		return fail(err, errsize, "the results must be one line of text");
	if (parse_headers(o->headers, &s->ams_sig, &s->h) != 0)
		return fail(err, errsize, "invalid header list (empty, a bad name or ARC-Seal)");
	switch (EVP_PKEY_get_base_id(o->key)) {
	case EVP_PKEY_RSA:
		/* RFC 8301 3.2 minimum; DKIM_B_MAX holds an RSA-8192 signature. */
		if (EVP_PKEY_get_bits(o->key) < DKIM_RSA_MIN_BITS ||
		    EVP_PKEY_get_size(o->key) > DKIM_B_MAX)
			return fail(err, errsize, "RSA key size outside 1024 to 8192 bits");
		s->alg = "rsa-sha256";
		return 0;
	case EVP_PKEY_ED25519:
		s->ed = 1;
		s->alg = "ed25519-sha256";
		return 0;
	default:
		return fail(err, errsize, "the key is neither RSA nor Ed25519");
	}
}

/* RFC 8617 5.1 steps 1 and 2 with the caller's cv= checked against the
 * chain it continues. */
static int instance_of(const struct arc_chain *c, enum arc_cv structure, enum arc_cv cv,
                       unsigned *i, char *err, size_t errsize)
{
	if (c->latest_cv_fail)
		return ARC_SEAL_SKIPPED;
	if (c->n == ARC_MAX_SETS)
		return fail(err, errsize, "the chain already has 50 sets (RFC 8617 4.2.1)");
	*i = c->n + 1;
	if (cv == ARC_CV_NONE && *i > 1)
		return fail(err, errsize, "cv=none on a message that has ARC sets");
	if (cv == ARC_CV_PASS && structure != ARC_CV_PASS)
		return fail(err, errsize, "cv=pass without a structurally valid chain");
	return ARC_SEAL_ADDED;
}

static void body_hash(const char *body, size_t len, char *out, size_t outsize)
{
	struct canon_body cb;
	unsigned char digest[EVP_MAX_MD_SIZE];

	canon_body_init(&cb, CANON_RELAXED, canon_sha256(), CANON_NO_LIMIT);
	canon_body_update(&cb, body, len);
	unsigned n = canon_body_final(&cb, digest);
	canon_body_free(&cb);
	b64_encode(digest, n, out, outsize);
}

static void t_tag(const struct arc_seal_options *o, char *t, size_t tsize)
{
	if (o->now >= 0)
		snprintf(t, tsize, "; t=%lld", (long long)o->now);
	else
		t[0] = '\0';
}

/* RFC 8617 4.1.2: the AMS is a DKIM signature over h= and the body; f
 * holds the new AAR on top of the message's fields. */
static int make_ams(struct sealing *s, const struct msghdr_field *f, size_t n)
{
	const struct arc_seal_options *o = s->o;
	char t[32], b64[2 * DKIM_B_MAX];
	struct msghdr_field self;

	t_tag(o, t, sizeof(t));
	s->ams_sig.hcanon = CANON_RELAXED;
	if (buf_printf(&s->ams,
	               "ARC-Message-Signature: a=%s; b=; bh=%s; c=relaxed/relaxed; d=%s; "
	               "h=%s; i=%u; s=%s%s\r\n",
	               s->alg, s->bh, o->domain, s->h.data, s->i, o->selector, t) != 0)
		return -1;
	self = field_of(&s->ams);
	buf_reset(&s->input);
	if (dkim_header_input(&s->ams_sig, f, n, &self, &s->input) != 0 ||
	    sign_b64(o->key, s->ed, s->input.data, s->input.len, b64, sizeof(b64)) != 0)
		return -1;
	buf_reset(&s->ams);
	return buf_printf(&s->ams,
	                  "ARC-Message-Signature: a=%s; b=%s; bh=%s; c=relaxed/relaxed; "
	                  "d=%s; h=%s; i=%u; s=%s%s\r\n",
	                  s->alg, b64, s->bh, o->domain, s->h.data, s->i, o->selector, t);
}

/* RFC 8617 5.1.1: the seal over the sets 1..i; over the new set alone
 * when the chain failed (5.1.2). */
static int make_as(struct sealing *s, const struct arc_chain *c)
{
	const struct arc_seal_options *o = s->o;
	unsigned first = o->cv == ARC_CV_FAIL ? s->i : 1;
	struct msghdr_field *sets = xcalloc(3 * (size_t)s->i, sizeof(*sets));
	char t[32], b64[2 * DKIM_B_MAX];
	size_t k = 0;
	int rc = -1;

	t_tag(o, t, sizeof(t));
	if (buf_printf(&s->as, "ARC-Seal: a=%s; b=; cv=%s; d=%s; i=%u; s=%s%s\r\n", s->alg,
	               arc_cv_name(o->cv), o->domain, s->i, o->selector, t) == 0) {
		for (unsigned i = first; i < s->i; i++) {
			sets[k++] = c->sets[i - 1].aar;
			sets[k++] = c->sets[i - 1].ams;
			sets[k++] = c->sets[i - 1].as;
		}
		sets[k++] = field_of(&s->aar);
		sets[k++] = field_of(&s->ams);
		sets[k++] = field_of(&s->as);
		buf_reset(&s->input);
		if (arc_seal_input(sets, k / 3, &s->input) == 0 &&
		    sign_b64(o->key, s->ed, s->input.data, s->input.len, b64, sizeof(b64)) == 0) {
			buf_reset(&s->as);
			rc = buf_printf(
			    &s->as, "ARC-Seal: a=%s; b=%s; cv=%s; d=%s; i=%u; s=%s%s\r\n", s->alg,
			    b64, arc_cv_name(o->cv), o->domain, s->i, o->selector, t);
		}
	}
	free(sets);
	return rc;
}

/* The value of a field made here: after "Name: ", without the CRLF. */
static int append_made(struct buf *out, const char *name, const struct buf *f)
{
	size_t skip = strlen(name) + 2;
	char *v = xstrndup(f->data + skip, f->len - skip - 2);
	int rc = append_folded(out, name, v);

	free(v);
	return rc;
}

static int seal_chain(struct sealing *s, const char *msg, size_t len, struct buf *out, char *err,
                      size_t errsize)
{
	const struct arc_seal_options *o = s->o;
	size_t body, hlen = split_message(msg, len, &body);
	/* f[0] is the new AAR, on top of the message's own fields. */
	long n;
	struct msghdr_field *f = msghdr_split_new(msg, hlen, ARC_SEAL_MAX_FIELDS, 1, &n);
	struct arc_chain *c = xcalloc(1, sizeof(*c));
	char why[200];
	int rc = -1;

	if (n < 0) {
		fail(err, errsize, "too many header fields");
	} else {
		enum arc_cv structure = arc_chain_collect(f + 1, (size_t)n, c, why, sizeof(why));
		rc = instance_of(c, structure, o->cv, &s->i, err, errsize);
	}
	if (rc == ARC_SEAL_ADDED) {
		body_hash(msg + body, len - body, s->bh, sizeof(s->bh));
		if (buf_printf(&s->aar, "ARC-Authentication-Results: i=%u; %s; %s\r\n", s->i,
		               o->authserv_id,
		               o->authres != NULL && o->authres[0] != '\0' ? o->authres : "none") !=
		    0) {
			rc = fail(err, errsize, "ARC-Authentication-Results too large");
		} else {
			f[0] = field_of(&s->aar);
			if (make_ams(s, f, (size_t)n + 1) != 0 || make_as(s, c) != 0)
				rc = fail(err, errsize, "signing failed or a field is too large");
			else if (append_made(out, "ARC-Seal", &s->as) != 0 ||
			         append_made(out, "ARC-Message-Signature", &s->ams) != 0 ||
			         append_made(out, "ARC-Authentication-Results", &s->aar) != 0)
				rc = fail(err, errsize, "output too large");
		}
	}
	free(c);
	free(f);
	return rc;
}

int arc_seal(const struct arc_seal_options *o, const char *msg, size_t len, struct buf *out,
             char *err, size_t errsize)
{
	struct sealing s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.o = o;
	buf_init(&s.h, DKIM_SIG_H_MAX);
	buf_init(&s.aar, ARC_SEAL_FIELD_MAX);
	buf_init(&s.ams, ARC_SEAL_FIELD_MAX);
	buf_init(&s.as, ARC_SEAL_FIELD_MAX);
	buf_init(&s.input, ARC_SEAL_INPUT_MAX);
	rc = check_options(o, &s, err, errsize);
	if (rc == 0)
		rc = seal_chain(&s, msg, len, out, err, errsize);
	buf_free(&s.h);
	buf_free(&s.aar);
	buf_free(&s.ams);
	buf_free(&s.as);
	buf_free(&s.input);
	return rc;
}
