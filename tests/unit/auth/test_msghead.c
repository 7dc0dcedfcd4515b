/* Unit tests of the header section collector: the empty line found
 * across every chunk border, a message without one, the size limit, and
 * the section as the verifiers take it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth/msghead.h"

static const char msg[] = "From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n\r\nmore\r\n";
#define HLEN 33 /* up to and including "x\r\n" */
#define BODY 35 /* after the empty line */

/* Feeds msg split at a and b; the body bytes the collector gives back
 * must be exactly msg[BODY..]. */
static void feed_split(size_t a, size_t b)
{
	size_t len = strlen(msg), cuts[] = {0, a, b, len};
	char body[128];
	size_t blen = 0;
	struct msghead h;

	msghead_init(&h, 4096);
	for (int k = 0; k < 3; k++) {
		const char *p = msg + cuts[k];
		size_t n = cuts[k + 1] - cuts[k];
		size_t used = msghead_feed(&h, p, n);
		assert_true(used <= n);
		memcpy(body + blen, p + used, n - used);
		blen += n - used;
	}
	assert_int_equal(h.state, MSGHEAD_DONE);
	assert_int_equal(h.hlen, HLEN);
	assert_memory_equal(h.head.data, msg, HLEN);
	assert_int_equal(blen, len - BODY);
	assert_memory_equal(body, msg + BODY, blen);
	size_t slen;
	const char *s = msghead_section(&h, &slen);
	assert_ptr_equal(s, h.head.data);
	assert_int_equal(slen, BODY);
	assert_int_equal(msghead_fields_len(s, slen), HLEN);
	msghead_free(&h);
}

static void test_every_split(void **state)
{
	size_t len = strlen(msg);
	(void)state;

	for (size_t a = 0; a <= len; a++)
		for (size_t b = a; b <= len; b++)
			feed_split(a, b);
}

static void test_empty_header_section(void **state)
{
	struct msghead h;
	(void)state;

	msghead_init(&h, 64);
	assert_int_equal(msghead_feed(&h, "\r", 1), 1);
	assert_int_equal(msghead_feed(&h, "\nbody", 5), 1);
	assert_int_equal(h.state, MSGHEAD_DONE);
	assert_int_equal(h.hlen, 0);
	assert_int_equal(msghead_feed(&h, "more", 4), 0);
	size_t slen;
	const char *s = msghead_section(&h, &slen);
	assert_int_equal(slen, 2);
	assert_int_equal(msghead_fields_len(s, slen), 0);
	msghead_free(&h);
}

static void test_no_empty_line(void **state)
{
	struct msghead h;
	(void)state;

	msghead_init(&h, 64);
	assert_int_equal(msghead_feed(&h, "A: b\r\nC: d\r\n", 12), 12);
	assert_int_equal(h.state, MSGHEAD_OPEN);
	assert_int_equal(h.head.len, 12);
	/* At the end of the message, all of it is the section. */
	size_t slen;
	const char *s = msghead_section(&h, &slen);
	assert_int_equal(slen, 12);
	assert_int_equal(msghead_fields_len(s, slen), 12);
	msghead_free(&h);
	/* So is an empty message. */
	msghead_init(&h, 64);
	s = msghead_section(&h, &slen);
	assert_non_null(s);
	assert_int_equal(slen, 0);
	assert_int_equal(msghead_fields_len(s, slen), 0);
	msghead_free(&h);
}

static void test_too_big(void **state)
{
	struct msghead h;
	(void)state;

	msghead_init(&h, 8);
	assert_int_equal(msghead_feed(&h, "A: bbbbbbbbbbbb\r\n\r\nx", 20), 20);
	assert_int_equal(h.state, MSGHEAD_TOO_BIG);
	assert_int_equal(msghead_feed(&h, "y", 1), 1);
	size_t slen = 1;
	assert_null(msghead_section(&h, &slen));
	assert_int_equal(slen, 0);
	msghead_free(&h);

	/* The empty line within the limit still counts. */
	msghead_init(&h, 8);
	assert_int_equal(msghead_feed(&h, "A: b\r\n\r\nbody", 12), 8);
	assert_int_equal(h.state, MSGHEAD_DONE);
	assert_int_equal(h.hlen, 6);
	msghead_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_empty_header_section),
	    cmocka_unit_test(test_no_empty_line),
	    cmocka_unit_test(test_too_big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
