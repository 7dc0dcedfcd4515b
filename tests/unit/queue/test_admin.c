/* queue_admin tests: list, show (envelope, recipients, headers), retry
 * and delete on a queue filled through the spool. */
#include "qtest.h"
#include "queue/queue_admin.h"
#include "queue/queue_db.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
	struct config cfg;
	char dir[64];
	char id[ID_LEN + 1];
	char *out;
	size_t outlen;
	FILE *f;
};

static int setup(void **state)
{
	static struct fixture fx;
	struct fixture *f = &fx;
	const char *rcpts[] = {"a@example.org", "b@example.org"};
	const char body[] = "From: s@example.net\r\nSubject: admin test\r\n\r\nsecret body\r\n";

	memset(f, 0, sizeof(*f));
	qtest_config(&f->cfg, f->dir);
	f->cfg.spool_inline_max = 10; /* the body goes to a file */
	qtest_spool_one(&f->cfg, "s@example.net", rcpts, 2, body, sizeof(body) - 1, 0, f->id);
	f->f = open_memstream(&f->out, &f->outlen);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fclose(f->f);
	free(f->out);
	qtest_rmtree(f->dir);
	config_free(&f->cfg);
	return 0;
}

static void test_list(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(queue_admin_list(&f->cfg, f->f), 0);
	fflush(f->f);
	assert_non_null(strstr(f->out, f->id));
	assert_non_null(strstr(f->out, "<s@example.net>"));
	assert_non_null(strstr(f->out, "queued"));
}

static void test_show(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(queue_admin_show(&f->cfg, f->id, f->f), 0);
	fflush(f->f);
	assert_non_null(strstr(f->out, "sender: <s@example.net>"));
	assert_non_null(strstr(f->out, "rcpt 1: <b@example.org>"));
	assert_non_null(strstr(f->out, "Subject: admin test\n"));
	assert_null(strstr(f->out, "secret body"));
	assert_int_equal(queue_admin_show(&f->cfg, "NOSUCHID", f->f), 1);
}

static void test_retry(void **state)
{
	struct fixture *f = *state;
	char sql[256];

	snprintf(sql, sizeof(sql), "UPDATE recipients SET state = 'deferred', next_attempt = %lld",
	         (long long)time(NULL) + 9999);
	qtest_int(&f->cfg, sql);
	assert_int_equal(queue_admin_retry(&f->cfg, f->id, f->f), 0);
	assert_int_equal(qtest_int(&f->cfg, "SELECT max(next_attempt) FROM recipients") <=
	                     (long long)time(NULL),
	                 1);
	assert_int_equal(queue_admin_retry(&f->cfg, NULL, f->f), 0);
	assert_int_equal(queue_admin_retry(&f->cfg, "NOSUCHID", f->f), 1);
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	assert_int_equal(queue_db_body_path(&f->cfg, f->id, path, sizeof(path)), 0);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(queue_admin_delete(&f->cfg, f->id, f->f), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM recipients"), 0);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM messages"), 0);
	assert_int_equal(queue_admin_delete(&f->cfg, f->id, f->f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_show, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
