/* Unit tests of iprev (RFC 8601 3) against zone files: names that confirm,
 * names that do not, several names, time-outs, IPv6 and the 10-name limit. */
#include "zonetest.h"

#include "policy/iprev.h"

static const char zone[] =
    "# 192.0.2.1: one name that resolves back\n"
    "1.2.0.192.in-addr.arpa PTR mail.example.org\n"
    "mail.example.org A 192.0.2.1\n"
    "# 192.0.2.2: a name that resolves elsewhere\n"
    "2.2.0.192.in-addr.arpa PTR liar.example.org\n"
    "liar.example.org A 192.0.2.99\n"
    "# 192.0.2.3: three names, the second confirms\n"
    "3.2.0.192.in-addr.arpa PTR nx.example.org\n"
    "3.2.0.192.in-addr.arpa PTR good.example.org\n"
    "3.2.0.192.in-addr.arpa PTR liar.example.org\n"
    "good.example.org A 192.0.2.77\n"
    "good.example.org A 192.0.2.3\n"
    "# 192.0.2.4: no PTR at all (NXDOMAIN)\n"
    "# 192.0.2.5: the PTR query times out\n"
    "5.2.0.192.in-addr.arpa TIMEOUT\n"
    "# 192.0.2.6: one forward lookup times out, the other does not match\n"
    "6.2.0.192.in-addr.arpa PTR slow.example.org\n"
    "6.2.0.192.in-addr.arpa PTR liar.example.org\n"
    "slow.example.org TIMEOUT\n"
    "# 192.0.2.7: one forward lookup times out, the other confirms\n"
    "7.2.0.192.in-addr.arpa PTR slow.example.org\n"
    "7.2.0.192.in-addr.arpa PTR seven.example.org\n"
    "seven.example.org A 192.0.2.7\n"
    "# 192.0.2.8: only a name that cannot be asked for (label over 63)\n"
    "8.2.0.192.in-addr.arpa PTR "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.org\n"
    "# 192.0.2.9: the reverse name exists without PTR (NODATA)\n"
    "9.2.0.192.in-addr.arpa TXT \"no ptr here\"\n"
    "# 192.0.2.10: the forward name is an alias\n"
    "10.2.0.192.in-addr.arpa PTR alias.example.org\n"
    "alias.example.org CNAME real.example.org\n"
    "real.example.org A 192.0.2.10\n"
    "# 192.0.2.11: twelve names, only the eleventh confirms: beyond the limit\n"
    "11.2.0.192.in-addr.arpa PTR n1.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n2.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n3.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n4.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n5.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n6.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n7.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n8.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n9.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n10.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n11.example.org\n"
    "11.2.0.192.in-addr.arpa PTR n12.example.org\n"
    "n11.example.org A 192.0.2.11\n"
    "# 192.0.2.12: the name has only an AAAA record\n"
    "12.2.0.192.in-addr.arpa PTR v6only.example.org\n"
    "v6only.example.org AAAA ::ffff:192.0.2.12\n"
    "v6only.example.org AAAA 2001:db8::12\n"
    "# 192.0.2.13: a malformed name and one that does not match\n"
    "13.2.0.192.in-addr.arpa PTR bad..name\n"
    "13.2.0.192.in-addr.arpa PTR liar.example.org\n"
    "# 192.0.2.14: a name with a control character in it\n"
    "14.2.0.192.in-addr.arpa PTR odd\001name.example\n"
    "# 2001:db8::1 and 2001:db8::2: IPv6\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR "
    "v6.example.org\n"
    "v6.example.org AAAA 2001:db8::1\n"
    "v6.example.org A 192.0.2.1\n"
    "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR "
    "mail.example.org\n";

struct outcome {
	int calls;
	enum iprev_code code;
	char name[256], ptr0[256], text[512];
	size_t nptr;
};

static void on_done(void *arg, const struct iprev_result *res)
{
	struct outcome *o = arg;

	o->calls++;
	o->code = res->code;
	snprintf(o->name, sizeof(o->name), "%s", res->name != NULL ? res->name : "");
	snprintf(o->ptr0, sizeof(o->ptr0), "%s", res->nptr > 0 ? res->ptr[0] : "");
	snprintf(o->text, sizeof(o->text), "%s", res->text);
	o->nptr = res->nptr;
	assert_non_null(res->ip);
}

static void check(const char *ip, enum iprev_code want, const char *name, size_t nptr)
{
	struct zonetest zt;
	struct outcome o;
	struct iprev_check *c;

	memset(&o, 0, sizeof(o));
	zonetest_open(&zt, zone);
	c = iprev_start(zt.r, ip, on_done, &o);
	assert_non_null(c);
	/* Never from inside the start call (iprev.h). */
	assert_int_equal(o.calls, 0);
	event_base_dispatch(zt.base);
	assert_int_equal(o.calls, 1);
	if (o.code != want || strcmp(o.name, name) != 0 || o.nptr != nptr)
		fail_msg("%s: want %s %s %zu, got %s", ip, iprev_code_name(want), name, nptr,
		         o.text);
	zonetest_close(&zt);
}

