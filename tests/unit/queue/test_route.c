/* Unit tests of outbound routing: destination parsing, then every MX,
 * fallback, failure and cancel case through a zone file on a real event
 * loop. */
#include "../policy/zonetest.h"

#include "queue/route.h"

#include <arpa/inet.h>
#include <sys/socket.h>

static const char zone[] =
    /* Preferences 5 < 10 = 10 < 20. */
    "order.example MX 20 c.order.example\n"
    "order.example MX 10 a.order.example\n"
    "order.example MX 10 b.order.example\n"
    "order.example MX 5 d.order.example\n"
    "a.order.example A 192.0.2.1\n"
    "b.order.example A 192.0.2.2\n"
    "c.order.example A 192.0.2.3\n"
    "d.order.example A 192.0.2.4\n"
    /* Two AAAA and three A on one host. */
    "mixed.example MX 10 mx.mixed.example\n"
    "mx.mixed.example A 192.0.2.11\n"
    "mx.mixed.example AAAA 2001:db8::1\n"
    "mx.mixed.example A 192.0.2.12\n"
    "mx.mixed.example AAAA 2001:db8::2\n"
    "mx.mixed.example A 192.0.2.13\n"
    /* No MX records. */
    "nomx.example A 192.0.2.21\n"
    "nomx.example AAAA 2001:db8::21\n"
    "noaddr.example TXT \"v=spf1 -all\"\n"
    /* RFC 7505, and a null MX beside a real one. */
    "null.example MX 0 .\n"
    "null10.example MX 10 .\n"
    "halfnull.example MX 0 .\n"
    "halfnull.example MX 10 d.order.example\n"
    /* Every query for slow.example times out. */
    "slow.example TIMEOUT\n"
    "slowmx.example MX 10 slow.example\n"
    "partslow.example MX 10 slow.example\n"
    "partslow.example MX 20 d.order.example\n"
    /* MX hosts with no address: NODATA, NXDOMAIN, an address as exchange. */
    "skip.example MX 1 noaddr.example\n"
    "skip.example MX 2 nx.example\n"
    "skip.example MX 3 192.0.2.99\n"
    "skip.example MX 4 d.order.example\n"
    "deadmx.example MX 10 noaddr.example\n"
    "deadmx.example MX 20 nx.example\n"
    "ipmx.example MX 10 192.0.2.99\n"
    "cname.example MX 10 alias.cname.example\n"
    "alias.cname.example CNAME d.order.example\n"
    /* A relay with both an MX and an address of its own. */
    "relay.example MX 10 mx.relay.example\n"
    "relay.example A 192.0.2.31\n"
    "mx.relay.example A 192.0.2.32\n"
    /* The same address under two hosts, the same host twice. */
    "dup.example MX 10 a.order.example\n"
    "dup.example MX 20 other.dup.example\n"
    "dup.example MX 30 A.ORDER.EXAMPLE\n"
    "other.dup.example A 192.0.2.1\n"
    "other.dup.example A 192.0.2.5\n"
    /* Addresses of a.order.example arrive, those of h.hang never do. */
    "wait.example MX 10 h.hang.example\n"
    "wait.example MX 20 a.order.example\n";

/* A name of 253 octets, the most RFC 1035 2.3.4 allows: labels of 63,
 * 63, 63 and 61. */
static void long_name(char *out)
{
	memset(out, 'a', 253);
	for (size_t i = 63; i < 253; i += 64)
		out[i] = '.';
	out[253] = '\0';
}

struct fixture {
	struct zonetest zt;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *text = malloc(sizeof(zone) + 4096);
	size_t n = 0;

	assert_non_null(f);
	assert_non_null(text);
	char name[254];

	n += (size_t)snprintf(text, sizeof(zone) + 4096, "%s", zone);
	long_name(name);
	n += (size_t)snprintf(text + n, sizeof(zone) + 4096 - n, "%s MX 10 slow.example\n", name);
	/* Twelve MX hosts of three addresses each: past both bounds. */
	for (int h = 1; h <= 12; h++) {
		n += (size_t)snprintf(text + n, sizeof(zone) + 4096 - n,
		                      "big.example MX %d h%d.big.example\n", h, h);
		for (int k = 0; k < 3; k++)
			n += (size_t)snprintf(text + n, sizeof(zone) + 4096 - n,
			                      "h%d.big.example A 198.51.100.%d\n", h, h * 10 + k);
	}
	zonetest_open(&f->zt, text);
	free(text);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	zonetest_close(&f->zt);
	free(f);
	return 0;
}

struct outcome {
	int calls;
	struct route_result *r;
};

