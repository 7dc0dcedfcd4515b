/* DKIM verification (RFC 6376 6) of a message fed as a stream: the header
 * section is kept, every signature's body hash is computed while the body
 * passes, and keys are then fetched through the asynchronous resolver. */
#ifndef POSTERN_AUTH_DKIM_VERIFY_H
#define POSTERN_AUTH_DKIM_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "auth/dkim_sig.h"

struct event_base;
struct dns_resolver;
struct dkim_verifier;

/* RFC 8601 2.7.1 dkim results ("none" is a message with no signature: an
 * empty result list). */
enum dkim_result {
	DKIM_PASS,
	DKIM_FAIL,
	DKIM_NEUTRAL,
	DKIM_TEMPERROR,
	DKIM_PERMERROR,
	DKIM_POLICY,
};

struct dkim_sig_result {
	enum dkim_result result;
	char reason[160]; /* "" for pass */
	/* RFC 8601 2.7.1 / RFC 6008 properties; "" when the signature had none */
	char d[DKIM_DOMAIN_MAX + 1];
	char i[DKIM_I_MAX + 1];
	char a[16];
	char s[DKIM_DOMAIN_MAX + 1];
	char b[9];
	int testing;      /* the key says t=y (RFC 6376 3.6.1) */
	int beyond_limit; /* body content past l= was not signed (RFC 6376 8.2) */
};

struct dkim_keycache;

struct dkim_verify_options {
	struct dkim_keycache *keys; /* parsed keys to reuse, or NULL */
	int64_t now;                /* seconds since the epoch, for x= (3.5) */
	size_t max_signatures;      /* verified at most; the rest get "policy" */
	size_t max_header_bytes;    /* header section limit */
};

/* res[0..n) in header order; valid during the call only. */
typedef void (*dkim_verify_done_fn)(void *arg, const struct dkim_sig_result *res, size_t n);

struct dkim_verifier *dkim_verify_new(const struct dkim_verify_options *opt);
/* The message's bytes (CRLF line ends) in any chunks.  Returns 0, or -1
 * once the header section is over max_header_bytes: then none of its
 * signatures can be checked and none is reported (the same holds for a
 * section of more than 1000 fields). */
int dkim_verify_feed(struct dkim_verifier *v, const void *p, size_t n);
/* Ends the message and fetches the keys; done runs later from base's loop,
 * exactly once unless dkim_verify_free comes first. */
void dkim_verify_finish(struct dkim_verifier *v, struct event_base *base, struct dns_resolver *r,
                        dkim_verify_done_fn done, void *arg);
void dkim_verify_free(struct dkim_verifier *v);

const char *dkim_result_name(enum dkim_result r);

#endif
