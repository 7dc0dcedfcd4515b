/* Unit tests of check_host() (RFC 7208 4-6) on small zone files through
 * the zone backend and a real event loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns.h"
#include "policy/spf.h"

static const char zone[] =
    "example.com TXT \"v=spf1 ip4:192.0.2.0/24 a:mail.example.com mx -all\"\n"
    "mail.example.com A 198.51.100.1\n"
    "example.com MX 10 mx1.example.com\n"
    "mx1.example.com A 198.51.100.10\n"
    "mx1.example.com AAAA 2001:db8::10\n"
    "exp.example.com TXT \"v=spf1 -all exp=why.example.com\"\n"
    "why.example.com TXT \"%{i} may not send for %{d} (%{c}, %{l})\"\n"
    "inc.example.com TXT \"v=spf1 include:example.com ~all\"\n"
    "none-inc.example.com TXT \"v=spf1 include:nothing.example.com -all\"\n"
    "red.example.com TXT \"v=spf1 exp=why.example.com redirect=example.com\"\n"
    "red-none.example.com TXT \"v=spf1 redirect=nothing.example.com\"\n"
    "void.example.com TXT \"v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com +all\"\n"
    "loop.example.com TXT \"v=spf1 include:loop.example.com\"\n"
    "slow.example.com TIMEOUT\n"
    "tmp.example.com TXT \"v=spf1 a:slow.example.com -all\"\n"
    "two.example.com TXT \"v=spf1 -all\"\n"
    "two.example.com TXT \"v=spf1 +all\"\n"
    "other.example.com TXT \"some verification token\"\n"
    "other.example.com TXT \"v=spf1 \" \"?all\"\n"
    "ptr.example.com TXT \"v=spf1 ptr -all\"\n"
    "5.2.0.192.in-addr.arpa PTR host.ptr.example.com\n"
    "6.2.0.192.in-addr.arpa PTR forged.ptr.example.com\n"
    "host.ptr.example.com A 192.0.2.5\n"
    "pmac.example.com TXT \"v=spf1 exists:%{p}.allow.example.com -all\"\n"
    "host.ptr.example.com.allow.example.com A 127.0.0.2\n"
    "helo.example.org TXT \"v=spf1 a -all\"\n"
    "helo.example.org A 203.0.113.9\n";

struct run {
	struct event_base *base;
	enum spf_result result;
	char explanation[512];
	char trace[4096];
	unsigned lookups;
	int calls;
};

static void on_done(void *arg, const struct spf_outcome *out)
{
	struct run *r = arg;

	r->calls++;
	r->result = out->result;
	snprintf(r->explanation, sizeof(r->explanation), "%s",
	         out->explanation != NULL ? out->explanation : "");
	snprintf(r->trace, sizeof(r->trace), "%s", out->trace->data ? out->trace->data : "");
	r->lookups = out->dns_lookups;
}

static char zone_path[64];

static int setup(void **state)
{
	int fd;

	snprintf(zone_path, sizeof(zone_path), "/tmp/postern-spf-test.XXXXXX");
	fd = mkstemp(zone_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, zone, sizeof(zone) - 1), (ssize_t)(sizeof(zone) - 1));
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(zone_path);
	return 0;
}

static struct run check(const char *ip, const char *sender, const char *helo)
{
	struct run r;
	char err[256];
	struct spf_request req = {.ip = ip,
	                          .sender = sender,
	                          .helo = helo,
	                          .receiver = "mx.example.net",
	                          .default_explanation = "DEFAULT",
	                          .want_trace = 1};

	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	assert_non_null(r.base);
	struct dns_resolver *res = dns_resolver_zone(r.base, zone_path, err, sizeof(err));
	if (res == NULL)
		fail_msg("zone: %s", err);
	spf_check_start(r.base, res, &req, on_done, &r);
	assert_int_equal(r.calls, 0); /* never from inside spf_check_start */
	event_base_dispatch(r.base);
	assert_int_equal(r.calls, 1);
	dns_resolver_free(res);
	event_base_free(r.base);
	return r;
}

struct eval_case {
	const char *ip, *sender, *helo;
	enum spf_result want;
	const char *explanation; /* for fail */
};

