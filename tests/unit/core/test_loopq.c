/* Unit tests of the completion queue back to the event loop, and of the
 * thread pool built on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/loopq.h"
#include "core/pool.h"

#define THREADS 4
#define PER_THREAD 2000

struct item {
	struct loopq_item lq;
	int thread, seq;
};

struct ctx {
	struct event_base *base;
	struct loopq *q;
	pthread_t loop_thread;
	int ran, want;
	int last_seq[THREADS]; /* per poster, to check the order */
	struct item items[THREADS][PER_THREAD];
};

static struct ctx ctx;

static void item_done(void *arg)
{
	struct item *it = arg;

	assert_true(pthread_equal(pthread_self(), ctx.loop_thread));
	assert_int_equal(it->seq, ctx.last_seq[it->thread] + 1);
	ctx.last_seq[it->thread] = it->seq;
	if (++ctx.ran == ctx.want)
		event_base_loopbreak(ctx.base);
}

static void *poster(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct item *it = &ctx.items[t][i];
		it->thread = t;
		it->seq = i;
		loopq_post(ctx.q, &it->lq, item_done, it);
	}
	return NULL;
}

/* Callbacks posted from several threads all run, on the loop's thread,
 * each poster's in its order. */
static void test_threads(void **state)
{
	pthread_t th[THREADS];

	(void)state;
	ctx.base = event_base_new();
	ctx.q = loopq_new(ctx.base);
	ctx.loop_thread = pthread_self();
	ctx.ran = 0;
	ctx.want = THREADS * PER_THREAD;
	for (int t = 0; t < THREADS; t++)
		ctx.last_seq[t] = -1;
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, poster, (void *)(intptr_t)t), 0);
	event_base_dispatch(ctx.base);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(ctx.ran, ctx.want);
	loopq_free(ctx.q);
	event_base_free(ctx.base);
}

/* What is still queued when the queue is freed runs then. */
static void test_free_runs_rest(void **state)
{
	(void)state;
	ctx.base = event_base_new();
	ctx.q = loopq_new(ctx.base);
	ctx.loop_thread = pthread_self();
	ctx.ran = 0;
	ctx.want = -1;
	ctx.last_seq[0] = -1;
	for (int i = 0; i < 3; i++) {
		ctx.items[0][i] = (struct item){.thread = 0, .seq = i};
		loopq_post(ctx.q, &ctx.items[0][i].lq, item_done, &ctx.items[0][i]);
	}
	loopq_free(ctx.q);
	assert_int_equal(ctx.ran, 3);
	event_base_free(ctx.base);
}

/* Posts its items in chains of 1, 2, 3... items, each chain at once. */
static void *list_poster(void *arg)
{
	int t = (int)(intptr_t)arg, i = 0;

	for (int size = 1; i < PER_THREAD; size++) {
		struct loopq_list l = {NULL, NULL};
		for (int k = 0; k < size && i < PER_THREAD; k++, i++) {
			struct item *it = &ctx.items[t][i];
			it->thread = t;
			it->seq = i;
			loopq_list_add(&l, &it->lq, item_done, it);
		}
		loopq_post_list(ctx.q, &l);
		/* Left empty: posting it again posts nothing. */
		loopq_post_list(ctx.q, &l);
	}
	return NULL;
}

/* Chains posted at once from several threads, beside single posts, all
 * run on the loop's thread, each poster's in its order. */
static void test_post_list(void **state)
{
	pthread_t th[THREADS];

	(void)state;
	ctx.base = event_base_new();
	ctx.q = loopq_new(ctx.base);
	ctx.loop_thread = pthread_self();
	ctx.ran = 0;
	ctx.want = THREADS * PER_THREAD;
	for (int t = 0; t < THREADS; t++)
		ctx.last_seq[t] = -1;
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(
		    pthread_create(&th[t], NULL, t % 2 ? list_poster : poster, (void *)(intptr_t)t),
		    0);
	event_base_dispatch(ctx.base);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(ctx.ran, ctx.want);
	loopq_free(ctx.q);
	event_base_free(ctx.base);
}

/* A chain still queued when the queue is freed runs then, whole and in
 * order. */
static void test_free_runs_list(void **state)
{
	struct loopq_list l = {NULL, NULL};

	(void)state;
	ctx.base = event_base_new();
	ctx.q = loopq_new(ctx.base);
	ctx.loop_thread = pthread_self();
	ctx.ran = 0;
	ctx.want = -1;
	ctx.last_seq[0] = -1;
	ctx.items[0][0] = (struct item){.thread = 0, .seq = 0};
	loopq_post(ctx.q, &ctx.items[0][0].lq, item_done, &ctx.items[0][0]);
	for (int i = 1; i < 4; i++) {
		ctx.items[0][i] = (struct item){.thread = 0, .seq = i};
		loopq_list_add(&l, &ctx.items[0][i].lq, item_done, &ctx.items[0][i]);
	}
	assert_int_equal(ctx.ran, 0);
	loopq_post_list(ctx.q, &l);
	assert_null(l.head);
	assert_null(l.tail);
	loopq_post_list(ctx.q, &l);
	loopq_free(ctx.q);
	assert_int_equal(ctx.ran, 4);
	event_base_free(ctx.base);
}

struct job {
	int worked, done;
	pthread_t worker;
};

static int pool_done_count;

static void job_work(void *arg)
{
	struct job *j = arg;

	j->worker = pthread_self();
	j->worked = 1;
}

static void job_done(void *arg)
{
	struct job *j = arg;

	assert_true(pthread_equal(pthread_self(), ctx.loop_thread));
	assert_true(j->worked);
	j->done = 1;
	if (++pool_done_count == 100)
		event_base_loopbreak(ctx.base);
}

/* Work runs on the pool's threads, done() back on the loop's. */
static void test_pool(void **state)
{
	struct job *jobs = calloc(100, sizeof(*jobs));
	struct pool *p;

	(void)state;
	ctx.base = event_base_new();
	ctx.loop_thread = pthread_self();
	p = pool_new(ctx.base, 2);
	pool_done_count = 0;
	for (int i = 0; i < 100; i++)
		pool_submit(p, job_work, job_done, &jobs[i]);
	event_base_dispatch(ctx.base);
	/* A job without done(), finished by pool_free. */
	struct job last = {0};
	pool_submit(p, job_work, NULL, &last);
	pool_free(p);
	assert_true(last.worked);
	for (int i = 0; i < 100; i++) {
		assert_true(jobs[i].done);
		assert_false(pthread_equal(jobs[i].worker, ctx.loop_thread));
	}
	free(jobs);
	event_base_free(ctx.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads),   cmocka_unit_test(test_free_runs_rest),
	    cmocka_unit_test(test_post_list), cmocka_unit_test(test_free_runs_list),
	    cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
