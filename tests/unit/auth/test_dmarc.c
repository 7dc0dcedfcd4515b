/* Unit tests of DMARC policy discovery and evaluation (RFC 7489 6.6.2 to
 * 6.6.4) on a zone file through the zone backend and a real event loop,
 * and of the Authentication-Results entry (RFC 8601, RFC 7489 11.2). */
#include "../policy/zonetest.h"

#include "auth/dmarc.h"

static const char zone[] =
    "_dmarc.example.org TXT \"v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.org\"\n"
    "_dmarc.sub.example.org TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.token.example.org TXT \"google-site-verification=abc\"\n"
    "_dmarc.strict.example.net TXT \"v=DMARC1; p=reject; adkim=s; aspf=s\"\n"
    "_dmarc.pct.example.net TXT \"v=DMARC1; p=reject; pct=20\"\n"
    "_dmarc.pctq.example.net TXT \"v=DMARC1; p=quarantine; pct=0\"\n"
    "_dmarc.two.example.net TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.two.example.net TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.mixed.example.net TXT \"some token\"\n"
    "_dmarc.mixed.example.net TXT \"v=DMARC1; \" \"p=quarantine\"\n"
    "_dmarc.bad.example.net TXT \"v=DMARC1; p=bogus\"\n"
    "_dmarc.rua.example.net TXT \"v=DMARC1; p=bogus; rua=mailto:x@example.net\"\n"
    "_dmarc.slow.example.net TIMEOUT\n"
    "_dmarc.example.com TIMEOUT\n";

struct result {
	int called;
	enum dmarc_result result;
	enum dmarc_policy policy, disposition;
	int sampled_out, spf_aligned, dkim_aligned;
	char record_domain[256];
	char org_domain[256];
	char authres[512];
};

static void on_done(void *arg, const struct dmarc_outcome *out)
{
	struct result *r = arg;
	struct buf b;

	r->called++;
	r->result = out->result;
	r->policy = out->policy;
	r->disposition = out->disposition;
	r->sampled_out = out->sampled_out;
	r->spf_aligned = out->spf_aligned;
	r->dkim_aligned = out->dkim_aligned;
	snprintf(r->record_domain, sizeof(r->record_domain), "%s",
	         out->record_domain ? out->record_domain : "-");
	snprintf(r->org_domain, sizeof(r->org_domain), "%s",
	         out->org_domain ? out->org_domain : "-");
	if (out->record == NULL)
		assert_non_null(out->problem);
	buf_init(&b, sizeof(r->authres) - 1);
	assert_int_equal(dmarc_authres(out, &b), 0);
	snprintf(r->authres, sizeof(r->authres), "%s", b.data);
	buf_free(&b);
}

static void check(struct zonetest *zt, const char *from, const char *spf, const char *dkim,
                  unsigned sample, struct result *r)
{
	struct dmarc_request req = {.from_domain = from, .spf_domain = spf, .sample = sample};
	const char *d[1] = {dkim};

	if (dkim != NULL) {
		req.dkim_domains = d;
		req.ndkim = 1;
	}
	memset(r, 0, sizeof(*r));
	dmarc_check_start(zt->r, &req, on_done, r);
	assert_int_equal(r->called, 0); /* never from inside the call */
	event_base_dispatch(zt->base);
	assert_int_equal(r->called, 1);
}

static int setup(void **state)
{
	struct zonetest *zt = malloc(sizeof(*zt));

	zonetest_open(zt, zone);
	*state = zt;
	return 0;
}

static int teardown(void **state)
{
	zonetest_close(*state);
	free(*state);
	return 0;
}

static void test_pass(void **state)
{
	struct result r;

	/* SPF aligned, at the domain itself: p applies */
	check(*state, "example.org", "example.org", NULL, 0, &r);
	assert_int_equal(r.result, DMARC_PASS);
	assert_true(r.spf_aligned);
	assert_false(r.dkim_aligned);
	assert_int_equal(r.policy, DMARC_POLICY_REJECT);
	assert_int_equal(r.disposition, DMARC_POLICY_NONE);
	assert_string_equal(r.record_domain, "example.org");
	assert_string_equal(r.authres, "dmarc=pass (p=reject sp=quarantine dis=none) "
	                               "header.from=example.org policy.dmarc=reject");
	/* relaxed DKIM from a subdomain of the Organizational Domain */
	check(*state, "Example.ORG", "other.example", "mail.example.org", 0, &r);
	assert_int_equal(r.result, DMARC_PASS);
	assert_false(r.spf_aligned);
	assert_true(r.dkim_aligned);
	assert_string_equal(r.authres, "dmarc=pass (p=reject sp=quarantine dis=none) "
	                               "header.from=example.org policy.dmarc=reject");
}

