/* Unit tests of the DMARC aggregate-report vocabularies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/dmarc_vocab.h"

struct vocab_case {
	enum dmarc_vocab v;
	const char *name, *schema; /* schema NULL: refused */
};

static const struct vocab_case cases[] = {
    {DMARC_VOCAB_DISPOSITION, "none", "none"},
    {DMARC_VOCAB_DISPOSITION, "quarantine", "quarantine"},
    {DMARC_VOCAB_DISPOSITION, "reject", "reject"},
    {DMARC_VOCAB_DISPOSITION, "pass", NULL},
    {DMARC_VOCAB_DISPOSITION, "Reject", NULL},
    {DMARC_VOCAB_DKIM_RESULT, "none", "none"},
    {DMARC_VOCAB_DKIM_RESULT, "pass", "pass"},
    {DMARC_VOCAB_DKIM_RESULT, "fail", "fail"},
    {DMARC_VOCAB_DKIM_RESULT, "policy", "policy"},
    {DMARC_VOCAB_DKIM_RESULT, "neutral", "neutral"},
    {DMARC_VOCAB_DKIM_RESULT, "temperror", "temperror"},
    {DMARC_VOCAB_DKIM_RESULT, "permerror", "permerror"},
    {DMARC_VOCAB_DKIM_RESULT, "softfail", NULL},
    {DMARC_VOCAB_SPF_RESULT, "none", "none"},
    {DMARC_VOCAB_SPF_RESULT, "neutral", "neutral"},
    {DMARC_VOCAB_SPF_RESULT, "pass", "pass"},
    {DMARC_VOCAB_SPF_RESULT, "fail", "fail"},
    {DMARC_VOCAB_SPF_RESULT, "softfail", "softfail"},
    {DMARC_VOCAB_SPF_RESULT, "temperror", "temperror"},
    {DMARC_VOCAB_SPF_RESULT, "permerror", "permerror"},
    {DMARC_VOCAB_SPF_RESULT, "policy", NULL},
    {DMARC_VOCAB_SPF_SCOPE, "mfrom", "mfrom"},
    {DMARC_VOCAB_SPF_SCOPE, "helo", "helo"},
    {DMARC_VOCAB_SPF_SCOPE, "mailfrom", NULL},
    {DMARC_VOCAB_REASON, "trusted_forwarder", "trusted_forwarder"},
    {DMARC_VOCAB_REASON, "mailing_list", "mailing_list"},
    {DMARC_VOCAB_REASON, "local_policy", "local_policy"},
    {DMARC_VOCAB_REASON, "policy_test_mode", "policy_test_mode"},
    {DMARC_VOCAB_REASON, "other", "other"},
    /* RFC 7489 appendix C's names the schema in force replaced. */
    {DMARC_VOCAB_REASON, "forwarded", "trusted_forwarder"},
    {DMARC_VOCAB_REASON, "sampled_out", "policy_test_mode"},
    {DMARC_VOCAB_REASON, "sampled", NULL},
    {DMARC_VOCAB_REASON, "", NULL},
    {DMARC_VOCAB_REASON, "other ", NULL},
};

static void test_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = dmarc_vocab_name(cases[i].v, cases[i].name);
		if (cases[i].schema == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].schema);
	}
}

/* A schema name is its own schema name: writing what was read back from
 * the store changes nothing. */
static void test_idempotent(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = dmarc_vocab_name(cases[i].v, cases[i].name);
		if (got != NULL)
			assert_string_equal(dmarc_vocab_name(cases[i].v, got), got);
	}
}

static void test_null(void **state)
{
	(void)state;
	assert_null(dmarc_vocab_name(DMARC_VOCAB_DISPOSITION, NULL));
	assert_null(dmarc_vocab_name(DMARC_VOCAB_REASON, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_idempotent),
	    cmocka_unit_test(test_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
