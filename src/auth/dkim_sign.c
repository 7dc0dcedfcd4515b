/* DKIM signer: body hash, header selection with oversigning, signature. */
#include "auth/dkim_sign.h"

#include "core/b64.h"
#include "auth/dkim_check.h"
#include "auth/dkim_sig.h"
#include "auth/msghdr.h"
#include "auth/msghead.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGN_MAX_FIELDS 1000
#define SIGN_FIELD_MAX (64 * 1024)

/* RFC 6376 5.4.1 recommends these; the first four are oversigned. */
static const char *const sign_headers[] = {
    "from",         "to",
    "subject",      "date",
    "cc",           "reply-to",
    "message-id",   "in-reply-to",
    "references",   "mime-version",
    "content-type", "content-transfer-encoding",
    "list-id",      "list-unsubscribe",
};
#define OVERSIGNED 4

/* Fills sig's h= with the names to sign; appends them to hlist too. */
static int choose_headers(struct dkim_sig *sig, const struct msghdr_field *f, size_t n,
                          struct buf *hlist)
{
	size_t off = 0;

	for (size_t k = 0; k < sizeof(sign_headers) / sizeof(sign_headers[0]); k++) {
		const char *name = sign_headers[k];
		size_t nl = strlen(name), count = 0;
		for (size_t j = 0; j < n; j++)
			count += msghdr_name_is(&f[j], name, nl);
		if (k == 0 && count == 0)
			return -1;
		if (k < OVERSIGNED)
			count++;
		for (size_t c = 0; c < count; c++) {
			if (sig->nh == DKIM_SIG_MAX_HEADERS || off + nl + 1 > sizeof(sig->h))
				return -1;
			memcpy(sig->h + off, name, nl + 1);
			sig->h_off[sig->nh++] = (uint16_t)off;
			off += nl + 1;
			buf_printf(hlist, "%s%s", hlist->len > 0 ? ":" : "", name);
		}
	}
	return 0;
}

