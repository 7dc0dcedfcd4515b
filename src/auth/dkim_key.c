/* DKIM key record parsing (RFC 6376 3.6.1, RFC 8301 3.2, RFC 8463 4). */
#include "auth/dkim_key.h"

#include "core/b64.h"
#include "auth/canon.h"
#include "auth/tags.h"
#include "core/xmalloc.h"

#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DKIM_KEY_DER_MAX 2048 /* an RSA-16384 SubjectPublicKeyInfo fits */
#define ED25519_KEY_LEN 32

static int fail(char *err, size_t errsize, const char *what)
{
	snprintf(err, errsize, "%s", what);
	return -1;
}

/* 1 when the colon-separated list in t (FWS allowed) holds item. */
static int list_has(const struct tag *t, const char *item)
{
	char tmp[256];

	if (tags_strip_fws(t->value, t->value_len, tmp, sizeof(tmp)) < 0)
		return 0;
	for (char *save = NULL, *m = strtok_r(tmp, ":", &save); m != NULL;
	     m = strtok_r(NULL, ":", &save)) {
		if (strcmp(m, item) == 0)
			return 1;
	}
	return 0;
}

/* p= holds a SubjectPublicKeyInfo (3.6.1); some signers publish a bare
 * PKCS#1 RSAPublicKey, which is accepted too. */
static EVP_PKEY *rsa_key(const unsigned char *der, size_t n)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)n);

	if (k != NULL && (p != der + n || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA)) {
		EVP_PKEY_free(k);
		return NULL;
	}
	if (k == NULL) {
		p = der;
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)n);
		if (k != NULL && p != der + n) {
			EVP_PKEY_free(k);
			return NULL;
		}
	}
	return k;
}

static int parse_p(const struct tag *t, struct dkim_key *k, char *err, size_t errsize)
{
	char b64[2 * DKIM_KEY_DER_MAX];
	unsigned char der[DKIM_KEY_DER_MAX];
	long n = tags_strip_fws(t->value, t->value_len, b64, sizeof(b64));

	if (n < 0)
		return fail(err, errsize, "public key too long (p=)");
	if (n == 0) {
		k->revoked =
		    1; /* 3.6.1: "An empty value means that this public key has been revoked." */
		return 0;
	}
	long d = b64_decode(b64, (size_t)n, der, sizeof(der));
	if (d <= 0)
		return fail(err, errsize, "invalid base64 in p=");
	if (k->type == DKIM_KEY_ED25519) {
		/* RFC 8463 4: p= is the raw 32-byte public key. */
		if (d != ED25519_KEY_LEN)
			return fail(err, errsize, "ed25519 key is not 32 bytes");
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, (size_t)d);
		k->bits = 256;
	} else {
		k->pkey = rsa_key(der, (size_t)d);
		if (k->pkey != NULL)
			k->bits = EVP_PKEY_get_bits(k->pkey);
	}
	if (k->pkey == NULL)
		return fail(err, errsize, "unusable public key data (p=)");
	if (k->type == DKIM_KEY_RSA && k->bits < DKIM_RSA_MIN_BITS)
		return fail(err, errsize, "RSA key shorter than 1024 bits (RFC 8301 3.2)");
	return 0;
}

int dkim_key_parse(const char *rec, size_t len, struct dkim_key *k, char *err, size_t errsize)
{
	struct tag_list tl;
	const struct tag *t;

	memset(k, 0, sizeof(*k));
	if (tags_parse(rec, len, &tl, err, errsize) != 0)
		return -1;
	/* 3.6.1 v=: if present it MUST be the first tag and be "DKIM1". */
	if ((t = tags_get(&tl, "v")) != NULL && (t != &tl.tags[0] || !tags_value_is(t, "DKIM1")))
		return fail(err, errsize, "bad key record version (v=)");
	t = tags_get(&tl, "k");
	if (t == NULL || tags_value_is(t, "rsa"))
		k->type = DKIM_KEY_RSA;
	else if (tags_value_is(t, "ed25519"))
		k->type = DKIM_KEY_ED25519;
	else
		return fail(err, errsize, "unknown key type (k=)");
	t = tags_get(&tl, "h");
	k->sha256_ok = t == NULL || list_has(t, "sha256");
	k->sha1_ok = t == NULL || list_has(t, "sha1");
	/* s= service types: "*" or "email" make the key usable for mail. */
	if ((t = tags_get(&tl, "s")) != NULL && !list_has(t, "*") && !list_has(t, "email"))
		return fail(err, errsize, "key not for email (s=)");
	if ((t = tags_get(&tl, "t")) != NULL) {
		k->testing = list_has(t, "y");
		k->strict = list_has(t, "s");
	}
	if ((t = tags_get(&tl, "p")) == NULL)
		return fail(err, errsize, "no public key (p=)");
	if (parse_p(t, k, err, errsize) != 0) {
		dkim_key_free(k);
		return -1;
	}
	return 0;
}

void dkim_key_prepare(struct dkim_key *k)
{
	EVP_PKEY_CTX *ctx;

	if (k->type != DKIM_KEY_RSA || k->pkey == NULL || k->prepared != NULL)
		return;
	ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, canon_sha256()) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return;
	}
	k->prepared = xcalloc(1, sizeof(*k->prepared));
	k->prepared->ctx = ctx;
	k->prepared->refs = 1;
}

void dkim_key_free(struct dkim_key *k)
{
	if (k->prepared != NULL && --k->prepared->refs == 0) {
		EVP_PKEY_CTX_free(k->prepared->ctx);
		free(k->prepared);
	}
	k->prepared = NULL;
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}
