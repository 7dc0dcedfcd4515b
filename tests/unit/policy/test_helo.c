/* Unit tests of the HELO checks: the syntax and claim classification as
 * a table, and name-to-client resolution against zone files. */
#include "zonetest.h"

#include "policy/helo.h"

static const char *const local_domains[] = {"ourdomain.com", "Other.ORG", NULL};
static const char *const our_addrs[] = {"198.51.100.1", "2001:db8::1", NULL};

struct helo_case {
	const char *helo;
	const char *client; /* NULL: 192.0.2.10 */
	enum helo_class want;
};

static const struct helo_case cases[] = {
    /* Names under listed public suffixes. */
    {"mail.example.com", NULL, HELO_VALID_FQDN},
    {"MAIL.Example.COM", NULL, HELO_VALID_FQDN},
    {"a.b.c.example.co.uk", NULL, HELO_VALID_FQDN},
    {"host.github.io", NULL, HELO_VALID_FQDN},
    {"123.example.com", NULL, HELO_VALID_FQDN},
    {"xn--bcher-kva.example.de", NULL, HELO_VALID_FQDN},
    {"a-b.example.net", NULL, HELO_VALID_FQDN},
    {"sub.ourdomain.com", NULL, HELO_VALID_FQDN},
    /* Address literals (RFC 5321 4.1.3). */
    {"[192.0.2.10]", NULL, HELO_ADDRESS_LITERAL_MATCH},
    {"[192.0.2.11]", NULL, HELO_ADDRESS_LITERAL_MISMATCH},
    {"[192.0.2.10]", "::ffff:192.0.2.10", HELO_ADDRESS_LITERAL_MATCH},
    {"[IPv6:::ffff:192.0.2.10]", NULL, HELO_ADDRESS_LITERAL_MATCH},
    {"[IPv6:2001:db8::10]", "2001:db8::10", HELO_ADDRESS_LITERAL_MATCH},
    {"[ipv6:2001:DB8:0:0:0:0:0:10]", "2001:db8::10", HELO_ADDRESS_LITERAL_MATCH},
    {"[IPv6:2001:db8::11]", "2001:db8::10", HELO_ADDRESS_LITERAL_MISMATCH},
    {"[IPv6:2001:db8::10]", NULL, HELO_ADDRESS_LITERAL_MISMATCH},
    {"[198.51.100.1]", NULL, HELO_OUR_ADDRESS},
    {"[IPv6:2001:db8::1]", NULL, HELO_OUR_ADDRESS},
    {"[198.51.100.1]", "198.51.100.1", HELO_ADDRESS_LITERAL_MATCH},
    {"[1.2.3]", NULL, HELO_SYNTAX},
    {"[1.2.3.256]", NULL, HELO_SYNTAX},
    {"[2001:db8::1]", NULL, HELO_SYNTAX},
    {"[IPv6:192.0.2.10]", NULL, HELO_SYNTAX},
    {"[IPv6:2001:db8::1%eth0]", NULL, HELO_SYNTAX},
    {"[x-tag:content]", NULL, HELO_SYNTAX},
    {"[192.0.2.10", NULL, HELO_SYNTAX},
    {"[ 192.0.2.10]", NULL, HELO_SYNTAX},
    {"[]", NULL, HELO_SYNTAX},
    /* Names that are not fully qualified or not public. */
    {"pc42", NULL, HELO_BARE_WORD},
    {"com", NULL, HELO_BARE_WORD},
    {"localhost", NULL, HELO_LOCALHOST},
    {"LocalHost.LocalDomain", NULL, HELO_LOCALHOST},
    {"foo.localhost", NULL, HELO_LOCALHOST},
    {"printer.local", NULL, HELO_LOCAL_TLD},
    {"router.LAN", NULL, HELO_LOCAL_TLD},
    {"nas.home", NULL, HELO_LOCAL_TLD},
    {"dc1.ad.corp", NULL, HELO_LOCAL_TLD},
    {"build.internal", NULL, HELO_LOCAL_TLD},
    {"box.localdomain", NULL, HELO_LOCAL_TLD},
    {"pi.home.arpa", NULL, HELO_LOCAL_TLD},
    {"foo.invalidtld", NULL, HELO_NOT_UNDER_PUBLIC_SUFFIX},
    {"mail.example", NULL, HELO_NOT_UNDER_PUBLIC_SUFFIX},
    {"co.uk", NULL, HELO_NOT_UNDER_PUBLIC_SUFFIX},
    /* Claims to be us. */
    {"mail.ourdomain.com", NULL, HELO_OUR_NAME},
    {"MAIL.OURDOMAIN.COM", NULL, HELO_OUR_NAME},
    {"ourdomain.com", NULL, HELO_OUR_NAME},
    {"other.org", NULL, HELO_OUR_NAME},
    /* Syntax (RFC 5321 4.1.2). */
    {"", NULL, HELO_SYNTAX},
    {"foo..example.com", NULL, HELO_SYNTAX},
    {".example.com", NULL, HELO_SYNTAX},
    {"example.com.", NULL, HELO_SYNTAX},
    {"-foo.example.com", NULL, HELO_SYNTAX},
    {"foo-.example.com", NULL, HELO_SYNTAX},
    {"foo_bar.example.com", NULL, HELO_SYNTAX},
    {"foo bar.example.com", NULL, HELO_SYNTAX},
    {"f\xc3\xbc.example.com", NULL, HELO_SYNTAX},
    {"192.0.2.10", NULL, HELO_SYNTAX},
    {"host.123", NULL, HELO_SYNTAX},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct helo_context ctx = {
		    .client_ip = cases[i].client != NULL ? cases[i].client : "192.0.2.10",
		    .hostname = "mail.ourdomain.com",
		    .local_domains = local_domains,
		    .our_addrs = our_addrs,
		};
		enum helo_class got = helo_classify(cases[i].helo, &ctx);
		if (got != cases[i].want)
			fail_msg("\"%s\": got %s, want %s", cases[i].helo, helo_class_name(got),
			         helo_class_name(cases[i].want));
	}
}

