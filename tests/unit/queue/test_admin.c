/* queue_admin tests: list, show (envelope, recipients, headers, the last
 * delivery attempt), retry (all, one message, one domain), hold, release
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
#include <time.h>
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

/* The line of text that contains needle, copied into line ("" if none). */
static const char *line_with(const char *text, const char *needle, char *line, size_t size)
{
	const char *p = strstr(text, needle), *start, *end;

	line[0] = '\0';
	if (p == NULL)
		return line;
	for (start = p; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(p, '\n');
	snprintf(line, size, "%.*s", (int)(end ? end - start : (ptrdiff_t)strlen(start)), start);
	return line;
}

/* Due recipients of the queue, "addr,addr,..." in address order. */
static void due_now(const struct config *cfg, char *out, size_t size)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT group_concat(addr) FROM (SELECT addr FROM recipients "
	         "WHERE next_attempt <= %lld ORDER BY addr)",
	         (long long)time(NULL));
	qtest_text(cfg, sql, out, size);
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
	assert_int_equal(queue_admin_retry(&f->cfg, f->id, NULL, f->f), 0);
	assert_int_equal(qtest_int(&f->cfg, "SELECT max(next_attempt) FROM recipients") <=
	                     (long long)time(NULL),
	                 1);
	assert_int_equal(queue_admin_retry(&f->cfg, NULL, NULL, f->f), 0);
	assert_int_equal(queue_admin_retry(&f->cfg, "NOSUCHID", NULL, f->f), 1);
	fflush(f->f);
	assert_string_equal(f->out, "2 recipients due now\n2 recipients due now\n");
}

static void test_list_held(void **state)
{
	struct fixture *f = *state;
	const char *rcpts[] = {"c@example.org"};
	const char body[] = "Subject: other\r\n\r\nx\r\n";
	char other[ID_LEN + 1], held_id[ID_LEN + 2], line[512];

	qtest_spool_one(&f->cfg, "t@example.net", rcpts, 1, body, sizeof(body) - 1, 0, other);
	assert_int_equal(queue_admin_hold(&f->cfg, f->id, f->f), 0);
	assert_int_equal(queue_admin_list(&f->cfg, f->f), 0);
	fflush(f->f);
	/* The id and a space: the list's line, not hold's "held ID". */
	snprintf(held_id, sizeof(held_id), "%s ", f->id);
	assert_non_null(strstr(line_with(f->out, held_id, line, sizeof(line)), " HELD "));
	assert_non_null(strstr(line, "queued"));
	assert_non_null(strstr(line, "<s@example.net>"));
	assert_null(strstr(line_with(f->out, other, line, sizeof(line)), "HELD"));
	assert_non_null(strstr(line, " - "));
	/* One HELD for the held message; the heading says HOLD. */
	assert_non_null(strstr(line_with(f->out, "ARRIVAL", line, sizeof(line)), " HOLD "));
	assert_null(strstr(strstr(f->out, "HELD") + 1, "HELD"));
}

static void test_show_last_attempt(void **state)
{
	struct fixture *f = *state;
	char line[1024];

	qtest_int(&f->cfg,
	          "UPDATE messages SET envid = 'env-1', ret = 'HDRS', sender_verified = 1");
	qtest_int(&f->cfg, "UPDATE recipients SET state = 'deferred', attempts = 2, "
	                   "last_attempt = 1700000000, remote = 'mx.example.org[192.0.2.1]:25', "
	                   "tls = 'verified', last_reply = '451 4.7.1 \"greylisted\" \\' || "
	                   "char(27) || '[31m' WHERE rcpt_index = 0");
	qtest_int(&f->cfg,
	          "UPDATE recipients SET state = 'delivered', attempts = 1, "
	          "last_attempt = 1700000060, remote = 'mx2.example.org[192.0.2.2]:25', "
	          "tls = 'opportunistic', last_reply = '250 2.0.0 ok' WHERE rcpt_index = 1");
	assert_int_equal(queue_admin_show(&f->cfg, f->id, f->f), 0);
	fflush(f->f);
	assert_non_null(strstr(f->out, "\nheld: no\n"));
	assert_non_null(strstr(f->out, "\nenvid: env-1\nret: HDRS\nsender_verified: yes\n"));
	line_with(f->out, "rcpt 0: ", line, sizeof(line));
	assert_non_null(strstr(line, " state=deferred attempts=2 next_attempt="));
	assert_non_null(strstr(line, " last_attempt=2023-11-14T22:13:20Z"
	                             " remote=mx.example.org[192.0.2.1]:25 tls=verified"));
	/* The remote server's text cannot end the quotes or reach the
	 * terminal as an escape sequence. */
	assert_non_null(strstr(line, " last_reply=\"451 4.7.1 \\\"greylisted\\\" \\\\\\x1b[31m\""));
	line_with(f->out, "rcpt 1: ", line, sizeof(line));
	assert_non_null(strstr(line, " state=delivered attempts=1 last_attempt=2023-11-14T22:14:20Z"
	                             " remote=mx2.example.org[192.0.2.2]:25 tls=opportunistic"
	                             " last_reply=\"250 2.0.0 ok\""));
	assert_null(strstr(line, "next_attempt"));
}

