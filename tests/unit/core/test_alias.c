/* Unit tests of alias expansion (recursion, cycles, depth, the catch-all,
 * duplicates, the limit, postmaster and abuse, failed lookups) and of the
 * aliases tables as the configuration reads them (one file:line error per
 * kind of mistake). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/alias.h"
#include "core/config.h"

static int load_text(const char *text, struct config *cfg, struct buf *errors)
{
	char path[64];
	FILE *f;
	int fd, rc;

	snprintf(path, sizeof(path), "/tmp/postern-alias-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	buf_init(errors, 65536);
	rc = config_load(path, cfg, errors);
	unlink(path);
	return rc;
}

#define LISTENERS "listeners = ( { role = \"mx\"; address = \"127.0.0.1:2525\"; } );\n"

/* a.test and b.test are local; the mailboxes are listed in mailboxes. */
static const char aliases_conf[] =
    LISTENERS "postmaster = \"admin@a.test\";\n"
              "abuse = \"abuse-desk@remote.test\";\n"
              "domains = (\n"
              " { name = \"a.test\"; aliases = (\n"
              "   { local = \"info\"; to = [ \"alice@a.test\", \"bob@remote.test\" ]; },\n"
              "   { local = \"team\"; to = [ \"info@a.test\", \"carol@b.test\", "
              "\"alice@a.test\" ]; },\n"
              "   { local = \"loop1\"; to = [ \"loop2@a.test\" ]; },\n"
              "   { local = \"loop2\"; to = [ \"loop1@a.test\" ]; },\n"
              "   { local = \"self\"; to = [ \"SELF@A.test\" ]; },\n"
              "   { local = \"ghost\"; to = [ \"nobody@b.test\" ]; },\n"
              "   { local = \"boss\"; to = [ \"postmaster@b.test\", \"abuse@a.test\" ]; },\n"
              "   { local = \"d0\"; to = [ \"d1@a.test\" ]; },\n"
              "   { local = \"d1\"; to = [ \"d2@a.test\" ]; },\n"
              "   { local = \"d2\"; to = [ \"d3@a.test\" ]; },\n"
              "   { local = \"d3\"; to = [ \"d4@a.test\" ]; },\n"
              "   { local = \"d4\"; to = [ \"d5@a.test\" ]; },\n"
              "   { local = \"d5\"; to = [ \"d6@a.test\" ]; },\n"
              "   { local = \"d6\"; to = [ \"d7@a.test\" ]; },\n"
              "   { local = \"d7\"; to = [ \"d8@a.test\" ]; },\n"
              "   { local = \"d8\"; to = [ \"d9@a.test\" ]; },\n"
              "   { local = \"d9\"; to = [ \"d10@a.test\" ]; },\n"
              "   { local = \"d10\"; to = [ \"d11@a.test\" ]; },\n"
              "   { local = \"d11\"; to = [ \"alice@a.test\" ]; },\n"
              "   { local = \"*\"; to = [ \"catchall@a.test\" ]; }\n"
              " ); },\n"
              " { name = \"b.test\"; aliases = (\n"
              "   { local = \"*\"; to = [ \"fallback@b.test\" ]; }\n"
              " ); },\n"
              " { name = \"c.test\"; }\n"
              ");\n";

static const char *const mailboxes[] = {"alice@a.test", "catchall@a.test", "carol@b.test",
                                        "dave@c.test", "admin@a.test"};

struct lookups {
	int calls;
	const char *fail; /* this address fails for now */
};

static int exists(void *ctx, const char *addr)
{
	struct lookups *l = ctx;

	l->calls++;
	if (l->fail && strcasecmp(addr, l->fail) == 0)
		return -1;
	for (size_t i = 0; i < sizeof(mailboxes) / sizeof(mailboxes[0]); i++)
		if (strcasecmp(addr, mailboxes[i]) == 0)
			return 1;
	return 0;
}

struct fixture {
	struct config cfg;
	struct lookups l;
	struct alias_expansion e;
	char got[1024];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct buf errors;

	assert_int_equal(load_text(aliases_conf, &f->cfg, &errors), 0);
	buf_free(&errors);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	alias_expansion_free(&f->e);
	config_free(&f->cfg);
	free(f);
	return 0;
}

/* Expands addr; f->got lists the targets, remote ones marked ">". */
static enum alias_status run(struct fixture *f, const char *addr, size_t max)
{
	size_t len = 0;

	alias_expansion_free(&f->e);
	f->l.calls = 0;
	enum alias_status st = alias_expand(&f->cfg, addr, max, exists, &f->l, &f->e);
	f->got[0] = '\0';
	for (size_t i = 0; i < f->e.n; i++)
		len += (size_t)snprintf(f->got + len, sizeof(f->got) - len, "%s%s%s", i ? " " : "",
		                        f->e.targets[i].forwarded ? ">" : "", f->e.targets[i].addr);
	return st;
}

static void test_mailbox(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "alice@a.test", 10), ALIAS_OK);
	assert_string_equal(f->got, "alice@a.test");
	assert_int_equal(f->l.calls, 1);
	/* A domain without aliases: only its mailboxes. */
	assert_int_equal(run(f, "dave@c.test", 10), ALIAS_OK);
	assert_string_equal(f->got, "dave@c.test");
	assert_int_equal(run(f, "eve@c.test", 10), ALIAS_UNKNOWN);
	assert_string_equal(f->e.culprit, "eve@c.test");
}

static void test_alias_local_and_remote(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "info@a.test", 10), ALIAS_OK);
	assert_string_equal(f->got, "alice@a.test >bob@remote.test");
	/* The local part and the domain in any case. */
	assert_int_equal(run(f, "INFO@A.Test", 10), ALIAS_OK);
	assert_string_equal(f->got, "alice@a.test >bob@remote.test");
}

