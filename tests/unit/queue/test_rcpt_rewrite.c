/* Unit tests of the recipients that carry a tag of ours: SRS addresses
 * turned back (valid, expired, forged, SRS1, to a local address), BATV
 * tags taken off or asked for (bounces and other mail, postmaster and
 * abuse, batv.check off, no key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtest.h"
#include "queue/rcpt_rewrite.h"

/* Noon of day d since the epoch. */
#define DAY(d) ((time_t)86400 * (d) + 43200)
#define NOW DAY(20400)

static const unsigned char batv_key[HMAC_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const unsigned char srs_key[HMAC_KEY_LEN] = {11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
static const unsigned char other_key[HMAC_KEY_LEN] = {42};

struct fixture {
	struct config cfg;
	char dir[64];
	struct rcpt_keys keys;
	struct rcpt_rewrite rw;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	qtest_config(&f->cfg, f->dir);
	qtest_domain(&f->cfg, "a.test", DELIVER_MAILDIR, NULL, NULL);
	qtest_domain(&f->cfg, "b.test", DELIVER_MAILDIR, NULL, NULL);
	f->keys = (struct rcpt_keys){.batv = batv_key,
	                             .srs = srs_key,
	                             .batv_check = 1,
	                             .batv_max_age_days = 7,
	                             .srs_max_age_days = 21};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	qtest_rmtree(f->dir);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static enum rcpt_verdict run(struct fixture *f, const char *addr, int null_sender)
{
	return rcpt_rewrite(&f->cfg, &f->keys, addr, null_sender, NOW, &f->rw);
}

static void tag(const unsigned char *key, const char *addr, time_t when, char *out)
{
	assert_int_equal(batv_sign(key, addr, when, out, ADDR_PATH_MAX + 1), 0);
}

static void srs(const char *sender, const char *fwd, time_t when, char *out)
{
	assert_int_equal(srs_forward(srs_key, sender, fwd, when, out, ADDR_PATH_MAX + 1), 0);
}

static void test_plain(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "alice@a.test", 0), RCPT_GO);
	assert_string_equal(f->rw.addr, "alice@a.test");
	assert_int_equal(f->rw.batv, BATV_NONE);
	assert_int_equal(f->rw.srs, SRS_NONE);
	/* A bounce without a tag: we never sent from it. */
	assert_int_equal(run(f, "alice@a.test", 1), RCPT_REFUSE_BATV);
	/* postmaster and abuse are reachable by anyone. */
	assert_int_equal(run(f, "Postmaster@a.test", 1), RCPT_GO);
	assert_int_equal(run(f, "abuse@b.test", 1), RCPT_GO);
	assert_string_equal(f->rw.addr, "abuse@b.test");
	/* batv.check = 0, or no BATV key: nothing asked. */
	f->keys.batv_check = 0;
	assert_int_equal(run(f, "alice@a.test", 1), RCPT_GO);
	f->keys.batv_check = 1;
	f->keys.batv = NULL;
	assert_int_equal(run(f, "alice@a.test", 1), RCPT_GO);
}

static void test_batv_tags(void **state)
{
	struct fixture *f = *state;
	char tagged[ADDR_PATH_MAX + 1], old[ADDR_PATH_MAX + 1], other[ADDR_PATH_MAX + 1],
	    forged[ADDR_PATH_MAX + 1], pm[ADDR_PATH_MAX + 1];

	tag(batv_key, "alice@a.test", NOW - 86400, tagged);
	tag(batv_key, "alice@a.test", NOW - 30 * 86400, old);
	tag(other_key, "alice@a.test", NOW, other);
	tag(batv_key, "postmaster@a.test", NOW - 30 * 86400, pm);
	snprintf(forged, sizeof(forged), "%s", tagged);
	forged[10] = forged[10] == '0' ? '1' : '0';

	assert_int_equal(run(f, tagged, 1), RCPT_GO);
	assert_string_equal(f->rw.addr, "alice@a.test");
	assert_int_equal(f->rw.batv, BATV_VALID);
	assert_int_equal(run(f, tagged, 0), RCPT_GO);
	assert_string_equal(f->rw.addr, "alice@a.test");
	for (size_t i = 0; i < 3; i++) {
		const char *bad = i == 0 ? old : i == 1 ? other : forged;
		assert_int_equal(run(f, bad, 1), RCPT_REFUSE_BATV);
	}
	assert_int_equal(f->rw.batv, BATV_BAD);
	/* An expired tag on mail with a sender: a reply to old mail. */
	assert_int_equal(run(f, old, 0), RCPT_GO);
	assert_int_equal(f->rw.batv, BATV_EXPIRED);
	assert_string_equal(f->rw.addr, "alice@a.test");
	/* A forged tag is left on: no mailbox has that name. */
	assert_int_equal(run(f, forged, 0), RCPT_GO);
	assert_string_equal(f->rw.addr, forged);
	/* A tagged postmaster is only postmaster once the tag is good. */
	assert_int_equal(run(f, pm, 1), RCPT_REFUSE_BATV);
	/* Not asked: an expired tag comes off all the same. */
	f->keys.batv_check = 0;
	assert_int_equal(run(f, old, 1), RCPT_GO);
	assert_string_equal(f->rw.addr, "alice@a.test");
}

static void test_srs(void **state)
{
	struct fixture *f = *state;
	char addr[ADDR_PATH_MAX + 1], tagged[ADDR_PATH_MAX + 1], inner[ADDR_PATH_MAX + 1];

	/* A bounce to mail we forwarded goes on to its sender. */
	srs("bob@remote.test", "a.test", NOW - 86400, addr);
	assert_int_equal(run(f, addr, 1), RCPT_GO);
	assert_string_equal(f->rw.addr, "bob@remote.test");
	assert_int_equal(f->rw.srs, SRS_VALID);
	assert_int_equal(run(f, addr, 0), RCPT_GO);
	assert_string_equal(f->rw.addr, "bob@remote.test");
	/* Too old, made with another key, or damaged: refused. */
	srs("bob@remote.test", "a.test", NOW - 30 * 86400, addr);
	assert_int_equal(run(f, addr, 1), RCPT_REFUSE_SRS);
	assert_int_equal(f->rw.srs, SRS_EXPIRED);
	assert_int_equal(
	    srs_forward(other_key, "bob@remote.test", "a.test", NOW, addr, sizeof(addr)), 0);
	assert_int_equal(run(f, addr, 0), RCPT_REFUSE_SRS);
	assert_int_equal(run(f, "SRS0=xxxx@a.test", 1), RCPT_REFUSE_SRS);
	/* The sender was one of ours: the bounce is delivered here, without
	 * a tag asked for (the SRS hash vouches for it) or with its tag
	 * taken off. */
	srs("carol@b.test", "a.test", NOW, addr);
	assert_int_equal(run(f, addr, 1), RCPT_GO);
	assert_string_equal(f->rw.addr, "carol@b.test");
	tag(batv_key, "carol@b.test", NOW, tagged);
	srs(tagged, "a.test", NOW, addr);
	assert_int_equal(run(f, addr, 1), RCPT_GO);
	assert_string_equal(f->rw.addr, "carol@b.test");
	assert_int_equal(f->rw.batv, BATV_VALID);
	/* SRS1: back to the first forwarder's SRS0 address. */
	snprintf(inner, sizeof(inner), "SRS0=abcd=RA=orig.test=joe@hop.test");
	srs(inner, "a.test", NOW, addr);
	assert_int_equal(strncmp(addr, "SRS1=", 5), 0);
	assert_int_equal(run(f, addr, 1), RCPT_GO);
	assert_string_equal(f->rw.addr, inner);
	/* Without the SRS key the address is taken as it is. */
	f->keys.srs = NULL;
	assert_int_equal(run(f, addr, 0), RCPT_GO);
	assert_string_equal(f->rw.addr, addr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batv_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_srs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
