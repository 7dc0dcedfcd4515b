/* Unit tests of network lists: parsing (prefixes at both ends, bad
 * prefixes, junk, empty lists) and membership for IPv4 and IPv6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/netlist.h"

static int contains(const struct netlist *nl, const char *addr)
{
	struct ipaddr a;
	if (ipaddr_parse(addr, &a) < 0)
		fail_msg("test address %s does not parse", addr);
	return netlist_contains(nl, &a);
}

static void parse_ok(const char *text, struct netlist *nl)
{
	char err[256] = "";
	if (netlist_parse(text, nl, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
}

static void test_empty(void **state)
{
	static const char *const empties[] = {"", " ", ",", " , ,, "};
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		struct netlist nl;
		parse_ok(empties[i], &nl);
		assert_int_equal(nl.n, 0);
		assert_false(contains(&nl, "127.0.0.1"));
		assert_false(contains(&nl, "::1"));
		netlist_free(&nl);
	}
}

static void test_ipv4(void **state)
{
	struct netlist nl;
	parse_ok("127.0.0.0/8, 192.0.2.7,198.51.100.128/25", &nl);
	assert_int_equal(nl.n, 3);
	assert_int_equal(nl.nets[1].prefix, 32);
	assert_true(contains(&nl, "127.0.0.1"));
	assert_true(contains(&nl, "127.255.255.255"));
	assert_false(contains(&nl, "128.0.0.1"));
	assert_true(contains(&nl, "192.0.2.7"));
	assert_false(contains(&nl, "192.0.2.6"));
	assert_false(contains(&nl, "192.0.2.8"));
	assert_true(contains(&nl, "198.51.100.128"));
	assert_true(contains(&nl, "198.51.100.255"));
	assert_false(contains(&nl, "198.51.100.127"));
	/* A dual-stack socket's view of an IPv4 client is the same client. */
	assert_true(contains(&nl, "::ffff:127.0.0.1"));
	/* No IPv6 address is in an IPv4 network. */
	assert_false(contains(&nl, "::1"));
	assert_false(contains(&nl, "::7f00:1"));
	netlist_free(&nl);
}

static void test_ipv6(void **state)
{
	struct netlist nl;
	parse_ok("::1/128 2001:db8::/32 2001:db9:ffff:2::/63", &nl);
	assert_int_equal(nl.n, 3);
	assert_true(contains(&nl, "::1"));
	assert_false(contains(&nl, "::2"));
	assert_true(contains(&nl, "2001:db8:1234::1"));
	assert_false(contains(&nl, "2001:db9::1"));
	assert_true(contains(&nl, "2001:db9:ffff:3::1"));
	assert_false(contains(&nl, "2001:db9:ffff:4::1"));
	assert_false(contains(&nl, "2001:db9:ffff:1::1"));
	assert_false(contains(&nl, "127.0.0.1"));
	netlist_free(&nl);

	/* Written as IPv4-mapped IPv6, the network is the IPv4 one. */
	parse_ok("::ffff:192.0.2.0/120", &nl);
	assert_int_equal(nl.nets[0].net.family, AF_INET);
	assert_int_equal(nl.nets[0].prefix, 24);
	assert_true(contains(&nl, "192.0.2.200"));
	assert_false(contains(&nl, "192.0.3.1"));
	netlist_free(&nl);
}

static void test_prefix_ends(void **state)
{
	struct netlist nl;
	/* /0 is every address of its family, and only of its family. */
	parse_ok("0.0.0.0/0", &nl);
	assert_true(contains(&nl, "0.0.0.0"));
	assert_true(contains(&nl, "255.255.255.255"));
	assert_true(contains(&nl, "10.1.2.3"));
	assert_false(contains(&nl, "2001:db8::1"));
	netlist_free(&nl);
	parse_ok("::/0", &nl);
	assert_true(contains(&nl, "2001:db8::1"));
	assert_true(contains(&nl, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"));
	assert_false(contains(&nl, "10.1.2.3"));
	netlist_free(&nl);
	/* /32 and /128 are one address. */
	parse_ok("10.1.2.3/32,2001:db8::7/128", &nl);
	assert_true(contains(&nl, "10.1.2.3"));
	assert_false(contains(&nl, "10.1.2.2"));
	assert_true(contains(&nl, "2001:db8::7"));
	assert_false(contains(&nl, "2001:db8::6"));
	netlist_free(&nl);
	/* A prefix that ends inside a byte. */
	parse_ok("10.0.0.0/9", &nl);
	assert_true(contains(&nl, "10.127.255.255"));
	assert_false(contains(&nl, "10.128.0.0"));
	netlist_free(&nl);
}

static void test_bad(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"10.0.0.0/33", "'10.0.0.0/33': the prefix is not 0..32"},
	    {"::/129", "'::/129': the prefix is not 0..128"},
	    {"10.0.0.0/-1", "the prefix is not 0..32"},
	    {"10.0.0.0/+8", "the prefix is not 0..32"},
	    {"10.0.0.0/", "the prefix is not 0..32"},
	    {"10.0.0.0/8/8", "the prefix is not 0..32"},
	    {"10.0.0.0/8x", "the prefix is not 0..32"},
	    {"10.0.0.0/0008", "the prefix is not 0..32"},
	    {"::ffff:10.0.0.0/8", "the prefix is not 96..128"},
	    {"/8", "'/8' is not an address or address/prefix"},
	    {"127.0.0.1,localhost", "'localhost' is not an address or address/prefix"},
	    {"10.0.0.0/8;192.0.2.0/24", "'10.0.0.0/8;192.0.2.0/24'"},
	    {"256.0.0.1", "'256.0.0.1' is not an address"},
	    {"10.1", "'10.1' is not an address"},
	    {"fe80::1%eth0", "'fe80::1%eth0' is not an address"},
	    {"2001:db8:::1", "is not an address"},
	    {"10.1.2.3/8", "'10.1.2.3/8' has address bits set after the /8 prefix"},
	    {"2001:db8::1/32", "has address bits set after the /32 prefix"},
	    {"0123456789012345678901234567890123456789012345678901234567890123456789",
	     "'0123456789012345678901234567890123456789012345678901234567890123...' is not"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct netlist nl;
		char err[256] = "";
		if (netlist_parse(cases[i].text, &nl, err, sizeof(err)) != -1)
			fail_msg("'%s' was accepted", cases[i].text);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("'%s': expected '%s', got '%s'", cases[i].text, cases[i].err, err);
		assert_null(nl.nets);
		assert_int_equal(nl.n, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty), cmocka_unit_test(test_ipv4),
	    cmocka_unit_test(test_ipv6),  cmocka_unit_test(test_prefix_ends),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
