/* ARC chain validation (RFC 8617 5.2) of a message whose header section
 * the caller collects (struct msghead, one per message for every
 * consumer): the chain is read from that section, the body is hashed once
 * per distinct ARC-Message-Signature body canonicalisation while it
 * passes, and keys are then fetched through the asynchronous resolver. */
#ifndef POSTERN_AUTH_ARC_VERIFY_H
#define POSTERN_AUTH_ARC_VERIFY_H

#include <stddef.h>

#include "auth/arc_chain.h"
#include "auth/arc_set.h"
#include "core/buf.h"

struct event_base;
struct dns_resolver;
struct arc_verifier;

enum arc_sig_status {
	ARC_SIG_UNCHECKED, /* not needed for the result, or the chain broke first */
	ARC_SIG_PASS,
	ARC_SIG_FAIL,
};

/* What was found about one set, for explanations. */
struct arc_set_report {
	enum arc_sig_status ams, as;
	char ams_reason[160], as_reason[160]; /* "" for pass or unchecked */
};

struct arc_result {
	enum arc_cv cv;
	unsigned sets;    /* the i= of the latest set; 0 without ARC fields */
	int oldest_pass;  /* RFC 8617 5.2 step 5 / 7.2.2; -1 when not computed */
	int temporary;    /* a key lookup failed temporarily: retrying may pass */
	char reason[200]; /* why the chain fails; "" otherwise */
	/* The latest set's signers (RFC 8617 7.2), "" when it has none. */
	char ams_d[DKIM_DOMAIN_MAX + 1], ams_s[DKIM_DOMAIN_MAX + 1];
	char as_d[DKIM_DOMAIN_MAX + 1], as_s[DKIM_DOMAIN_MAX + 1];
	struct arc_set_report set[ARC_MAX_SETS]; /* set[k] is instance k + 1 */
	/* The sets as collected (views into the header section the caller
	 * gave to arc_verify_header), for what the sealers said; NULL when
	 * the header section was too large. */
	const struct arc_chain *chain;
};

struct dkim_keycache;

struct arc_verify_options {
	struct dkim_keycache *keys; /* parsed keys to reuse, or NULL */
};

/* res is valid during the call only. */
typedef void (*arc_verify_done_fn)(void *arg, const struct arc_result *res);

struct arc_verifier *arc_verify_new(const struct arc_verify_options *opt);
/* The message's header section (CRLF line ends), given once, before any
 * body byte and before arc_verify_finish: head[0..len) as msghead_section
 * gives it, the fields and the empty line that ends them (or the whole
 * message when it has none).  head NULL says the section was over the
 * caller's limit: the chain then fails (its fields cannot be told apart
 * from the body), and so it does with more than 1000 fields.
 * Ownership: the verifier keeps views into head (the sets of the chain,
 * which the result shows), not a copy: the caller keeps head[0..len)
 * valid and unchanged until done has returned, or until arc_verify_free
 * when that comes first. */
void arc_verify_header(struct arc_verifier *v, const char *head, size_t len);
/* The body: the bytes after the header section, in pieces of any size. */
void arc_verify_body(struct arc_verifier *v, const void *p, size_t n);
/* Ends the message (after arc_verify_header) and fetches the keys; done
 * runs later from base's loop, exactly once unless arc_verify_free comes
 * first. */
void arc_verify_finish(struct arc_verifier *v, struct event_base *base, struct dns_resolver *r,
                       arc_verify_done_fn done, void *arg);
void arc_verify_free(struct arc_verifier *v);

/* Appends the Authentication-Results resinfo for res (RFC 8601 2.2, the
 * "arc" method of RFC 8617 7.2 with the header.oldest-pass property), e.g.
 * "arc=pass (i=2 d=example.org s=sel) header.oldest-pass=0".  Returns 0,
 * or -1 when out is full. */
int arc_result_format(const struct arc_result *res, struct buf *out);

#endif
