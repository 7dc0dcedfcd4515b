/* Unit tests of Client SMTP Authorization (draft-ietf-marid-csv-csa-02):
 * the SRV readers on their own, then every priority, weight, port and
 * address case through a zone file. */
#include "zonetest.h"

#include "policy/csa.h"

static struct dns_rr srv(unsigned prio, unsigned weight, unsigned port, const char *target)
{
	struct dns_rr rr = {.type = DNS_T_SRV};
	rr.u.srv.prio = prio;
	rr.u.srv.weight = weight;
	rr.u.srv.port = port;
	rr.u.srv.target = (char *)target;
	return rr;
}

static enum csa_assertion read_own(const struct dns_rr *rrs, size_t n, size_t *ntargets)
{
	const char *targets[CSA_MAX_TARGETS];
	return csa_read_own(rrs, n, targets, ntargets);
}

static void test_read_own(void **state)
{
	struct dns_rr rr[6];
	const char *targets[CSA_MAX_TARGETS];
	size_t nt;

	rr[0] = srv(1, 2, 0, "host.example.com");
	assert_int_equal(csa_read_own(rr, 1, targets, &nt), CSA_A_AUTHORIZED);
	assert_int_equal(nt, 1);
	assert_string_equal(targets[0], "host.example.com");
	/* Weight bit 1 alone, or no bit: not authorized. */
	rr[0] = srv(1, 1, 0, "host.example.com");
	assert_int_equal(read_own(rr, 1, &nt), CSA_A_DENIED);
	rr[0] = srv(1, 0, 0, "host.example.com");
	assert_int_equal(read_own(rr, 1, &nt), CSA_A_DENIED);
	/* Authorized with "ignore target": nothing to authenticate with. */
	rr[0] = srv(1, 3, 0, "host.example.com");
	assert_int_equal(read_own(rr, 1, &nt), CSA_A_UNKNOWN);
	/* Reserved weight bits, or another CSA version: nothing we can read. */
	rr[0] = srv(1, 6, 0, "host.example.com");
	assert_int_equal(read_own(rr, 1, &nt), CSA_A_UNKNOWN);
	rr[0] = srv(2, 2, 0, "host.example.com");
	assert_int_equal(read_own(rr, 1, &nt), CSA_A_NONE);
	rr[0] = srv(0, 2, 0, "host.example.com");
	assert_int_equal(read_own(rr, 1, &nt), CSA_A_NONE);
	assert_int_equal(read_own(rr, 0, &nt), CSA_A_NONE);
	/* Target "." (RFC 2782): authorized, but at no address. */
	rr[0] = srv(1, 2, 0, ".");
	assert_int_equal(read_own(rr, 1, &nt), CSA_A_AUTHORIZED);
	assert_int_equal(nt, 0);
	rr[0] = srv(1, 2, 0, "");
	assert_int_equal(read_own(rr, 1, &nt), CSA_A_AUTHORIZED);
	assert_int_equal(nt, 0);
	/* A denial wins whatever the order of the records. */
	rr[0] = srv(1, 2, 0, "a.example.com");
	rr[1] = srv(1, 1, 0, "b.example.com");
	assert_int_equal(read_own(rr, 2, &nt), CSA_A_DENIED);
	rr[0] = srv(1, 1, 0, "b.example.com");
	rr[1] = srv(1, 2, 0, "a.example.com");
	assert_int_equal(read_own(rr, 2, &nt), CSA_A_DENIED);
	/* Authorization beats an unreadable record; targets are capped. */
	for (int i = 0; i < 6; i++)
		rr[i] = srv(1, 2, 0, "t.example.com");
	rr[0] = srv(1, 3, 0, "u.example.com");
	assert_int_equal(read_own(rr, 6, &nt), CSA_A_AUTHORIZED);
	assert_int_equal(nt, CSA_MAX_TARGETS);
}

static void test_read_parent(void **state)
{
	struct dns_rr rr[2];

	rr[0] = srv(1, 2, 1, "example.com");
	assert_true(csa_read_parent(rr, 1));
	rr[0] = srv(1, 1, 3, ".");
	assert_true(csa_read_parent(rr, 1));
	rr[0] = srv(1, 2, 0, "example.com");
	assert_false(csa_read_parent(rr, 1));
	/* Reserved port bits alone assert nothing. */
	rr[0] = srv(1, 2, 2, "example.com");
	assert_false(csa_read_parent(rr, 1));
	rr[0] = srv(2, 2, 1, "example.com");
	assert_false(csa_read_parent(rr, 1));
	rr[1] = srv(1, 2, 1, "example.com");
	assert_true(csa_read_parent(rr, 2));
}

