/* Unit tests of name validation, reverse names and the status and type names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dns/backend.h"

static void test_name_valid(void **state)
{
	char label63[64], label64[65], name[300];

	assert_true(dns_name_valid("example.com"));
	assert_true(dns_name_valid("example.com."));
	assert_true(dns_name_valid("_dmarc.example.com"));
	assert_true(dns_name_valid("a"));
	assert_false(dns_name_valid(""));
	assert_false(dns_name_valid("."));
	assert_false(dns_name_valid("a..b"));
	assert_false(dns_name_valid(".a"));
	assert_false(dns_name_valid("a.."));
	assert_false(dns_name_valid("a b.example"));
	assert_false(dns_name_valid("a\\.b"));
	assert_false(dns_name_valid("a\n.example"));

	memset(label63, 'x', 63);
	label63[63] = '\0';
	memset(label64, 'x', 64);
	label64[64] = '\0';
	assert_true(dns_name_valid(label63));
	assert_false(dns_name_valid(label64));

	/* 253 octets in all (RFC 1035 2.3.4 with the final length octets). */
	memset(name, 'a', 253);
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	assert_true(dns_name_valid(name));
	name[253] = '.';
	name[254] = '\0';
	assert_true(dns_name_valid(name));
	name[253] = 'a';
	assert_false(dns_name_valid(name));
}

static void test_reverse_v4(void **state)
{
	char out[100];

	assert_int_equal(dns_reverse_name("192.0.2.1", out, sizeof(out)), 0);
	assert_string_equal(out, "1.2.0.192.in-addr.arpa");
	assert_int_equal(dns_reverse_name("255.0.0.10", out, sizeof(out)), 0);
	assert_string_equal(out, "10.0.0.255.in-addr.arpa");
	assert_int_equal(dns_reverse_name("192.0.2.1", out, 10), -1);
	assert_int_equal(dns_reverse_name("192.0.2", out, sizeof(out)), -1);
	assert_int_equal(dns_reverse_name("example.com", out, sizeof(out)), -1);
	assert_int_equal(dns_reverse_name("", out, sizeof(out)), -1);
}

static void test_reverse_v6(void **state)
{
	char out[100];

	/* The example of RFC 3596 2.5. */
	assert_int_equal(dns_reverse_name("4321:0:1:2:3:4:567:89ab", out, sizeof(out)), 0);
	assert_string_equal(
	    out, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
	assert_int_equal(dns_reverse_name("::1", out, sizeof(out)), 0);
	assert_string_equal(
	    out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
	assert_int_equal(dns_reverse_name("2001:DB8::", out, sizeof(out)), 0);
	assert_string_equal(
	    out, "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(dns_reverse_name("::ffff:192.0.2.1", out, sizeof(out)), 0);
	assert_string_equal(
	    out, "1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
	/* 72 octets and the NUL: one less is refused. */
	assert_int_equal(dns_reverse_name("::1", out, 73), 0);
	assert_int_equal(dns_reverse_name("::1", out, 72), -1);
	assert_int_equal(dns_reverse_name("2001:db8:::1", out, sizeof(out)), -1);
	assert_int_equal(dns_reverse_name("[::1]", out, sizeof(out)), -1);
}

static void test_texts(void **state)
{
	assert_string_equal(dns_status_text(DNS_OK), "OK");
	assert_string_equal(dns_status_text(DNS_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(dns_status_text(DNS_NODATA), "NODATA");
	assert_string_equal(dns_status_text(DNS_TEMPFAIL), "TEMPFAIL");
	assert_string_equal(dns_status_text(DNS_BADNAME), "BADNAME");
	assert_string_equal(dns_type_name(DNS_T_A), "A");
	assert_string_equal(dns_type_name(DNS_T_AAAA), "AAAA");
	assert_string_equal(dns_type_name(DNS_T_TXT), "TXT");
	assert_string_equal(dns_type_name(DNS_T_SPF), "SPF");
	assert_string_equal(dns_type_name(DNS_T_SRV), "SRV");
	assert_string_equal(dns_type_name((enum dns_type)255), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_reverse_v4),
	    cmocka_unit_test(test_reverse_v6),
	    cmocka_unit_test(test_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
