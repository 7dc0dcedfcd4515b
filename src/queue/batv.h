/* Bounce Address Tag Validation, the "prvs" scheme of
 * draft-levine-smtp-batv-01 section 4: our envelope senders carry a tag
 * that only we can make, so that a bounce to an address without a valid
 * tag is backscatter.  Pure functions: no I/O, no state.
 *
 * Form: "prvs=KDDDSSSSSS=local@domain", the draft's; a tag anywhere else
 * in the address (after the local part, say) is not recognised.  K is
 * the key number, always 0; DDD the day the tag was made, days since the
 * epoch modulo 1000; SSSSSS, in hex, the first three bytes of HMAC-SHA256
 * under the key of "KDDD" followed by the address.  The draft's HMAC is
 * SHA-1, and Exim puts in DDD the day the tag expires (seven days on):
 * since only we ever check our tags, neither choice has to agree with
 * another implementation, so we take SHA-256, and the day of making,
 * which lets the validity period be a setting of the checker that
 * applies to tags already out. */
#ifndef POSTERN_QUEUE_BATV_H
#define POSTERN_QUEUE_BATV_H

#include "queue/hmac_key.h"

#include <stddef.h>
#include <time.h>

/* "prvs=" and "KDDDSSSSSS=" */
#define BATV_TAG_LEN 16

enum batv_result {
	BATV_NONE,    /* not a prvs address */
	BATV_VALID,   /* our tag, made at most max_age_days ago */
	BATV_EXPIRED, /* our tag, older */
	BATV_BAD,     /* "prvs=" but malformed, of another key or a wrong hash */
};

/* Writes the tagged form of addr ("local@domain", a Dot-string local part
 * and a domain name, as addr_format writes them) to out.  Returns 0, or -1
 * when addr is not such an address (empty, null path, quoted local part,
 * address literal) or when the result would not fit an RFC 5321 path
 * (local part 64 octets, 256 with the brackets) or outsize. */
int batv_sign(const unsigned char key[HMAC_KEY_LEN], const char *addr, time_t now, char *out,
              size_t outsize);

/* Checks the tag of addr (the "prvs=" prefix and the hex in any case; the
 * address itself is hashed as it stands, but for the case of the domain,
 * which mail systems may change).  For BATV_VALID and BATV_EXPIRED, orig
 * receives the address without the tag; otherwise it is made "".  An orig
 * of strlen(addr) + 1 bytes always suffices; a smaller one that cannot
 * hold the result gives BATV_BAD.  Day numbers wrap at 1000: a tag is
 * valid from its day until max_age_days (0 to 999) later. */
enum batv_result batv_check(const unsigned char key[HMAC_KEY_LEN], const char *addr, time_t now,
                            int max_age_days, char *orig, size_t origsize);

const char *batv_result_text(enum batv_result r);

#endif