static void on_done(void *arg, struct route_result *r)
{
	struct outcome *o = arg;
	o->calls++;
	o->r = r;
}

/* Routes dest on the fixture's zone and runs the loop until done; the
 * callback must not have run inside route_lookup. */
static struct route_result *route(void **state, const char *dest, int relay, uint16_t port,
                                  unsigned fam)
{
	struct fixture *f = *state;
	struct outcome o = {0};

	assert_non_null(route_lookup(f->zt.base, f->zt.r, dest, relay, port, fam, on_done, &o));
	assert_int_equal(o.calls, 0);
	assert_int_equal(event_base_loop(f->zt.base, 0), 1); /* 1: nothing left to wait for */
	assert_int_equal(o.calls, 1);
	assert_non_null(o.r);
	return o.r;
}

/* The list as "pref host addr port" entries joined by ", ". */
static const char *list(const struct route_result *r)
{
	static char out[4096];
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->naddr; i++) {
		const struct route_addr *a = &r->addrs[i];
		char ip[INET6_ADDRSTRLEN];
		assert_non_null(inet_ntop(a->family, a->addr, ip, sizeof(ip)));
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%u %s %s %u", i ? ", " : "",
		                      a->pref, a->host, ip, a->port);
	}
	return out;
}

static void expect_ok(void **state, const char *dest, int relay, unsigned fam, const char *want)
{
	struct route_result *r = route(state, dest, relay, 25, fam);

	if (r->status != ROUTE_OK)
		fail_msg("%s: %s", dest, r->reply);
	assert_string_equal(r->reply, "");
	assert_string_equal(list(r), want);
	route_result_free(r);
}

static void expect_fail(void **state, const char *dest, int relay, enum route_status st,
                        const char *reply)
{
	struct route_result *r = route(state, dest, relay, 25, ROUTE_IPV4_IPV6);

	assert_int_equal(r->status, st);
	assert_string_equal(r->reply, reply);
	assert_int_equal(r->naddr, 0);
	assert_null(r->addrs);
	route_result_free(r);
}

