/* The run-time objects of the policy section (rDNS patterns, DNSBL lists
 * with their return codes), built from the configuration.  Building them
 * is also the check of what core/config.c cannot judge (code syntax,
 * regular expressions), so check-config and a reload report those errors
 * with file:line too. */
#ifndef POSTERN_POLICY_CONFIG_H
#define POSTERN_POLICY_CONFIG_H

#include "core/buf.h"
#include "core/config.h"
#include "policy/dnsbl.h"

struct rdns_patterns;

struct policy_objects {
	struct rdns_patterns *rdns; /* NULL when no pattern is configured */
	struct dnsbl_list *ip_lists, *rhs_lists;
	size_t nip, nrhs;
};

/* Returns 0, or -1 after appending "file:line: message" lines to errors
 * (out is then freed). */
int policy_objects_build(const struct config *cfg, struct policy_objects *out, struct buf *errors);
void policy_objects_free(struct policy_objects *o);

#endif
