/* The verdict engine: rules and score thresholds, and the replies they
 * give (RFC 7372 codes for SPF and reverse DNS). */
#include "policy/verdict.h"

#include <stdio.h>
#include <string.h>

void verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = PA_ACCEPT;
}

static void add_tag(struct verdict *v, const char *name)
{
	size_t len = strlen(v->tags);
	snprintf(v->tags + len, sizeof(v->tags) - len, "%s%s", len ? "," : "", name);
}

void verdict_apply(struct verdict *v, const struct policy_conf *pc, enum policy_result r,
                   long extra, const char *detail)
{
	const struct policy_rule *rule = &pc->rules[r];

	v->score += extra;
	switch (rule->action) {
	case PA_ACCEPT:
		return;
	case PA_TAG:
		add_tag(v, policy_result_name(r));
		return;
	case PA_SCORE:
		v->score += rule->score;
		add_tag(v, policy_result_name(r));
		return;
	case PA_TEMPFAIL:
	case PA_REJECT:
		add_tag(v, policy_result_name(r));
		if (v->decided && !(rule->action == PA_REJECT && v->action == PA_TEMPFAIL))
			return;
		v->decided = 1;
		v->action = rule->action;
		v->decisive = r;
		snprintf(v->detail, sizeof(v->detail), "%s", detail ? detail : "");
		return;
	}
}

void verdict_merge(struct verdict *dst, const struct verdict *src)
{
	dst->score += src->score;
	if (src->tags[0]) {
		size_t len = strlen(dst->tags);
		snprintf(dst->tags + len, sizeof(dst->tags) - len, "%s%s", len ? "," : "",
		         src->tags);
	}
	/* As if src's results had been applied after dst's: a reject outranks
	 * a tempfail, the first of equal rank stays. */
	if (!src->decided ||
	    (dst->decided && !(src->action == PA_REJECT && dst->action == PA_TEMPFAIL)))
		return;
	dst->decided = 1;
	dst->action = src->action;
	dst->decisive = src->decisive;
	memcpy(dst->detail, src->detail, sizeof(dst->detail));
}

struct default_reply {
	const char *ecode_perm, *ecode_temp;
	const char *text;
};

/* RFC 7372 2: X.7.23 SPF validation failed, X.7.24 SPF validation error,
 * X.7.25 reverse DNS validation failed; RFC 3463 X.7.1 otherwise. */
