/* Queue manager tests: qmgr_run in a thread over a temporary queue,
 * delivering to Maildir, discarding, deferring when the LMTP server
 * refuses connections, one LMTP transaction for several recipients, and
 * giving up on unsafe or expired recipients. */
#include "qtest.h"
#include "queue/qmgr.h"
#include "queue/queue_db.h"
#include "core/xmalloc.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <event2/event.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	struct config cfg;
	char dir[64];
	char mail[PATH_MAX];
	pthread_t thread;
	volatile sig_atomic_t stop;
	int notify[2];
	int rc;
};

static int refused_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char tmpl[PATH_MAX + 16], lmtp[64];

	qtest_config(&f->cfg, f->dir);
	f->cfg.spool_inline_max = 4096;
	snprintf(f->mail, sizeof(f->mail), "%s/mail", f->dir);
	snprintf(tmpl, sizeof(tmpl), "%s/%%d/%%u", f->mail);
	snprintf(lmtp, sizeof(lmtp), "127.0.0.1:%d", refused_port());
	qtest_domain(&f->cfg, "example.org", DELIVER_MAILDIR, tmpl, NULL);
	qtest_domain(&f->cfg, "discard.test", DELIVER_DISCARD, NULL, NULL);
	qtest_domain(&f->cfg, "down.test", DELIVER_LMTP, NULL, lmtp);
	assert_int_equal(pipe2(f->notify, O_NONBLOCK | O_CLOEXEC), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->notify[0]);
	close(f->notify[1]);
	qtest_rmtree(f->dir);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static void *qmgr_thread(void *arg)
{
	struct fixture *f = arg;
	f->rc = qmgr_run(&f->cfg, f->notify[0], &f->stop);
	return NULL;
}

static void qmgr_start(struct fixture *f)
{
	f->stop = 0;
	assert_int_equal(pthread_create(&f->thread, NULL, qmgr_thread, f), 0);
}

static void qmgr_stop(struct fixture *f)
{
	f->stop = 1;
	assert_int_equal(write(f->notify[1], "x", 1), 1);
	pthread_join(f->thread, NULL);
	assert_int_equal(f->rc, 0);
}

/* Waits up to 10 s for sql to give want. */
static void wait_for(struct fixture *f, const char *sql, long long want)
{
	for (int i = 0; i < 1000; i++) {
		if (qtest_int(&f->cfg, sql) == want)
			return;
		struct timespec ts = {0, 10000000L};
		nanosleep(&ts, NULL);
	}
	fail_msg("timed out waiting for %s == %lld (is %lld)", sql, want, qtest_int(&f->cfg, sql));
}

