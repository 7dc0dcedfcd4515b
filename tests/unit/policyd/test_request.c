/* Unit tests of the policy delegation request parser: whole requests,
 * requests arriving in pieces, every limit, and the errors that close a
 * connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policyd/request.h"

/* What Postfix 3.7 sends at RCPT (SMTPD_POLICY_README). */
static const char POSTFIX_RCPT[] = "request=smtpd_access_policy\n"
                                   "protocol_state=RCPT\n"
                                   "protocol_name=ESMTP\n"
                                   "helo_name=mail.example.net\n"
                                   "queue_id=\n"
                                   "sender=alice@example.net\n"
                                   "recipient=bob@example.org\n"
                                   "recipient_count=0\n"
                                   "client_address=192.0.2.10\n"
                                   "client_name=mail.example.net\n"
                                   "reverse_client_name=mail.example.net\n"
                                   "instance=1b5e.67a0f3c1.2f6a1.0\n"
                                   "sasl_method=\n"
                                   "sasl_username=\n"
                                   "sasl_sender=\n"
                                   "size=0\n"
                                   "ccert_subject=\n"
                                   "ccert_issuer=\n"
                                   "ccert_fingerprint=\n"
                                   "ccert_pubkey_fingerprint=\n"
                                   "encryption_protocol=TLSv1.3\n"
                                   "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
                                   "encryption_keysize=256\n"
                                   "etrn_domain=\n"
                                   "stress=\n"
                                   "server_address=127.0.0.1\n"
                                   "server_port=25\n"
                                   "compatibility_level=3.6\n"
                                   "mail_version=3.7.11\n"
                                   "\n";

static struct policyd_request req;

static enum policyd_status parse(const char *s, size_t *used)
{
	return policyd_request_parse(s, strlen(s), &req, used);
}

static void test_postfix_request(void **state)
{
	size_t used;

	assert_int_equal(parse(POSTFIX_RCPT, &used), POLICYD_OK);
	assert_int_equal(used, strlen(POSTFIX_RCPT));
	assert_int_equal(req.nattrs, 29);
	assert_string_equal(req.request, "smtpd_access_policy");
	assert_string_equal(req.protocol_state, "RCPT");
	assert_string_equal(req.helo_name, "mail.example.net");
	assert_string_equal(req.sender, "alice@example.net");
	assert_string_equal(req.recipient, "bob@example.org");
	assert_string_equal(req.client_address, "192.0.2.10");
	assert_string_equal(req.client_name, "mail.example.net");
	assert_string_equal(req.instance, "1b5e.67a0f3c1.2f6a1.0");
	assert_string_equal(req.sasl_username, "");
	assert_string_equal(req.queue_id, "");
	assert_string_equal(req.encryption_protocol, "TLSv1.3");
	assert_string_equal(policyd_request_get(&req, "mail_version"), "3.7.11");
	assert_string_equal(policyd_request_get(&req, "etrn_domain"), "");
	assert_null(policyd_request_get(&req, "policy_context"));
}

static void test_absent_attributes_are_empty(void **state)
{
	size_t used;

	assert_int_equal(parse("request=smtpd_access_policy\n\n", &used), POLICYD_OK);
	assert_int_equal(used, 29);
	assert_string_equal(req.protocol_state, "");
	assert_string_equal(req.sender, "");
	assert_string_equal(req.client_address, "");
	assert_string_equal(req.instance, "");
}

static void test_value_with_equals_and_repeats(void **state)
{
	size_t used;

	/* The name ends at the first '='; the value may hold more. */
	assert_int_equal(parse("request=smtpd_access_policy\nccert_subject=CN=a=b\n"
	                       "sender=first@example.net\nsender=last@example.net\n\n",
	                       &used),
	                 POLICYD_OK);
	assert_string_equal(policyd_request_get(&req, "ccert_subject"), "CN=a=b");
	assert_string_equal(req.sender, "last@example.net");
	assert_string_equal(policyd_request_get(&req, "sender"), "last@example.net");
}

static void test_crlf_lines(void **state)
{
	size_t used;
	const char *s = "request=smtpd_access_policy\r\nsender=a@example.net\r\n\r\n";

	assert_int_equal(parse(s, &used), POLICYD_OK);
	assert_int_equal(used, strlen(s));
	assert_string_equal(req.sender, "a@example.net");
}

