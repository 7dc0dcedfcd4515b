/* Unit tests of the Received-field count behind mail loop detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/received.h"

static struct received_count count(const char *head, const char *host)
{
	struct received_count c;
	received_count(head, strlen(head), host, &c);
	return c;
}

/* Our own trace field as trace.c writes it, and the usual shapes of
 * others'. */
static void test_ours_and_others(void **state)
{
	const char *head =
	    "Received: from client.example (unknown [192.0.2.1])\r\n"
	    "\tby mx.example.org (postern) with ESMTPS id 0123456789ABCDEF\r\n"
	    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
	    "\tfor <a@example.org>; Mon, 1 Dec 2025 10:00:00 +0000\r\n"
	    "Received: from relay.example by MX.Example.Org. with SMTP; Mon, 1 Dec 2025\r\n"
	    "Received: by mx.example.org (Postfix, from userid 0) id 1234; Mon, 1 Dec 2025\r\n"
	    "Received: from mx.example.org (mx.example.org [192.0.2.2]) by other.example\r\n"
	    "\twith ESMTP; Mon, 1 Dec 2025 10:00:00 +0000\r\n"
	    "Subject: by mx.example.org\r\n"
	    "\r\n"
	    "Received: by mx.example.org in the body\r\n";
	struct received_count c = count(head, "mx.example.org");

	assert_int_equal(c.total, 4);
	assert_int_equal(c.by, 3);
}

/* Words in comments, the "from" clause and after the date's ';' are not
 * the receiving host. */
static void test_not_by(void **state)
{
	struct received_count c = count(
	    "Received: from by (by mx.example.org) by other.example; by mx.example.org\r\n"
	    "Received: (comment (nested by mx.example.org) \\) by mx.example.org) by x.example\r\n"
	    "received : from x by mx.example.orgx\r\n"
	    "Received: from mx.example.org\r\n"
	    "Received-SPF: pass (by mx.example.org)\r\n"
	    "X-Received: by mx.example.org\r\n",
	    "mx.example.org");

	assert_int_equal(c.total, 4);
	assert_int_equal(c.by, 0);
}

/* LF line ends, a section cut short, an empty one, "by" at the end. */
static void test_edges(void **state)
{
	struct received_count c = count("Received: from a by mx.example.org\n"
	                                "Received: by MX.EXAMPLE.ORG\n"
	                                "Received: from a by",
	                                "mx.example.org.");
	assert_int_equal(c.total, 3);
	assert_int_equal(c.by, 2);
	c = count("", "mx.example.org");
	assert_int_equal(c.total, 0);
	c = count("\r\nReceived: by mx.example.org\r\n", "mx.example.org");
	assert_int_equal(c.total, 0);
	c = count("Received: by mx.example.org\r\n", "");
	assert_int_equal(c.total, 1);
	assert_int_equal(c.by, 0);
}

static void test_many(void **state)
{
	char head[200 * 64];
	size_t len = 0;

	for (int i = 0; i < 150; i++)
		len += (size_t)snprintf(head + len, sizeof(head) - len,
		                        "Received: from h%d.example by h%d.example\r\n", i, i + 1);
	struct received_count c = count(head, "h7.example");
	assert_int_equal(c.total, 150);
	assert_int_equal(c.by, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ours_and_others),
	    cmocka_unit_test(test_not_by),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
