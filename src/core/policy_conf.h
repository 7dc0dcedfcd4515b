/* The policy section of the configuration: for each check result, the
 * action it leads to (accept, tag, score N, tempfail, reject, each with an
 * optional reply text), and the score thresholds.  Declared here, next to
 * the other parameters, so that check-config reports file:line. */
#ifndef POSTERN_POLICY_CONF_H
#define POSTERN_POLICY_CONF_H

#include "core/netlist.h"

#include <stddef.h>

enum policy_result {
	PR_IPREV_FAIL,
	PR_IPREV_TEMPERROR,
	PR_RDNS_GENERIC,
	PR_HELO_INVALID,
	PR_HELO_OURS,
	PR_HELO_LITERAL_MISMATCH,
	PR_HELO_NXDOMAIN,
	PR_HELO_NO_MATCH,
	PR_HELO_TEMPERROR,
	PR_SPF_FAIL,
	PR_SPF_SOFTFAIL,
	PR_SPF_NEUTRAL,
	PR_SPF_NONE,
	PR_SPF_PERMERROR,
	PR_SPF_TEMPERROR,
	PR_SPF_HELO_FAIL,
	PR_SPF_HELO_SOFTFAIL,
	PR_SPF_HELO_TEMPERROR,
	PR_SPF_RDNS_FAIL,
	PR_CSA_UNAUTHORIZED,
	PR_CSA_TEMPERROR,
	PR_DNSBL_LISTED,
	PR_DNSBL_TEMPERROR,
	/* End of DATA: message authentication (RFC 6376, RFC 7489, RFC 8617). */
	PR_DKIM_FAIL,
	PR_DMARC_REJECT,
	PR_DMARC_QUARANTINE,
	PR_DMARC_NONE_FAIL,
	PR_DMARC_TEMPERROR,
	PR_FROM_INVALID,
	PR_ARC_FAIL,
	PR_COUNT
};

enum policy_action { PA_ACCEPT, PA_TAG, PA_SCORE, PA_TEMPFAIL, PA_REJECT };

struct policy_rule {
	enum policy_action action;
	long score; /* PA_SCORE */
	char *text; /* reply text for tempfail/reject; NULL: the default */
};

struct policy_conf {
	struct policy_rule rules[PR_COUNT];
	long score_reject;   /* a total at or above it rejects; 0: never */
	long score_tempfail; /* a total at or above it tempfails; 0: never */
	long dnsbl_budget_ms;
	char *trusted_networks; /* "cidr,cidr": no checks for these clients, as given */
	struct netlist trusted; /* the same, parsed */
	/* Operator patterns for the rDNS classifier (globs, or /regex/). */
	char **rdns_generic;
	size_t nrdns_generic;
	char **rdns_not_generic;
	size_t nrdns_not_generic;
	int rdns_line; /* where they were given, for errors found later */
	/* ARC sealers (d= domains) whose dmarc=pass stands in for a DMARC
	 * failure here, e.g. the mailing lists the users subscribe to. */
	char **arc_trusted_sealers;
	size_t narc_trusted_sealers;
	long check_submission; /* 1: authenticated submission is checked too */
};

const char *policy_result_name(enum policy_result r);
const char *policy_action_name(enum policy_action a);

/* Parses "accept", "tag", "score N", "tempfail", "reject", each optionally
 * followed by ": reply text".  Returns 0, or -1 with a reason in err. */
int policy_rule_parse(const char *text, struct policy_rule *out, char *err, size_t errsize);
void policy_conf_defaults(struct policy_conf *pc);
void policy_conf_free(struct policy_conf *pc);

#endif
