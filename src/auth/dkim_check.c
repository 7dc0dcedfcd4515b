/* Header hash input and signature checks of RFC 6376 6.1.3 / RFC 8463 3. */
#include "auth/dkim_check.h"

#include "core/xmalloc.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_fws_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Where the value of tag b= begins (after its "=") and ends (at the ";"
 * or the end) in the tag-list v[0..len), which its caller has already
 * parsed: values hold no ";", so the list splits at every ";". */
static int find_b(const char *v, size_t len, size_t *start, size_t *end)
{
	for (size_t i = 0; i < len;) {
		const char *semi = memchr(v + i, ';', len - i);
		size_t stop = semi != NULL ? (size_t)(semi - v) : len;
		const char *eq = memchr(v + i, '=', stop - i);
		if (eq != NULL) {
			size_t n = i, e = (size_t)(eq - v);
			while (n < e && is_fws_byte(v[n]))
				n++;
			while (e > n && is_fws_byte(v[e - 1]))
				e--;
			if (e == n + 1 && v[n] == 'b') {
				*start = (size_t)(eq - v) + 1;
				*end = stop;
				return 0;
			}
		}
		i = stop + 1;
	}
	return -1;
}

/* The signature field without the value of b= (3.7: "the value of the
 * b= tag (including all surrounding whitespace) is deleted"). */
static int without_b(const struct msghdr_field *f, enum canon_alg c, struct buf *out)
{
	const char *colon = memchr(f->p, ':', f->len);
	size_t vlen, bstart, bend;

	if (colon == NULL)
		return -1;
	vlen = f->len - (size_t)(colon + 1 - f->p);
	if (vlen >= 2 && colon[vlen - 1] == '\r' && colon[vlen] == '\n')
		vlen -= 2;
	if (find_b(colon + 1, vlen, &bstart, &bend) != 0)
		return -1;
	size_t head = (size_t)(colon + 1 - f->p) + bstart;
	struct buf tmp;
	int rc;

	buf_init(&tmp, f->len);
	rc = buf_append(&tmp, f->p, head) != 0 ||
	             buf_append(&tmp, colon + 1 + bend, vlen - bend) != 0
	         ? -1
	         : canon_header(c, tmp.data, tmp.len, 0, out);
	buf_free(&tmp);
	return rc;
}

int dkim_header_input(const struct dkim_sig *sig, const struct msghdr_field *fields, size_t n,
                      const struct msghdr_field *sigf, struct buf *out)
{
	unsigned char *used = xcalloc(n > 0 ? n : 1, 1);
	size_t pick[DKIM_SIG_MAX_HEADERS], npick = 0, bound = sigf->len + 2;
	int rc = 0;

	/* 5.4.2: each name takes the last field not taken yet, from the
	 * bottom up; a name without one selects nothing. */
	for (size_t k = 0; k < sig->nh; k++) {
		const char *name = dkim_sig_header(sig, k);
		size_t nl = strlen(name);
		for (size_t j = n; j-- > 0;) {
			if (used[j] || !msghdr_name_is(&fields[j], name, nl))
				continue;
			used[j] = 1;
			pick[npick++] = j;
			bound += fields[j].len + 2;
			break;
		}
	}
	free(used);
	/* Canonical fields are never longer than the fields plus a CRLF. */
	if (buf_reserve(out, bound) != 0)
		return -1;
	for (size_t k = 0; k < npick; k++)
		rc |= canon_header(sig->hcanon, fields[pick[k]].p, fields[pick[k]].len, 1, out);
	return rc != 0 ? -1 : without_b(sigf, sig->hcanon, out);
}

static int verify(EVP_PKEY *pkey, const EVP_MD *md, const struct dkim_sig *sig,
                  const unsigned char *data, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
	         EVP_DigestVerify(ctx, sig->b, sig->b_len, data, len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}

int dkim_check_signature(const struct dkim_sig *sig, const struct dkim_key *key, const char *input,
                         size_t len, char *err, size_t errsize)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned hlen = 0;

	if (key->pkey == NULL) {
		snprintf(err, errsize, "key revoked");
		return -1;
	}
	switch (sig->alg) {
	case DKIM_ALG_RSA_SHA256:
		if (key->type != DKIM_KEY_RSA || !key->sha256_ok)
			break;
		if (key->prepared != NULL) {
			if (EVP_Digest(input, len, hash, &hlen, canon_sha256(), NULL) != 1)
				break;
			return EVP_PKEY_verify(key->prepared->ctx, sig->b, sig->b_len, hash,
			                       hlen) == 1;
		}
		return verify(key->pkey, canon_sha256(), sig, (const unsigned char *)input, len);
	case DKIM_ALG_ED25519_SHA256:
		if (key->type != DKIM_KEY_ED25519 || !key->sha256_ok)
			break;
		/* RFC 8463 3: Ed25519 signs the SHA-256 hash of the header input. */
		if (EVP_Digest(input, len, hash, &hlen, canon_sha256(), NULL) != 1)
			break;
		return verify(key->pkey, NULL, sig, hash, hlen);
	case DKIM_ALG_RSA_SHA1:
		break;
	}
	snprintf(err, errsize, "key type or hash does not match a=%s", dkim_alg_name(sig->alg));
	return -1;
}