static int sign_input(EVP_PKEY *key, int ed25519, const struct buf *in, unsigned char *sig,
                      size_t *siglen)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned hlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ed25519) {
		/* RFC 8463 3: Ed25519 over the SHA-256 of the header input. */
		ok = ctx != NULL &&
		     EVP_Digest(in->data, in->len, hash, &hlen, canon_sha256(), NULL) &&
		     EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		     EVP_DigestSign(ctx, sig, siglen, hash, hlen) == 1;
	} else {
		ok =
		    ctx != NULL && EVP_DigestSignInit(ctx, NULL, canon_sha256(), NULL, key) == 1 &&
		    EVP_DigestSign(ctx, sig, siglen, (const unsigned char *)in->data, in->len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* Appends b64 folded into lines of 72 characters (RFC 6376 3.5 b= allows FWS). */
static void append_folded(struct buf *out, const char *b64)
{
	for (size_t k = 0, n = strlen(b64); k < n; k += 72)
		buf_printf(out, "%s%.72s", k > 0 ? "\r\n\t " : "", b64 + k);
}

static const char *canon_name(enum canon_alg c)
{
	return c == CANON_RELAXED ? "relaxed" : "simple";
}

struct dkim_signer {
	const char *domain, *selector;
	EVP_PKEY *key;
	int64_t now;
	enum canon_alg hcanon, bcanon;
	int ed;
	struct canon_body cb;
};

struct dkim_signer *dkim_signer_new(const struct dkim_sign_options *o, char *err, size_t errsize)
{
	int base = EVP_PKEY_get_base_id(o->key);
	int ed = base == EVP_PKEY_ED25519;
	struct dkim_signer *s;

	if (!ed && !(base == EVP_PKEY_RSA && EVP_PKEY_get_bits(o->key) >= 1024)) {
		snprintf(err, errsize, "the key is neither Ed25519 nor RSA of 1024 bits or more");
		return NULL;
	}
	if (!dkim_domain_valid(o->domain, strlen(o->domain), 0) ||
	    !dkim_domain_valid(o->selector, strlen(o->selector), 1)) {
		snprintf(err, errsize, "invalid domain or selector");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->domain = o->domain;
	s->selector = o->selector;
	s->key = o->key;
	s->now = o->now;
	s->hcanon = o->hcanon;
	s->bcanon = o->bcanon;
	s->ed = ed;
	canon_body_init(&s->cb, o->bcanon, canon_sha256(), CANON_NO_LIMIT);
	return s;
}

void dkim_signer_body(struct dkim_signer *s, const void *p, size_t n)
{
	canon_body_update(&s->cb, p, n);
}

void dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	canon_body_free(&s->cb);
	free(s);
}

int dkim_signer_finish(struct dkim_signer *s, const char *head, size_t hlen, struct buf *out,
                       char *err, size_t errsize)
{
	long n;
	struct msghdr_field *f = msghdr_split_new(head, hlen, SIGN_MAX_FIELDS, 0, &n);
	struct dkim_sig sig;
	struct buf field, hlist, input;
	unsigned char bh[EVP_MAX_MD_SIZE], sigbytes[DKIM_B_MAX];
	char bh64[2 * EVP_MAX_MD_SIZE], b64[2 * DKIM_B_MAX];
	size_t siglen = sizeof(sigbytes);
	int rc = -1;

	memset(&sig, 0, sizeof(sig));
	sig.hcanon = s->hcanon;
	buf_init(&field, SIGN_FIELD_MAX);
	buf_init(&hlist, DKIM_SIG_H_MAX);
	buf_init(&input, 1024 * 1024);
	b64_encode(bh, canon_body_final(&s->cb, bh), bh64, sizeof(bh64));
	if (n < 0 || choose_headers(&sig, f, (size_t)n, &hlist) != 0) {
		snprintf(err, errsize, "no From field (RFC 6376 5.4) or too many fields");
		goto out;
	}
	buf_printf(&field, "DKIM-Signature: v=1; a=%s; c=%s/%s; d=%s; s=%s;",
	           s->ed ? "ed25519-sha256" : "rsa-sha256", canon_name(s->hcanon),
	           canon_name(s->bcanon), s->domain, s->selector);
	if (s->now != DKIM_NO_TIME)
		buf_printf(&field, " t=%lld;", (long long)s->now);
	buf_printf(&field, "\r\n\th=%s;\r\n\tbh=%s;\r\n\tb=", hlist.data, bh64);
	struct msghdr_field self = {field.data, field.len, 14};
	if (dkim_header_input(&sig, f, (size_t)n, &self, &input) != 0 ||
	    sign_input(s->key, s->ed, &input, sigbytes, &siglen) != 0) {
		snprintf(err, errsize, "signing failed");
		goto out;
	}
	b64_encode(sigbytes, siglen, b64, sizeof(b64));
	append_folded(&field, b64);
	buf_append(&field, "\r\n", 2);
	rc = buf_append(out, field.data, field.len);
	if (rc != 0)
		snprintf(err, errsize, "signature does not fit");
out:
	buf_free(&field);
	buf_free(&hlist);
	buf_free(&input);
	free(f);
	return rc;
}

int dkim_sign(const struct dkim_sign_options *o, const char *msg, size_t len, struct buf *out,
              char *err, size_t errsize)
{
	struct dkim_signer *s = dkim_signer_new(o, err, errsize);
	struct msghead mh;
	int rc;

	if (s == NULL)
		return -1;
	msghead_init(&mh, len + 1);
	size_t used = msghead_feed(&mh, msg, len);
	dkim_signer_body(s, msg + used, len - used);
	rc =
	    dkim_signer_finish(s, msg, mh.state == MSGHEAD_DONE ? mh.hlen : len, out, err, errsize);
	msghead_free(&mh);
	dkim_signer_free(s);
	return rc;
}
