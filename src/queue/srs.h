/* The Sender Rewriting Scheme as libsrs2 and postsrsd implement it: when
 * we forward a message to another domain, its envelope sender becomes an
 * address of ours that SPF at the next hop accepts and that only we can
 * turn back into the original for a bounce.  Pure functions: no I/O,
 * no state.
 *
 *   SRS0=HHHH=TT=domain=local@forwarder   (we forward local@domain)
 *   SRS1=HHHH=hop=<sep>XXXX@forwarder     (we forward SRS0<sep>XXXX@hop)
 *
 * TT is the day of forwarding, days since the epoch modulo 1024 in two
 * characters of the base32 alphabet A-Z2-7.  HHHH is the first four
 * base64 characters (the first three bytes) of HMAC-SHA1 under the key of
 * TT, domain and local (SRS0) or of hop and <sep>XXXX (SRS1), each
 * lower-cased in ASCII: libsrs2's construction, so our addresses look and
 * age like postsrsd's, and a hop that changes their case does not break
 * them (the hash is compared without regard to case, as libsrs2 does).
 * SRS1 carries no day: the first hop's SRS0 inside it has one.  After the
 * SRS0 or SRS1 tag, '=', '-' and '+' are accepted as separators; we write
 * '='.  The key is our own (hmac_key.h), not a postsrsd secret: nobody
 * else has to read these addresses. */
#ifndef POSTERN_QUEUE_SRS_H
#define POSTERN_QUEUE_SRS_H

#include "queue/hmac_key.h"

#include <stddef.h>
#include <time.h>

enum srs_result {
	SRS_NONE,    /* not an SRS0 or SRS1 address */
	SRS_VALID,   /* ours, not older than max_age_days (SRS1: ours) */
	SRS_EXPIRED, /* an SRS0 of ours, older */
	SRS_BAD,     /* SRS0 or SRS1 but malformed or a wrong hash */
};

/* Writes to out the sender to use when we forward a message whose
 * envelope sender is sender ("local@domain" as addr_format writes it) as
 * forwarder_domain.  Returns 0 when it was rewritten; 1 when it is left as
 * it is (copied to out): the null sender "" (a bounce is forwarded as a
 * bounce) and a sender of forwarder_domain itself (any case), SRS0 and
 * SRS1 addresses of ours included; -1 when it cannot be rewritten into a
 * valid address (no domain, a quoted local part or an address literal,
 * which would not make a Dot-string) or the result would not fit an RFC
 * 5321 path (local part 64 octets, 256 with the brackets) or outsize: the
 * caller then refuses to forward rather than send a sender that cannot
 * be bounced to.  A sender in SRS0 form becomes SRS1 naming its domain as
 * the first hop; a sender in SRS1 form keeps its first hop and gets our
 * hash and domain; a local part that only starts like SRS1 is rewritten
 * as any other. */
int srs_forward(const unsigned char key[HMAC_KEY_LEN], const char *sender,
                const char *forwarder_domain, time_t now, char *out, size_t outsize);

/* Turns addr, a recipient of ours, back into the address a bounce to it
 * goes to: local@domain for an SRS0 (checked against max_age_days, 0 to
 * 1023), the first hop's SRS0 address for an SRS1.  The domain of addr is
 * not looked at (the caller knows it is ours).  For SRS_VALID and
 * SRS_EXPIRED, out receives that address; otherwise it is made "".  An
 * out of strlen(addr) + 1 bytes always suffices; a smaller one that cannot
 * hold the result gives SRS_BAD. */
enum srs_result srs_reverse(const unsigned char key[HMAC_KEY_LEN], const char *addr, time_t now,
                            int max_age_days, char *out, size_t outsize);

const char *srs_result_text(enum srs_result r);

#endif
