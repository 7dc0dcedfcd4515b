/* Reading CSA SRV records (draft-ietf-marid-csv-csa-02 section 5) and
 * choosing the parent domains to search: pure functions (see csa.h). */
#include "policy/csa.h"

#include "dns/dns.h"
#include "policy/suffix.h"

#include <string.h>

/* Priority carries the CSA version; this is version 1.  Records of other
 * versions are not ours to read. */
#define CSA_VERSION 1

/* Weight bits: 1 "Ignore Target" (the target is a placeholder whose
 * addresses must not be used), 2 "Authorized".  The other bits are
 * reserved and must be zero. */
#define W_IGNORE_TARGET 1u
#define W_AUTHORIZED 2u

/* Port bit 1: every legitimate client below this domain has a CSA record
 * of its own.  The other bits are reserved and ignored. */
#define P_EXPLICIT 1u

/* RFC 2782: a target of "." means no host offers the service. */
static int target_is_root(const char *t)
{
	return t == NULL || t[0] == '\0' || strcmp(t, ".") == 0;
}

enum csa_assertion csa_read_own(const struct dns_rr *rrs, size_t n, const char **targets,
                                size_t *ntargets)
{
	int denied = 0, authorized = 0, unknown = 0;

	*ntargets = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dns_rr *rr = &rrs[i];
		unsigned w = rr->u.srv.weight;

		if (rr->type != DNS_T_SRV || rr->u.srv.prio != CSA_VERSION)
			continue;
		if (w > (W_IGNORE_TARGET | W_AUTHORIZED)) {
			/* Reserved bits set: the record means something we do
			 * not know, so it asserts nothing we could act on. */
			unknown = 1;
		} else if (!(w & W_AUTHORIZED)) {
			denied = 1;
		} else if (w & W_IGNORE_TARGET) {
			/* Authorized, but no address to authenticate the
			 * client against: the name's claim cannot be checked. */
			unknown = 1;
		} else {
			authorized = 1;
			if (!target_is_root(rr->u.srv.target) && *ntargets < CSA_MAX_TARGETS)
				targets[(*ntargets)++] = rr->u.srv.target;
		}
	}
	/* An explicit "not authorized" wins over any other record: the order
	 * of records in an answer is arbitrary, the verdict must not be. */
	if (denied)
		return CSA_A_DENIED;
	if (authorized)
		return CSA_A_AUTHORIZED;
	return unknown ? CSA_A_UNKNOWN : CSA_A_NONE;
}

int csa_read_parent(const struct dns_rr *rrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rrs[i].type == DNS_T_SRV && rrs[i].u.srv.prio == CSA_VERSION &&
		    (rrs[i].u.srv.port & P_EXPLICIT))
			return 1;
	return 0;
}

size_t csa_parents(const char *name, size_t *offsets, size_t max)
{
	const char *reg = suffix_registrable(name);
	size_t count = 0;

	if (reg == NULL)
		return 0;
	/* From the registrable domain towards name, one label at a time.
	 * Nothing above it is asked: public suffixes publish no CSA records,
	 * and asking their servers for every HELO would only load them. */
	for (size_t off = (size_t)(reg - name); off > 0 && count < max;) {
		offsets[count++] = off;
		off--; /* the dot before this label */
		while (off > 0 && name[off - 1] != '.')
			off--;
	}
	return count;
}

const char *csa_result_name(enum csa_result r)
{
	switch (r) {
	case CSA_NONE:
		return "none";
	case CSA_UNKNOWN:
		return "unknown";
	case CSA_AUTHORIZED:
		return "authorized";
	case CSA_UNAUTHORIZED:
		return "unauthorized";
	case CSA_TEMPERROR:
		return "temperror";
	}
	return "invalid";
}

const char *csa_reason_text(enum csa_reason r)
{
	switch (r) {
	case CSA_R_NO_RECORD:
		return "no CSA record";
	case CSA_R_NOT_ASSERTED:
		return "authorization not asserted";
	case CSA_R_ADDRESS_MATCH:
		return "client address is the authorized target";
	case CSA_R_DENIED:
		return "host name is not authorized";
	case CSA_R_PARENT_REQUIRES:
		return "parent domain requires explicit authorization";
	case CSA_R_NO_TARGET_ADDRESS:
		return "authorized target has no address";
	case CSA_R_ADDRESS_MISMATCH:
		return "client address is not the authorized target";
	case CSA_R_SRV_TEMPFAIL:
		return "SRV lookup failed";
	case CSA_R_ADDR_TEMPFAIL:
		return "target address lookup failed";
	}
	return "invalid";
}
