/* Unit tests of the policy service's replies: refusals with postern's
 * codes and text, and the Authentication-Results field unfolded into one
 * PREPEND line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "policyd/action.h"

static void test_reject(void **state)
{
	struct verdict_reply r = {.code = 550, .ecode = "5.7.23"};
	struct buf b;

	buf_init(&b, 1024);
	snprintf(r.text, sizeof(r.text), "SPF check failed: a@spf-fail.net");
	assert_int_equal(policyd_action_refuse(&r, &b), 0);
	assert_string_equal(b.data, "action=550 5.7.23 SPF check failed: a@spf-fail.net");
	buf_free(&b);
}

static void test_tempfail(void **state)
{
	struct verdict_reply r = {.code = 451, .ecode = "4.7.25"};
	struct buf b;

	buf_init(&b, 1024);
	snprintf(r.text, sizeof(r.text), "Reverse DNS lookup failed");
	assert_int_equal(policyd_action_refuse(&r, &b), 0);
	assert_string_equal(b.data, "action=451 4.7.25 Reverse DNS lookup failed");
	buf_free(&b);
}

static void test_controls(void **state)
{
	struct verdict_reply r = {.code = 550, .ecode = "5.7.1"};
	struct buf b;

	buf_init(&b, 1024);
	snprintf(r.text, sizeof(r.text), "line\r\nbreak\tand\x7f del");
	assert_int_equal(policyd_action_refuse(&r, &b), 0);
	assert_string_equal(b.data, "action=550 5.7.1 line  break and  del");
	buf_reset(&b);
	r = (struct verdict_reply){.code = 451, .ecode = "4.7.1"};
	snprintf(r.text, sizeof(r.text), "\x01\x1f%s\n", "x");
	assert_int_equal(policyd_action_refuse(&r, &b), 0);
	assert_string_equal(b.data, "action=451 4.7.1   x ");
	/* No enhanced code, no text. */
	buf_reset(&b);
	r = (struct verdict_reply){.code = 554};
	assert_int_equal(policyd_action_refuse(&r, &b), 0);
	assert_string_equal(b.data, "action=554");
	/* Full: -1. */
	buf_free(&b);
	buf_init(&b, 20);
	r = (struct verdict_reply){.code = 550, .ecode = "5.7.1"};
	snprintf(r.text, sizeof(r.text), "a text longer than the buffer");
	assert_int_equal(policyd_action_refuse(&r, &b), -1);
	buf_free(&b);
}

static void test_prepend_unfolds(void **state)
{
	static const char field[] =
	    "Authentication-Results: mx.test.example;\r\n"
	    "\tiprev=pass policy.iprev=192.0.2.10 (mail.good-sender.net);\r\n"
	    "\tspf=softfail smtp.mailfrom=a@soft.net;\r\n"
	    "\tx-postern=tag policy.score=3\r\n";
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(policyd_action_prepend(field, strlen(field), &b), 0);
	assert_string_equal(b.data, "action=PREPEND Authentication-Results: mx.test.example; "
	                            "iprev=pass policy.iprev=192.0.2.10 (mail.good-sender.net); "
	                            "spf=softfail smtp.mailfrom=a@soft.net; "
	                            "x-postern=tag policy.score=3");
	assert_null(strchr(b.data, '\r'));
	assert_null(strchr(b.data, '\n'));
	buf_free(&b);
}

static void test_prepend_bad_and_full(void **state)
{
	struct buf b;

	buf_init(&b, 40);
	assert_int_equal(policyd_action_prepend("no colon here\r\n", 15, &b), -1);
	assert_int_equal(policyd_action_prepend(": empty name", 12, &b), -1);
	/* Too long for the buffer: nothing is left half-written. */
	assert_int_equal(buf_append_str(&b, "x"), 0);
	assert_int_equal(
	    policyd_action_prepend("Authentication-Results: a rather long value\r\n", 45, &b), -1);
	assert_string_equal(b.data, "x");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reject),
	    cmocka_unit_test(test_tempfail),
	    cmocka_unit_test(test_controls),
	    cmocka_unit_test(test_prepend_unfolds),
	    cmocka_unit_test(test_prepend_bad_and_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
