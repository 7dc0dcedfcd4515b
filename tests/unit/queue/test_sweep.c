/* Unit tests of the sweep of orphaned body files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "qtest.h"
#include "queue/queue_db.h"
#include "queue/sweep.h"

static void touch(const char *path, time_t mtime)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};
	assert_int_equal(utimes(path, tv), 0);
}

static void test_sweep_orphans_only(void **state)
{
	struct config cfg;
	char dir[128], bodydir[4096], path[4352], id[ID_LEN + 1];
	char err[256];
	time_t now = time(NULL);

	qtest_config(&cfg, dir);
	/* A message whose (large) body lives in a file: the sweep must keep it. */
	cfg.spool_inline_max = 4;
	qtest_spool_one(&cfg, "s@example.net", (const char *[]){"u@example.org"}, 1,
	                "Subject: big\r\n\r\nbody\r\n", 23, now, id);
	sqlite3 *db = queue_db_open(&cfg, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(queue_db_body_dir(&cfg, bodydir, sizeof(bodydir)), 0);
	snprintf(path, sizeof(path), "%s/%s", bodydir, id);
	assert_int_equal(access(path, F_OK), 0);
	struct timeval old[2] = {{now - 100000, 0}, {now - 100000, 0}};
	assert_int_equal(utimes(path, old), 0);

	snprintf(path, sizeof(path), "%s/ORPHANOLD", bodydir);
	touch(path, now - 100000);
	snprintf(path, sizeof(path), "%s/ORPHANNEW", bodydir);
	touch(path, now - 10);

	assert_int_equal(queue_sweep_bodies(&cfg, db, now, 3600), 1);
	snprintf(path, sizeof(path), "%s/ORPHANOLD", bodydir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/ORPHANNEW", bodydir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/%s", bodydir, id);
	assert_int_equal(access(path, F_OK), 0);
	/* Nothing more to do the second time. */
	assert_int_equal(queue_sweep_bodies(&cfg, db, now, 3600), 0);

	queue_db_close(db);
	config_free(&cfg);
	qtest_rmtree(dir);
}

/* A crash at the end of a delivery: the queue manager committed the removal
 * of the delivered message and died before unlinking its body.  (A session
 * that died while writing its body leaves a file no row ever named, as
 * ORPHANOLD above.)  Entries that are not regular files are left alone. */
static void test_sweep_after_crash(void **state)
{
	struct config cfg;
	char dir[128], bodydir[4096], path[4352], id[ID_LEN + 1], sql[128], err[256];
	time_t now = time(NULL);

	qtest_config(&cfg, dir);
	cfg.spool_inline_max = 4;
	qtest_spool_one(&cfg, "s@example.net", (const char *[]){"u@example.org"}, 1,
	                "Subject: big\r\n\r\nbody\r\n", 23, now, id);
	sqlite3 *db = queue_db_open(&cfg, err, sizeof(err));
	assert_non_null(db);
	snprintf(sql, sizeof(sql), "DELETE FROM recipients WHERE msg_id = '%s'", id);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "DELETE FROM messages WHERE id = '%s'", id);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(queue_db_body_dir(&cfg, bodydir, sizeof(bodydir)), 0);
	snprintf(path, sizeof(path), "%s/%s", bodydir, id);
	struct timeval old[2] = {{now - 100000, 0}, {now - 100000, 0}};
	assert_int_equal(utimes(path, old), 0);

	snprintf(path, sizeof(path), "%s/adir", bodydir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(utimes(path, old), 0);
	snprintf(path, sizeof(path), "%s/alink", bodydir);
	assert_int_equal(symlink("/nonexistent", path), 0);
	assert_int_equal(lutimes(path, old), 0);

	assert_int_equal(queue_sweep_bodies(&cfg, db, now, 3600), 1);
	snprintf(path, sizeof(path), "%s/%s", bodydir, id);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/adir", bodydir);
	assert_int_equal(access(path, F_OK), 0);
	struct stat sb;
	snprintf(path, sizeof(path), "%s/alink", bodydir);
	assert_int_equal(lstat(path, &sb), 0);

	queue_db_close(db);
	config_free(&cfg);
	qtest_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sweep_orphans_only),
	    cmocka_unit_test(test_sweep_after_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
