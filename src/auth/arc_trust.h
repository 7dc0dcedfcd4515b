/* Trusted ARC sealers (RFC 8617 7.2, RFC 7489 7.2.1.1 "trusted_forwarder"):
 * a forwarder the operator trusts, such as a mailing list, saw the message
 * pass DMARC before it changed it and said so in its sealed
 * ARC-Authentication-Results.  A pure function over a collected chain. */
#ifndef POSTERN_AUTH_ARC_TRUST_H
#define POSTERN_AUTH_ARC_TRUST_H

#include <stddef.h>

#include "auth/arc_chain.h"

/* The highest instance of c whose ARC-Seal is signed by a domain in
 * trusted[0..ntrusted) (d=, compared without case) and whose
 * ARC-Authentication-Results reports dmarc=pass with header.from equal to
 * from_domain; 0 when there is none.  The caller has validated the chain
 * (cv=pass): the seals are what make the results trustworthy. */
unsigned arc_trusted_pass(const struct arc_chain *c, const char *const *trusted, size_t ntrusted,
                          const char *from_domain);

#endif