static void test_pass(void **state)
{
	(void)state;
	check("192.0.2.1", IPREV_PASS, "mail.example.org", 1);
	check("192.0.2.3", IPREV_PASS, "good.example.org", 3);
	check("192.0.2.7", IPREV_PASS, "seven.example.org", 2);
	/* The confirmed name is the PTR name, not the CNAME target. */
	check("192.0.2.10", IPREV_PASS, "alias.example.org", 1);
	/* A dual-stack socket's view of an IPv4 client. */
	check("::ffff:192.0.2.1", IPREV_PASS, "mail.example.org", 1);
	check("2001:db8::1", IPREV_PASS, "v6.example.org", 1);
	check("2001:DB8:0:0::1", IPREV_PASS, "v6.example.org", 1);
}

static void test_fail(void **state)
{
	(void)state;
	check("192.0.2.2", IPREV_FAIL, "", 1);
	/* Only the first IPREV_NAMES_MAX names are looked up. */
	check("192.0.2.11", IPREV_FAIL, "", 12);
	/* An IPv4 client is confirmed by A records only. */
	check("192.0.2.12", IPREV_FAIL, "", 1);
	check("192.0.2.13", IPREV_FAIL, "", 2);
	/* mail.example.org has no AAAA record. */
	check("2001:db8::2", IPREV_FAIL, "", 1);
}

static void test_errors(void **state)
{
	(void)state;
	check("192.0.2.4", IPREV_PERMERROR, "", 0);
	check("192.0.2.9", IPREV_PERMERROR, "", 0);
	check("192.0.2.8", IPREV_PERMERROR, "", 1);
	check("192.0.2.5", IPREV_TEMPERROR, "", 0);
	check("192.0.2.6", IPREV_TEMPERROR, "", 2);
}

static void test_text(void **state)
{
	struct zonetest zt;
	struct outcome o;

	(void)state;
	memset(&o, 0, sizeof(o));
	zonetest_open(&zt, zone);
	assert_non_null(iprev_start(zt.r, "192.0.2.3", on_done, &o));
	event_base_dispatch(zt.base);
	assert_string_equal(o.text, "iprev=pass ip=192.0.2.3 name=good.example.org "
	                            "ptr=nx.example.org,good.example.org,liar.example.org");
	assert_string_equal(o.ptr0, "nx.example.org");

	memset(&o, 0, sizeof(o));
	assert_non_null(iprev_start(zt.r, "192.0.2.4", on_done, &o));
	event_base_dispatch(zt.base);
	assert_string_equal(o.text, "iprev=permerror ip=192.0.2.4 reason=no-ptr");

	memset(&o, 0, sizeof(o));
	assert_non_null(iprev_start(zt.r, "192.0.2.6", on_done, &o));
	event_base_dispatch(zt.base);
	assert_string_equal(o.text, "iprev=temperror ip=192.0.2.6 reason=forward-tempfail "
	                            "ptr=slow.example.org,liar.example.org");

	/* Whatever the reverse zone publishes, the log line keeps its shape. */
	memset(&o, 0, sizeof(o));
	assert_non_null(iprev_start(zt.r, "192.0.2.14", on_done, &o));
	event_base_dispatch(zt.base);
	assert_non_null(strstr(o.text, " ptr=odd?name.example"));
	zonetest_close(&zt);
}

static void test_bad_ip(void **state)
{
	struct zonetest zt;
	struct outcome o;

	(void)state;
	memset(&o, 0, sizeof(o));
	zonetest_open(&zt, zone);
	assert_null(iprev_start(zt.r, "nonsense", on_done, &o));
	assert_null(iprev_start(zt.r, "", on_done, &o));
	assert_null(iprev_start(zt.r, NULL, on_done, &o));
	event_base_dispatch(zt.base);
	assert_int_equal(o.calls, 0);
	zonetest_close(&zt);
}

struct canceller {
	struct iprev_check *c;
	int calls;
};

/* A lookup started after iprev_start is answered after the PTR query
 * (the zone backend answers in order), so its callback runs while the
 * forward lookups are in flight. */
static void cancel_now(void *arg, const struct dns_answer *ans)
{
	struct canceller *k = arg;

	(void)ans;
	k->calls++;
	iprev_cancel(k->c);
}

static void test_cancel(void **state)
{
	struct zonetest zt;
	struct outcome o;
	struct canceller k = {NULL, 0};

	(void)state;
	memset(&o, 0, sizeof(o));
	zonetest_open(&zt, zone);
	/* Before the PTR answer. */
	iprev_cancel(iprev_start(zt.r, "192.0.2.3", on_done, &o));
	event_base_dispatch(zt.base);
	assert_int_equal(o.calls, 0);
	/* With the forward lookups in flight. */
	k.c = iprev_start(zt.r, "192.0.2.3", on_done, &o);
	assert_non_null(dns_lookup(zt.r, "mail.example.org", DNS_T_A, cancel_now, &k));
	event_base_dispatch(zt.base);
	assert_int_equal(k.calls, 1);
	assert_int_equal(o.calls, 0);
	zonetest_close(&zt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pass),   cmocka_unit_test(test_fail),
	    cmocka_unit_test(test_errors), cmocka_unit_test(test_text),
	    cmocka_unit_test(test_bad_ip), cmocka_unit_test(test_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
