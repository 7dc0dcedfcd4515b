/* The DKIM-Signature header field (RFC 6376 3.5) parsed and checked against
 * the rules of RFC 6376 6.1.1 and RFC 8301. */
#ifndef POSTERN_AUTH_DKIM_SIG_H
#define POSTERN_AUTH_DKIM_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "auth/canon.h"

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
	DKIM_ALG_RSA_SHA1, /* parsed so that it can fail as RFC 8301 3.1 says */
};

#define DKIM_SIG_MAX_HEADERS 64
#define DKIM_SIG_H_MAX 1024
#define DKIM_DOMAIN_MAX 253
#define DKIM_I_MAX 512
#define DKIM_B_MAX 1024 /* an RSA-8192 signature */
#define DKIM_BH_MAX 64
#define DKIM_NO_TIME (-1)

struct dkim_sig {
	enum dkim_alg alg;
	enum canon_alg hcanon, bcanon;
	char d[DKIM_DOMAIN_MAX + 1];
	char s[DKIM_DOMAIN_MAX + 1];
	char i[DKIM_I_MAX + 1]; /* "" when absent: then it is "@" d (3.5) */
	char b_prefix[9];       /* RFC 8601 2.7.1 header.b: the first 8 characters */
	unsigned char b[DKIM_B_MAX];
	size_t b_len;
	unsigned char bh[DKIM_BH_MAX];
	size_t bh_len;
	/* h= with FWS removed, names separated by NUL; h_off[k] starts name k. */
	char h[DKIM_SIG_H_MAX];
	uint16_t h_off[DKIM_SIG_MAX_HEADERS];
	size_t nh;
	uint64_t l;   /* CANON_NO_LIMIT when absent */
	int64_t t, x; /* DKIM_NO_TIME when absent */
};

/* Parses the value of a DKIM-Signature field (after the colon).  Returns 0,
 * or -1 with a reason in err when the signature is invalid (RFC 6376 6.1.1
 * PERMFAIL: syntax, missing required tag, v= not 1, unknown a= or c=, i=
 * outside d=, From not signed, x= before t=, q= without dns/txt). */
int dkim_sig_parse(const char *v, size_t len, struct dkim_sig *out, char *err, size_t errsize);

/* RFC 8617 4.1.2: an ARC-Message-Signature is a DKIM-Signature without v=
 * (ignored if present), whose i= is the ARC instance (left to the caller,
 * never read as an AUID) and which need not sign From; h= may be empty and
 * an empty name in it selects nothing (the ARC test suite's expectation). */
#define DKIM_SIG_ARC 1u
/* dkim_sig_parse with flags (0 or DKIM_SIG_ARC). */
int dkim_sig_parse_flags(const char *v, size_t len, unsigned flags, struct dkim_sig *out, char *err,
                         size_t errsize);

const char *dkim_sig_header(const struct dkim_sig *sig, size_t k);
const char *dkim_alg_name(enum dkim_alg a);

/* 1 when s[0..len) is a DKIM domain-name (RFC 6376 3.5 d=: dot-separated
 * labels of letters, digits and inner hyphens); underscore is accepted in
 * selectors only (allow_underscore). */
int dkim_domain_valid(const char *s, size_t len, int allow_underscore);

#endif
