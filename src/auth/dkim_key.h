/* DKIM key records (RFC 6376 3.6.1) parsed into an OpenSSL public key,
 * with RFC 8301's minimum RSA size and RFC 8463's Ed25519 keys. */
#ifndef POSTERN_AUTH_DKIM_KEY_H
#define POSTERN_AUTH_DKIM_KEY_H

#include <openssl/evp.h>
#include <stddef.h>

/* RFC 8301 3.2: "Verifiers MUST NOT consider signatures using RSA keys of
 * less than 1024 bits as valid signatures." */
#define DKIM_RSA_MIN_BITS 1024

enum dkim_key_type {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

/* An RSA verification context made ready once (padding, digest) and
 * shared by the copies of a cached key, counted; one thread only. */
struct dkim_key_ctx {
	EVP_PKEY_CTX *ctx;
	unsigned refs;
};

struct dkim_key {
	enum dkim_key_type type;
	EVP_PKEY *pkey;                /* NULL when revoked */
	struct dkim_key_ctx *prepared; /* NULL: made for each verification */
	int revoked;                   /* p= empty (3.6.1) */
	int testing;                   /* t=y */
	int strict;                    /* t=s: i= domain must equal d= */
	int sha256_ok;                 /* h= absent or lists sha256 */
	int sha1_ok;
	int bits;
};

/* Parses one TXT record.  Returns 0 (possibly with revoked set), or -1 with
 * a reason in err: syntax, v= not DKIM1 or not first, unknown k=, bad p=,
 * an RSA key under DKIM_RSA_MIN_BITS, or s= without email or "*". */
int dkim_key_parse(const char *rec, size_t len, struct dkim_key *out, char *err, size_t errsize);
/* Gives an RSA key its prepared context (dkim_key_ctx); a key that cannot
 * have one simply goes without. */
void dkim_key_prepare(struct dkim_key *k);
void dkim_key_free(struct dkim_key *k);

#endif