static void test_parents(void **state)
{
	size_t off[CSA_MAX_PARENTS];
	const char *name = "a.b.c.example.co.uk";

	assert_int_equal(csa_parents(name, off, CSA_MAX_PARENTS), 3);
	assert_string_equal(name + off[0], "example.co.uk");
	assert_string_equal(name + off[1], "c.example.co.uk");
	assert_string_equal(name + off[2], "b.c.example.co.uk");
	assert_int_equal(csa_parents("example.com", off, CSA_MAX_PARENTS), 0);
	assert_int_equal(csa_parents("com", off, CSA_MAX_PARENTS), 0);
	assert_int_equal(csa_parents("host.invalidtld", off, CSA_MAX_PARENTS), 0);
	assert_int_equal(csa_parents("h.example.com", off, CSA_MAX_PARENTS), 1);
	name = "a.b.c.d.e.f.g.example.com";
	assert_int_equal(csa_parents(name, off, CSA_MAX_PARENTS), CSA_MAX_PARENTS);
	assert_string_equal(name + off[0], "example.com");
	assert_string_equal(name + off[4], "d.e.f.g.example.com");
}

static void test_names(void **state)
{
	assert_string_equal(csa_result_name(CSA_UNAUTHORIZED), "unauthorized");
	assert_string_equal(csa_reason_text(CSA_R_PARENT_REQUIRES),
	                    "parent domain requires explicit authorization");
}

/* ---- Through the zone backend; the client is 192.0.2.10 unless said ---- */

static const char zone[] = "ok.example.com A 192.0.2.10\n"
                           "ok.example.com AAAA 2001:db8::10\n"
                           "_client._smtp.ok.example.com SRV 1 2 0 ok.example.com\n"
                           "_client._smtp.wrongip.example.com SRV 1 2 0 wrongip.example.com\n"
                           "wrongip.example.com A 192.0.2.99\n"
                           "_client._smtp.denied.example.com SRV 1 1 0 ok.example.com\n"
                           "_client._smtp.zero.example.com SRV 1 0 0 ok.example.com\n"
                           "_client._smtp.unknown.example.com SRV 1 3 0 ok.example.com\n"
                           "_client._smtp.reserved.example.com SRV 1 6 0 ok.example.com\n"
                           "_client._smtp.v2.example.com SRV 2 2 0 ok.example.com\n"
                           "_client._smtp.dot.example.com SRV 1 2 0 .\n"
                           "_client._smtp.noaddr.example.com SRV 1 2 0 missing.example.com\n"
                           "_client._smtp.v6only.example.com SRV 1 2 0 v6only.example.com\n"
                           "v6only.example.com AAAA 2001:db8::10\n"
                           "_client._smtp.mixed.example.com SRV 1 2 0 ok.example.com\n"
                           "_client._smtp.mixed.example.com SRV 1 1 0 ok.example.com\n"
                           "_client._smtp.two.example.com SRV 1 2 0 wrongip.example.com\n"
                           "_client._smtp.two.example.com SRV 1 2 0 ok.example.com\n"
                           "_client._smtp.port.example.com SRV 1 2 1 ok.example.com\n"
                           "_client._smtp.srvfail.example.com TIMEOUT\n"
                           "_client._smtp.addrfail.example.com SRV 1 2 0 slow.example.com\n"
                           "slow.example.com TIMEOUT\n"
                           "_client._smtp.partfail.example.com SRV 1 2 0 slow.example.com\n"
                           "_client._smtp.partfail.example.com SRV 1 2 0 ok.example.com\n"
                           "_client._smtp.strict.com SRV 1 2 1 strict.com\n"
                           "strict.com A 192.0.2.10\n"
                           "_client._smtp.own.strict.com SRV 1 2 0 ok.example.com\n"
                           "_client._smtp.lax.com SRV 1 2 0 lax.com\n"
                           "_client._smtp.sub.lax.com SRV 1 1 1 .\n"
                           "_client._smtp.v2strict.com SRV 2 2 1 v2strict.com\n"
                           "_client._smtp.tfparent.com TIMEOUT\n"
                           "_client._smtp.strict.invalidtld SRV 1 2 1 strict.invalidtld\n"
                           "_client._smtp.b.c.d.e.f.g.deep.com SRV 1 1 1 .\n"
                           "_client._smtp.d.e.f.g.deep.com SRV 2 1 1 .\n";

struct outcome {
	int calls;
	enum csa_result res;
	enum csa_reason why;
};

static void on_result(void *arg, enum csa_result res, enum csa_reason why)
{
	struct outcome *o = arg;
	o->calls++;
	o->res = res;
	o->why = why;
}

static struct outcome check(const char *helo, const char *client)
{
	struct zonetest zt;
	struct outcome o = {0};
	struct csa_check *c;

	zonetest_open(&zt, zone);
	c = csa_start(zt.r, helo, client != NULL ? client : "192.0.2.10", on_result, &o);
	assert_non_null(c);
	assert_int_equal(o.calls, 0);
	event_base_dispatch(zt.base);
	assert_int_equal(o.calls, 1);
	zonetest_close(&zt);
	return o;
}

#define expect(helo, client, want_res, want_why)                                                   \
	do {                                                                                       \
		struct outcome o_ = check(helo, client);                                           \
		if (o_.res != (want_res) || o_.why != (want_why))                                  \
			fail_msg("%s: got %s (%s), want %s (%s)", helo, csa_result_name(o_.res),   \
			         csa_reason_text(o_.why), csa_result_name(want_res),               \
			         csa_reason_text(want_why));                                       \
	} while (0)

