/* Unit tests of the policy service's verdict caches: lookups, expiry,
 * eviction of the oldest verdicts, pending checks kept whatever the bound,
 * removal, and verdicts shared by two caches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "policyd/cache.h"

/* An entry with a verdict of its own, pending. */
static struct policyd_entry *put(struct policyd_cache *c, const char *key, time_t now)
{
	struct policyd_verdict *v = policyd_verdict_new();
	struct policyd_entry *e = policyd_cache_put(c, key, strlen(key), v, now);

	policyd_verdict_drop(v);
	return e;
}

/* The check of e's verdict has ended. */
static void finish(struct policyd_cache *c, struct policyd_entry *e, time_t now)
{
	e->verdict->pending = 0;
	policyd_cache_done(c, e, now);
}

static struct policyd_entry *get(struct policyd_cache *c, const char *key, time_t now)
{
	return policyd_cache_get(c, key, strlen(key), now);
}

static void test_put_get_done(void **state)
{
	struct policyd_cache *c = policyd_cache_new(8, 60);
	struct policyd_entry *e = put(c, "i1\0ip", 100);

	assert_non_null(e);
	assert_true(e->verdict->pending);
	assert_ptr_equal(get(c, "i1\0ip", 100), e);
	assert_null(get(c, "i2\0ip", 100));
	/* Keys are binary: "a\0b" and "a\0c" differ after the NUL. */
	struct policyd_entry *a = policyd_cache_put(c, "a\0b", 3, e->verdict, 100);
	assert_null(policyd_cache_get(c, "a\0c", 3, 100));
	assert_ptr_equal(policyd_cache_get(c, "a\0b", 3, 100), a);
	assert_ptr_equal(a->verdict, e->verdict);
	assert_int_equal(e->verdict->refs, 2);
	finish(c, e, 110);
	assert_false(e->verdict->pending);
	assert_ptr_equal(get(c, "i1\0ip", 169), e);
	assert_int_equal(policyd_cache_count(c), 2);
	policyd_cache_free(c);
}

static void test_expiry(void **state)
{
	struct policyd_cache *c = policyd_cache_new(8, 60);
	struct policyd_entry *e = put(c, "old", 100);

	e->verdict->reply = strdup("action=550 5.7.1 no");
	finish(c, e, 100);
	/* The time counts from the verdict. */
	assert_non_null(get(c, "old", 159));
	assert_null(get(c, "old", 160));
	assert_int_equal(policyd_cache_count(c), 0);
	/* A pending entry never expires. */
	e = put(c, "slow", 100);
	assert_ptr_equal(get(c, "slow", 100000), e);
	policyd_cache_free(c);
}

static void test_eviction_oldest_first(void **state)
{
	struct policyd_cache *c = policyd_cache_new(4, 600);
	char key[16];

	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		finish(c, put(c, key, 100 + i), 100 + i);
	}
	assert_int_equal(policyd_cache_count(c), 4);
	/* Full: the next one pushes out the oldest. */
	finish(c, put(c, "k4", 200), 200);
	assert_int_equal(policyd_cache_count(c), 4);
	assert_null(get(c, "k0", 200));
	assert_non_null(get(c, "k1", 200));
	assert_non_null(get(c, "k4", 200));
	policyd_cache_free(c);
}

static void test_pending_never_evicted(void **state)
{
	struct policyd_cache *c = policyd_cache_new(2, 600);
	struct policyd_entry *p1 = put(c, "p1", 100), *p2 = put(c, "p2", 100);

	/* Both slots hold checks still running: a third goes over the bound
	 * rather than dropping a check that connections wait for. */
	struct policyd_entry *p3 = put(c, "p3", 100);
	assert_int_equal(policyd_cache_count(c), 3);
	assert_ptr_equal(get(c, "p1", 100), p1);
	assert_ptr_equal(get(c, "p2", 100), p2);
	/* Once done they can go, oldest verdict first. */
	finish(c, p2, 101);
	finish(c, p1, 102);
	finish(c, p3, 103);
	put(c, "p4", 104);
	assert_int_equal(policyd_cache_count(c), 2);
	assert_null(get(c, "p2", 104));
	assert_null(get(c, "p1", 104));
	assert_non_null(get(c, "p3", 104));
	policyd_cache_free(c);
}

static void test_many_keys(void **state)
{
	struct policyd_cache *c = policyd_cache_new(1000, 600);
	char key[32];

	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "instance-%d", i);
		struct policyd_entry *e = put(c, key, 100);
		e->verdict->prepend = strdup("action=PREPEND X-Test: 1");
		finish(c, e, 100);
		assert_true(policyd_cache_count(c) <= 1000);
	}
	for (int i = 4000; i < 5000; i++) {
		snprintf(key, sizeof(key), "instance-%d", i);
		assert_non_null(get(c, key, 100));
	}
	snprintf(key, sizeof(key), "instance-%d", 3999);
	assert_null(get(c, key, 100));
	policyd_cache_free(c);
}

static void test_remove(void **state)
{
	struct policyd_cache *c = policyd_cache_new(8, 60);
	struct policyd_entry *a = put(c, "a", 100), *b = put(c, "b", 100);

	finish(c, a, 100);
	/* Pending or not, an entry can be forgotten at once. */
	policyd_cache_remove(c, b);
	assert_null(get(c, "b", 100));
	policyd_cache_remove(c, a);
	assert_null(get(c, "a", 100));
	assert_int_equal(policyd_cache_count(c), 0);
	/* And put again. */
	assert_non_null(put(c, "a", 101));
	assert_int_equal(policyd_cache_count(c), 1);
	policyd_cache_free(c);
}

/* One verdict in a cache by message and a cache by client, HELO name and
 * sender, each with its own time: it lives as long as either holds it. */
static void test_shared_verdict(void **state)
{
	struct policyd_cache *messages = policyd_cache_new(8, 600);
	struct policyd_cache *checks = policyd_cache_new(8, 60);
	struct policyd_verdict *v = policyd_verdict_new();
	struct policyd_entry *m1 = policyd_cache_put(messages, "i1\0ip", 5, v, 100);
	struct policyd_entry *s = policyd_cache_put(checks, "ip", 2, v, 100);

	policyd_verdict_drop(v);
	assert_int_equal(v->refs, 2);
	v->prepend = strdup("action=PREPEND X-Test: 1");
	v->pending = 0;
	policyd_cache_done(messages, m1, 101);
	policyd_cache_done(checks, s, 101);
	/* A second message has it too, with a PREPEND of its own. */
	struct policyd_entry *m2 = policyd_cache_put(messages, "i2\0ip", 5, v, 120);
	m1->prepended = 1;
	assert_false(m2->prepended);
	assert_int_equal(v->refs, 3);
	/* The shared entry's time ends first; the messages keep the verdict. */
	assert_null(policyd_cache_get(checks, "ip", 2, 161));
	assert_int_equal(v->refs, 2);
	assert_ptr_equal(policyd_cache_get(messages, "i2\0ip", 5, 161), m2);
	assert_string_equal(m2->verdict->prepend, "action=PREPEND X-Test: 1");
	policyd_cache_free(checks);
	policyd_cache_free(messages);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get_done),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_eviction_oldest_first),
	    cmocka_unit_test(test_pending_never_evicted),
	    cmocka_unit_test(test_many_keys),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_shared_verdict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
