/* Names, defaults and the action syntax of the policy section. */
#include "core/policy_conf.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rule_decl {
	const char *name;
	const char *def;
};

/* Defaults: a DNS temperror tempfails rather than letting mail through
 * unchecked; hard evidence of forgery rejects; soft signals only score. */
static const struct rule_decl decls[PR_COUNT] = {
    [PR_IPREV_FAIL] = {"iprev_fail", "score 3"},
    [PR_IPREV_TEMPERROR] = {"iprev_temperror", "tempfail"},
    [PR_RDNS_GENERIC] = {"rdns_generic", "score 3"},
    [PR_HELO_INVALID] = {"helo_invalid", "reject"},
    [PR_HELO_OURS] = {"helo_ours", "reject"},
    [PR_HELO_LITERAL_MISMATCH] = {"helo_literal_mismatch", "score 2"},
    [PR_HELO_NXDOMAIN] = {"helo_nxdomain", "score 2"},
    [PR_HELO_NO_MATCH] = {"helo_no_match", "score 1"},
    [PR_HELO_TEMPERROR] = {"helo_temperror", "tempfail"},
    [PR_SPF_FAIL] = {"spf_fail", "reject"},
    [PR_SPF_SOFTFAIL] = {"spf_softfail", "score 3"},
    [PR_SPF_NEUTRAL] = {"spf_neutral", "accept"},
    [PR_SPF_NONE] = {"spf_none", "accept"},
    [PR_SPF_PERMERROR] = {"spf_permerror", "score 2"},
    [PR_SPF_TEMPERROR] = {"spf_temperror", "tempfail"},
    [PR_SPF_HELO_FAIL] = {"spf_helo_fail", "reject"},
    [PR_SPF_HELO_SOFTFAIL] = {"spf_helo_softfail", "score 2"},
    [PR_SPF_HELO_TEMPERROR] = {"spf_helo_temperror", "tempfail"},
    [PR_SPF_RDNS_FAIL] = {"spf_rdns_fail", "score 2"},
    [PR_CSA_UNAUTHORIZED] = {"csa_unauthorized", "reject"},
    [PR_CSA_TEMPERROR] = {"csa_temperror", "tempfail"},
    [PR_DNSBL_LISTED] = {"dnsbl_listed", "tag"},
    [PR_DNSBL_TEMPERROR] = {"dnsbl_temperror", "tag"},
    [PR_DKIM_FAIL] = {"dkim_fail", "accept"},
    [PR_DMARC_REJECT] = {"dmarc_reject", "reject"},
    [PR_DMARC_QUARANTINE] = {"dmarc_quarantine", "tag"},
    [PR_DMARC_NONE_FAIL] = {"dmarc_none_fail", "accept"},
    [PR_DMARC_TEMPERROR] = {"dmarc_temperror", "accept"},
    [PR_FROM_INVALID] = {"from_invalid", "reject"},
    [PR_ARC_FAIL] = {"arc_fail", "accept"},
};

const char *policy_result_name(enum policy_result r)
{
	return r < PR_COUNT ? decls[r].name : "?";
}

const char *policy_action_name(enum policy_action a)
{
	static const char *const names[] = {"accept", "tag", "score", "tempfail", "reject"};
	return names[a];
}

int policy_rule_parse(const char *text, struct policy_rule *out, char *err, size_t errsize)
{
	const char *colon = strchr(text, ':');
	size_t len = colon ? (size_t)(colon - text) : strlen(text);
	char word[32];

	while (len > 0 && text[len - 1] == ' ')
		len--;
	if (len >= sizeof(word)) {
		snprintf(err, errsize, "'%s' is not an action", text);
		return -1;
	}
	memcpy(word, text, len);
	word[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (strcasecmp(word, "accept") == 0)
		out->action = PA_ACCEPT;
	else if (strcasecmp(word, "tag") == 0)
		out->action = PA_TAG;
	else if (strcasecmp(word, "tempfail") == 0)
		out->action = PA_TEMPFAIL;
	else if (strcasecmp(word, "reject") == 0)
		out->action = PA_REJECT;
	else if (strncasecmp(word, "score ", 6) == 0) {
		char *end;
		long n = strtol(word + 6, &end, 10);
		if (*end != '\0' || end == word + 6 || n < -1000 || n > 1000) {
			snprintf(err, errsize, "'%s': score takes a number from -1000 to 1000",
			         text);
			return -1;
		}
		out->action = PA_SCORE;
		out->score = n;
	} else {
		snprintf(err, errsize,
		         "'%s' is not an action (accept, tag, score N, tempfail, reject)", text);
		return -1;
	}
	if (colon) {
		const char *t = colon + 1;
		while (*t == ' ')
			t++;
		if (out->action != PA_TEMPFAIL && out->action != PA_REJECT) {
			snprintf(err, errsize, "'%s': only tempfail and reject take a reply text",
			         text);
			return -1;
		}
		for (const char *c = t; *c; c++)
			if ((unsigned char)*c < 32 || (unsigned char)*c == 127) {
				snprintf(err, errsize, "'%s': control character in reply text",
				         text);
				return -1;
			}
		if (*t)
			out->text = xstrdup(t);
	}
	return 0;
}

void policy_conf_defaults(struct policy_conf *pc)
{
	char err[256];
	memset(pc, 0, sizeof(*pc));
	for (int i = 0; i < PR_COUNT; i++)
		if (policy_rule_parse(decls[i].def, &pc->rules[i], err, sizeof(err)) < 0)
			abort(); /* the table above is wrong */
	pc->score_reject = 10;
	pc->score_tempfail = 0;
	pc->dnsbl_budget_ms = 5000;
	pc->trusted_networks = xstrdup("127.0.0.0/8,::1/128");
	if (netlist_parse(pc->trusted_networks, &pc->trusted, NULL, 0) < 0)
		abort(); /* the default above is wrong */
	pc->check_submission = 0;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void policy_conf_free(struct policy_conf *pc)
{
	for (int i = 0; i < PR_COUNT; i++)
		free(pc->rules[i].text);
	free(pc->trusted_networks);
	netlist_free(&pc->trusted);
	free_strings(pc->rdns_generic, pc->nrdns_generic);
	free_strings(pc->rdns_not_generic, pc->nrdns_not_generic);
	free_strings(pc->arc_trusted_sealers, pc->narc_trusted_sealers);
	memset(pc, 0, sizeof(*pc));
}