static void test_subdomain(void **state)
{
	struct result r;

	/* 6.6.3 step 3: no record at the From domain, sp of the org domain */
	check(*state, "news.example.org", "bounce.other.example", NULL, 0, &r);
	assert_int_equal(r.result, DMARC_FAIL);
	assert_int_equal(r.policy, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.disposition, DMARC_POLICY_QUARANTINE);
	assert_string_equal(r.record_domain, "example.org");
	assert_string_equal(r.org_domain, "example.org");
	assert_string_equal(r.authres, "dmarc=fail (p=reject sp=quarantine dis=quarantine) "
	                               "header.from=news.example.org policy.dmarc=quarantine");
	/* a record of its own: its p, not the org's sp */
	check(*state, "sub.example.org", NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_FAIL);
	assert_int_equal(r.policy, DMARC_POLICY_NONE);
	assert_string_equal(r.record_domain, "sub.example.org");
	/* a TXT that is not DMARC is discarded (step 2), then the org domain */
	check(*state, "token.example.org", NULL, NULL, 0, &r);
	assert_int_equal(r.policy, DMARC_POLICY_QUARANTINE);
	assert_string_equal(r.record_domain, "example.org");
}

static void test_strict(void **state)
{
	struct result r;

	check(*state, "strict.example.net", "mail.strict.example.net", "mail.strict.example.net", 0,
	      &r);
	assert_int_equal(r.result, DMARC_FAIL);
	assert_int_equal(r.disposition, DMARC_POLICY_REJECT);
	check(*state, "strict.example.net", "mail.strict.example.net", "strict.example.net", 0, &r);
	assert_int_equal(r.result, DMARC_PASS);
	assert_true(r.dkim_aligned);
	check(*state, "strict.example.net", "STRICT.example.net", NULL, 0, &r);
	assert_int_equal(r.result, DMARC_PASS);
	assert_true(r.spf_aligned);
}

/* 6.6.4: the sample selects the messages the policy applies to. */
static void test_pct(void **state)
{
	struct result r;

	check(*state, "pct.example.net", NULL, NULL, 19, &r);
	assert_int_equal(r.disposition, DMARC_POLICY_REJECT);
	assert_false(r.sampled_out);
	check(*state, "pct.example.net", NULL, NULL, 20, &r);
	assert_int_equal(r.result, DMARC_FAIL);
	assert_int_equal(r.policy, DMARC_POLICY_REJECT);
	assert_int_equal(r.disposition, DMARC_POLICY_QUARANTINE);
	assert_true(r.sampled_out);
	check(*state, "pctq.example.net", NULL, NULL, 0, &r);
	assert_int_equal(r.disposition, DMARC_POLICY_NONE);
	assert_true(r.sampled_out);
	/* a pass is never sampled */
	check(*state, "pct.example.net", "pct.example.net", NULL, 99, &r);
	assert_int_equal(r.result, DMARC_PASS);
	assert_false(r.sampled_out);
}

static void test_records(void **state)
{
	struct result r;

	/* step 5: several DMARC records, no DMARC processing */
	check(*state, "two.example.net", NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_NONE);
	assert_string_equal(r.authres, "dmarc=none header.from=two.example.net");
	/* the other TXT is discarded; character-strings are joined */
	check(*state, "mixed.example.net", NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_FAIL);
	assert_int_equal(r.policy, DMARC_POLICY_QUARANTINE);
	/* step 6.2: no valid p and no rua; 11.2 permerror */
	check(*state, "bad.example.net", "bad.example.net", NULL, 0, &r);
	assert_int_equal(r.result, DMARC_PERMERROR);
	assert_string_equal(r.authres, "dmarc=permerror header.from=bad.example.net");
	/* step 6.1: no valid p but a rua: p=none */
	check(*state, "rua.example.net", NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_FAIL);
	assert_int_equal(r.policy, DMARC_POLICY_NONE);
	assert_int_equal(r.disposition, DMARC_POLICY_NONE);
	/* nothing at the domain nor at its Organizational Domain */
	check(*state, "a.b.nothing.example", NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_NONE);
	assert_string_equal(r.org_domain, "nothing.example");
	/* a public suffix has no Organizational Domain: one lookup only */
	check(*state, "co.uk", NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_NONE);
	assert_string_equal(r.org_domain, "-");
}

static void test_errors(void **state)
{
	struct result r;
	char longname[300];

	check(*state, "slow.example.net", NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_TEMPERROR);
	assert_string_equal(r.authres, "dmarc=temperror header.from=slow.example.net");
	/* the temporary failure is at the Organizational Domain */
	check(*state, "a.example.com", NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_TEMPERROR);
	check(*state, "a..example.com", NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_PERMERROR);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	check(*state, longname, NULL, NULL, 0, &r);
	assert_int_equal(r.result, DMARC_PERMERROR);
}

static void test_cancel(void **state)
{
	struct zonetest *zt = *state;
	struct dmarc_request req = {.from_domain = "news.example.org"};
	struct result r = {0};

	dmarc_check_cancel(dmarc_check_start(zt->r, &req, on_done, &r));
	event_base_dispatch(zt->base);
	assert_int_equal(r.called, 0);
}

static void test_authres_full(void **state)
{
	struct dmarc_outcome o = {.result = DMARC_PASS, .from_domain = "example.org"};
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_append_str(&b, "x"), 0);
	assert_int_equal(dmarc_authres(&o, &b), -1);
	assert_string_equal(b.data, "x");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pass),    cmocka_unit_test(test_subdomain),
	    cmocka_unit_test(test_strict),  cmocka_unit_test(test_pct),
	    cmocka_unit_test(test_records), cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_cancel),  cmocka_unit_test(test_authres_full),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
