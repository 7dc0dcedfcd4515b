/* DMARC (RFC 7489): asynchronous policy discovery over dns.h (6.6.3),
 * evaluation of the aligned SPF and DKIM results against it (6.6.2, 6.6.4)
 * and the Authentication-Results entry for the outcome (RFC 8601). */
#ifndef POSTERN_AUTH_DMARC_H
#define POSTERN_AUTH_DMARC_H

#include "auth/dmarc_record.h"
#include "core/buf.h"

#include <stddef.h>

struct dns_resolver;

/* The results of RFC 7489 11.2 (Authentication-Results method "dmarc"). */
enum dmarc_result {
	DMARC_NONE,      /* no policy record: no DMARC processing */
	DMARC_PASS,      /* an aligned identifier passed */
	DMARC_FAIL,      /* a policy exists and no aligned identifier passed */
	DMARC_TEMPERROR, /* a DNS lookup failed temporarily */
	DMARC_PERMERROR, /* the policy record is unusable, or the From domain is no DNS name */
};

const char *dmarc_result_name(enum dmarc_result res);

/* What to evaluate.  The strings are copied by dmarc_check_start. */
struct dmarc_request {
	const char *from_domain; /* the RFC5322.From domain (dmarc_from_domain) */
	/* The domain SPF authenticated with a pass (the RFC5321.MailFrom
	 * domain, 6.6.2), or NULL when SPF did not pass. */
	const char *spf_domain;
	/* The d= domains of the DKIM signatures that verified. */
	const char *const *dkim_domains;
	size_t ndkim;
	/* A uniformly random number in 0..99 for pct= sampling (6.6.4); the
	 * policy applies when sample < pct. */
	unsigned sample;
};

struct dmarc_outcome {
	enum dmarc_result result;
	const char *from_domain;
	const char *org_domain;            /* NULL when the From domain has none */
	const char *record_domain;         /* where the record was found, or NULL */
	const struct dmarc_record *record; /* the record applied, or NULL */
	enum dmarc_policy policy;          /* the published policy for the From domain: p,
	                                      or sp for a subdomain of the record's domain */
	enum dmarc_policy disposition;     /* what to do with the message: none unless
	                                      fail; one step lower when sampled out */
	int sampled_out;                   /* fail, pct < 100, and the sample missed */
	int spf_aligned, dkim_aligned;
	const char *dkim_domain; /* the first aligned d=, or NULL */
	const char *problem;     /* why none/temperror/permerror, for logs; else NULL */
};

struct dmarc_check;

/* Starts policy discovery through r.  done is called exactly once from the
 * event loop, never from inside this call, unless dmarc_check_cancel comes
 * first; out lives only during the call and the check is freed right after
 * it returns. */
struct dmarc_check *dmarc_check_start(struct dns_resolver *r, const struct dmarc_request *req,
                                      void (*done)(void *arg, const struct dmarc_outcome *out),
                                      void *arg);
/* Stops a check whose done has not been called yet and frees it. */
void dmarc_check_cancel(struct dmarc_check *c);

/* Appends the resinfo of RFC 8601 2.2 for o, without the leading "; ":
 * "dmarc=fail (p=reject sp=reject dis=quarantine) header.from=example.org
 * policy.dmarc=reject".  Returns 0 or -1 (out full). */
int dmarc_authres(const struct dmarc_outcome *o, struct buf *out);

#endif