/* An alias of an alias is expanded; an address met twice is given (and
 * looked up) once. */
static void test_recursive_and_duplicates(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "team@a.test", 10), ALIAS_OK);
	assert_string_equal(f->got, "alice@a.test >bob@remote.test carol@b.test");
	assert_int_equal(f->l.calls, 2);
}

static void test_cycles(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "loop1@a.test", 10), ALIAS_LOOP);
	assert_string_equal(f->e.culprit, "loop1@a.test");
	assert_int_equal(run(f, "self@a.test", 10), ALIAS_LOOP);
	assert_int_equal(run(f, "loop2@A.TEST", 10), ALIAS_LOOP);
}

/* d0 -> d1 -> ... -> d11 -> alice: alice is at depth 12. */
static void test_depth(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "d0@a.test", 10), ALIAS_LOOP);
	/* Ten aliases deep is allowed: d2 -> ... -> d11 (depth 9) -> alice (10). */
	assert_int_equal(run(f, "d2@a.test", 10), ALIAS_OK);
	assert_string_equal(f->got, "alice@a.test");
	assert_int_equal(run(f, "d1@a.test", 10), ALIAS_LOOP);
	assert_string_equal(f->e.culprit, "alice@a.test");
}

/* The catch-all takes local parts that are neither an alias nor a
 * mailbox, also on the way through an alias. */
static void test_catchall(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "whoever@a.test", 10), ALIAS_OK);
	assert_string_equal(f->got, "catchall@a.test");
	assert_int_equal(run(f, "alice@a.test", 10), ALIAS_OK);
	assert_string_equal(f->got, "alice@a.test");
	/* nobody@b.test is caught by b.test's catch-all, whose address does
	 * not exist and would be caught again: a loop. */
	assert_int_equal(run(f, "ghost@a.test", 10), ALIAS_LOOP);
	assert_string_equal(f->e.culprit, "fallback@b.test");
}

static void test_too_many(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "team@a.test", 3), ALIAS_OK);
	assert_int_equal(run(f, "team@a.test", 2), ALIAS_TOO_MANY);
	assert_string_equal(f->e.culprit, "carol@b.test");
	assert_int_equal(run(f, "alice@a.test", 0), ALIAS_TOO_MANY);
}

static void test_tempfail(void **state)
{
	struct fixture *f = *state;

	f->l.fail = "carol@b.test";
	assert_int_equal(run(f, "team@a.test", 10), ALIAS_TEMPFAIL);
	assert_string_equal(f->e.culprit, "carol@b.test");
	f->l.fail = NULL;
}

/* postmaster and abuse of a local domain, met through an alias, go to
 * the settings' addresses (abuse's is remote here) without a lookup. */
static void test_postmaster_abuse(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "boss@a.test", 10), ALIAS_OK);
	assert_string_equal(f->got, "admin@a.test >abuse-desk@remote.test");
	assert_int_equal(f->l.calls, 0);
}

static void expect_error(const char *domains, const char *expected)
{
	struct config cfg;
	struct buf errors;
	char text[4096];

	snprintf(text, sizeof(text), LISTENERS "%s", domains);
	assert_int_equal(load_text(text, &cfg, &errors), -1);
	if (strstr(errors.data, expected) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", expected, errors.data);
	buf_free(&errors);
}

static void test_config_errors(void **state)
{
	expect_error("domains = ( { name = \"a.test\";\n aliases = ( { local = \"info\"; to = [ "
	             "\"alice\" ]; } ); } );\n",
	             ":3: domain a.test: alias 'info': 'alice' is not an address (local@domain)");
	expect_error("domains = ( { name = \"a.test\"; aliases = (\n { local = \"info\"; to = [ "
	             "\"a@a.test\" ]; },\n { local = \"INFO\"; to = [ \"b@a.test\" ]; } ); } );\n",
	             ":4: domain a.test: alias 'INFO' is listed twice");
	expect_error("domains = ( { name = \"a.test\"; aliases = (\n { local = \"a@b\"; to = [ "
	             "\"a@a.test\" ]; } ); } );\n",
	             ":3: domain a.test: alias: 'local' must be a local part");
	expect_error("domains = ( { name = \"a.test\"; aliases = (\n { local = \"info\"; to = [ ]; "
	             "} ); } );\n",
	             ":3: domain a.test: alias 'info': 'to' must be a list of addresses");
	expect_error("domains = ( { name = \"a.test\"; aliases = (\n { local = \"info\"; to = "
	             "\"a@a.test\"; } ); } );\n",
	             ":3: domain a.test: alias 'info': 'to' must be a list of addresses");
	expect_error("domains = ( { name = \"a.test\"; aliases = (\n { local = \"info\"; to = [ "
	             "\"a b@a.test\" ]; } ); } );\n",
	             "'a b@a.test' is not an address");
	expect_error("domains = ( { name = \"a.test\"; aliases = (\n { local = \"Postmaster\"; "
	             "to = [ \"a@a.test\" ]; } ); } );\n",
	             ":3: domain a.test: alias 'Postmaster': ");
	expect_error("domains = ( { name = \"a.test\"; aliases = (\n { local = \"x\"; to = [ "
	             "\"a@a.test\" ]; cc = 1; } ); } );\n",
	             ":3: unknown setting 'cc' in an alias");
	expect_error("domains = ( { name = \"a.test\";\n aliases = 3; } );\n",
	             ":3: domain a.test: aliases: expected a list");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mailbox, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alias_local_and_remote, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recursive_and_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cycles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_catchall, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tempfail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_postmaster_abuse, setup, teardown),
	    cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
