/* Unit tests of the configuration reader: defaults, the embedded file, and
 * one precise file:line error for each kind of mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static char path[64];

static int load_text(const char *text, struct config *cfg, struct buf *errors)
{
	FILE *f;
	snprintf(path, sizeof(path), "/tmp/postern-cfg-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	buf_init(errors, 65536);
	int rc = config_load(path, cfg, errors);
	unlink(path);
	return rc;
}

#define BASE                                                                                       \
	"listeners = ( { role = \"mx\"; address = \"127.0.0.1:2525\"; } );\n"                      \
	"domains = ( { name = \"example.org\"; } );\n"

static void test_embedded(void **state)
{
	struct config cfg;
	struct buf errors;
	buf_init(&errors, 4096);
	assert_int_equal(config_load(NULL, &cfg, &errors), 0);
	assert_int_equal(cfg.nlisteners, 3);
	assert_int_equal(cfg.listeners[0].role, ROLE_MX);
	assert_string_equal(cfg.listeners[1].port, "5870");
	assert_int_equal(cfg.listeners[2].role, ROLE_SUBMISSIONS);
	assert_non_null(config_domain(&cfg, "LOCALHOST"));
	assert_null(config_domain(&cfg, "example.org"));
	assert_int_equal(cfg.max_line_length, 1000);
	config_free(&cfg);
	buf_free(&errors);
}

static void test_values(void **state)
{
	struct config cfg;
	struct buf errors;
	assert_int_equal(
	    load_text(BASE "limits = { max_recipients = 7; };\nhostname = \"mx.example.org\";\n"
	                   "listeners2 = 1;\n",
	              &cfg, &errors),
	    -1);
	assert_non_null(strstr(errors.data, ":5: unknown setting 'listeners2'"));
	buf_free(&errors);

	assert_int_equal(load_text(BASE "limits = { max_recipients = 7; };\n", &cfg, &errors), 0);
	assert_int_equal(cfg.max_recipients, 7);
	assert_string_equal(cfg.domains[0].name, "example.org");
	assert_int_equal(cfg.domains[0].method, DELIVER_MAILDIR);
	config_free(&cfg);
	buf_free(&errors);
}

struct bad_case {
	const char *text;
	const char *expect;
};

static void test_errors(void **state)
{
	static const struct bad_case cases[] = {
	    {BASE "limits = {\n max_recipients = 0;\n};\n",
	     ":4: limits.max_recipients: 0 is out of range"},
	    {BASE "limits = { bogus = 1; };\n", ":3: unknown setting 'limits.bogus'"},
	    {BASE "hostname = 5;\n", ":3: hostname: expected a string"},
	    {BASE "workers = \"two\";\n", ":3: workers: expected an integer"},
	    {BASE "stuff = { a = 1; };\n", ":3: unknown section 'stuff'"},
	    {"listeners = ( { role = \"relay\"; address = \"127.0.0.1:25\"; } );\n"
	     "domains = ( { name = \"a.org\"; } );\n",
	     ":1: listener: unknown role 'relay'"},
	    {"listeners = ( { role = \"mx\"; } );\ndomains = ( { name = \"a.org\"; } );\n",
	     ":1: listener: 'role' and 'address' are required"},
	    {"listeners = ( { role = \"mx\"; address = \"nocolon\"; } );\n"
	     "domains = ( { name = \"a.org\"; } );\n",
	     ":1: listener: address 'nocolon' is not host:port"},
	    {BASE "domains2 = = 1;\n", ":3: syntax error"},
	    {"listeners = ( { role = \"mx\"; address = \"127.0.0.1:25\"; } );\n"
	     "domains = ( { name = \"a.org\"; },\n { name = \"A.org\"; } );\n",
	     "domain a.org is listed twice"},
	    {"listeners = ( { role = \"mx\"; address = \"127.0.0.1:25\"; } );\n"
	     "domains = ( { name = \"a.org\"; delivery = \"pigeon\"; } );\n",
	     ":2: domain a.org: unknown delivery 'pigeon'"},
	    {"listeners = ( { role = \"mx\"; address = \"127.0.0.1:25\"; } );\n"
	     "domains = ( { name = \"a.org\"; delivery = \"lmtp\"; } );\n",
	     "neither its 'lmtp' nor delivery.lmtp"},
	    {"domains = ( { name = \"a.org\"; } );\n", "no listeners configured"},
	    {BASE "tls = { min_version = \"SSLv3\"; };\n", "tls.min_version: 'SSLv3'"},
	    {BASE "postmaster = \"nobody\";\n", "postmaster: 'nobody' is not an address"},
	    {BASE "policy = {\n spf_fail = \"bounce\";\n};\n",
	     ":4: policy.spf_fail: 'bounce' is not an action"},
	    {BASE "policy = { spf_fail = \"score 5000\"; };\n",
	     ":3: policy.spf_fail: 'score 5000': score takes a number"},
	    {BASE "policy = { spf_fail = \"tag: nope\"; };\n",
	     "only tempfail and reject take a reply text"},
	    {BASE "policy = { spf_failed = \"reject\"; };\n",
	     ":3: unknown setting 'policy.spf_failed'"},
	    {BASE "policy = { score_reject = -1; };\n", "policy.score_reject: -1 is out of range"},
	    {BASE "dnsbl = ( { zone = \"bl.example\"; type = \"url\"; } );\n",
	     ":3: dnsbl bl.example: type 'url' is not ip or rhs"},
	    {BASE "dnsbl = ( { zone = \"bl.example\"; color = 1; } );\n",
	     "unknown setting 'color' in a dnsbl"},
	    {BASE "policy = {\n trusted_networks = \"127.0.0.0/8, 10.0.0.0/33\";\n};\n",
	     ":4: policy.trusted_networks: '10.0.0.0/33': the prefix is not 0..32"},
	    {BASE "policy = { trusted_networks = \"localhost\"; };\n",
	     ":3: policy.trusted_networks: 'localhost' is not an address or address/prefix"},
	    {BASE "dns = {\n servers = \"127.0.0.1:53,ns.example:53\";\n};\n",
	     ":4: dns.servers: 'ns.example:53' is not IPv4[:port], [IPv6]:port or IPv6"},
	    {BASE "dns = { servers = \"127.0.0.1:0\"; };\n",
	     ":3: dns.servers: '127.0.0.1:0': the port is not 1..65535"},
	    {BASE "dns = { servers = \"127.0.0.1:65536\"; };\n", "the port is not 1..65535"},
	    {BASE "dns = { servers = \"127.0.0.1:\"; };\n", "the port is not 1..65535"},
	    {BASE "dns = { servers = \"[::1]:5x\"; };\n", "the port is not 1..65535"},
	    {BASE "dns = { servers = \"[127.0.0.1]:53\"; };\n", "is not IPv4[:port]"},
	    {BASE "dns = { servers = \"[::1\"; };\n", "is not IPv4[:port]"},
	    {BASE "dns = { servers = \"[::1]\"; };\n", "'[::1]' is not IPv4[:port]"},
	    {BASE "dns = { servers = \"[::1]53\"; };\n", "is not IPv4[:port]"},
	    {BASE "dns = { servers = \"::1:53:\"; };\n", "is not IPv4[:port]"},
	    {BASE "dns = { servers = \"127.0.0.1;127.0.0.2\"; };\n", "is not IPv4[:port]"},
	    /* 17 nameservers: refused, not cut to 16. */
	    {BASE "dns = {\n servers = \"127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 "
	          "127.0.0.6 127.0.0.7 127.0.0.8 127.0.0.9 127.0.0.10 127.0.0.11 127.0.0.12 "
	          "127.0.0.13 127.0.0.14 127.0.0.15 127.0.0.16,127.0.0.17\";\n};\n",
	     ":4: dns.servers: more than 16 nameservers"},
	    /* Listener ports: 1..65535, with the message of any other bad
	     * address. */
	    {"listeners = ( { role = \"mx\"; address = \"127.0.0.1:0\"; } );\n"
	     "domains = ( { name = \"a.org\"; } );\n",
	     ":1: listener: address '127.0.0.1:0' is not host:port or [v6]:port"},
	    {"listeners = ( { role = \"mx\"; address = \"[::1]:65536\"; } );\n"
	     "domains = ( { name = \"a.org\"; } );\n",
	     ":1: listener: address '[::1]:65536' is not host:port or [v6]:port"},
	    {"listeners = ( { role = \"mx\"; address = \":1234567\"; } );\n"
	     "domains = ( { name = \"a.org\"; } );\n",
	     "address ':1234567' is not host:port"},
	    {"listeners = ( { role = \"mx\"; address = \"127.0.0.1:smtp\"; } );\n"
	     "domains = ( { name = \"a.org\"; } );\n",
	     "address '127.0.0.1:smtp' is not host:port"},
	    {"listeners = ( { role = \"mx\"; address = \"[::1]:\"; } );\n"
	     "domains = ( { name = \"a.org\"; } );\n",
	     "address '[::1]:' is not host:port"},
	    {"listeners = ( { role = \"mx\"; address = \"::1:25\"; } );\n"
	     "domains = ( { name = \"a.org\"; } );\n",
	     "address '::1:25' is not host:port"},
	    {"listeners = ( { role = \"mx\"; address = \"[::1]25\"; } );\n"
	     "domains = ( { name = \"a.org\"; } );\n",
	     "address '[::1]25' is not host:port"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct buf errors;
		int rc = load_text(cases[i].text, &cfg, &errors);
		if (rc != -1 || strstr(errors.data ? errors.data : "", cases[i].expect) == NULL)
			fail_msg("case %zu: expected '%s', got rc=%d errors='%s'", i,
			         cases[i].expect, rc, errors.data ? errors.data : "");
		buf_free(&errors);
	}
}