static void test_parse(void **state)
{
	struct route_dest d;

	assert_int_equal(route_dest_parse("example.net", 0, 25, &d), 0);
	assert_string_equal(d.host, "example.net");
	assert_false(d.literal);
	assert_false(d.no_mx);
	assert_int_equal(d.port, 25);
	assert_int_equal(route_dest_parse("Example.NET.", 0, 25, &d), 0);
	assert_string_equal(d.host, "Example.NET");
	assert_int_equal(route_dest_parse("[192.0.2.1]", 0, 25, &d), 0);
	assert_true(d.literal);
	assert_int_equal(d.family, AF_INET);
	assert_string_equal(d.host, "192.0.2.1");
	assert_int_equal(route_dest_parse("[IPv6:2001:DB8::1]", 0, 25, &d), 0);
	assert_int_equal(d.family, AF_INET6);
	assert_string_equal(d.host, "2001:db8::1");
	assert_int_equal(route_dest_parse("[ipv6:::1]", 0, 25, &d), 0);
	assert_string_equal(d.host, "::1");

	/* A recipient domain has no port, no bracketed name and no bare address. */
	assert_int_equal(route_dest_parse("example.net:25", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("[example.net]", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("[192.0.2.1]:25", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("[2001:db8::1]", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("192.0.2.1", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("[IPv6:192.0.2.1]", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse(".", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("a..b", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("exa mple.net", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("a\\.b", 0, 25, &d), -1);
	assert_int_equal(route_dest_parse("[192.0.2.1", 0, 25, &d), -1);

	/* Relay specs. */
	assert_int_equal(route_dest_parse("relay.example", 1, 25, &d), 0);
	assert_false(d.no_mx);
	assert_int_equal(d.port, 25);
	assert_int_equal(route_dest_parse("relay.example:2525", 1, 25, &d), 0);
	assert_string_equal(d.host, "relay.example");
	assert_false(d.no_mx);
	assert_int_equal(d.port, 2525);
	assert_int_equal(route_dest_parse("[relay.example]:587", 1, 25, &d), 0);
	assert_string_equal(d.host, "relay.example");
	assert_true(d.no_mx);
	assert_false(d.literal);
	assert_int_equal(d.port, 587);
	assert_int_equal(route_dest_parse("[relay.example]", 1, 26, &d), 0);
	assert_true(d.no_mx);
	assert_int_equal(d.port, 26);
	assert_int_equal(route_dest_parse("[192.0.2.1]:587", 1, 25, &d), 0);
	assert_true(d.literal);
	assert_int_equal(d.port, 587);
	assert_int_equal(route_dest_parse("192.0.2.1:587", 1, 25, &d), 0);
	assert_true(d.literal);
	assert_int_equal(route_dest_parse("[2001:db8::1]:587", 1, 25, &d), 0);
	assert_int_equal(d.family, AF_INET6);
	assert_int_equal(d.port, 587);
	assert_int_equal(route_dest_parse("[IPv6:2001:db8::1]:65535", 1, 25, &d), 0);
	assert_int_equal(d.port, 65535);
	assert_int_equal(route_dest_parse("relay.example:0", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse("relay.example:65536", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse("relay.example:025252", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse("relay.example:", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse("relay.example:25x", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse("relay.example:+25", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse(":25", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse("[]:25", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse("[relay.example]587", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse("2001:db8::1", 1, 25, &d), -1);
	assert_int_equal(route_dest_parse("relay.example:25:25", 1, 25, &d), -1);

	/* A name of 253 octets fits; 254 do not. */
	char name[255];
	long_name(name);
	assert_int_equal(route_dest_parse(name, 0, 25, &d), 0);
	name[253] = 'a';
	name[254] = '\0';
	assert_int_equal(route_dest_parse(name, 0, 25, &d), -1);
}

/* RFC 5321 5.1: lower preference first, equal preferences shuffled. */
static void test_mx_order(void **state)
{
	int a_first = 0, b_first = 0;

	for (int i = 0; i < 64; i++) {
		struct route_result *r = route(state, "order.example", 0, 25, ROUTE_IPV4_IPV6);
		const char *l = list(r);

		assert_int_equal(r->status, ROUTE_OK);
		if (strcmp(l,
		           "5 d.order.example 192.0.2.4 25, 10 a.order.example 192.0.2.1 25, "
		           "10 b.order.example 192.0.2.2 25, 20 c.order.example 192.0.2.3 25") == 0)
			a_first++;
		else if (strcmp(
		             l,
		             "5 d.order.example 192.0.2.4 25, 10 b.order.example 192.0.2.2 25, "
		             "10 a.order.example 192.0.2.1 25, 20 c.order.example 192.0.2.3 25") ==
		         0)
			b_first++;
		else
			fail_msg("unexpected order: %s", l);
		route_result_free(r);
	}
	/* Each order has a 2^-64 chance of never showing up. */
	assert_true(a_first > 0);
	assert_true(b_first > 0);
}

static void test_families(void **state)
{
	/* IPv6 and IPv4 alternate, IPv6 first, each in answer order. */
	expect_ok(state, "mixed.example", 0, ROUTE_IPV4_IPV6,
	          "10 mx.mixed.example 2001:db8::1 25, 10 mx.mixed.example 192.0.2.11 25, "
	          "10 mx.mixed.example 2001:db8::2 25, 10 mx.mixed.example 192.0.2.12 25, "
	          "10 mx.mixed.example 192.0.2.13 25");
	expect_ok(state, "mixed.example", 0, ROUTE_IPV6,
	          "10 mx.mixed.example 2001:db8::1 25, 10 mx.mixed.example 2001:db8::2 25");
	expect_ok(state, "mixed.example", 0, ROUTE_IPV4,
	          "10 mx.mixed.example 192.0.2.11 25, 10 mx.mixed.example 192.0.2.12 25, "
	          "10 mx.mixed.example 192.0.2.13 25");
	/* A host with addresses of the other family only has none. */
	struct route_result *r = route(state, "order.example", 0, 25, ROUTE_IPV6);
	assert_int_equal(r->status, ROUTE_TEMP);
	assert_string_equal(r->reply, "451 4.4.4 order.example: no MX host has an address");
	route_result_free(r);
}

/* RFC 5321 5.1: no MX records, the domain is its own MX of preference 0. */
static void test_implicit_mx(void **state)
{
	expect_ok(state, "nomx.example", 0, ROUTE_IPV4_IPV6,
	          "0 nomx.example 2001:db8::21 25, 0 nomx.example 192.0.2.21 25");
	expect_ok(state, "NoMX.example.", 0, ROUTE_IPV4, "0 NoMX.example 192.0.2.21 25");
	expect_fail(state, "noaddr.example", 0, ROUTE_TEMP,
	            "451 4.4.4 noaddr.example: no MX record and no address");
}

static void test_perm(void **state)
{
	expect_fail(state, "nx.example", 0, ROUTE_PERM,
	            "550 5.1.2 nx.example: domain does not exist");
	expect_fail(state, "null.example", 0, ROUTE_PERM,
	            "556 5.1.10 null.example: null MX (RFC 7505)");
	/* The root alone is a null MX whatever its preference. */
	expect_fail(state, "null10.example", 0, ROUTE_PERM,
	            "556 5.1.10 null10.example: null MX (RFC 7505)");
	/* Beside another record the root is a host that is not there. */
	expect_ok(state, "halfnull.example", 0, ROUTE_IPV4_IPV6, "10 d.order.example 192.0.2.4 25");
	expect_fail(state, "bad domain", 0, ROUTE_PERM, "550 5.1.2 bad destination domain");
}

static void test_temp(void **state)
{
	expect_fail(state, "slow.example", 0, ROUTE_TEMP,
	            "451 4.4.3 slow.example: MX lookup: temporary DNS failure");
	expect_fail(state, "slowmx.example", 0, ROUTE_TEMP,
	            "451 4.4.3 slowmx.example: MX host lookup: temporary DNS failure");
	/* One host that answers is enough. */
	expect_ok(state, "partslow.example", 0, ROUTE_IPV4_IPV6, "20 d.order.example 192.0.2.4 25");
	/* Hosts that all fail for good: still temporary, a broken MX gets fixed. */
	expect_fail(state, "deadmx.example", 0, ROUTE_TEMP,
	            "451 4.4.4 deadmx.example: no MX host has an address");
	expect_fail(state, "ipmx.example", 0, ROUTE_TEMP,
	            "451 4.4.4 ipmx.example: no usable MX host");

	/* The longest name and the longest reason fit the reply whole. */
	char name[254], want[400];
	long_name(name);
	snprintf(want, sizeof(want), "451 4.4.3 %s: MX host lookup: temporary DNS failure", name);
	expect_fail(state, name, 0, ROUTE_TEMP, want);
}

static void test_skip(void **state)
{
	/* NODATA, NXDOMAIN and an address as exchange are skipped. */
	expect_ok(state, "skip.example", 0, ROUTE_IPV4_IPV6, "4 d.order.example 192.0.2.4 25");
	/* An MX host that is a CNAME: the resolver follows it; the MX name stays. */
	expect_ok(state, "cname.example", 0, ROUTE_IPV4_IPV6,
	          "10 alias.cname.example 192.0.2.4 25");
}

static void test_bounds(void **state)
{
	/* An address listed already is not repeated, nor is a host. */
	expect_ok(state, "dup.example", 0, ROUTE_IPV4_IPV6,
	          "10 a.order.example 192.0.2.1 25, 20 other.dup.example 192.0.2.5 25");

	/* Ten hosts are asked, the list stops at twenty addresses. */
	struct route_result *r = route(state, "big.example", 0, 25, ROUTE_IPV4);
	assert_int_equal(r->status, ROUTE_OK);
	assert_int_equal(r->naddr, ROUTE_MAX_ADDRS);
	for (size_t i = 0; i < r->naddr; i++) {
		char want[64];
		snprintf(want, sizeof(want), "h%zu.big.example", i / 3 + 1);
		assert_string_equal(r->addrs[i].host, want);
		assert_int_equal(r->addrs[i].pref, i / 3 + 1);
		assert_int_equal(r->addrs[i].addr[3], (i / 3 + 1) * 10 + i % 3);
	}
	route_result_free(r);

	/* The eleventh host is never asked for: its lookups would never
	 * answer. */
	struct fixture *f = *state;
	struct hang_resolver h;
	struct outcome o = {0};
	hang_init(&h, f->zt.r, "h11.big");
	assert_non_null(
	    route_lookup(f->zt.base, &h.base, "big.example", 0, 25, ROUTE_IPV6, on_done, &o));
	assert_int_equal(event_base_loop(f->zt.base, 0), 1);
	assert_int_equal(o.calls, 1);
	assert_int_equal(h.live, 0);
	assert_int_equal(o.r->status, ROUTE_TEMP);
	route_result_free(o.r);
}

static void test_relay(void **state)
{
	/* Brackets: the relay's own address, not its MX. */
	struct route_result *r = route(state, "[relay.example]:587", 1, 25, ROUTE_IPV4_IPV6);
	assert_int_equal(r->status, ROUTE_OK);
	assert_string_equal(list(r), "0 relay.example 192.0.2.31 587");
	route_result_free(r);
	/* No brackets: its MX, on the spec's port. */
	r = route(state, "relay.example:2525", 1, 25, ROUTE_IPV4_IPV6);
	assert_string_equal(list(r), "10 mx.relay.example 192.0.2.32 2525");
	route_result_free(r);
	/* The default port when the spec has none. */
	r = route(state, "relay.example", 1, 2526, ROUTE_IPV4_IPV6);
	assert_string_equal(list(r), "10 mx.relay.example 192.0.2.32 2526");
	route_result_free(r);
	/* A recipient domain gets the default port too. */
	r = route(state, "relay.example", 0, 2527, ROUTE_IPV4_IPV6);
	assert_string_equal(list(r), "10 mx.relay.example 192.0.2.32 2527");
	route_result_free(r);

	/* Nothing about a relay is permanent. */
	expect_fail(state, "nx.example:25", 1, ROUTE_TEMP,
	            "451 4.4.4 nx.example: domain does not exist");
	expect_fail(state, "[nx.example]", 1, ROUTE_TEMP,
	            "451 4.4.4 nx.example: domain does not exist");
	expect_fail(state, "null.example", 1, ROUTE_TEMP,
	            "451 4.4.4 null.example: null MX (RFC 7505)");
	expect_fail(state, "[noaddr.example]", 1, ROUTE_TEMP,
	            "451 4.4.4 noaddr.example: no address");
	expect_fail(state, "[slow.example]:25", 1, ROUTE_TEMP,
	            "451 4.4.3 slow.example: address lookup: temporary DNS failure");
	expect_fail(state, "relay.example:99999", 1, ROUTE_TEMP, "451 4.3.5 unreadable relay");
}

static void test_literal(void **state)
{
	expect_ok(state, "[192.0.2.1]", 0, ROUTE_IPV4_IPV6, "0 192.0.2.1 192.0.2.1 25");
	expect_ok(state, "[IPv6:2001:db8::7]", 0, ROUTE_IPV4_IPV6, "0 2001:db8::7 2001:db8::7 25");
	expect_ok(state, "[2001:db8::7]:587", 1, ROUTE_IPV6, "0 2001:db8::7 2001:db8::7 587");
	expect_ok(state, "127.0.0.1:2525", 1, ROUTE_IPV4, "0 127.0.0.1 127.0.0.1 2525");
	struct route_result *r = route(state, "[IPv6:2001:db8::7]", 0, 25, ROUTE_IPV4);
	assert_int_equal(r->status, ROUTE_TEMP);
	assert_string_equal(r->reply, "451 4.4.4 2001:db8::7: address family not used");
	route_result_free(r);
}

/* Cancelled at every stage, no callback comes and nothing is left. */
static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct outcome o = {0};
	struct hang_resolver h;
	struct route_query *q;

	/* Before the MX answer, and before a literal's result is delivered. */
	route_cancel(route_lookup(f->zt.base, f->zt.r, "order.example", 0, 25, ROUTE_IPV4_IPV6,
	                          on_done, &o));
	route_cancel(
	    route_lookup(f->zt.base, f->zt.r, "[192.0.2.1]", 0, 25, ROUTE_IPV4_IPV6, on_done, &o));
	route_cancel(
	    route_lookup(f->zt.base, f->zt.r, "bad domain", 0, 25, ROUTE_IPV4_IPV6, on_done, &o));
	route_cancel(route_lookup(f->zt.base, f->zt.r, "[relay.example]", 1, 25, ROUTE_IPV4_IPV6,
	                          on_done, &o));
	event_base_loop(f->zt.base, 0);
	assert_int_equal(o.calls, 0);

	/* With one host's addresses in and the other's still out. */
	hang_init(&h, f->zt.r, "hang");
	q = route_lookup(f->zt.base, &h.base, "wait.example", 0, 25, ROUTE_IPV4_IPV6, on_done, &o);
	assert_int_equal(event_base_loop(f->zt.base, 0), 1);
	assert_int_equal(o.calls, 0);
	assert_int_equal(h.live, 2);
	route_cancel(q);
	assert_int_equal(h.live, 0);
	event_base_loop(f->zt.base, 0);
	assert_int_equal(o.calls, 0);
}

/* done may free the resolver: the query is gone by then. */
static void free_resolver(void *arg, struct route_result *r)
{
	struct dns_resolver **dns = arg;
	dns_resolver_free(*dns);
	*dns = NULL;
	route_result_free(r);
}

static void test_done_frees_resolver(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct dns_resolver *dns = dns_resolver_zone(f->zt.base, f->zt.path, err, sizeof(err));

	assert_non_null(dns);
	route_lookup(f->zt.base, dns, "mixed.example", 0, 25, ROUTE_IPV4_IPV6, free_resolver, &dns);
	event_base_loop(f->zt.base, 0);
	assert_null(dns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test_setup_teardown(test_mx_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_families, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_implicit_mx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_perm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_temp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_skip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_literal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_done_frees_resolver, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
