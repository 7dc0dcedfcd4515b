/* Unit tests of the RFC5322.From domain extraction (RFC 7489 6.6.1): the
 * from_header_domain values of ../conformance/dmarc and our own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth/dmarc_from.h"

struct from_case {
	const char *value;
	enum dmarc_from_status status;
	const char *domain; /* when DMARC_FROM_OK */
};

#define OK DMARC_FROM_OK
#define MULTI DMARC_FROM_MULTIPLE_ADDRESSES
#define NOADDR DMARC_FROM_NO_ADDRESS
#define SYNTAX DMARC_FROM_SYNTAX

/* conformance from_header_domain (OpenDMARC test_finddomain.c).  OpenDMARC
 * takes the first of several addresses; 6.6.1 lets the receiver reject such
 * a message, which is what we report. */
static const struct from_case conformance[] = {
    {"Joe Johnson <joe@joe.com>", OK, "joe.com"},
    {"\"Johnson, Joe <joe@joe.com>\" joe@joe.com", OK, "joe.com"},
    {"\"Joe Johnson\" <joe@joe.com>", OK, "joe.com"},
    {"(Joe Johnson) joe@joe.com", OK, "joe.com"},
    {"joe@joe.com", OK, "joe.com"},
    {"<<<><joe@joe.com>>>", OK, "joe.com"},
    {"Joe Johnson <joe@joe.com>, ace@ace.com", MULTI, NULL},
    {"joe@joe.com, ace@ace.com", MULTI, NULL},
    {"Mail From:<joe@joe.com>", OK, "joe.com"},
    {"\"Mandel, Bob\" <joe@joe.com>", OK, "joe.com"},
    {"(,) joe@joe.com", OK, "joe.com"},
    {"\"( bob@bob.com)\" joe@joe.com", OK, "joe.com"},
    {"From: Davide D'Marco <user@blah.com>", OK, "blah.com"},
};

static const struct from_case own[] = {
    {" Joe <Joe@Example.ORG> ", OK, "example.org"},
    {" Joe\r\n <joe@example.org>", OK, "example.org"},
    {"\"a@b\"@example.org", OK, "example.org"},
    {"joe@example.org (Joe <x@y.z>)", OK, "example.org"},
    {"joe@(comment)example.org", OK, "example.org"},
    {"joe@example . org", OK, "example.org"},
    {"joe@例え.jp", OK, "例え.jp"},
    {"Group: joe@example.org;", OK, "example.org"},
    {"Group: joe@example.org, ann@example.org;", MULTI, NULL},
    {"undisclosed-recipients:;", NOADDR, NULL},
    {"", NOADDR, NULL},
    {"  (just a comment) ", NOADDR, NULL},
    {"<>", NOADDR, NULL},
    {"Joe <>", NOADDR, NULL},
    {"joe@example.org,", OK, "example.org"},
    {"Joe Johnson", SYNTAX, NULL},
    {"joe", SYNTAX, NULL},
    {"@example.org", SYNTAX, NULL},
    {"joe@", SYNTAX, NULL},
    {"joe@a@example.org", SYNTAX, NULL},
    {"joe@example..org", SYNTAX, NULL},
    {"joe@.example.org", SYNTAX, NULL},
    {"joe@example.org.", SYNTAX, NULL},
    {"joe@example org", SYNTAX, NULL},
    {"joe@[192.0.2.1]", SYNTAX, NULL},
    {"joe@exa!mple.org", SYNTAX, NULL},
    {"\"Joe <joe@example.org>", SYNTAX, NULL},
    {"(Joe <joe@example.org>", SYNTAX, NULL},
    {"Joe <joe@example.org", SYNTAX, NULL},
    {"Joe joe@example.org>", SYNTAX, NULL},
    {"joe@example.org: x", SYNTAX, NULL},
};

static void run(const struct from_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char out[254];
		enum dmarc_from_status st =
		    dmarc_from_value(cases[i].value, strlen(cases[i].value), out, sizeof(out));
		if (st != cases[i].status)
			fail_msg("%s: %s, expected %s", cases[i].value, dmarc_from_status_text(st),
			         dmarc_from_status_text(cases[i].status));
		if (st == OK && strcmp(out, cases[i].domain) != 0)
			fail_msg("%s: %s, expected %s", cases[i].value, out, cases[i].domain);
	}
}

static void test_conformance(void **state)
{
	run(conformance, sizeof(conformance) / sizeof(conformance[0]));
}

static void test_own(void **state)
{
	run(own, sizeof(own) / sizeof(own[0]));
}

/* 6.6.1: exactly one From field. */
static void test_fields(void **state)
{
	const char *one[] = {"Joe <joe@example.org>"};
	const char *two[] = {"joe@example.org", "ann@example.org"};
	char out[254];

	assert_int_equal(dmarc_from_domain(one, 1, out, sizeof(out)), OK);
	assert_string_equal(out, "example.org");
	assert_int_equal(dmarc_from_domain(two, 2, out, sizeof(out)), DMARC_FROM_MULTIPLE_FIELDS);
	assert_int_equal(dmarc_from_domain(NULL, 0, out, sizeof(out)), DMARC_FROM_NO_FIELD);
}

static void test_lengths(void **state)
{
	char value[400], out[254], small[8];

	/* a domain of 253 octets fits, 254 does not */
	memcpy(value, "joe@", 4);
	memset(value + 4, 'a', 253);
	for (size_t i = 63; i < 253; i += 64)
		value[4 + i] = '.';
	assert_int_equal(dmarc_from_value(value, 4 + 253, out, sizeof(out)), OK);
	assert_int_equal(strlen(out), 253);
	value[4 + 253] = 'a';
	assert_int_equal(dmarc_from_value(value, 4 + 254, out, sizeof(out)), SYNTAX);
	/* out too small */
	assert_int_equal(dmarc_from_value("joe@example.org", 15, small, sizeof(small)), SYNTAX);
	/* only len bytes are read */
	assert_int_equal(dmarc_from_value("joe@example.org, ann@x.org", 15, out, sizeof(out)), OK);
	assert_string_equal(out, "example.org");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conformance),
	    cmocka_unit_test(test_own),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
