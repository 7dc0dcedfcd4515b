/* Unit tests of the Authentication-Results formatter (RFC 8601). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "policy/authres.h"

static void test_full_header(void **state)
{
	struct authres a = {.authserv_id = "mx.example.net",
	                    .client_ip = "192.0.2.1",
	                    .iprev = "pass",
	                    .iprev_name = "mail.example.org",
	                    .spf_mailfrom = "fail",
	                    .mailfrom = "user@example.org",
	                    .spf_helo = "none",
	                    .helo = "mail.example.org",
	                    .rdns = "normal",
	                    .helo_check = "valid",
	                    .csa = "none",
	                    .dnsbl = "none",
	                    .verdict = "reject",
	                    .score = 3};
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(authres_format(&a, &b), 0);
	assert_string_equal(b.data, "Authentication-Results: mx.example.net;\r\n"
	                            "\tiprev=pass policy.iprev=192.0.2.1 (mail.example.org);\r\n"
	                            "\tspf=fail smtp.mailfrom=user@example.org;\r\n"
	                            "\tspf=none smtp.helo=mail.example.org;\r\n"
	                            "\tx-postern=reject policy.rdns=normal policy.helo=valid "
	                            "policy.csa=none policy.dnsbl=none policy.score=3\r\n");
	buf_free(&b);
}

static void test_quoting_and_hostile_values(void **state)
{
	/* A HELO name with spaces, quotes and a CR must not break the header. */
	struct authres a = {.authserv_id = "mx.example.net",
	                    .client_ip = "2001:db8::1",
	                    .iprev = "fail",
	                    .iprev_name = "evil) (x\\",
	                    .spf_helo = "permerror",
	                    .helo = "bad \"name\"\r\nX-Injected: 1",
	                    .dnsbl = "listed bl.example,rhs.example",
	                    .score = 12};
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(authres_format(&a, &b), 0);
	assert_null(strstr(b.data, "\r\nX-Injected"));
	assert_non_null(strstr(b.data, "policy.iprev=\"2001:db8::1\" (evil x)"));
	assert_non_null(strstr(b.data, "smtp.helo=\"bad \\\"name\\\"X-Injected: 1\""));
	assert_non_null(strstr(b.data, "policy.dnsbl=\"listed bl.example,rhs.example\""));
	assert_non_null(strstr(b.data, "x-postern=none"));
	/* No spf=... for MAIL FROM when it was not checked. */
	assert_null(strstr(b.data, "smtp.mailfrom"));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_header),
	    cmocka_unit_test(test_quoting_and_hostile_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
