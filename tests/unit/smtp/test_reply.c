/* Unit tests of the reply parser: single and multi-line replies, enhanced codes, bad lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "smtp/reply.h"

struct reply_case {
	const char *lines[4]; /* NULL-terminated */
	int ret;              /* of the last line fed */
	int code;
	const char *enhanced, *text;
	int done;
};

static const struct reply_case cases[] = {
    {{"250 2.0.0 Ok: queued as 1234", NULL}, 0, 250, "2.0.0", "Ok: queued as 1234", 1},
    {{"220 mx.example ESMTP ready", NULL}, 0, 220, "", "mx.example ESMTP ready", 1},
    {{"250", NULL}, 0, 250, "", "", 1},
    {{"250 ", NULL}, 0, 250, "", "", 1},
    {{"354 End data with <CR><LF>.<CR><LF>", NULL},
     0,
     354,
     "",
     "End data with <CR><LF>.<CR><LF>",
     1},
    {{"250-mx.example Hello", "250-PIPELINING", "250 8BITMIME", NULL},
     0,
     250,
     "",
     "mx.example Hello PIPELINING 8BITMIME",
     1},
    {{"250-mx.example", NULL}, 0, 250, "", "mx.example", 0},
    {{"550-5.1.1 The email account that you tried to reach does not exist.",
      "550-5.1.1 Please try double-checking the recipient's email", "550 5.1.1 address for typos.",
      NULL},
     0,
     550,
     "5.1.1",
     "The email account that you tried to reach does not exist. Please try double-checking the "
     "recipient's email address for typos.",
     1},
    {{"452 4.2.2 Mailbox full", NULL}, 0, 452, "4.2.2", "Mailbox full", 1},
    {{"554 5.7.1", NULL}, 0, 554, "5.7.1", "", 1},
    {{"550 5.123.456 odd but valid", NULL}, 0, 550, "5.123.456", "odd but valid", 1},
    /* not enhanced codes: kept as text */
    {{"250 2.0.0.0 x", NULL}, 0, 250, "", "2.0.0.0 x", 1},
    {{"250 2.1234.0 x", NULL}, 0, 250, "", "2.1234.0 x", 1},
    {{"250 2.0.1234 x", NULL}, 0, 250, "", "2.0.1234 x", 1},
    {{"250 3.0.0 x", NULL}, 0, 250, "", "3.0.0 x", 1},
    {{"250 5.0.0 class differs", NULL}, 0, 250, "", "5.0.0 class differs", 1},
    {{"250 2.0.0x", NULL}, 0, 250, "", "2.0.0x", 1},
    {{"250 2..0 x", NULL}, 0, 250, "", "2..0 x", 1},
    {{"250 2.0. x", NULL}, 0, 250, "", "2.0. x", 1},
    /* a later line with another enhanced code keeps it in the text */
    {{"451-4.3.0 first", "451 4.4.1 second", NULL}, 0, 451, "4.3.0", "first 4.4.1 second", 1},
    /* empty continuation lines add no separators */
    {{"250-", "250-a", "250-", "250 b"}, 0, 250, "", "a b", 1},
    /* control characters are neutralised, TAB becomes a space */
    {{"250 a\tb\x01"
      "c\x7f",
      NULL},
     0,
     250,
     "",
     "a b?c?",
     1},
    /* bad lines */
    {{"", NULL}, -1, 0, "", "", 0},
    {{"25", NULL}, -1, 0, "", "", 0},
    {{"2500 x", NULL}, -1, 0, "", "", 0},
    {{"250x", NULL}, -1, 0, "", "", 0},
    {{"199 x", NULL}, -1, 0, "", "", 0},
    {{"600 x", NULL}, -1, 0, "", "", 0},
    {{"260 x", NULL}, -1, 0, "", "", 0},
    {{"2a0 x", NULL}, -1, 0, "", "", 0},
    {{"abc", NULL}, -1, 0, "", "", 0},
    {{" 250 x", NULL}, -1, 0, "", "", 0},
    {{"250-a", "251 b", NULL}, -1, 250, "", "a", 0},
    {{"250 a", "250 b", NULL}, -1, 250, "", "a", 1},
};

static void test_reply_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct reply_case *c = &cases[i];
		struct reply r;
		int ret = 0;
		reply_init(&r);
		for (size_t k = 0; k < 4 && c->lines[k] != NULL; k++)
			ret = reply_feed_line(&r, c->lines[k], strlen(c->lines[k]));
		if (ret != c->ret || r.code != c->code || r.done != c->done)
			fail_msg("reply case %zu: ret %d code %d done %d", i, ret, r.code, r.done);
		if (strcmp(r.enhanced, c->enhanced) != 0 || strcmp(r.text, c->text) != 0)
			fail_msg("reply case %zu: enhanced '%s' text '%s'", i, r.enhanced, r.text);
	}
}

/* Only len bytes are read. */
static void test_length_respected(void **state)
{
	struct reply r;
	reply_init(&r);
	assert_int_equal(reply_feed_line(&r, "250 Ok trailing", 6), 0);
	assert_string_equal(r.text, "Ok");
	reply_init(&r);
	assert_int_equal(reply_feed_line(&r, "250 2.0.0 Ok", 9), 0);
	assert_string_equal(r.enhanced, "2.0.0");
	assert_string_equal(r.text, "");
}

/* Text is bounded by its buffer and stays NUL-terminated; a cut never
 * splits a UTF-8 character. */
static void test_truncation(void **state)
{
	struct reply r;
	char line[2000];
	memcpy(line, "250-", 4);
	memset(line + 4, 'x', 600);
	reply_init(&r);
	assert_int_equal(reply_feed_line(&r, line, 604), 0);
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
	memcpy(line, "250 ", 4);
	assert_int_equal(reply_feed_line(&r, line, 604), 0);
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
	assert_true(r.done);

	/* 510 ASCII bytes, then two-byte characters: the 511th byte would
	 * be the first half of one. */
	memcpy(line, "250 ", 4);
	memset(line + 4, 'y', 510);
	for (int i = 0; i < 10; i++)
		memcpy(line + 514 + 2 * i, "\xc3\xa9", 2);
	reply_init(&r);
	assert_int_equal(reply_feed_line(&r, line, 534), 0);
	assert_int_equal(strlen(r.text), 510);

	/* 509 ASCII bytes: one é fits exactly. */
	memset(line + 4, 'y', 509);
	memcpy(line + 513, "\xc3\xa9\xc3\xa9", 4);
	reply_init(&r);
	assert_int_equal(reply_feed_line(&r, line, 517), 0);
	assert_int_equal(strlen(r.text), 511);
	assert_memory_equal(r.text + 509, "\xc3\xa9", 2);
}

/* Many continuation lines: the text stops growing, the reply completes. */
static void test_many_lines(void **state)
{
	struct reply r;
	reply_init(&r);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(reply_feed_line(&r, "250-SOMETHING", 13), 0);
	assert_int_equal(reply_feed_line(&r, "250 END", 7), 0);
	assert_true(r.done);
	assert_true(strlen(r.text) < sizeof(r.text));
	assert_int_equal(r.code, 250);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reply_table),
	    cmocka_unit_test(test_length_respected),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_many_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
