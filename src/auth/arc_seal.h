/* ARC sealing (RFC 8617 5.1): the ARC-Authentication-Results,
 * ARC-Message-Signature and ARC-Seal of a new set for a whole message,
 * with rsa-sha256 or ed25519-sha256 following the key type. */
#ifndef POSTERN_AUTH_ARC_SEAL_H
#define POSTERN_AUTH_ARC_SEAL_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/arc_set.h"
#include "core/buf.h"

struct arc_seal_options {
	enum arc_cv cv;          /* cv= to record: the caller's validation of the chain */
	const char *authserv_id; /* RFC 8601 2.2 authserv-id of this ADMD */
	const char *authres;     /* the AAR's results (RFC 8601 resinfo list, one
	                            line); NULL or "" records "none" */
	const char *domain;      /* d= */
	const char *selector;    /* s= */
	EVP_PKEY *key;           /* RSA (1024 to 8192 bits) or Ed25519 */
	int64_t now;             /* t=; DKIM_NO_TIME (-1) leaves it out */
	const char *headers;     /* AMS h=: field names separated by ':' */
};

#define ARC_SEAL_ADDED 0
#define ARC_SEAL_SKIPPED 1

/* Seals msg[0..len) (CRLF line ends).  Returns ARC_SEAL_ADDED with
 * "ARC-Seal: ...\r\nARC-Message-Signature: ...\r\nARC-Authentication-
 * Results: ...\r\n" appended to out, to be put on top of the message in
 * that order; ARC_SEAL_SKIPPED with nothing appended when the latest seal
 * already says cv=fail (RFC 8617 5.1 step 1); or -1 with a reason in err:
 * a bad option, an unusable key, 50 sets already (RFC 8617 4.2.1), cv=none
 * on a message that has a chain, or cv=pass on one whose chain is absent
 * or structurally broken.  With cv=fail the seal covers only the new set
 * (RFC 8617 5.1.2). */
int arc_seal(const struct arc_seal_options *o, const char *msg, size_t len, struct buf *out,
             char *err, size_t errsize);

#endif
