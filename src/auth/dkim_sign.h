/* DKIM signing (RFC 6376 5) with rsa-sha256 (RFC 6376 3.3.1) or
 * ed25519-sha256 (RFC 8463 3), the algorithm following the key type. */
#ifndef POSTERN_AUTH_DKIM_SIGN_H
#define POSTERN_AUTH_DKIM_SIGN_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/canon.h"
#include "core/buf.h"

struct dkim_sign_options {
	const char *domain;   /* d= */
	const char *selector; /* s= */
	EVP_PKEY *key;        /* RSA (at least 1024 bits) or Ed25519 */
	int64_t now;          /* t=; DKIM_NO_TIME (-1) leaves it out */
	enum canon_alg hcanon, bcanon;
};

/* Signs msg[0..len) (CRLF line ends) and appends the whole field,
 * "DKIM-Signature: ...\r\n", to out, to be put on top of the message.
 * h= lists the present fields of a default set, and From, To, Subject and
 * Date once more than they occur, so that none can be added later (RFC 6376
 * 8.15).  Returns 0, or -1 with a reason in err (no From field, RFC 6376
 * 5.4; an unusable key; a bad domain or selector). */
int dkim_sign(const struct dkim_sign_options *o, const char *msg, size_t len, struct buf *out,
              char *err, size_t errsize);

/* The same as a stream, for a message that arrives in chunks: the body
 * through dkim_signer_body, then the header section head[0..hlen) (up to
 * and including the last field's CRLF) to dkim_signer_finish.  The
 * options' strings and key must outlive the signer.  NULL with a reason
 * in err for an unusable key, domain or selector. */
struct dkim_signer;
struct dkim_signer *dkim_signer_new(const struct dkim_sign_options *o, char *err, size_t errsize);
void dkim_signer_body(struct dkim_signer *s, const void *p, size_t n);
int dkim_signer_finish(struct dkim_signer *s, const char *head, size_t hlen, struct buf *out,
                       char *err, size_t errsize);
void dkim_signer_free(struct dkim_signer *s);

#endif
