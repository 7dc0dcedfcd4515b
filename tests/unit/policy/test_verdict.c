/* Unit tests of the verdict engine: rules, precedence, thresholds, replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "policy/verdict.h"

static void set_rule(struct policy_conf *pc, enum policy_result r, const char *text)
{
	char err[256];
	free(pc->rules[r].text);
	assert_int_equal(policy_rule_parse(text, &pc->rules[r], err, sizeof(err)), 0);
}

static void test_accept_when_nothing_happened(void **state)
{
	struct policy_conf pc;
	struct verdict v;
	struct verdict_reply rep;
	policy_conf_defaults(&pc);
	verdict_init(&v);
	verdict_apply(&v, &pc, PR_SPF_NONE, 0, "example.org");
	assert_int_equal(verdict_decide(&v, &pc, &rep), PA_ACCEPT);
	assert_int_equal(rep.code, 250);
	assert_string_equal(v.tags, "");
	policy_conf_free(&pc);
}

static void test_reject_with_rfc7372_code(void **state)
{
	struct policy_conf pc;
	struct verdict v;
	struct verdict_reply rep;
	policy_conf_defaults(&pc);
	verdict_init(&v);
	verdict_apply(&v, &pc, PR_SPF_FAIL, 0, "example.org");
	assert_int_equal(verdict_decide(&v, &pc, &rep), PA_REJECT);
	assert_int_equal(rep.code, 550);
	assert_string_equal(rep.ecode, "5.7.23");
	assert_string_equal(rep.text, "SPF validation failed: example.org");
	policy_conf_free(&pc);
}

static void test_reject_outranks_tempfail(void **state)
{
	struct policy_conf pc;
	struct verdict v;
	struct verdict_reply rep;
	policy_conf_defaults(&pc);
	verdict_init(&v);
	verdict_apply(&v, &pc, PR_IPREV_TEMPERROR, 0, NULL);
	assert_int_equal(verdict_decide(&v, &pc, &rep), PA_TEMPFAIL);
	assert_int_equal(rep.code, 451);
	assert_string_equal(rep.ecode, "4.7.25");
	verdict_apply(&v, &pc, PR_HELO_INVALID, 0, "localhost");
	verdict_apply(&v, &pc, PR_SPF_FAIL, 0, "x.example");
	assert_int_equal(verdict_decide(&v, &pc, &rep), PA_REJECT);
	/* The first reject is the one the client is told about. */
	assert_string_equal(rep.text, "HELO/EHLO name is not a valid host name: localhost");
	assert_string_equal(v.tags, "iprev_temperror,helo_invalid,spf_fail");
	policy_conf_free(&pc);
}

static void test_scores_and_thresholds(void **state)
{
	struct policy_conf pc;
	struct verdict v;
	struct verdict_reply rep;
	policy_conf_defaults(&pc);
	pc.score_reject = 6;
	pc.score_tempfail = 4;
	verdict_init(&v);
	verdict_apply(&v, &pc, PR_RDNS_GENERIC, 0, NULL); /* score 3 */
	assert_int_equal(verdict_decide(&v, &pc, &rep), PA_ACCEPT);
	verdict_apply(&v, &pc, PR_HELO_NO_MATCH, 0, NULL); /* score 1 */
	assert_int_equal(verdict_decide(&v, &pc, &rep), PA_TEMPFAIL);
	assert_string_equal(rep.text, "Deferred by policy (score 4: rdns_generic,helo_no_match)");
	/* A DNSBL's own weight counts whatever its rule. */
	set_rule(&pc, PR_DNSBL_LISTED, "tag");
	verdict_apply(&v, &pc, PR_DNSBL_LISTED, 2, "bl.example");
	assert_int_equal(v.score, 6);
	assert_int_equal(verdict_decide(&v, &pc, &rep), PA_REJECT);
	assert_int_equal(rep.code, 550);
	assert_string_equal(rep.ecode, "5.7.1");
	policy_conf_free(&pc);
}

static void test_custom_text_and_accept_rule(void **state)
{
	struct policy_conf pc;
	struct verdict v;
	struct verdict_reply rep;
	policy_conf_defaults(&pc);
	set_rule(&pc, PR_SPF_FAIL, "accept");
	set_rule(&pc, PR_CSA_UNAUTHORIZED, "tempfail: come back with a CSA record");
	verdict_init(&v);
	verdict_apply(&v, &pc, PR_SPF_FAIL, 0, "x.example");
	assert_int_equal(verdict_decide(&v, &pc, &rep), PA_ACCEPT);
	verdict_apply(&v, &pc, PR_CSA_UNAUTHORIZED, 0, "mail.x.example");
	assert_int_equal(verdict_decide(&v, &pc, &rep), PA_TEMPFAIL);
	assert_string_equal(rep.text, "come back with a CSA record");
	policy_conf_free(&pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_when_nothing_happened),
	    cmocka_unit_test(test_reject_with_rfc7372_code),
	    cmocka_unit_test(test_reject_outranks_tempfail),
	    cmocka_unit_test(test_scores_and_thresholds),
	    cmocka_unit_test(test_custom_text_and_accept_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