static void test_policy(void **state)
{
	struct config cfg;
	struct buf errors;
	assert_int_equal(
	    load_text(
	        BASE
	        "policy = { spf_fail = \"tempfail: try later, %%s\"; iprev_fail = \"score 4\";\n"
	        " score_reject = 7; trusted_networks = \"\"; };\n"
	        "dnsbl = ( { zone = \"bl.example\"; }, { zone = \"rhs.example\"; type = \"rhs\"; "
	        "weight = 3; } );\n",
	        &cfg, &errors),
	    0);
	assert_int_equal(cfg.policy.rules[PR_SPF_FAIL].action, PA_TEMPFAIL);
	assert_string_equal(cfg.policy.rules[PR_SPF_FAIL].text, "try later, %%s");
	assert_int_equal(cfg.policy.rules[PR_IPREV_FAIL].action, PA_SCORE);
	assert_int_equal(cfg.policy.rules[PR_IPREV_FAIL].score, 4);
	/* Untouched rules keep their defaults. */
	assert_int_equal(cfg.policy.rules[PR_SPF_TEMPERROR].action, PA_TEMPFAIL);
	assert_int_equal(cfg.policy.score_reject, 7);
	assert_string_equal(cfg.policy.trusted_networks, "");
	assert_int_equal(cfg.ndnsbls, 2);
	assert_int_equal(cfg.dnsbls[0].weight, 10);
	assert_int_equal(cfg.dnsbls[1].rhs, 1);
	assert_int_equal(cfg.dnsbls[1].weight, 3);
	config_free(&cfg);
	buf_free(&errors);
}