static void test_show_not_attempted(void **state)
{
	struct fixture *f = *state;
	char line[1024];

	assert_int_equal(queue_admin_show(&f->cfg, f->id, f->f), 0);
	fflush(f->f);
	/* No DSN asked for, never tried: no fields that would be empty. */
	assert_null(strstr(f->out, "envid:"));
	assert_null(strstr(f->out, "ret:"));
	assert_non_null(strstr(f->out, "\nsender_verified: no\n"));
	line_with(f->out, "rcpt 0: ", line, sizeof(line));
	assert_non_null(strstr(line, " state=queued attempts=0 next_attempt="));
	assert_null(strstr(line, "last_attempt"));
	assert_null(strstr(line, "remote="));
	assert_null(strstr(line, "tls="));
	assert_null(strstr(line, "last_reply"));
}

static void test_retry_domain(void **state)
{
	struct fixture *f = *state;
	const char *rcpts[] = {"c@Example.ORG",          "\"x@y\"@example.org", "d@sub.example.org",
	                       "e@example.org.evil.net", "f@notexample.org",    "g@other.net",
	                       "h@example.org"};
	const char body[] = "Subject: domains\r\n\r\nx\r\n";
	char other[ID_LEN + 1], sql[256], due[512];

	qtest_spool_one(&f->cfg, "t@example.net", rcpts, 7, body, sizeof(body) - 1, 0, other);
	snprintf(sql, sizeof(sql), "UPDATE recipients SET state = 'deferred', next_attempt = %lld",
	         (long long)time(NULL) + 9999);
	qtest_int(&f->cfg, sql);
	/* Queued but not yet due (a destination's backoff) is retried too;
	 * delivered is left alone. */
	qtest_int(&f->cfg, "UPDATE recipients SET state = 'queued' WHERE addr = 'c@Example.ORG'");
	qtest_int(&f->cfg,
	          "UPDATE recipients SET state = 'delivered' WHERE addr = 'h@example.org'");
	/* The fixture's a@ and b@example.org belong to a held message. */
	assert_int_equal(queue_admin_hold(&f->cfg, f->id, f->f), 0);

	assert_int_equal(queue_admin_retry(&f->cfg, NULL, "EXAMPLE.org", f->f), 0);
	fflush(f->f);
	assert_non_null(
	    strstr(f->out, "\n2 recipients due now (2 of held messages not retried)\n"));
	due_now(&f->cfg, due, sizeof(due));
	assert_string_equal(due, "\"x@y\"@example.org,c@Example.ORG");

	assert_int_equal(queue_admin_retry(&f->cfg, NULL, "nowhere.example", f->f), 0);
	fflush(f->f);
	assert_non_null(strstr(f->out, "\n0 recipients due now\n"));

	assert_int_equal(queue_admin_retry(&f->cfg, NULL, "sub.example.org", f->f), 0);
	fflush(f->f);
	assert_non_null(strstr(f->out, "\n1 recipient due now\n"));
	due_now(&f->cfg, due, sizeof(due));
	assert_string_equal(due, "\"x@y\"@example.org,c@Example.ORG,d@sub.example.org");
}

static void test_hold_release(void **state)
{
	struct fixture *f = *state;
	char sql[256], due[512], said[128];

	snprintf(sql, sizeof(sql), "UPDATE recipients SET state = 'deferred', next_attempt = %lld",
	         (long long)time(NULL) + 9999);
	qtest_int(&f->cfg, sql);
	qtest_int(&f->cfg, "UPDATE recipients SET state = 'delivered' WHERE rcpt_index = 1");

	assert_int_equal(queue_admin_hold(&f->cfg, f->id, f->f), 0);
	assert_int_equal(qtest_int(&f->cfg, "SELECT held FROM messages"), 1);
	assert_int_equal(queue_admin_show(&f->cfg, f->id, f->f), 0);
	/* Held, a retry of it changes nothing. */
	assert_int_equal(queue_admin_retry(&f->cfg, f->id, NULL, f->f), 0);
	due_now(&f->cfg, due, sizeof(due));
	assert_string_equal(due, "");

	assert_int_equal(queue_admin_release(&f->cfg, f->id, f->f), 0);
	assert_int_equal(qtest_int(&f->cfg, "SELECT held FROM messages"), 0);
	due_now(&f->cfg, due, sizeof(due));
	assert_string_equal(due, "a@example.org");
	fflush(f->f);
	snprintf(said, sizeof(said), "held %s\n", f->id);
	assert_non_null(strstr(f->out, said));
	assert_non_null(strstr(f->out, "\nheld: yes\n"));
	assert_non_null(
	    strstr(f->out, "\n0 recipients due now (1 of held messages not retried)\n"));
	snprintf(said, sizeof(said), "\nreleased %s, 1 recipient due now\n", f->id);
	assert_non_null(strstr(f->out, said));

	assert_int_equal(queue_admin_hold(&f->cfg, "NOSUCHID", f->f), 1);
	assert_int_equal(queue_admin_release(&f->cfg, "NOSUCHID", f->f), 1);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM messages WHERE held != 0"), 0);
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
	    cmocka_unit_test_setup_teardown(test_list_held, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_show_last_attempt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_show_not_attempted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
