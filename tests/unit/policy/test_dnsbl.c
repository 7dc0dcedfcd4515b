/* Unit tests of the DNS blocklist check: query names, code parsing and
 * weighing on their own, then listings, codes, IPv6, RHSBL, failures and
 * the time budget through a zone file (RFC 5782 test points). */
#include "zonetest.h"

#include "policy/dnsbl.h"

#include <time.h>

/* ---- Pure helpers ---- */

static void test_query_name(void **state)
{
	char out[300];

	assert_int_equal(dnsbl_query_name("192.0.2.1", DNSBL_IP, "zen.example", out, sizeof(out)),
	                 0);
	assert_string_equal(out, "1.2.0.192.zen.example");
	/* RFC 5782 5: the test points. */
	assert_int_equal(dnsbl_query_name("127.0.0.2", DNSBL_IP, "zen.example.", out, sizeof(out)),
	                 0);
	assert_string_equal(out, "2.0.0.127.zen.example");
	/* A mapped address is an IPv4 client. */
	assert_int_equal(
	    dnsbl_query_name("::ffff:192.0.2.1", DNSBL_IP, "zen.example", out, sizeof(out)), 0);
	assert_string_equal(out, "1.2.0.192.zen.example");
	/* RFC 5782 2.4: 32 nibbles, least significant first. */
	assert_int_equal(dnsbl_query_name("2001:DB8::1", DNSBL_IP, "v6.example", out, sizeof(out)),
	                 0);
	assert_string_equal(
	    out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.v6.example");
	assert_int_equal(dnsbl_query_name("2001:db8::1", DNSBL_IP, "v6.example", out, 64), -1);
	assert_int_equal(dnsbl_query_name("example.com", DNSBL_IP, "zen.example", out, sizeof(out)),
	                 -1);
	assert_int_equal(dnsbl_query_name("192.0.2.1", DNSBL_IP, "", out, sizeof(out)), -1);
	assert_int_equal(dnsbl_query_name("192.0.2.1", DNSBL_IP, "bad zone", out, sizeof(out)), -1);
	assert_int_equal(dnsbl_query_name("192.0.2.1", DNSBL_IP, "zen.example", out, 10), -1);

	assert_int_equal(
	    dnsbl_query_name("Example.COM.", DNSBL_RHS, "dbl.example", out, sizeof(out)), 0);
	assert_string_equal(out, "Example.COM.dbl.example");
	assert_int_equal(
	    dnsbl_query_name("mail_1.example.com", DNSBL_RHS, "dbl.example", out, sizeof(out)), 0);
	assert_int_equal(dnsbl_query_name("", DNSBL_RHS, "dbl.example", out, sizeof(out)), -1);
	assert_int_equal(dnsbl_query_name(".", DNSBL_RHS, "dbl.example", out, sizeof(out)), -1);
	assert_int_equal(
	    dnsbl_query_name("[192.0.2.1]", DNSBL_RHS, "dbl.example", out, sizeof(out)), -1);
	assert_int_equal(dnsbl_query_name("a..example", DNSBL_RHS, "dbl.example", out, sizeof(out)),
	                 -1);
	assert_int_equal(
	    dnsbl_query_name("a b.example", DNSBL_RHS, "dbl.example", out, sizeof(out)), -1);
}

static void test_query_name_lengths(void **state)
{
	char domain[260], out[300];

	/* 241 + ".dbl.example" = 253 octets: the longest name. */
	for (size_t i = 0; i < 240; i += 2)
		memcpy(domain + i, "a.", 2);
	strcpy(domain + 240, "b");
	assert_int_equal(dnsbl_query_name(domain, DNSBL_RHS, "dbl.example", out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 253);
	strcpy(domain + 240, "bc");
	assert_int_equal(dnsbl_query_name(domain, DNSBL_RHS, "dbl.example", out, sizeof(out)), -1);
	memset(domain, 'x', 64);
	strcpy(domain + 64, ".example");
	assert_int_equal(dnsbl_query_name(domain, DNSBL_RHS, "dbl.example", out, sizeof(out)), -1);
}

static void test_code_parse(void **state)
{
	struct dnsbl_code c;

	assert_int_equal(dnsbl_code_parse("127.0.0.2", &c), 0);
	assert_int_equal(c.lo, 0x7f000002);
	assert_int_equal(c.hi, 0x7f000002);
	assert_int_equal(c.mask, 0);
	assert_int_equal(dnsbl_code_parse("127.0.0.2-127.0.0.11", &c), 0);
	assert_int_equal(c.lo, 0x7f000002);
	assert_int_equal(c.hi, 0x7f00000b);
	assert_int_equal(dnsbl_code_parse("&4", &c), 0);
	assert_int_equal(c.mask, 4);
	assert_int_equal(dnsbl_code_parse("&0x0c", &c), 0);
	assert_int_equal(c.mask, 12);
	assert_int_equal(dnsbl_code_parse("127.0.0.11-127.0.0.2", &c), -1);
	assert_int_equal(dnsbl_code_parse("127.0.0", &c), -1);
	assert_int_equal(dnsbl_code_parse("127.0.0.2-", &c), -1);
	assert_int_equal(dnsbl_code_parse("-127.0.0.2", &c), -1);
	assert_int_equal(dnsbl_code_parse("", &c), -1);
	assert_int_equal(dnsbl_code_parse("&", &c), -1);
	assert_int_equal(dnsbl_code_parse("&0", &c), -1);
	assert_int_equal(dnsbl_code_parse("&-1", &c), -1);
	assert_int_equal(dnsbl_code_parse("& 4", &c), -1);
	assert_int_equal(dnsbl_code_parse("&4x", &c), -1);
	assert_int_equal(dnsbl_code_parse("&0x100000000", &c), -1);
	assert_int_equal(dnsbl_code_parse("2001:db8::1", &c), -1);
}

static const struct dnsbl_code zen_codes[] = {
    {0x7f000002, 0x7f000002, 0, "SBL", 10},
    {0x7f000004, 0x7f000007, 0, "XBL", 8},
    {0x7f00000a, 0x7f00000b, 0, "PBL", 3},
};
static const struct dnsbl_code bit_codes[] = {
    {0, 0, 4, "bit4", 6},
    {0, 0, 2, "bit2", 2},
};

static void test_weigh(void **state)
{
	struct dnsbl_list zen = {"zen.example", DNSBL_IP, zen_codes, 3, 1, 0};
	struct dnsbl_list bits = {"bits.example", DNSBL_IP, bit_codes, 2, 0, 0};
	uint32_t a[3];
	const char *meaning;

	a[0] = 0x7f000004;
	a[1] = 0x7f000002;
	assert_int_equal(dnsbl_weigh(&zen, a, 2, &meaning), 10);
	assert_string_equal(meaning, "SBL");
	a[0] = 0x7f00000b;
	assert_int_equal(dnsbl_weigh(&zen, a, 1, &meaning), 3);
	assert_string_equal(meaning, "PBL");
	/* A code the configuration does not know weighs the default. */
	a[0] = 0x7f000063;
	assert_int_equal(dnsbl_weigh(&zen, a, 1, &meaning), 1);
	assert_null(meaning);
	a[0] = 0x7f000002;
	a[1] = 0x7f000063;
	assert_int_equal(dnsbl_weigh(&zen, a, 2, &meaning), 10);
	a[0] = 0x7f000006;
	assert_int_equal(dnsbl_weigh(&bits, a, 1, &meaning), 6);
	assert_string_equal(meaning, "bit4");
	a[0] = 0x7f000002;
	assert_int_equal(dnsbl_weigh(&bits, a, 1, &meaning), 2);
	a[0] = 0x7f000001;
	assert_int_equal(dnsbl_weigh(&bits, a, 1, &meaning), 0);
	assert_null(meaning);
}

static void test_txt_clean(void **state)
{
	char out[8];

	dnsbl_txt_clean("ab\r\n\0\x80z", 7, out, sizeof(out));
	assert_memory_equal(out, "ab????z", 8);
	dnsbl_txt_clean("0123456789", 10, out, sizeof(out));
	assert_string_equal(out, "0123456");
	dnsbl_txt_clean("", 0, out, sizeof(out));
	assert_string_equal(out, "");
}

/* Names in *.slow.example never answer (hang_resolver): a list that
 * misses the budget. */
static const char zone[] =
    "2.0.0.127.zen.example A 127.0.0.2\n"
    "2.0.0.127.zen.example A 127.0.0.4\n"
    "2.0.0.127.zen.example TXT \"Listed: see https://zen.example/\" \"q?127.0.0.2\"\n"
    "10.2.0.192.zen.example A 127.0.0.10\n"
    "10.2.0.192.zen.example TXT \"pbl\\001ctl\"\n"
    "3.0.0.127.zen.example A 192.0.2.55\n"
    "2.0.0.127.bits.example A 127.0.0.6\n"
    "2.0.0.127.broken.example TIMEOUT\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.v6.example A 127.0.0.2\n"
    "spam.example.com.rhs.example A 127.0.0.2\n"
    "test.rhs.example A 127.0.0.2\n";

static const struct dnsbl_list lists[] = {
    {"zen.example", DNSBL_IP, zen_codes, 3, 1, 1}, {"bits.example", DNSBL_IP, bit_codes, 2, 0, 0},
    {"v6.example", DNSBL_IP, NULL, 0, 5, 0},       {"rhs.example", DNSBL_RHS, NULL, 0, 4, 1},
    {"broken.example", DNSBL_IP, NULL, 0, 7, 0},   {"slow.example", DNSBL_IP, NULL, 0, 9, 1},
};
enum { ZEN, BITS, V6, RHS, BROKEN, SLOW, NLISTS };

struct outcome {
	int calls;
	struct dnsbl_hit hits[NLISTS];
	size_t n;
	int score, listed, tempfail;
	char subject[64];
	double ms; /* from start to done */
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static double started;

static void on_result(void *arg, const struct dnsbl_result *res)
{
	struct outcome *o = arg;

	o->calls++;
	o->ms = now_ms() - started;
	o->n = res->n;
	assert_true(res->n <= NLISTS);
	memcpy(o->hits, res->hits, res->n * sizeof(*res->hits));
	o->score = res->score;
	o->listed = res->listed;
	o->tempfail = res->tempfail;
	snprintf(o->subject, sizeof(o->subject), "%s", res->subject);
}

static struct outcome run(const char *subject, enum dnsbl_kind kind, size_t nlists, int budget_ms)
{
	struct zonetest zt;
	struct hang_resolver h;
	struct outcome o = {0};
	struct dnsbl_check *c;

	zonetest_open(&zt, zone);
	hang_init(&h, zt.r, ".slow.example");
	started = now_ms();
	c = dnsbl_start(&h.base, zt.base, lists, nlists, subject, kind, budget_ms, on_result, &o);
	assert_non_null(c);
	assert_int_equal(o.calls, 0);
	event_base_dispatch(zt.base);
	assert_int_equal(o.calls, 1);
	/* Whatever was left unanswered was cancelled. */
	assert_int_equal(h.live, 0);
	zonetest_close(&zt);
	return o;
}

static void test_listed_with_budget(void **state)
{
	struct outcome o = run("127.0.0.2", DNSBL_IP, NLISTS, 300);

	assert_string_equal(o.subject, "127.0.0.2");
	assert_int_equal(o.n, NLISTS);
	assert_int_equal(o.hits[ZEN].status, DNSBL_LISTED);
	assert_int_equal(o.hits[ZEN].ncodes, 2);
	assert_int_equal(o.hits[ZEN].weight, 10);
	assert_string_equal(o.hits[ZEN].meaning, "SBL");
	assert_string_equal(o.hits[ZEN].txt, "Listed: see https://zen.example/q?127.0.0.2");
	assert_ptr_equal(o.hits[ZEN].list, &lists[ZEN]);
	assert_int_equal(o.hits[BITS].status, DNSBL_LISTED);
	assert_int_equal(o.hits[BITS].codes[0], 0x7f000006);
	assert_int_equal(o.hits[BITS].weight, 6);
	assert_string_equal(o.hits[BITS].meaning, "bit4");
	assert_int_equal(o.hits[V6].status, DNSBL_NOT_LISTED);
	assert_int_equal(o.hits[RHS].status, DNSBL_SKIPPED);
	assert_int_equal(o.hits[BROKEN].status, DNSBL_TEMPERROR);
	/* The list that never answers is cut off by the budget... */
	assert_int_equal(o.hits[SLOW].status, DNSBL_TEMPERROR);
	assert_int_equal(o.hits[SLOW].weight, 0);
	assert_string_equal(o.hits[SLOW].txt, "");
	assert_int_equal(o.score, 16);
	assert_int_equal(o.listed, 2);
	assert_int_equal(o.tempfail, 2);
	/* ...and the whole check ends then, not later. */
	assert_true(o.ms >= 290);
	assert_true(o.ms < 500);
}

static void test_not_listed(void **state)
{
	/* RFC 5782 5: 127.0.0.1 is never listed.  Without the slow list the
	 * check ends as soon as the answers are in, well before the budget. */
	struct outcome o = run("127.0.0.1", DNSBL_IP, SLOW, 5000);

	for (size_t i = 0; i < SLOW; i++) {
		assert_int_equal(o.hits[i].status, i == RHS ? DNSBL_SKIPPED : DNSBL_NOT_LISTED);
		assert_string_equal(o.hits[i].txt, "");
	}
	assert_int_equal(o.score, 0);
	assert_int_equal(o.listed, 0);
	assert_true(o.ms < 1000);
}

static void test_codes_and_txt(void **state)
{
	struct outcome o = run("192.0.2.10", DNSBL_IP, SLOW, 5000);

	assert_int_equal(o.hits[ZEN].status, DNSBL_LISTED);
	assert_int_equal(o.hits[ZEN].weight, 3);
	assert_string_equal(o.hits[ZEN].meaning, "PBL");
	/* A control character in the reason does not reach logs. */
	assert_string_equal(o.hits[ZEN].txt, "pbl?ctl");
	assert_int_equal(o.score, 3);

	/* An answer outside 127.0.0.0/8 is no listing (RFC 5782 2.1). */
	o = run("127.0.0.3", DNSBL_IP, SLOW, 5000);
	assert_int_equal(o.hits[ZEN].status, DNSBL_NOT_LISTED);
	assert_int_equal(o.hits[ZEN].ncodes, 0);
	assert_string_equal(o.hits[ZEN].txt, "");
}

static void test_ipv6(void **state)
{
	struct outcome o = run("2001:db8::1", DNSBL_IP, SLOW, 5000);

	assert_int_equal(o.hits[V6].status, DNSBL_LISTED);
	assert_int_equal(o.hits[V6].weight, 5);
	assert_null(o.hits[V6].meaning);
	assert_int_equal(o.hits[ZEN].status, DNSBL_NOT_LISTED);
	assert_int_equal(o.score, 5);
	o = run("2001:db8::2", DNSBL_IP, SLOW, 5000);
	assert_int_equal(o.hits[V6].status, DNSBL_NOT_LISTED);
}

static void test_rhs(void **state)
{
	struct outcome o = run("spam.example.com", DNSBL_RHS, NLISTS, 5000);

	assert_int_equal(o.hits[RHS].status, DNSBL_LISTED);
	assert_int_equal(o.hits[RHS].weight, 4);
	/* Asked for, but the list publishes no reason. */
	assert_string_equal(o.hits[RHS].txt, "");
	for (size_t i = 0; i < NLISTS; i++)
		if (i != RHS)
			assert_int_equal(o.hits[i].status, DNSBL_SKIPPED);
	assert_int_equal(o.score, 4);
	assert_true(o.ms < 1000);

	o = run("Spam.Example.COM.", DNSBL_RHS, SLOW, 5000);
	assert_int_equal(o.hits[RHS].status, DNSBL_LISTED);
	/* RFC 5782 5: "test" is listed, "invalid" never. */
	o = run("test", DNSBL_RHS, SLOW, 5000);
	assert_int_equal(o.hits[RHS].status, DNSBL_LISTED);
	o = run("invalid", DNSBL_RHS, SLOW, 5000);
	assert_int_equal(o.hits[RHS].status, DNSBL_NOT_LISTED);
	/* Not a name: nothing can be asked. */
	o = run("[192.0.2.1]", DNSBL_RHS, SLOW, 5000);
	assert_int_equal(o.hits[RHS].status, DNSBL_SKIPPED);
}

static void test_nothing_to_ask(void **state)
{
	struct outcome o = run("192.0.2.10", DNSBL_IP, 0, 5000);

	assert_int_equal(o.n, 0);
	assert_int_equal(o.score, 0);
	assert_true(o.ms < 1000);
	o = run("not an address", DNSBL_IP, SLOW, 5000);
	for (size_t i = 0; i < SLOW; i++)
		assert_int_equal(o.hits[i].status, DNSBL_SKIPPED);
}

static void test_cancel(void **state)
{
	struct zonetest zt;
	struct hang_resolver h;
	struct outcome o = {0};
	struct dnsbl_check *c;

	zonetest_open(&zt, zone);
	hang_init(&h, zt.r, ".slow.example");
	c = dnsbl_start(&h.base, zt.base, lists, NLISTS, "127.0.0.2", DNSBL_IP, 200, on_result, &o);
	dnsbl_cancel(c);
	event_base_dispatch(zt.base);
	assert_int_equal(o.calls, 0);
	assert_int_equal(h.live, 0);
	zonetest_close(&zt);
}

static void test_names(void **state)
{
	assert_string_equal(dnsbl_status_name(DNSBL_TEMPERROR), "temperror");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_name),     cmocka_unit_test(test_query_name_lengths),
	    cmocka_unit_test(test_code_parse),     cmocka_unit_test(test_weigh),
	    cmocka_unit_test(test_txt_clean),      cmocka_unit_test(test_listed_with_budget),
	    cmocka_unit_test(test_not_listed),     cmocka_unit_test(test_codes_and_txt),
	    cmocka_unit_test(test_ipv6),           cmocka_unit_test(test_rhs),
	    cmocka_unit_test(test_nothing_to_ask), cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