/* Every form of dns.servers that c-ares takes, and trusted_networks in
 * both families. */
static void test_networks(void **state)
{
	struct config cfg;
	struct buf errors;
	assert_int_equal(load_text(BASE "dns = { servers = \"127.0.0.1:5353, 192.0.2.1 ,[::1]:53,"
	                                "[2001:db8::1]:5353,2001:db8::2,::ffff:192.0.2.3\"; };\n"
	                                "policy = { trusted_networks = \"10.0.0.0/8 ::1/128, "
	                                "192.0.2.7\"; };\n",
	                           &cfg, &errors),
	                 0);
	assert_string_equal(cfg.policy.trusted_networks, "10.0.0.0/8 ::1/128, 192.0.2.7");
	config_free(&cfg);
	buf_free(&errors);
}

/* The listener forms: host:port, [v6]:port and :port (every IPv4
 * address), ports 1 and 65535 at the ends of the range. */
static void test_listener_addresses(void **state)
{
	struct config cfg;
	struct buf errors;
	assert_int_equal(load_text("listeners = ( { role = \"mx\"; address = \"127.0.0.1:1\"; },\n"
	                           " { role = \"submission\"; address = \"[::1]:65535\"; },\n"
	                           " { role = \"submissions\"; address = \":465\"; } );\n"
	                           "domains = ( { name = \"example.org\"; } );\n",
	                           &cfg, &errors),
	                 0);
	assert_int_equal(cfg.nlisteners, 3);
	assert_string_equal(cfg.listeners[0].host, "127.0.0.1");
	assert_string_equal(cfg.listeners[0].port, "1");
	assert_string_equal(cfg.listeners[1].host, "::1");
	assert_string_equal(cfg.listeners[1].port, "65535");
	assert_string_equal(cfg.listeners[2].host, "0.0.0.0");
	assert_string_equal(cfg.listeners[2].port, "465");
	config_free(&cfg);
	buf_free(&errors);
}

/* The check of dns.servers on its own, as the --server override of the
 * command-line tools uses it. */
static void test_check_dns_servers(void **state)
{
	char err[256], list[512];
	size_t o = 0;

	assert_int_equal(config_check_dns_servers("", err, sizeof(err)), 0);
	assert_int_equal(config_check_dns_servers(" , ", err, sizeof(err)), 0);
	assert_int_equal(config_check_dns_servers("127.0.0.1:53,[::1]:5353 ::1", err, sizeof(err)),
	                 0);
	assert_int_equal(config_check_dns_servers("ns.example", err, sizeof(err)), -1);
	assert_string_equal(err, "'ns.example' is not IPv4[:port], [IPv6]:port or IPv6");
	assert_int_equal(config_check_dns_servers("127.0.0.1:99999", err, sizeof(err)), -1);
	assert_string_equal(err, "'127.0.0.1:99999': the port is not 1..65535");
	/* Exactly CONFIG_DNS_MAX_SERVERS pass, one more does not. */
	for (int i = 1; i <= CONFIG_DNS_MAX_SERVERS; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "192.0.2.%d:53, ", i);
	assert_int_equal(config_check_dns_servers(list, err, sizeof(err)), 0);
	snprintf(list + o, sizeof(list) - o, "[2001:db8::1]:53");
	assert_int_equal(config_check_dns_servers(list, err, sizeof(err)), -1);
	assert_string_equal(err, "more than 16 nameservers");
}

static void test_reference(void **state)
{
	struct buf ref;
	buf_init(&ref, 1 << 20);
	config_reference(&ref);
	assert_non_null(strstr(ref.data, "limits.max_recipients (integer 1..100000, default 100)"));
	buf_free(&ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_embedded),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_networks),
	    cmocka_unit_test(test_listener_addresses),
	    cmocka_unit_test(test_check_dns_servers),
	    cmocka_unit_test(test_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