static const struct default_reply defaults[PR_COUNT] = {
    [PR_IPREV_FAIL] = {"5.7.25", "4.7.25", "Reverse DNS validation failed"},
    [PR_IPREV_TEMPERROR] = {"5.7.25", "4.7.25", "Reverse DNS lookup failed temporarily"},
    [PR_RDNS_GENERIC] = {"5.7.25", "4.7.25", "Client host name looks dynamic or generic"},
    [PR_HELO_INVALID] = {"5.7.1", "4.7.1", "HELO/EHLO name is not a valid host name"},
    [PR_HELO_OURS] = {"5.7.1", "4.7.1", "HELO/EHLO name is ours, not yours"},
    [PR_HELO_LITERAL_MISMATCH] = {"5.7.1", "4.7.1",
                                  "HELO/EHLO address literal is not your address"},
    [PR_HELO_NXDOMAIN] = {"5.7.1", "4.7.1", "HELO/EHLO name does not exist"},
    [PR_HELO_NO_MATCH] = {"5.7.1", "4.7.1", "HELO/EHLO name does not resolve to your address"},
    [PR_HELO_TEMPERROR] = {"5.7.1", "4.7.1", "HELO/EHLO name lookup failed temporarily"},
    [PR_SPF_FAIL] = {"5.7.23", "4.7.23", "SPF validation failed"},
    [PR_SPF_SOFTFAIL] = {"5.7.23", "4.7.23", "SPF validation failed (softfail)"},
    [PR_SPF_NEUTRAL] = {"5.7.23", "4.7.23", "SPF result neutral"},
    [PR_SPF_NONE] = {"5.7.23", "4.7.23", "No SPF record"},
    [PR_SPF_PERMERROR] = {"5.7.24", "4.7.24", "SPF validation error"},
    [PR_SPF_TEMPERROR] = {"5.7.24", "4.7.24", "SPF validation error, try again later"},
    [PR_SPF_HELO_FAIL] = {"5.7.23", "4.7.23", "SPF validation of the HELO name failed"},
    [PR_SPF_HELO_SOFTFAIL] = {"5.7.23", "4.7.23",
                              "SPF validation of the HELO name failed (softfail)"},
    [PR_SPF_HELO_TEMPERROR] = {"5.7.24", "4.7.24", "SPF validation error, try again later"},
    [PR_SPF_RDNS_FAIL] = {"5.7.23", "4.7.23", "Client not authorized by its host name's SPF"},
    [PR_CSA_UNAUTHORIZED] = {"5.7.1", "4.7.1", "Client not authorized to send by CSA"},
    [PR_CSA_TEMPERROR] = {"5.7.1", "4.7.1", "CSA lookup failed temporarily"},
    [PR_DNSBL_LISTED] = {"5.7.1", "4.7.1", "Client host is listed in a DNS blocklist"},
    [PR_DNSBL_TEMPERROR] = {"5.7.1", "4.7.1", "DNS blocklist lookup failed temporarily"},
    [PR_DKIM_FAIL] = {"5.7.20", "4.7.20", "DKIM signature did not verify"},
    [PR_DMARC_REJECT] = {"5.7.1", "4.7.1", "Rejected by the DMARC policy of the From domain"},
    [PR_DMARC_QUARANTINE] = {"5.7.1", "4.7.1",
                             "The DMARC policy of the From domain says quarantine"},
    [PR_DMARC_NONE_FAIL] = {"5.7.1", "4.7.1", "DMARC validation failed"},
    [PR_DMARC_TEMPERROR] = {"5.7.1", "4.7.1", "DMARC policy lookup failed temporarily"},
    [PR_FROM_INVALID] = {"5.7.1", "4.7.1",
                         "Message must have exactly one From address (RFC 7489 6.6.1)"},
    [PR_ARC_FAIL] = {"5.7.29", "4.7.29", "ARC validation failed"},
};

enum policy_action verdict_decide(const struct verdict *v, const struct policy_conf *pc,
                                  struct verdict_reply *reply)
{
	/* A reject outranks a tempfail, whichever gave it: a score over the
	 * reject threshold is not deferred because a rule tempfailed. */
	int score_rejects = pc->score_reject > 0 && v->score >= pc->score_reject;
	if (v->decided && !(v->action == PA_TEMPFAIL && score_rejects)) {
		const struct default_reply *d = &defaults[v->decisive];
		const char *text = pc->rules[v->decisive].text;
		int perm = v->action == PA_REJECT;
		reply->code = perm ? 550 : 451;
		reply->ecode = perm ? d->ecode_perm : d->ecode_temp;
		if (text)
			snprintf(reply->text, sizeof(reply->text), "%s", text);
		else if (v->detail[0])
			snprintf(reply->text, sizeof(reply->text), "%s: %s", d->text, v->detail);
		else
			snprintf(reply->text, sizeof(reply->text), "%s", d->text);
		return v->action;
	}
	if (score_rejects) {
		reply->code = 550;
		reply->ecode = "5.7.1";
		snprintf(reply->text, sizeof(reply->text), "Refused by policy (score %ld: %s)",
		         v->score, v->tags);
		return PA_REJECT;
	}
	if (pc->score_tempfail > 0 && v->score >= pc->score_tempfail) {
		reply->code = 451;
		reply->ecode = "4.7.1";
		snprintf(reply->text, sizeof(reply->text), "Deferred by policy (score %ld: %s)",
		         v->score, v->tags);
		return PA_TEMPFAIL;
	}
	reply->code = 250;
	reply->ecode = "2.1.5";
	snprintf(reply->text, sizeof(reply->text), "Ok");
	return PA_ACCEPT;
}