static void only_file(const char *dir, char *out, size_t outsize)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(out, outsize, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_maildir_delivery(void **state)
{
	struct fixture *f = *state;
	const char *rcpts[] = {"Alice@Example.org", "bob@example.org"};
	const char body[] = "From: s@example.net\r\nSubject: test\r\n\r\nHello\r\n.dot\r\n";
	char newdir[PATH_MAX + 64], file[PATH_MAX + 320], expect[512];
	size_t len;

	qtest_spool_one(&f->cfg, "s@example.net", rcpts, 2, body, sizeof(body) - 1, 0, NULL);
	qmgr_start(f);
	wait_for(f, "SELECT count(*) FROM messages", 0);
	qmgr_stop(f);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM recipients"), 0);

	snprintf(newdir, sizeof(newdir), "%s/example.org/alice/new", f->mail);
	only_file(newdir, file, sizeof(file));
	char *got = qtest_read_file(file, &len);
	int n =
	    snprintf(expect, sizeof(expect),
	             "Return-Path: <s@example.net>\r\nDelivered-To: Alice@Example.org\r\n%s", body);
	assert_int_equal(len, (size_t)n);
	assert_memory_equal(got, expect, len);
	free(got);
	snprintf(newdir, sizeof(newdir), "%s/example.org/bob/new", f->mail);
	only_file(newdir, file, sizeof(file));
}

static void test_large_body_from_file(void **state)
{
	struct fixture *f = *state;
	const char *rcpt = "big@example.org";
	size_t blen = 1024 * 1024, len;
	char *body = xmalloc(blen), newdir[PATH_MAX + 64], file[PATH_MAX + 320], id[ID_LEN + 1];
	char path[PATH_MAX];
	const char head[] = "Return-Path: <>\r\nDelivered-To: big@example.org\r\n";

	for (size_t i = 0; i < blen; i++)
		body[i] = (char)(i * 7 + i / 251);
	qtest_spool_one(&f->cfg, "", &rcpt, 1, body, blen, 0, id);
	assert_int_equal(queue_db_body_path(&f->cfg, id, path, sizeof(path)), 0);
	assert_int_equal(access(path, F_OK), 0);
	qmgr_start(f);
	wait_for(f, "SELECT count(*) FROM messages", 0);
	qmgr_stop(f);
	/* The body file went with its message. */
	assert_int_equal(access(path, F_OK), -1);
	snprintf(newdir, sizeof(newdir), "%s/example.org/big/new", f->mail);
	only_file(newdir, file, sizeof(file));
	char *got = qtest_read_file(file, &len);
	assert_int_equal(len, sizeof(head) - 1 + blen);
	assert_memory_equal(got, head, sizeof(head) - 1);
	assert_memory_equal(got + sizeof(head) - 1, body, blen);
	free(got);
	free(body);
}

static void test_discard_many(void **state)
{
	struct fixture *f = *state;
	struct event_base *base = event_base_new();
	char err[256];
	struct spool *sp = spool_open(&f->cfg, base, f->notify[1], err, sizeof(err));
	enum { N = 500 };
	struct spool_msg *msgs[N];
	int errs[N];
	const char *rcpts[] = {"x@discard.test", "y@DISCARD.test"};

	assert_non_null(sp);
	qmgr_start(f);
	for (int i = 0; i < N; i++)
		msgs[i] = qtest_msg(sp, NULL, "s@example.net", rcpts, 2, "x\r\n", 3);
	qtest_commit(sp, base, msgs, N, errs);
	for (int i = 0; i < N; i++)
		assert_int_equal(errs[i], 0);
	wait_for(f, "SELECT count(*) FROM messages", 0);
	qmgr_stop(f);
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM recipients"), 0);
	spool_close(sp);
	event_base_free(base);
}

static void test_lmtp_refused_defers(void **state)
{
	struct fixture *f = *state;
	const char *rcpts[] = {"u@down.test", "v@discard.test"};
	char id[ID_LEN + 1], reply[256];
	long long now = (long long)time(NULL);

	f->cfg.retry_min = 300;
	qtest_spool_one(&f->cfg, "s@example.net", rcpts, 2, "x\r\n", 3, 0, id);
	qmgr_start(f);
	wait_for(f, "SELECT count(*) FROM recipients WHERE state = 'deferred'", 1);
	wait_for(f, "SELECT count(*) FROM recipients WHERE state = 'delivered'", 1);
	/* Give it a chance to (wrongly) retry before next_attempt. */
	struct timespec ts = {1, 300000000L};
	nanosleep(&ts, NULL);
	qmgr_stop(f);

	assert_int_equal(qtest_int(&f->cfg, "SELECT attempts FROM recipients WHERE rcpt_index = 0"),
	                 1);
	long long next = qtest_int(&f->cfg, "SELECT next_attempt FROM recipients "
	                                    "WHERE rcpt_index = 0");
	assert_true(next >= now + 300);
	assert_true(next <= (long long)time(NULL) + 300);
	qtest_text(&f->cfg, "SELECT last_reply FROM recipients WHERE rcpt_index = 0", reply,
	           sizeof(reply));
	assert_int_equal(reply[0], '4');
	assert_non_null(strstr(reply, "connect"));
	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM messages"), 1);
}

static void test_lmtp_one_transaction(void **state)
{
	struct fixture *f = *state;
	struct fake_lmtp srv;
	char lmtp[64];
	const char *rcpts[] = {"a@up.test", "rej@up.test", "b@up.test", "tmp@up.test"};

	fake_lmtp_start(&srv, 1);
	snprintf(lmtp, sizeof(lmtp), "127.0.0.1:%d", srv.port);
	qtest_domain(&f->cfg, "up.test", DELIVER_LMTP, NULL, lmtp);
	qtest_spool_one(&f->cfg, "s@example.net", rcpts, 4, "Subject: x\r\n\r\nhi\r\n", 18, 0,
	                NULL);
	qmgr_start(f);
	wait_for(f, "SELECT count(*) FROM recipients WHERE state = 'queued'", 0);
	qmgr_stop(f);
	fake_lmtp_join(&srv);

	assert_int_equal(qtest_int(&f->cfg, "SELECT count(*) FROM recipients "
	                                    "WHERE state = 'delivered'"),
	                 2);
	assert_int_equal(qtest_int(&f->cfg, "SELECT rcpt_index FROM recipients "
	                                    "WHERE state = 'failed'"),
	                 1);
	assert_int_equal(qtest_int(&f->cfg, "SELECT rcpt_index FROM recipients "
	                                    "WHERE state = 'deferred'"),
	                 3);
	/* Four recipients, one connection, one MAIL. */
	const char *p = srv.log;
	int mails = 0;
	while ((p = strstr(p, "MAIL FROM")) != NULL) {
		mails++;
		p++;
	}
	assert_int_equal(mails, 1);
}

static void test_unsafe_and_unrouted(void **state)
{
	struct fixture *f = *state;
	const char *rcpts[] = {".evil@example.org", "someone@elsewhere.test"};
	char reply[256];

	qtest_spool_one(&f->cfg, "s@example.net", rcpts, 2, "x\r\n", 3, 0, NULL);
	qmgr_start(f);
	wait_for(f, "SELECT count(*) FROM recipients WHERE state = 'queued'", 0);
	qmgr_stop(f);
	assert_string_equal(
	    (qtest_text(&f->cfg, "SELECT state FROM recipients WHERE rcpt_index = 0", reply,
	                sizeof(reply)),
	     reply),
	    "failed");
	qtest_text(&f->cfg,
	           "SELECT state || ' ' || last_reply FROM recipients "
	           "WHERE rcpt_index = 1",
	           reply, sizeof(reply));
	/* The remote domain's MX cannot be looked up: it waits. */
	assert_non_null(strstr(reply, "deferred"));
	assert_non_null(strstr(reply, "4.4.3"));
}

static void test_expired_fails(void **state)
{
	struct fixture *f = *state;
	const char *rcpt = "u@down.test";

	qtest_spool_one(&f->cfg, "s@example.net", &rcpt, 1, "x\r\n", 3,
	                time(NULL) - f->cfg.queue_lifetime - 10, NULL);
	qmgr_start(f);
	wait_for(f, "SELECT count(*) FROM messages", 0);
	qmgr_stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_maildir_delivery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_body_from_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discard_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lmtp_refused_defers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lmtp_one_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsafe_and_unrouted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expired_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
