/* Spool tests: group commit of many messages, bodies spilling to files and
 * read back byte for byte, a failed transaction cleaning up its files. */
#include "qtest.h"
#include "queue/queue_db.h"
#include "queue/spool.h"
#include "core/xmalloc.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
	struct config cfg;
	char dir[64];
	struct event_base *base;
	struct spool *sp;
	int notify[2];
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char err[256];

	qtest_config(&f->cfg, f->dir);
	f->cfg.spool_inline_max = 1000;
	f->base = event_base_new();
	assert_int_equal(pipe2(f->notify, O_NONBLOCK | O_CLOEXEC), 0);
	f->sp = spool_open(&f->cfg, f->base, f->notify[1], err, sizeof(err));
	assert_non_null(f->sp);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	spool_close(f->sp);
	event_base_free(f->base);
	close(f->notify[0]);
	close(f->notify[1]);
	qtest_rmtree(f->dir);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static void test_commit_many(void **state)
{
	struct fixture *f = *state;
	enum { N = 200 };
	struct spool_msg *msgs[N];
	int errs[N];
	const char *rcpts[] = {"a@example.org", "b@example.org"};
	char body[128], c;

	for (int i = 0; i < N; i++) {
		int n = snprintf(body, sizeof(body), "Subject: %d\r\n\r\nbody %d\r\n", i, i);
		msgs[i] = qtest_msg(f->sp, NULL, "s@example.net", rcpts, 2, body, (size_t)n);
	}
	qtest_commit(f->sp, f->base, msgs, N, errs);
	for (int i = 0; i < N; i++)
		assert_int_equal(errs[i], 0);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM messages"), N);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM recipients "
	                                    "WHERE state = 'queued' AND attempts = 0"),
	                 2 * N);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM messages WHERE body IS NULL"), 0);
	/* The queue manager was told. */
	assert_int_equal(read(f->notify[0], &c, 1), 1);
}

static void test_large_body_in_file(void **state)
{
	struct fixture *f = *state;
	const size_t len = 10 * 1024 * 1024 + 7;
	char *body = xmalloc(len), sql[256], path[PATH_MAX];
	const char *rcpt = "big@example.org";
	struct spool_msg *m;
	unsigned x = 12345;
	size_t off = 0, step = 1, got;
	int err;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		body[i] = (char)(x >> 16);
	}
	m = qtest_msg(f->sp, NULL, "s@example.net", &rcpt, 1, "", 0);
	/* Uneven writes, as network reads come. */
	while (off < len) {
		size_t n = step < len - off ? step : len - off;
		assert_int_equal(spool_body_write(m->body, body + off, n), 0);
		off += n;
		step = step * 3 + 1;
		if (step > 300000)
			step = 17;
	}
	assert_int_equal(spool_body_size(m->body), len);
	char id[ID_LEN + 1];
	strcpy(id, m->id);
	qtest_commit(f->sp, f->base, &m, 1, &err);
	assert_int_equal(err, 0);

	snprintf(sql, sizeof(sql), "SELECT body IS NULL FROM messages WHERE id = '%s'", id);
	assert_int_equal(qtest_int(&f->cfg, sql), 1);
	snprintf(sql, sizeof(sql), "SELECT size FROM messages WHERE id = '%s'", id);
	assert_int_equal(qtest_int(&f->cfg, sql), (long long)len);
	assert_int_equal(queue_db_body_path(&f->cfg, id, path, sizeof(path)), 0);
	char *back = qtest_read_file(path, &got);
	assert_int_equal(got, len);
	assert_memory_equal(back, body, len);
	free(back);
	free(body);
}

static void test_small_body_inline(void **state)
{
	struct fixture *f = *state;
	char body[1000], sql[1200], path[PATH_MAX];
	const char *rcpt = "small@example.org";
	struct spool_msg *m;
	int err;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)('A' + i % 26);
	m = qtest_msg(f->sp, NULL, "", &rcpt, 1, body, sizeof(body)); /* exactly inline_max */
	char id[ID_LEN + 1];
	strcpy(id, m->id);
	qtest_commit(f->sp, f->base, &m, 1, &err);
	assert_int_equal(err, 0);
	snprintf(sql, sizeof(sql),
	         "SELECT body = CAST('%.*s' AS BLOB) FROM messages WHERE id = '%s'",
	         (int)sizeof(body), body, id);
	assert_int_equal(qtest_int(&f->cfg, sql), 1);
	assert_int_equal(queue_db_body_path(&f->cfg, id, path, sizeof(path)), 0);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_failed_commit_removes_file(void **state)
{
	struct fixture *f = *state;
	const char *rcpt = "dup@example.org";
	char big[3000], path[PATH_MAX];
	struct spool_msg *m;
	int err;

	memset(big, 'x', sizeof(big));
	m = qtest_msg(f->sp, "0000000000DUPLIC", "s@example.net", &rcpt, 1, "x\r\n", 3);
	qtest_commit(f->sp, f->base, &m, 1, &err);
	assert_int_equal(err, 0);
	/* The same id again, with a body in a file: the insert fails. */
	m = qtest_msg(f->sp, "0000000000DUPLIC", "s@example.net", &rcpt, 1, big, sizeof(big));
	assert_int_equal(queue_db_body_path(&f->cfg, "0000000000DUPLIC", path, sizeof(path)), 0);
	assert_int_equal(access(path, F_OK), 0);
	qtest_commit(f->sp, f->base, &m, 1, &err);
	assert_int_not_equal(err, 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM messages"), 1);
}

static void test_discard_removes_file(void **state)
{
	struct fixture *f = *state;
	char big[5000], path[PATH_MAX];
	struct spool_body *b = spool_body_new(f->sp, "0000000000DISCAR");

	memset(big, 'y', sizeof(big));
	assert_int_equal(spool_body_write(b, big, sizeof(big)), 0);
	assert_int_equal(queue_db_body_path(&f->cfg, "0000000000DISCAR", path, sizeof(path)), 0);
	assert_int_equal(access(path, F_OK), 0);
	spool_body_discard(b);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commit_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_body_in_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_small_body_inline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_commit_removes_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discard_removes_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