static void test_pipelined_requests(void **state)
{
	char two[2 * sizeof(POSTFIX_RCPT)];
	size_t used, used2;

	snprintf(two, sizeof(two), "%s%s", POSTFIX_RCPT, POSTFIX_RCPT);
	assert_int_equal(policyd_request_parse(two, strlen(two), &req, &used), POLICYD_OK);
	assert_int_equal(used, strlen(POSTFIX_RCPT));
	assert_int_equal(policyd_request_parse(two + used, strlen(two) - used, &req, &used2),
	                 POLICYD_OK);
	assert_int_equal(used + used2, strlen(two));
}

/* Every prefix of a request is incomplete, never an error. */
static void test_every_prefix_incomplete(void **state)
{
	size_t used, len = strlen(POSTFIX_RCPT);

	for (size_t n = 0; n < len; n++)
		assert_int_equal(policyd_request_parse(POSTFIX_RCPT, n, &req, &used),
		                 POLICYD_INCOMPLETE);
	assert_int_equal(policyd_request_parse(POSTFIX_RCPT, len, &req, &used), POLICYD_OK);
}

static void test_garbled(void **state)
{
	size_t used;
	static const char nul[] = "request=smtpd_access_policy\nsender=a\0b\n\n";

	assert_int_equal(parse("request=smtpd_access_policy\nno equals sign\n\n", &used),
	                 POLICYD_GARBLED);
	/* Seen as soon as the line ends, before the request does. */
	assert_int_equal(parse("garbage\n", &used), POLICYD_GARBLED);
	assert_int_equal(parse("=value\n", &used), POLICYD_GARBLED);
	assert_int_equal(policyd_request_parse(nul, sizeof(nul) - 1, &req, &used), POLICYD_GARBLED);
}

