/* Spool tests: group commit of many messages, bodies spilling to files and
 * read back byte for byte, a failed transaction cleaning up its files, the
 * DSN parameters, message facts and forwarded recipients stored with the
 * envelope, and the schema migrated from versions 1 to 3. */
#include "qtest.h"
#include "queue/queue_db.h"
#include "queue/spool.h"
#include "core/fsutil.h"
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

static void test_dsn_fields_stored(void **state)
{
	struct fixture *f = *state;
	const char *rcpts[] = {"a@example.org", "b@example.org", "c@example.org"};
	struct spool_msg *m = qtest_msg(f->sp, NULL, "s@example.net", rcpts, 3, "x\r\n", 3);
	char id[ID_LEN + 1], sql[256], text[256];
	int err;

	strcpy(id, m->id);
	m->envid = xstrdup("QQ 314159");
	m->ret = DSN_RET_HDRS;
	m->eightbit = 1;
	m->smtputf8 = 1;
	m->sender_verified = 1;
	m->rcpts[0].notify = DSN_NOTIFY_DELAY | DSN_NOTIFY_FAILURE;
	m->rcpts[0].dsn_orcpt = xstrdup("rfc822;A@example.org");
	m->rcpts[1].notify = DSN_NOTIFY_NEVER;
	qtest_commit(f->sp, f->base, &m, 1, &err);
	assert_int_equal(err, 0);

	snprintf(sql, sizeof(sql),
	         "SELECT envid || '|' || ret || '|' || sender_verified || eightbit || smtputf8 || "
	         "held || is_dsn FROM messages WHERE id = '%s'",
	         id);
	qtest_text(&f->cfg, sql, text, sizeof(text));
	assert_string_equal(text, "QQ 314159|HDRS|11100");
	snprintf(sql, sizeof(sql),
	         "SELECT group_concat(coalesce(notify, '-') || '/' || coalesce(dsn_orcpt, '-') || "
	         "'/' || delay_warned || '/' || coalesce(last_attempt, tls, remote, '-'), ' ') "
	         "FROM (SELECT * FROM recipients WHERE msg_id = '%s' ORDER BY rcpt_index)",
	         id);
	qtest_text(&f->cfg, sql, text, sizeof(text));
	assert_string_equal(text, "FAILURE,DELAY/rfc822;A@example.org/0/- NEVER/-/0/- -/-/0/-");
}

/* The defaults: no DSN asked for, nothing verified. */
static void test_dsn_fields_absent(void **state)
{
	struct fixture *f = *state;
	const char *rcpt = "a@example.org";
	struct spool_msg *m = qtest_msg(f->sp, NULL, "", &rcpt, 1, "x\r\n", 3);
	int err;

	m->is_dsn = 1;
	qtest_commit(f->sp, f->base, &m, 1, &err);
	assert_int_equal(err, 0);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM messages WHERE envid IS NULL "
	                                    "AND ret IS NULL AND sender_verified = 0 AND "
	                                    "eightbit = 0 AND smtputf8 = 0 AND is_dsn = 1"),
	                 1);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM recipients WHERE notify IS NULL "
	                                    "AND dsn_orcpt IS NULL"),
	                 1);
}

/* A body read back while it is still being received (ARC sealing): from
 * memory, then from its file with the bytes not yet written after them;
 * the descriptor outlives the body. */
