/* The ARC sets of a header section gathered into a chain and checked
 * against the structural rules of RFC 8617 5.2 (steps 1 to 3), and the
 * ARC-Seal hash input of RFC 8617 5.1.1.  Pure functions, no I/O. */
#ifndef POSTERN_AUTH_ARC_CHAIN_H
#define POSTERN_AUTH_ARC_CHAIN_H

#include <stddef.h>

#include "auth/arc_set.h"
#include "auth/msghdr.h"
#include "core/buf.h"

struct arc_set {
	/* Views into the header section the chain was collected from. */
	struct msghdr_field aar, ams, as;
	struct arc_ams ams_sig;
	struct arc_seal seal;
};

struct arc_chain {
	/* The highest instance any ARC field names (0: no ARC field), the
	 * instance a sealer continues from (RFC 8617 5.1 step 2). */
	unsigned n;
	/* The seal of instance n parsed and says cv=fail (RFC 8617 5.1 step 1,
	 * 5.2 step 2). */
	int latest_cv_fail;
	struct arc_set sets[ARC_MAX_SETS]; /* sets[k] is instance k + 1 */
};

/* Gathers the ARC fields of f[0..n) into c.  Returns ARC_CV_NONE when
 * there is none; ARC_CV_FAIL with a reason in err when a field does not
 * parse or the structure is broken (an instance without exactly one of
 * each field, a gap, a seal with cv=fail, cv= other than none at i=1 or
 * other than pass above it); ARC_CV_PASS when the structure holds and
 * only the signatures remain to be checked.  c->n and c->latest_cv_fail
 * are set in every case. */
enum arc_cv arc_chain_collect(const struct msghdr_field *f, size_t n, struct arc_chain *c,
                              char *err, size_t errsize);

/* The authres-payload of s's ARC-Authentication-Results, what follows
 * "i=N;" (RFC 8617 4.1.1): a view into the header section, or NULL when
 * the set has no such field. */
const char *arc_set_aar_payload(const struct arc_set *s, size_t *len);

/* Appends the hash input of a seal (RFC 8617 5.1.1): for each set, its
 * ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal fields
 * in relaxed canonical form, sets in increasing instance order; the last
 * field, the seal being made or checked, with b= emptied and no CRLF.
 * f[3k], f[3k+1], f[3k+2] are the three fields of set k in that order.
 * Returns 0, or -1 when out is full or the last seal has no b=. */
int arc_seal_input(const struct msghdr_field *f, size_t nsets, struct buf *out);

#endif
