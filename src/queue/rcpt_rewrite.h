/* What a recipient at one of our domains stands for before aliases and
 * mailboxes are looked at: a bounce to an SRS address we made goes back
 * to the address it was made from, a BATV tag of ours is taken off, and a
 * bounce (null sender) to a local address without a valid tag of ours is
 * refused, since we never sent mail from such an address (batv.check).
 * Pure: no I/O; the keys are the caller's. */
#ifndef POSTERN_QUEUE_RCPT_REWRITE_H
#define POSTERN_QUEUE_RCPT_REWRITE_H

#include "core/config.h"
#include "queue/batv.h"
#include "queue/srs.h"
#include "smtp/addr.h"

#include <time.h>

struct rcpt_keys {
	const unsigned char *batv; /* NULL: no tag is taken off or asked for */
	const unsigned char *srs;  /* NULL: SRS addresses are taken as they are */
	int batv_check;            /* a bounce to a local address needs a valid tag */
	int batv_max_age_days;
	int srs_max_age_days;
};

enum rcpt_verdict {
	RCPT_GO,
	RCPT_REFUSE_BATV, /* a bounce to a local address without a valid tag */
	RCPT_REFUSE_SRS,  /* an SRS address that is not ours or is too old */
};

struct rcpt_rewrite {
	char addr[ADDR_PATH_MAX + 1]; /* the recipient to go on with */
	/* SRS_VALID: addr is the address our SRS one was made from (for a
	 * bounce to go on to it, local or not). */
	enum srs_result srs;
	/* The recipient's tag: BATV_VALID, and, where no tag is asked for,
	 * BATV_EXPIRED, leave addr without it. */
	enum batv_result batv;
};

/* Rewrites addr ("local@domain" at a local domain of cfg) for a
 * transaction whose sender is null (null_sender) or not.  The SRS
 * address is turned back first; a tag is then looked for on the address
 * if it is (still) local.  A valid tag always comes off; an expired one
 * too unless a tag is asked for.  A tag is asked for of a bounce when
 * keys->batv_check is set, unless it came through a valid SRS address of
 * ours or goes to postmaster or abuse (RFC 5321 4.5.1, RFC 2142). */
enum rcpt_verdict rcpt_rewrite(const struct config *cfg, const struct rcpt_keys *keys,
                               const char *addr, int null_sender, time_t now,
                               struct rcpt_rewrite *out);

#endif
