/* Turns check results into one verdict, as the policy section says:
 * each result's rule accepts, tags, adds to the score, tempfails or
 * rejects; the total score is compared with the thresholds.  Pure: the
 * session calls it as results arrive and asks for the decision at RCPT,
 * where postmaster and abuse can still be exempted. */
#ifndef POSTERN_VERDICT_H
#define POSTERN_VERDICT_H

#include "core/policy_conf.h"

#include <stddef.h>

struct verdict {
	long score;
	char tags[512];              /* results that tagged or scored, comma-separated */
	int decided;                 /* a rule tempfailed or rejected */
	enum policy_action action;   /* PA_TEMPFAIL or PA_REJECT when decided */
	enum policy_result decisive; /* the first result that decided */
	char detail[256];            /* what that result was about, for the reply */
};

void verdict_init(struct verdict *v);
/* Applies the rule for r.  extra is added to the score whatever the rule
 * (a DNSBL's own weight); detail names the evidence ("192.0.2.1",
 * "example.org") and may be NULL.  A reject outranks a tempfail; the
 * first of equal rank is kept. */
void verdict_apply(struct verdict *v, const struct policy_conf *pc, enum policy_result r,
                   long extra, const char *detail);

/* Adds src's results to dst, as if they had been applied after dst's. */
void verdict_merge(struct verdict *dst, const struct verdict *src);

struct verdict_reply {
	int code;          /* 250 when accepted */
	const char *ecode; /* RFC 3463 / RFC 7372 enhanced code */
	char text[640];
};

/* The decision: a rule's tempfail/reject, else the score thresholds,
 * else accept.  Returns the action (PA_ACCEPT, PA_TEMPFAIL, PA_REJECT). */
enum policy_action verdict_decide(const struct verdict *v, const struct policy_conf *pc,
                                  struct verdict_reply *reply);

#endif