static void test_lengths(void **state)
{
	struct helo_context ctx = {.client_ip = "192.0.2.10"};
	char name[400];

	/* A 63-octet label is the longest (RFC 1035 2.3.4). */
	memset(name, 'a', 63);
	strcpy(name + 63, ".example.com");
	assert_int_equal(helo_classify(name, &ctx), HELO_VALID_FQDN);
	memset(name, 'a', 64);
	strcpy(name + 64, ".example.com");
	assert_int_equal(helo_classify(name, &ctx), HELO_SYNTAX);
	/* 253 octets in all fit; 254 do not. */
	for (size_t i = 0; i < 240; i += 4)
		memcpy(name + i, "abc.", 4);
	strcpy(name + 240, "example.com");
	assert_int_equal(strlen(name), 251);
	assert_int_equal(helo_classify(name, &ctx), HELO_VALID_FQDN);
	memmove(name + 2, name, strlen(name) + 1);
	memcpy(name, "ab", 2);
	assert_int_equal(strlen(name), 253);
	assert_int_equal(helo_classify(name, &ctx), HELO_VALID_FQDN);
	memmove(name + 1, name, strlen(name) + 1);
	name[0] = 'x';
	assert_int_equal(helo_classify(name, &ctx), HELO_SYNTAX);
}

static void test_no_lists(void **state)
{
	/* No host name, domains or addresses configured: nothing is ours. */
	struct helo_context ctx = {.client_ip = "192.0.2.10"};
	assert_int_equal(helo_classify("mail.ourdomain.com", &ctx), HELO_VALID_FQDN);
	assert_int_equal(helo_classify("[198.51.100.1]", &ctx), HELO_ADDRESS_LITERAL_MISMATCH);
	assert_int_equal(helo_classify(NULL, &ctx), HELO_SYNTAX);
	ctx.client_ip = "not-an-address";
	assert_int_equal(helo_classify("[192.0.2.10]", &ctx), HELO_ADDRESS_LITERAL_MISMATCH);
}

static void test_names(void **state)
{
	assert_string_equal(helo_class_name(HELO_OUR_NAME), "our_name");
	assert_string_equal(helo_dns_result_name(HELO_DNS_NO_ADDRESS), "no_address");
}

/* ---- Resolution ---- */

