/* Client SMTP Authorization, draft-ietf-marid-csv-csa-02: may the host
 * that claims a HELO name send mail under it?  An SRV record at
 * "_client._smtp.<helo>" answers; when there is none, the parent domains
 * may require every client to publish one.  Results only: the policy
 * engine maps them to verdicts. */
#ifndef POSTERN_POLICY_CSA_H
#define POSTERN_POLICY_CSA_H

#include <stddef.h>

struct dns_resolver;
struct dns_rr;

enum csa_result {
	CSA_NONE,         /* no CSA record for the name, no requirement above it */
	CSA_UNKNOWN,      /* a record that authorizes without a checkable address (weight 3),
	                     or only records we cannot read */
	CSA_AUTHORIZED,   /* authorized, and the client's address is the target's */
	CSA_UNAUTHORIZED, /* see csa_reason */
	CSA_TEMPERROR,    /* a lookup failed; try again later */
};

enum csa_reason {
	CSA_R_NO_RECORD,
	CSA_R_NOT_ASSERTED,      /* unknown */
	CSA_R_ADDRESS_MATCH,     /* authorized */
	CSA_R_DENIED,            /* the record says: not authorized */
	CSA_R_PARENT_REQUIRES,   /* no record, and a parent requires one */
	CSA_R_NO_TARGET_ADDRESS, /* authorized name, but its target has no address of ours */
	CSA_R_ADDRESS_MISMATCH,  /* authorized name, client not at its target */
	CSA_R_SRV_TEMPFAIL,
	CSA_R_ADDR_TEMPFAIL,
};

const char *csa_result_name(enum csa_result r);
const char *csa_reason_text(enum csa_reason r);

/* ---- Reading the SRV records (pure) ---- */

/* Targets checked for one name; more weight-2 records than this are not
 * a configuration the draft describes (one record per name). */
#define CSA_MAX_TARGETS 4
/* Parent domains searched, from the registrable domain down.  The draft
 * gives the Port field's subdomain assertions but no search depth; 5 is
 * Exim's default (dns_csa_search_limit), the one deployed reading. */
#define CSA_MAX_PARENTS 5

enum csa_assertion {
	CSA_A_NONE,       /* no version-1 record */
	CSA_A_UNKNOWN,    /* weight 3 (or reserved bits set) only */
	CSA_A_DENIED,     /* a weight 0 or 1 record */
	CSA_A_AUTHORIZED, /* weight 2: the client must be at one of *targets */
};

/* Reads the SRV records found at "_client._smtp.<helo>".  For
 * CSA_A_AUTHORIZED, targets[] receives up to CSA_MAX_TARGETS target names
 * (pointers into rrs); none when every target is "." (no address). */
enum csa_assertion csa_read_own(const struct dns_rr *rrs, size_t n, const char **targets,
                                size_t *ntargets);
/* 1 when SRV records found at a parent domain require every client name
 * below it to carry its own CSA record. */
int csa_read_parent(const struct dns_rr *rrs, size_t n);
/* The parent domains of name (lowercase) to search, top down: offsets
 * into name of the registrable domain and each name between it and name,
 * name itself excluded, at most max.  Returns how many. */
size_t csa_parents(const char *name, size_t *offsets, size_t max);

/* ---- The check ---- */

typedef void (*csa_fn)(void *arg, enum csa_result res, enum csa_reason why);

struct csa_check;

/* Checks helo for client_ip.  done is called exactly once from the event
 * loop, never from inside this call, unless csa_cancel comes first; the
 * check frees itself after done returns.  NULL when there is nothing to
 * look up (an address literal, an empty or overlong name, or client_ip is
 * not an address): the result is CSA_NONE. */
struct csa_check *csa_start(struct dns_resolver *r, const char *helo, const char *client_ip,
                            csa_fn done, void *arg);
/* done will not be called; c must not have completed yet. */
void csa_cancel(struct csa_check *c);

#endif
