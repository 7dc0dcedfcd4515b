/* Unit tests of the DNS cache with an injected clock: expiry, remaining
 * TTLs, negative entries, keys, eviction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/xmalloc.h"
#include "dns/cache.h"

/* A positive result with one A record per ttl. */
static void make_a(struct dns_result *res, const uint32_t *ttls, size_t n)
{
	memset(res, 0, sizeof(*res));
	res->status = DNS_OK;
	res->canonical = xstrdup("www.example.com");
	res->rrs = xcalloc(n, sizeof(*res->rrs));
	res->nrr = n;
	res->cacheable = 1;
	res->ttl = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		res->rrs[i].type = DNS_T_A;
		res->rrs[i].ttl = ttls[i];
		res->rrs[i].u.ip.family = AF_INET;
		res->rrs[i].u.ip.addr[3] = (unsigned char)i;
		if (ttls[i] < res->ttl)
			res->ttl = ttls[i];
	}
}

static void test_positive_expiry(void **state)
{
	struct dns_cache *c = dns_cache_new(10);
	struct dns_result res, hit;
	const uint32_t ttls[] = {300, 60};

	make_a(&res, ttls, 2);
	dns_cache_put(c, "WWW.Example.COM.", DNS_T_A, &res, 1000);
	dns_result_free(&res);
	assert_int_equal(dns_cache_count(c), 1);

	/* The key ignores case and the final dot; the type is part of it. */
	assert_int_equal(dns_cache_get(c, "www.example.com", DNS_T_A, 1010, &hit), 1);
	assert_int_equal(hit.status, DNS_OK);
	assert_string_equal(hit.canonical, "www.example.com");
	assert_int_equal(hit.nrr, 2);
	assert_int_equal(hit.rrs[0].ttl, 290);
	assert_int_equal(hit.rrs[1].ttl, 50);
	assert_int_equal(hit.rrs[1].u.ip.addr[3], 1);
	assert_int_equal(hit.ttl, 50);
	dns_result_free(&hit);
	assert_int_equal(dns_cache_get(c, "www.example.com", DNS_T_AAAA, 1010, &hit), 0);

	/* The entry lives for the least TTL, 60 s. */
	assert_int_equal(dns_cache_get(c, "www.example.com.", DNS_T_A, 1059, &hit), 1);
	assert_int_equal(hit.rrs[1].ttl, 1);
	dns_result_free(&hit);
	assert_int_equal(dns_cache_get(c, "www.example.com", DNS_T_A, 1060, &hit), 0);
	assert_int_equal(dns_cache_count(c), 0);
	dns_cache_free(c);
}

static void test_negative_and_uncacheable(void **state)
{
	struct dns_cache *c = dns_cache_new(10);
	struct dns_result res = {.status = DNS_NXDOMAIN, .cacheable = 1, .ttl = 5}, hit;

	dns_cache_put(c, "nx.example.com", DNS_T_MX, &res, 100);
	assert_int_equal(dns_cache_get(c, "nx.example.com", DNS_T_MX, 104, &hit), 1);
	assert_int_equal(hit.status, DNS_NXDOMAIN);
	assert_int_equal(hit.nrr, 0);
	assert_null(hit.canonical);
	assert_int_equal(hit.ttl, 1);
	dns_result_free(&hit);
	assert_int_equal(dns_cache_get(c, "nx.example.com", DNS_T_MX, 105, &hit), 0);

	/* TEMPFAIL and answers without SOA are marked not cacheable; a TTL
	 * of 0 means "do not keep" (RFC 1035 3.2.1). */
	struct dns_result temp = {.status = DNS_TEMPFAIL, .cacheable = 0, .ttl = 100};
	dns_cache_put(c, "t.example.com", DNS_T_A, &temp, 100);
	struct dns_result zero = {.status = DNS_NODATA, .cacheable = 1, .ttl = 0};
	dns_cache_put(c, "z.example.com", DNS_T_A, &zero, 100);
	assert_int_equal(dns_cache_count(c), 0);
	dns_cache_free(c);
}

static void test_replace_and_lru_eviction(void **state)
{
	struct dns_cache *c = dns_cache_new(3);
	struct dns_result res, hit;
	const uint32_t t300[] = {300}, t600[] = {600};
	char name[32];

	make_a(&res, t300, 1);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "n%d.example.com", i);
		dns_cache_put(c, name, DNS_T_A, &res, 0);
	}
	dns_result_free(&res);
	/* Using n0 makes n1 the least recently used. */
	assert_int_equal(dns_cache_get(c, "n0.example.com", DNS_T_A, 1, &hit), 1);
	dns_result_free(&hit);
	make_a(&res, t300, 1);
	dns_cache_put(c, "n3.example.com", DNS_T_A, &res, 2);
	dns_result_free(&res);
	assert_int_equal(dns_cache_count(c), 3);
	assert_int_equal(dns_cache_get(c, "n1.example.com", DNS_T_A, 3, &hit), 0);
	assert_int_equal(dns_cache_get(c, "n0.example.com", DNS_T_A, 3, &hit), 1);
	dns_result_free(&hit);
	assert_int_equal(dns_cache_get(c, "n2.example.com", DNS_T_A, 3, &hit), 1);
	dns_result_free(&hit);

	/* A new answer for a cached name replaces it. */
	make_a(&res, t600, 1);
	dns_cache_put(c, "N2.example.com", DNS_T_A, &res, 10);
	dns_result_free(&res);
	assert_int_equal(dns_cache_count(c), 3);
	assert_int_equal(dns_cache_get(c, "n2.example.com", DNS_T_A, 10, &hit), 1);
	assert_int_equal(hit.rrs[0].ttl, 600);
	dns_result_free(&hit);
	dns_cache_free(c);
}

static void test_many_entries(void **state)
{
	struct dns_cache *c = dns_cache_new(100);
	struct dns_result res, hit;
	const uint32_t t[] = {300};
	char name[32];

	make_a(&res, t, 1);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "h%d.example.com", i);
		dns_cache_put(c, name, (i & 1) ? DNS_T_A : DNS_T_AAAA, &res, 0);
		assert_true(dns_cache_count(c) <= 100);
	}
	dns_result_free(&res);
	assert_int_equal(dns_cache_get(c, "h999.example.com", DNS_T_A, 0, &hit), 1);
	dns_result_free(&hit);
	assert_int_equal(dns_cache_get(c, "h0.example.com", DNS_T_AAAA, 0, &hit), 0);
	dns_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_positive_expiry),
	    cmocka_unit_test(test_negative_and_uncacheable),
	    cmocka_unit_test(test_replace_and_lru_eviction),
	    cmocka_unit_test(test_many_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
