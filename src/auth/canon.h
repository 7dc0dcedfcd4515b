/* DKIM canonicalisation (RFC 6376 3.4): header fields one at a time, and
 * the body as a stream of arbitrary chunks into a message digest. */
#ifndef POSTERN_AUTH_CANON_H
#define POSTERN_AUTH_CANON_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum canon_alg {
	CANON_SIMPLE,
	CANON_RELAXED,
};

/* Appends the canonical form of one header field h[0..len) (name, colon,
 * value, with or without its final CRLF) to out.  Simple (3.4.1) keeps the
 * bytes; relaxed (3.4.2) lower-cases the name, unfolds, turns WSP runs into
 * one SP and drops WSP at the end of the value and around the colon.  With
 * crlf the result ends in CRLF; without it (the signature header itself,
 * RFC 6376 3.7) it does not.  Returns 0, or -1 when out is full or h has no
 * colon. */
int canon_header(enum canon_alg c, const char *h, size_t len, int crlf, struct buf *out);

#define CANON_STAGE 4096
#define CANON_NO_LIMIT UINT64_MAX

/* A body canonicaliser (3.4.3, 3.4.4) feeding a digest.  Empty lines are
 * held back until a non-empty line proves they are not at the end. */
struct canon_body {
	enum canon_alg alg;
	EVP_MD_CTX *md;
	uint64_t limit;    /* l= (3.5): bytes of canonical body hashed at most */
	uint64_t total;    /* canonical body length, whatever the limit */
	uint64_t empty;    /* empty lines held back */
	int cr;            /* a CR seen, waiting for its LF */
	int line_has_data; /* the current line has (non-WSP for relaxed) content */
	int wsp;           /* relaxed: a WSP run is pending within the line */
	int any;           /* anything at all was emitted */
	size_t staged;     /* bytes in stage */
	unsigned char stage[CANON_STAGE];
};

/* SHA-256, fetched once per process: EVP_sha256() makes OpenSSL 3 look
 * the algorithm up again at every digest initialisation. */
const EVP_MD *canon_sha256(void);

/* md is e.g. canon_sha256(); limit CANON_NO_LIMIT when there is no l=. */
void canon_body_init(struct canon_body *cb, enum canon_alg c, const EVP_MD *md, uint64_t limit);
void canon_body_update(struct canon_body *cb, const void *p, size_t n);
/* Ends the body and writes the digest (at most EVP_MAX_MD_SIZE bytes) to
 * out; returns its length.  cb->total is then the full canonical length. */
unsigned canon_body_final(struct canon_body *cb, unsigned char *out);
/* 1 when the canonical body is longer than the limit (RFC 6376 8.2:
 * content an attacker could have appended). Valid after canon_body_final. */
int canon_body_beyond_limit(const struct canon_body *cb);
void canon_body_free(struct canon_body *cb);

/* Body hashes (SHA-256) shared by the signatures of a message that have
 * the same canonicalisation and l=: one pass over the body feeds them all. */
struct canon_hasher {
	enum canon_alg c;
	uint64_t limit;
	struct canon_body cb;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen; /* set by canon_hashers_final */
};

struct canon_hashers {
	struct canon_hasher *h;
	size_t n, max;
};

/* Room for max distinct hashers; pointers from canon_hashers_get stay
 * valid until canon_hashers_free. */
void canon_hashers_init(struct canon_hashers *s, size_t max);
/* The hasher for (c, limit), made when new; NULL when max are in use. */
struct canon_hasher *canon_hashers_get(struct canon_hashers *s, enum canon_alg c, uint64_t limit);
void canon_hashers_update(struct canon_hashers *s, const void *p, size_t n);
void canon_hashers_final(struct canon_hashers *s);
void canon_hashers_free(struct canon_hashers *s);

#endif