static void test_own_record(void **state)
{
	expect("ok.example.com", NULL, CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
	expect("OK.Example.COM", NULL, CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
	expect("ok.example.com", "2001:db8::10", CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
	expect("ok.example.com", "::ffff:192.0.2.10", CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
	expect("ok.example.com", "192.0.2.11", CSA_UNAUTHORIZED, CSA_R_ADDRESS_MISMATCH);
	expect("wrongip.example.com", NULL, CSA_UNAUTHORIZED, CSA_R_ADDRESS_MISMATCH);
	/* Weight 1 and 0 deny even though the target is the client. */
	expect("denied.example.com", NULL, CSA_UNAUTHORIZED, CSA_R_DENIED);
	expect("zero.example.com", NULL, CSA_UNAUTHORIZED, CSA_R_DENIED);
	expect("unknown.example.com", NULL, CSA_UNKNOWN, CSA_R_NOT_ASSERTED);
	expect("reserved.example.com", NULL, CSA_UNKNOWN, CSA_R_NOT_ASSERTED);
	/* Another version is no record; and it has no walk up either. */
	expect("v2.example.com", NULL, CSA_NONE, CSA_R_NO_RECORD);
	expect("dot.example.com", NULL, CSA_UNAUTHORIZED, CSA_R_NO_TARGET_ADDRESS);
	expect("noaddr.example.com", NULL, CSA_UNAUTHORIZED, CSA_R_NO_TARGET_ADDRESS);
	expect("v6only.example.com", NULL, CSA_UNAUTHORIZED, CSA_R_NO_TARGET_ADDRESS);
	expect("v6only.example.com", "2001:db8::10", CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
	expect("mixed.example.com", NULL, CSA_UNAUTHORIZED, CSA_R_DENIED);
	expect("two.example.com", NULL, CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
	/* The port's subdomain bits say nothing about the name itself. */
	expect("port.example.com", NULL, CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
}

static void test_failures(void **state)
{
	expect("srvfail.example.com", NULL, CSA_TEMPERROR, CSA_R_SRV_TEMPFAIL);
	expect("addrfail.example.com", NULL, CSA_TEMPERROR, CSA_R_ADDR_TEMPFAIL);
	/* One target matched: the failure of the other does not matter. */
	expect("partfail.example.com", NULL, CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
	/* One target failed and the other did not match: it might have. */
	expect("partfail.example.com", "192.0.2.11", CSA_TEMPERROR, CSA_R_ADDR_TEMPFAIL);
	expect("host.tfparent.com", NULL, CSA_TEMPERROR, CSA_R_SRV_TEMPFAIL);
}

static void test_parents_walk(void **state)
{
	expect("nothing.example.com", NULL, CSA_NONE, CSA_R_NO_RECORD);
	expect("host.strict.com", NULL, CSA_UNAUTHORIZED, CSA_R_PARENT_REQUIRES);
	expect("a.b.strict.com", NULL, CSA_UNAUTHORIZED, CSA_R_PARENT_REQUIRES);
	expect("strict.com", NULL, CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
	/* A record of its own is what the parent asks for. */
	expect("own.strict.com", NULL, CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
	expect("host.lax.com", NULL, CSA_NONE, CSA_R_NO_RECORD);
	expect("host.sub.lax.com", NULL, CSA_UNAUTHORIZED, CSA_R_PARENT_REQUIRES);
	expect("host.v2strict.com", NULL, CSA_NONE, CSA_R_NO_RECORD);
	/* No registrable domain, no walk. */
	expect("host.strict.invalidtld", NULL, CSA_NONE, CSA_R_NO_RECORD);
	/* The requirement sits 7 levels down, beyond the 5 searched. */
	expect("a.b.c.d.e.f.g.deep.com", NULL, CSA_NONE, CSA_R_NO_RECORD);
}

static void test_not_started(void **state)
{
	struct zonetest zt;
	struct outcome o = {0};
	struct csa_check *c;

	zonetest_open(&zt, zone);
	assert_null(csa_start(zt.r, "[192.0.2.10]", "192.0.2.10", on_result, &o));
	assert_null(csa_start(zt.r, "", "192.0.2.10", on_result, &o));
	assert_null(csa_start(zt.r, NULL, "192.0.2.10", on_result, &o));
	assert_null(csa_start(zt.r, "ok.example.com", "bogus", on_result, &o));
	c = csa_start(zt.r, "ok.example.com", "192.0.2.10", on_result, &o);
	csa_cancel(c);
	event_base_dispatch(zt.base);
	assert_int_equal(o.calls, 0);
	zonetest_close(&zt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_own),     cmocka_unit_test(test_read_parent),
	    cmocka_unit_test(test_parents),      cmocka_unit_test(test_names),
	    cmocka_unit_test(test_own_record),   cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_parents_walk), cmocka_unit_test(test_not_started),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
