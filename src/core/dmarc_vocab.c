/* The DMARC aggregate-report vocabularies (see dmarc_vocab.h). */
#include "core/dmarc_vocab.h"

#include <stddef.h>
#include <string.h>

static const char *const dispositions[] = {"none", "quarantine", "reject", NULL};
static const char *const dkim_results[] = {"none",    "pass",      "fail",      "policy",
                                           "neutral", "temperror", "permerror", NULL};
static const char *const spf_results[] = {"none",     "neutral",   "pass",      "fail",
                                          "softfail", "temperror", "permerror", NULL};
static const char *const spf_scopes[] = {"mfrom", "helo", NULL};
static const char *const reasons[] = {"trusted_forwarder", "mailing_list", "local_policy",
                                      "policy_test_mode",  "other",        NULL};

/* RFC 7489 appendix C's reasons that the schema in force renamed. */
static const struct {
	const char *rfc7489, *schema;
} reason_aliases[] = {
    {"forwarded", "trusted_forwarder"},
    {"sampled_out", "policy_test_mode"}, /* pct sampling became the t= test mode */
};

const char *dmarc_vocab_name(enum dmarc_vocab v, const char *name)
{
	static const char *const *const tables[] = {
	    [DMARC_VOCAB_DISPOSITION] = dispositions, [DMARC_VOCAB_DKIM_RESULT] = dkim_results,
	    [DMARC_VOCAB_SPF_RESULT] = spf_results,   [DMARC_VOCAB_SPF_SCOPE] = spf_scopes,
	    [DMARC_VOCAB_REASON] = reasons,
	};

	if (name == NULL || (unsigned)v >= sizeof(tables) / sizeof(tables[0]))
		return NULL;
	for (const char *const *n = tables[v]; *n != NULL; n++)
		if (strcmp(name, *n) == 0)
			return *n;
	for (size_t i = 0;
	     v == DMARC_VOCAB_REASON && i < sizeof(reason_aliases) / sizeof(reason_aliases[0]); i++)
		if (strcmp(name, reason_aliases[i].rfc7489) == 0)
			return reason_aliases[i].schema;
	return NULL;
}