static const char zone[] = "# HELO names for test_helo\n"
                           "v4.example.com A 192.0.2.10\n"
                           "v4.example.com A 192.0.2.99\n"
                           "other.example.com A 192.0.2.20\n"
                           "other.example.com AAAA 2001:db8::20\n"
                           "v6.example.com AAAA 2001:db8::10\n"
                           "alias.example.com CNAME v4.example.com\n"
                           "txtonly.example.com TXT \"hello\"\n"
                           "slow.example.com TIMEOUT\n"
                           "slow6.example.com A 192.0.2.30\n"
                           "slow6.example.com TIMEOUT\n";

struct outcome {
	int calls;
	enum helo_dns_result res;
};

static void on_result(void *arg, enum helo_dns_result res)
{
	struct outcome *o = arg;
	o->calls++;
	o->res = res;
}

static enum helo_dns_result resolve(const char *name, const char *client)
{
	struct zonetest zt;
	struct outcome o = {0};
	struct helo_lookup *l;

	zonetest_open(&zt, zone);
	l = helo_dns_start(zt.r, name, client, on_result, &o);
	assert_non_null(l);
	/* Never from inside the start call (helo.h). */
	assert_int_equal(o.calls, 0);
	event_base_dispatch(zt.base);
	assert_int_equal(o.calls, 1);
	zonetest_close(&zt);
	return o.res;
}

static void test_resolve(void **state)
{
	assert_int_equal(resolve("v4.example.com", "192.0.2.10"), HELO_DNS_MATCH);
	assert_int_equal(resolve("V4.Example.Com", "::ffff:192.0.2.99"), HELO_DNS_MATCH);
	assert_int_equal(resolve("v4.example.com", "192.0.2.11"), HELO_DNS_NO_MATCH);
	assert_int_equal(resolve("v6.example.com", "2001:db8::10"), HELO_DNS_MATCH);
	assert_int_equal(resolve("v6.example.com", "192.0.2.10"), HELO_DNS_NO_MATCH);
	assert_int_equal(resolve("other.example.com", "2001:db8::20"), HELO_DNS_MATCH);
	assert_int_equal(resolve("alias.example.com", "192.0.2.10"), HELO_DNS_MATCH);
	assert_int_equal(resolve("missing.example.com", "192.0.2.10"), HELO_DNS_NXDOMAIN);
	assert_int_equal(resolve("txtonly.example.com", "192.0.2.10"), HELO_DNS_NO_ADDRESS);
	assert_int_equal(resolve("bad..name", "192.0.2.10"), HELO_DNS_NXDOMAIN);
	assert_int_equal(resolve("slow.example.com", "192.0.2.10"), HELO_DNS_TEMPERROR);
	/* A answered without a match; only AAAA failed, which an IPv4 client
	 * could not have matched anyway. */
	assert_int_equal(resolve("slow6.example.com", "192.0.2.10"), HELO_DNS_NO_MATCH);
	assert_int_equal(resolve("slow6.example.com", "192.0.2.30"), HELO_DNS_MATCH);
	/* For an IPv6 client the failed AAAA might have matched. */
	assert_int_equal(resolve("slow6.example.com", "2001:db8::30"), HELO_DNS_TEMPERROR);
}

static void test_resolve_bad_client(void **state)
{
	struct zonetest zt;
	struct outcome o = {0};

	zonetest_open(&zt, zone);
	assert_null(helo_dns_start(zt.r, "v4.example.com", "nonsense", on_result, &o));
	zonetest_close(&zt);
}

static void test_resolve_cancel(void **state)
{
	struct zonetest zt;
	struct outcome o = {0};
	struct helo_lookup *l;

	zonetest_open(&zt, zone);
	l = helo_dns_start(zt.r, "v4.example.com", "192.0.2.10", on_result, &o);
	helo_dns_cancel(l);
	event_base_dispatch(zt.base);
	assert_int_equal(o.calls, 0);
	zonetest_close(&zt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),          cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_no_lists),       cmocka_unit_test(test_names),
	    cmocka_unit_test(test_resolve),        cmocka_unit_test(test_resolve_bad_client),
	    cmocka_unit_test(test_resolve_cancel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