static void test_body_reader(void **state)
{
	struct fixture *f = *state;
	struct spool_body *b = spool_body_new(f->sp, "0000000000READER");
	char data[2500], got[2500], *tail;
	uint64_t file_len;
	size_t tail_len;
	int fd;

	memset(data, 'a', 500);
	memset(data + 500, 'b', 2000);
	assert_int_equal(spool_body_write(b, data, 500), 0);
	assert_int_equal(spool_body_reader(b, &fd, &file_len, &tail, &tail_len), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(file_len, 0);
	assert_int_equal(tail_len, 500);
	assert_memory_equal(tail, data, 500);
	free(tail);

	/* Over spool.inline_max (1000): the first 500 bytes go to the file. */
	assert_int_equal(spool_body_write(b, data + 500, 2000), 0);
	assert_int_equal(spool_body_reader(b, &fd, &file_len, &tail, &tail_len), 0);
	assert_true(fd >= 0);
	assert_int_equal(file_len + tail_len, 2500);
	spool_body_discard(b);
	assert_int_equal(pread(fd, got, (size_t)file_len, 0), (ssize_t)file_len);
	memcpy(got + file_len, tail, tail_len);
	assert_memory_equal(got, data, sizeof(data));
	close(fd);
	free(tail);
}

/* Recipients sent on for a local address are marked; the others are not. */
static void test_forwarded_stored(void **state)
{
	struct fixture *f = *state;
	const char *rcpts[] = {"alice@example.org", "bob@remote.example"};
	struct spool_msg *m = qtest_msg(f->sp, NULL, "s@example.net", rcpts, 2, "x\r\n", 3);
	char sql[256], text[256];
	int err;

	snprintf(sql, sizeof(sql),
	         "SELECT group_concat(addr || '/' || forwarded, ' ') FROM (SELECT * FROM "
	         "recipients WHERE msg_id = '%s' ORDER BY rcpt_index)",
	         m->id);
	m->rcpts[1].forwarded = 1;
	qtest_commit(f->sp, f->base, &m, 1, &err);
	assert_int_equal(err, 0);
	qtest_text(&f->cfg, sql, text, sizeof(text));
	assert_string_equal(text, "alice@example.org/0 bob@remote.example/1");
}

/* The columns version 3 added to those of version 2. */
static const char columns_3[] =
    "ALTER TABLE messages ADD COLUMN envid TEXT;"
    "ALTER TABLE messages ADD COLUMN ret TEXT;"
    "ALTER TABLE messages ADD COLUMN sender_verified INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN eightbit INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN held INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN is_dsn INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE recipients ADD COLUMN notify TEXT;"
    "ALTER TABLE recipients ADD COLUMN dsn_orcpt TEXT;"
    "ALTER TABLE recipients ADD COLUMN last_attempt INTEGER;"
    "ALTER TABLE recipients ADD COLUMN tls TEXT;"
    "ALTER TABLE recipients ADD COLUMN remote TEXT;"
    "ALTER TABLE recipients ADD COLUMN delay_warned INTEGER NOT NULL DEFAULT 0;";

/* A queue left by an earlier version (1: no headers column; 2: no DSN
 * columns; 3: no forwarded column) keeps its messages and gains the new
 * columns with their defaults. */
static void migrate_from(int version)
{
	struct config cfg;
	char dir[64], path[PATH_MAX], err[256], sql[2048];
	sqlite3 *db;

	qtest_config(&cfg, dir);
	assert_int_equal(queue_db_body_dir(&cfg, path, sizeof(path)), 0);
	assert_int_equal(fs_mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/queue/queue.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql),
	         "CREATE TABLE messages (id TEXT PRIMARY KEY, sender TEXT NOT NULL, "
	         "client_ip TEXT NOT NULL, helo TEXT NOT NULL, auth_user TEXT, arrival "
	         "INTEGER NOT NULL, size INTEGER NOT NULL, body BLOB%s);"
	         "CREATE TABLE recipients (msg_id TEXT NOT NULL, rcpt_index INTEGER NOT NULL, "
	         "addr TEXT NOT NULL, orcpt TEXT NOT NULL, state TEXT NOT NULL, attempts "
	         "INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL, last_reply TEXT, "
	         "PRIMARY KEY (msg_id, rcpt_index));"
	         "INSERT INTO messages (id, sender, client_ip, helo, arrival, size, body) "
	         "VALUES ('OLD', 's@x', '1.2.3.4', 'h', 1, 3, x'41');"
	         "INSERT INTO recipients VALUES ('OLD', 0, 'r@x', 'r@x', 'deferred', 2, 5, "
	         "'451 later');"
	         "%s"
	         "PRAGMA user_version = %d;",
	         version == 1 ? "" : ", headers BLOB NOT NULL DEFAULT x''",
	         version == 3 ? columns_3 : "", version);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	db = queue_db_open(&cfg, err, sizeof(err));
	assert_non_null(db);
	queue_db_close(db);
	/* A second opener finds the current version and changes nothing. */
	db = queue_db_open(&cfg, err, sizeof(err));
	assert_non_null(db);
	queue_db_close(db);
	assert_int_equal(qtest_int(&cfg, "PRAGMA user_version"), 4);
	assert_int_equal(qtest_int(&cfg, "SELECT count(*) FROM messages WHERE id = 'OLD' AND "
	                                 "headers = x'' AND envid IS NULL AND ret IS NULL AND "
	                                 "sender_verified = 0 AND eightbit = 0 AND smtputf8 = 0 "
	                                 "AND held = 0 AND is_dsn = 0"),
	                 1);
	assert_int_equal(qtest_int(&cfg, "SELECT count(*) FROM recipients WHERE state = "
	                                 "'deferred' AND attempts = 2 AND notify IS NULL AND "
	                                 "dsn_orcpt IS NULL AND last_attempt IS NULL AND tls IS "
	                                 "NULL AND remote IS NULL AND delay_warned = 0 AND "
	                                 "forwarded = 0"),
	                 1);
	qtest_rmtree(dir);
	config_free(&cfg);
}

static void test_migrate_from_1(void **state)
{
	migrate_from(1);
}

static void test_migrate_from_2(void **state)
{
	migrate_from(2);
}

static void test_migrate_from_3(void **state)
{
	migrate_from(3);
}

/* A fresh queue is created at the current version. */
static void test_fresh_schema_version(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(qtest_int(&f->cfg, "PRAGMA user_version"), 4);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM pragma_table_info('messages') "
	                                    "WHERE name IN ('envid', 'ret', 'sender_verified', "
	                                    "'eightbit', 'smtputf8', 'held', 'is_dsn')"),
	                 7);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM pragma_table_info('recipients') "
	                                    "WHERE name IN ('notify', 'dsn_orcpt', 'last_attempt', "
	                                    "'tls', 'remote', 'delay_warned', 'forwarded')"),
	                 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commit_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_body_in_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_small_body_inline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_commit_removes_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discard_removes_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dsn_fields_stored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dsn_fields_absent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_reader, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forwarded_stored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fresh_schema_version, setup, teardown),
	    cmocka_unit_test(test_migrate_from_1),
	    cmocka_unit_test(test_migrate_from_2),
	    cmocka_unit_test(test_migrate_from_3),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
