/* Unit tests of the resolver built from the configuration: a list of
 * nameservers, from dns.servers or an override such as --server, is
 * checked as dns.servers is, and more than DNS_CONF_MAX_SERVERS are
 * refused instead of cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "dns/dns_conf.h"

struct fixture {
	struct event_base *base;
	struct config cfg;
};

static struct fixture fx;

static int setup(void **state)
{
	struct buf errors;

	buf_init(&errors, 4096);
	fx.base = event_base_new();
	if (fx.base == NULL || config_load(NULL, &fx.cfg, &errors) < 0)
		return -1;
	buf_free(&errors);
	return 0;
}

static int teardown(void **state)
{
	config_free(&fx.cfg);
	event_base_free(fx.base);
	return 0;
}

/* servers: NULL for a resolver, or the error expected. */
static void expect(const char *servers, const char *error)
{
	char err[256] = "";
	struct dns_resolver *r =
	    dns_resolver_from_config(fx.base, &fx.cfg, servers, err, sizeof(err));

	if (error == NULL) {
		if (r == NULL)
			fail_msg("'%s': refused: %s", servers, err);
		dns_resolver_free(r);
		return;
	}
	if (r != NULL) {
		dns_resolver_free(r);
		fail_msg("'%s': accepted, expected '%s'", servers, error);
	}
	assert_string_equal(err, error);
}

static void test_override_checked(void **state)
{
	expect("127.0.0.1:5353, [::1]:53", NULL);
	expect("ns.example", "'ns.example' is not IPv4[:port], [IPv6]:port or IPv6");
	expect("127.0.0.1:0", "'127.0.0.1:0': the port is not 1..65535");
	expect("[::1]", "'[::1]' is not IPv4[:port], [IPv6]:port or IPv6");
}

static void test_too_many_refused(void **state)
{
	char list[512];
	size_t o = 0;

	for (int i = 1; i <= DNS_CONF_MAX_SERVERS; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s192.0.2.%d", i > 1 ? "," : "",
		                      i);
	expect(list, NULL);
	snprintf(list + o, sizeof(list) - o, ",192.0.2.99");
	expect(list, "more than 16 nameservers");
}

/* dns.servers itself goes through the same check (config_load already
 * refuses a bad one; a configuration built otherwise is caught here). */
static void test_config_list_checked(void **state)
{
	char *saved = fx.cfg.dns_servers;

	fx.cfg.dns_servers = "127.0.0.1:53,resolver.example";
	expect(NULL, "'resolver.example' is not IPv4[:port], [IPv6]:port or IPv6");
	fx.cfg.dns_servers = "127.0.0.1:53";
	expect(NULL, NULL);
	fx.cfg.dns_servers = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_override_checked),
	    cmocka_unit_test(test_too_many_refused),
	    cmocka_unit_test(test_config_list_checked),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
