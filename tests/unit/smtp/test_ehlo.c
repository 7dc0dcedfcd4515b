/* Unit tests of the EHLO reply parser: keywords, SIZE values, AUTH
 * mechanisms, lines that are not extensions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "smtp/ehlo.h"

struct ehlo_case {
	const char *lines[6]; /* NULL-terminated */
	unsigned flags;
	uint64_t size;
	unsigned auth;
};

static const struct ehlo_case cases[] = {
    {{"PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8", "CHUNKING", NULL},
     EHLO_PIPELINING | EHLO_SIZE | EHLO_8BITMIME | EHLO_SMTPUTF8 | EHLO_CHUNKING,
     10240000,
     0},
    {{"ENHANCEDSTATUSCODES", "STARTTLS", "DSN", NULL},
     EHLO_ENHANCEDSTATUSCODES | EHLO_STARTTLS | EHLO_DSN,
     0,
     0},
    /* case-insensitive keywords and mechanisms */
    {{"pipelining", "Size 2048", "auth plain Login", NULL},
     EHLO_PIPELINING | EHLO_SIZE | EHLO_AUTH,
     2048,
     EHLO_AUTH_PLAIN | EHLO_AUTH_LOGIN},
    /* SIZE without a number: no limit given */
    {{"SIZE", NULL}, EHLO_SIZE, 0, 0},
    {{"SIZE ", NULL}, EHLO_SIZE, 0, 0},
    {{"SIZE 0", NULL}, EHLO_SIZE, 0, 0},
    /* malformed SIZE values: the flag stays, the limit is unknown */
    {{"SIZE abc", NULL}, EHLO_SIZE, 0, 0},
    {{"SIZE -1", NULL}, EHLO_SIZE, 0, 0},
    {{"SIZE 12k", NULL}, EHLO_SIZE, 0, 0},
    {{"SIZE +5", NULL}, EHLO_SIZE, 0, 0},
    {{"SIZE 18446744073709551616", NULL}, EHLO_SIZE, 0, 0},
    {{"SIZE 99999999999999999999999", NULL}, EHLO_SIZE, 0, 0},
    {{"SIZE 18446744073709551615", NULL}, EHLO_SIZE, UINT64_MAX, 0},
    {{"SIZE   4096   extra", NULL}, EHLO_SIZE, 4096, 0},
    /* a later malformed SIZE line replaces an earlier value */
    {{"SIZE 100", "SIZE x", NULL}, EHLO_SIZE, 0, 0},
    /* AUTH: only PLAIN and LOGIN count, the flag either way */
    {{"AUTH CRAM-MD5 DIGEST-MD5", NULL}, EHLO_AUTH, 0, 0},
    {{"AUTH", NULL}, EHLO_AUTH, 0, 0},
    {{"AUTH LOGIN", NULL}, EHLO_AUTH, 0, EHLO_AUTH_LOGIN},
    {{"AUTH PLAINX LOGINS XPLAIN", NULL}, EHLO_AUTH, 0, 0},
    {{"AUTH=LOGIN PLAIN", NULL}, EHLO_AUTH, 0, EHLO_AUTH_LOGIN | EHLO_AUTH_PLAIN},
    {{"AUTH=PLAIN", "AUTH LOGIN", NULL}, EHLO_AUTH, 0, EHLO_AUTH_LOGIN | EHLO_AUTH_PLAIN},
    {{"AUTH=", NULL}, 0, 0, 0},
    /* not keywords we know */
    {{"X-EXPS GSSAPI NTLM", "VRFY", "ETRN", "HELP", "XCLIENT NAME", NULL}, 0, 0, 0},
    {{"PIPELININGX", "XPIPELINING", "8BITMIME=yes", "SMTP UTF8", NULL}, 0, 0, 0},
    {{" PIPELINING", "", "\tSTARTTLS", NULL}, 0, 0, 0},
    {{"STARTTLS\r", NULL}, 0, 0, 0},
    /* parameters of other keywords are ignored */
    {{"CHUNKING whatever", "DSN x y z", NULL}, EHLO_CHUNKING | EHLO_DSN, 0, 0},
};

static void test_ehlo_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ehlo_ext e;
		ehlo_ext_init(&e);
		for (size_t j = 0; cases[i].lines[j] != NULL; j++)
			ehlo_ext_feed(&e, cases[i].lines[j], strlen(cases[i].lines[j]));
		if (e.flags != cases[i].flags || e.size != cases[i].size || e.auth != cases[i].auth)
			fail_msg("case %zu (%s): flags %#x size %llu auth %#x", i,
			         cases[i].lines[0], e.flags, (unsigned long long)e.size, e.auth);
	}
}

/* Only len bytes are read: the text need not be NUL-terminated. */
static void test_length_respected(void **state)
{
	struct ehlo_ext e;

	ehlo_ext_init(&e);
	ehlo_ext_feed(&e, "PIPELINING", 4);
	ehlo_ext_feed(&e, "SIZE 12345", 7);
	ehlo_ext_feed(&e, "AUTH PLAINLOGIN", 10);
	assert_int_equal(e.flags, EHLO_SIZE | EHLO_AUTH);
	assert_int_equal(e.size, 12);
	assert_int_equal(e.auth, EHLO_AUTH_PLAIN);

	ehlo_ext_feed(&e, "STARTTLS", 0);
	ehlo_ext_feed(&e, "DSN\0PIPELINING", 14);
	assert_int_equal(e.flags, EHLO_SIZE | EHLO_AUTH);
}

/* ehlo_ext_init forgets what an earlier reply said (RFC 3207 4.2). */
static void test_init_resets(void **state)
{
	struct ehlo_ext e;

	ehlo_ext_init(&e);
	ehlo_ext_feed(&e, "STARTTLS", 8);
	ehlo_ext_feed(&e, "SIZE 9", 6);
	ehlo_ext_feed(&e, "AUTH PLAIN", 10);
	ehlo_ext_init(&e);
	assert_int_equal(e.flags, 0);
	assert_int_equal(e.size, 0);
	assert_int_equal(e.auth, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ehlo_table),
	    cmocka_unit_test(test_length_respected),
	    cmocka_unit_test(test_init_resets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
