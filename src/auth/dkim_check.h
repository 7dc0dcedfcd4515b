/* The per-signature steps of RFC 6376 6.1.3 that need no I/O: building the
 * header hash input and checking a signature against a key. */
#ifndef POSTERN_AUTH_DKIM_CHECK_H
#define POSTERN_AUTH_DKIM_CHECK_H

#include <stddef.h>

#include "auth/dkim_key.h"
#include "auth/dkim_sig.h"
#include "auth/msghdr.h"
#include "core/buf.h"

/* Appends to out the canonical header fields that sig's h= selects (5.4.2:
 * the last unused instance of each name, from the bottom up; absent names
 * add nothing), then the signature field sigf itself with the value of b=
 * emptied and no final CRLF (3.7).  Returns 0, or -1 when out is full or
 * sigf has no b= tag. */
int dkim_header_input(const struct dkim_sig *sig, const struct msghdr_field *fields, size_t n,
                      const struct msghdr_field *sigf, struct buf *out);

/* Checks sig's b= over input[0..len) with key: rsa-sha256 is RSASSA-PKCS1-v1_5
 * over SHA-256 (RFC 6376 3.3.1); ed25519-sha256 is PureEdDSA over the SHA-256
 * of the input (RFC 8463 3).  Returns 1 (valid), 0 (invalid) or -1 with a
 * reason in err when key and signature cannot go together. */
int dkim_check_signature(const struct dkim_sig *sig, const struct dkim_key *key, const char *input,
                         size_t len, char *err, size_t errsize);

#endif