static const struct eval_case cases[] = {
    {"192.0.2.77", "user@example.com", "h.example.net", SPF_PASS, NULL},
    {"198.51.100.1", "user@example.com", "h.example.net", SPF_PASS, NULL},
    {"198.51.100.10", "user@example.com", "h.example.net", SPF_PASS, NULL},
    {"2001:db8::10", "user@example.com", "h.example.net", SPF_PASS, NULL},
    {"::ffff:192.0.2.1", "user@EXAMPLE.com", "h.example.net", SPF_PASS, NULL},
    {"203.0.113.1", "user@example.com", "h.example.net", SPF_FAIL, "DEFAULT"},
    /* 6.2: exp= with macros */
    {"203.0.113.1", "joe@exp.example.com", "h", SPF_FAIL,
     "203.0.113.1 may not send for exp.example.com (203.0.113.1, joe)"},
    /* 5.2: include matches on pass only; none is a permerror */
    {"192.0.2.1", "a@inc.example.com", "h", SPF_PASS, NULL},
    {"203.0.113.1", "a@inc.example.com", "h", SPF_SOFTFAIL, NULL},
    {"203.0.113.1", "a@none-inc.example.com", "h", SPF_PERMERROR, NULL},
    /* 6.1, 6.2: redirect drops the first record's exp=; none is a permerror */
    {"203.0.113.1", "a@red.example.com", "h", SPF_FAIL, "DEFAULT"},
    {"203.0.113.1", "a@red-none.example.com", "h", SPF_PERMERROR, NULL},
    /* 4.6.4: void lookups and the DNS term limit */
    {"203.0.113.1", "a@void.example.com", "h", SPF_PERMERROR, NULL},
    {"203.0.113.1", "a@loop.example.com", "h", SPF_PERMERROR, NULL},
    /* 4.4, 5: DNS errors */
    {"203.0.113.1", "a@slow.example.com", "h", SPF_TEMPERROR, NULL},
    {"203.0.113.1", "a@tmp.example.com", "h", SPF_TEMPERROR, NULL},
    /* 4.5: record selection */
    {"203.0.113.1", "a@two.example.com", "h", SPF_PERMERROR, NULL},
    {"203.0.113.1", "a@other.example.com", "h", SPF_NEUTRAL, NULL},
    {"203.0.113.1", "a@nothing.example.com", "h", SPF_NONE, NULL},
    /* 4.3: malformed domains are none without any lookup */
    {"203.0.113.1", "a@localhost", "h", SPF_NONE, NULL},
    {"203.0.113.1", "a@[192.0.2.1]", "h", SPF_NONE, NULL},
    {"203.0.113.1", "a@x..example.com", "h", SPF_NONE, NULL},
    /* 5.5: ptr with validation */
    {"192.0.2.5", "a@ptr.example.com", "h", SPF_PASS, NULL},
    {"192.0.2.6", "a@ptr.example.com", "h", SPF_FAIL, "DEFAULT"},
    /* 7.3: %{p} is the validated name */
    {"192.0.2.5", "a@pmac.example.com", "h", SPF_PASS, NULL},
    {"192.0.2.6", "a@pmac.example.com", "h", SPF_FAIL, "DEFAULT"},
    /* 2.4: a null reverse-path checks postmaster@HELO */
    {"203.0.113.9", "", "helo.example.org", SPF_PASS, NULL},
    {"203.0.113.8", "", "helo.example.org", SPF_FAIL, "DEFAULT"},
    /* a client that is not an address */
    {"not-an-ip", "a@example.com", "h", SPF_PERMERROR, NULL},
};

static void test_cases(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct eval_case *c = &cases[i];
		struct run r = check(c->ip, c->sender, c->helo);
		if (r.result != c->want)
			fail_msg("case %zu (%s, %s): got %s, want %s\n%s", i, c->ip, c->sender,
			         spf_result_name(r.result), spf_result_name(c->want), r.trace);
		if (c->explanation != NULL)
			assert_string_equal(r.explanation, c->explanation);
		else
			assert_string_equal(r.explanation, "");
	}
}

static void test_trace_and_count(void **state)
{
	struct run r = check("198.51.100.10", "user@example.com", "h");

	assert_int_equal(r.result, SPF_PASS);
	assert_int_equal(r.lookups, 2); /* a and mx */
	assert_non_null(strstr(r.trace, "TXT example.com OK"));
	assert_non_null(strstr(r.trace, "A mail.example.com OK 198.51.100.1\n"));
	assert_non_null(strstr(r.trace, "MX example.com OK 10:mx1.example.com\n"));
	assert_non_null(strstr(r.trace, "A mx1.example.com OK 198.51.100.10\n"));

	r = check("203.0.113.1", "a@localhost", "h");
	assert_int_equal(r.lookups, 0);
	assert_string_equal(r.trace, "");
}

static void never(void *arg, const struct spf_outcome *out)
{
	fail_msg("done called after cancel");
}

static void loop_break(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void test_cancel(void **state)
{
	char err[256];
	struct spf_request req = {.ip = "192.0.2.1", .sender = "a@example.com", .helo = "h"};
	struct event_base *base = event_base_new();
	struct dns_resolver *res = dns_resolver_zone(base, zone_path, err, sizeof(err));

	assert_non_null(res);
	struct spf_check *c = spf_check_start(base, res, &req, never, NULL);
	spf_check_cancel(c);
	event_base_dispatch(base);
	/* Cancel while a lookup is pending: the breaker runs after the start
	 * of the check, which queued its first answer behind the breaker. */
	c = spf_check_start(base, res, &req, never, NULL);
	struct event *breaker = event_new(base, -1, 0, loop_break, base);
	event_active(breaker, 0, 0);
	event_base_dispatch(base);
	event_free(breaker);
	spf_check_cancel(c);
	event_base_dispatch(base);
	dns_resolver_free(res);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_trace_and_count),
	    cmocka_unit_test(test_cancel),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