static void test_missing_or_wrong_request(void **state)
{
	size_t used;

	const char *s = "protocol_state=RCPT\nsender=a@example.net\n\n";

	assert_int_equal(parse(s, &used), POLICYD_NO_REQUEST);
	assert_int_equal(used, strlen(s));
	assert_int_equal(parse("\n", &used), POLICYD_NO_REQUEST);
	assert_int_equal(parse("request=\n\n", &used), POLICYD_NO_REQUEST);
	assert_int_equal(parse("request=junk\n\n", &used), POLICYD_BAD_REQUEST);
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_value_and_name_limits(void **state)
{
	char *v = repeat('v', POLICYD_VALUE_MAX), *big = repeat('v', POLICYD_VALUE_MAX + 1);
	char *name = repeat('n', POLICYD_NAME_MAX), *bigname = repeat('n', POLICYD_NAME_MAX + 1);
	static char s[POLICYD_REQUEST_MAX];
	size_t used;

	snprintf(s, sizeof(s), "request=smtpd_access_policy\nsender=%s\n\n", v);
	assert_int_equal(parse(s, &used), POLICYD_OK);
	assert_int_equal(strlen(req.sender), POLICYD_VALUE_MAX);
	snprintf(s, sizeof(s), "request=smtpd_access_policy\nsender=%s\n\n", big);
	assert_int_equal(parse(s, &used), POLICYD_VALUE_LONG);
	snprintf(s, sizeof(s), "request=smtpd_access_policy\n%s=x\n\n", name);
	assert_int_equal(parse(s, &used), POLICYD_OK);
	snprintf(s, sizeof(s), "request=smtpd_access_policy\n%s=x\n\n", bigname);
	assert_int_equal(parse(s, &used), POLICYD_NAME_LONG);
	free(v);
	free(big);
	free(name);
	free(bigname);
}

static void test_line_limit_before_newline(void **state)
{
	char *s = repeat('x', POLICYD_LINE_MAX + 2);
	size_t used;

	/* A line that may still end well is incomplete... */
	assert_int_equal(policyd_request_parse(s, POLICYD_LINE_MAX, &req, &used),
	                 POLICYD_INCOMPLETE);
	/* ...one past the limit is refused without waiting for its end. */
	assert_int_equal(policyd_request_parse(s, POLICYD_LINE_MAX + 2, &req, &used),
	                 POLICYD_LINE_LONG);
	free(s);
	/* A whole line over the limit, whatever its shape. */
	s = repeat('x', POLICYD_LINE_MAX + 10);
	s[3] = '=';
	s[POLICYD_LINE_MAX + 9] = '\n';
	assert_int_equal(policyd_request_parse(s, POLICYD_LINE_MAX + 10, &req, &used),
	                 POLICYD_LINE_LONG);
	free(s);
}

static void test_attribute_count_limit(void **state)
{
	char *s = malloc(POLICYD_REQUEST_MAX);
	size_t len = 0, used;

	len += (size_t)sprintf(s + len, "request=smtpd_access_policy\n");
	for (int i = 1; i < POLICYD_ATTRS_MAX; i++)
		len += (size_t)sprintf(s + len, "a%d=%d\n", i, i);
	sprintf(s + len, "\n");
	assert_int_equal(parse(s, &used), POLICYD_OK);
	assert_int_equal(req.nattrs, POLICYD_ATTRS_MAX);
	sprintf(s + len, "one=more\n\n");
	assert_int_equal(parse(s, &used), POLICYD_TOO_MANY);
	free(s);
}

static void test_request_size_limit(void **state)
{
	/* Attributes of 1000 bytes, under every other limit. */
	char *s = malloc(3 * POLICYD_REQUEST_MAX);
	char *v = repeat('v', 990);
	size_t len = 0, used;

	len += (size_t)sprintf(s + len, "request=smtpd_access_policy\n");
	while (len < POLICYD_REQUEST_MAX - 1100)
		len += (size_t)sprintf(s + len, "x=%s\n", v);
	s[len] = '\n';
	assert_int_equal(policyd_request_parse(s, len + 1, &req, &used), POLICYD_OK);
	/* Past the limit with no empty line: refused, whether more would
	 * follow or not. */
	while (len < POLICYD_REQUEST_MAX + 2000)
		len += (size_t)sprintf(s + len, "x=%s\n", v);
	assert_int_equal(policyd_request_parse(s, len, &req, &used), POLICYD_TOO_LARGE);
	/* Lines filling exactly POLICYD_REQUEST_MAX bytes: the empty line
	 * after them is one byte too late; one byte less is in time. */
	len = (size_t)sprintf(s, "request=smtpd_access_policy\n");
	while (len + 1000 <= POLICYD_REQUEST_MAX)
		len += (size_t)sprintf(s + len, "x=%.997s\n", v);
	memset(s + len, 'y', POLICYD_REQUEST_MAX - len);
	s[len + 1] = '=';
	s[POLICYD_REQUEST_MAX - 1] = '\n';
	s[POLICYD_REQUEST_MAX] = '\n';
	assert_int_equal(policyd_request_parse(s, POLICYD_REQUEST_MAX + 1, &req, &used),
	                 POLICYD_TOO_LARGE);
	s[POLICYD_REQUEST_MAX - 2] = '\n';
	s[POLICYD_REQUEST_MAX - 1] = '\n';
	assert_int_equal(policyd_request_parse(s, POLICYD_REQUEST_MAX + 1, &req, &used),
	                 POLICYD_OK);
	assert_int_equal(used, POLICYD_REQUEST_MAX);
	free(v);
	free(s);
}

static void test_status_names(void **state)
{
	assert_string_equal(policyd_status_name(POLICYD_GARBLED), "garbled_line");
	assert_string_equal(policyd_status_name(POLICYD_NO_REQUEST), "missing_request");
	assert_string_equal(policyd_status_name(POLICYD_VALUE_LONG), "value_too_long");
	assert_string_equal(policyd_status_name(POLICYD_TOO_LARGE), "request_too_large");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_postfix_request),
	    cmocka_unit_test(test_absent_attributes_are_empty),
	    cmocka_unit_test(test_value_with_equals_and_repeats),
	    cmocka_unit_test(test_crlf_lines),
	    cmocka_unit_test(test_pipelined_requests),
	    cmocka_unit_test(test_every_prefix_incomplete),
	    cmocka_unit_test(test_garbled),
	    cmocka_unit_test(test_missing_or_wrong_request),
	    cmocka_unit_test(test_value_and_name_limits),
	    cmocka_unit_test(test_line_limit_before_newline),
	    cmocka_unit_test(test_attribute_count_limit),
	    cmocka_unit_test(test_request_size_limit),
	    cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
