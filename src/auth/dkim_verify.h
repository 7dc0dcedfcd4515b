/* DKIM verification (RFC 6376 6) of a message whose header section the
 * caller collects (struct msghead, one per message for every consumer):
 * the signatures are read from that section, every signature's body hash
 * is computed while the body passes, and keys are then fetched through the
 * asynchronous resolver. */
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
};

/* res[0..n) in header order; valid during the call only. */
typedef void (*dkim_verify_done_fn)(void *arg, const struct dkim_sig_result *res, size_t n);

struct dkim_verifier *dkim_verify_new(const struct dkim_verify_options *opt);
/* The message's header section (CRLF line ends), given once, before any
 * body byte and before dkim_verify_finish: head[0..len) as msghead_section
 * gives it, the fields and the empty line that ends them (or the whole
 * message when it has none).  head NULL says the section was over the
 * caller's limit: then none of its signatures can be checked and none is
 * reported (the same holds for a section of more than 1000 fields).
 * Ownership: head is read during the call only; what is needed later (the
 * parsed signatures and their header hash inputs) is copied then. */
void dkim_verify_header(struct dkim_verifier *v, const char *head, size_t len);
/* The body: the bytes after the header section, in pieces of any size. */
void dkim_verify_body(struct dkim_verifier *v, const void *p, size_t n);
/* Ends the message (after dkim_verify_header) and fetches the keys; done
 * runs later from base's loop, exactly once unless dkim_verify_free comes
 * first. */
void dkim_verify_finish(struct dkim_verifier *v, struct event_base *base, struct dns_resolver *r,
                        dkim_verify_done_fn done, void *arg);
void dkim_verify_free(struct dkim_verifier *v);

const char *dkim_result_name(enum dkim_result r);

#endif
