/* Maildir tests: template expansion, unsafe addresses refused, a
 * delivered file that is byte for byte the message with the two trace
 * headers prepended, batches whose items fail alone, and the cleaning of
 * tmp/. */
#include "qtest.h"
#include "queue/maildir.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_path_template(void **state)
{
	char out[PATH_MAX], err[128];

	assert_int_equal(maildir_path("/var/mail/%d/%u", "John.Doe@Example.ORG", out, sizeof(out),
	                              err, sizeof(err)),
	                 0);
	assert_string_equal(out, "/var/mail/example.org/john.doe");
	assert_int_equal(
	    maildir_path("/M/%a/x%%y", "a+b@ex.org", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "/M/a+b@ex.org/x%y");
	/* The template keeps its own case. */
	assert_int_equal(maildir_path("/Mail/%u", "U@d", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "/Mail/u");
}

static void test_path_refused(void **state)
{
	static const char *const bad[] = {
	    "a/b@example.org",
	    ".hidden@example.org",
	    "..@example.org",
	    "@example.org",
	    "user@",
	    "user@../etc",
	    "user@a/b",
	    "noat",
	    "a\nb@example.org",
	};
	char out[PATH_MAX], err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    maildir_path("/m/%d/%u", bad[i], out, sizeof(out), err, sizeof(err)), -1);
	assert_int_equal(maildir_path("/m/%q", "a@b", out, sizeof(out), err, sizeof(err)), -1);
	/* Too long for the output. */
	assert_int_equal(maildir_path("/m/%u", "abcdefgh@b", out, 8, err, sizeof(err)), -1);
	/* A dot inside the local part is fine. */
	assert_int_equal(maildir_path("/m/%u", "a..b@x", out, sizeof(out), err, sizeof(err)), 0);
}

/* The number of entries in dir/sub, dot files aside. */
static int count_files(const char *dir, const char *sub)
{
	char path[PATH_MAX + 16];
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	DIR *d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The only file in dir/sub, or fails. */
static void only_file(const char *dir, const char *sub, char *out, size_t outsize)
{
	char path[PATH_MAX + 16];
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	DIR *d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(out, outsize, "%s/%s", path, e->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_deliver_exact(void **state)
{
	char dir[] = "/tmp/postern-maildir-XXXXXX", box[256], file[PATH_MAX + 300], err[256];
	const char body[] = "Subject: hi\r\n\r\n.line\r\nbinary \x01\xff\r\n";
	const char expect[] = "Return-Path: <s@example.net>\r\n"
	                      "Delivered-To: u@example.org\r\n"
	                      "Subject: hi\r\n\r\n.line\r\nbinary \x01\xff\r\n";
	size_t len;

	assert_non_null(mkdtemp(dir));
	snprintf(box, sizeof(box), "%s/deep/er/box", dir);
	assert_int_equal(maildir_deliver(box, "host/a:b", "1.ID_0", "s@example.net",
	                                 "u@example.org", body, sizeof(body) - 1, err, sizeof(err)),
	                 MAILDIR_OK);
	only_file(box, "new", file, sizeof(file));
	/* <unique>.<host>, with / and : escaped. */
	assert_non_null(strstr(file, "/new/1.ID_0.host\\057a\\072b"));
	char *got = qtest_read_file(file, &len);
	assert_int_equal(len, sizeof(expect) - 1);
	assert_memory_equal(got, expect, len);
	free(got);

	snprintf(file, sizeof(file), "%s/cur", box);
	assert_int_equal(access(file, F_OK), 0);
	/* tmp/ is empty again. */
	assert_int_equal(count_files(box, "tmp"), 0);

	/* The same delivery repeated (its outcome lost in a crash) leaves one
	 * copy; another recipient or message gets its own file. */
	assert_int_equal(maildir_deliver(box, "host/a:b", "1.ID_0", "s@example.net",
	                                 "u@example.org", body, sizeof(body) - 1, err, sizeof(err)),
	                 MAILDIR_OK);
	only_file(box, "new", file, sizeof(file));
	assert_int_equal(maildir_deliver(box, "h", "1.ID_1", "", "u@example.org", body,
	                                 sizeof(body) - 1, err, sizeof(err)),
	                 MAILDIR_OK);
	snprintf(file, sizeof(file), "%s/new/1.ID_1.h", box);
	assert_int_equal(access(file, F_OK), 0);
	qtest_rmtree(dir);
}

static void test_deliver_unwritable(void **state)
{
	char err[256];

	assert_int_equal(maildir_deliver("/proc/postern-no/box", "h", "1.ID_2", "s@x", "u@y", "x",
	                                 1, err, sizeof(err)),
	                 MAILDIR_TEMP);
	assert_true(strlen(err) > 0);
}

/* The file dir/new/<unique>.h holds the message with its two headers. */
static void assert_delivered(const char *dir, const struct maildir_item *it)
{
	char file[PATH_MAX + 300], expect[512];
	size_t len;

	snprintf(file, sizeof(file), "%s/new/%s.h", dir, it->unique);
	int n = snprintf(expect, sizeof(expect), "Return-Path: <%s>\r\nDelivered-To: %s\r\n%s",
	                 it->sender, it->rcpt, it->body);
	char *got = qtest_read_file(file, &len);
	assert_int_equal(len, (size_t)n);
	assert_memory_equal(got, expect, len);
	free(got);
}

static void test_batch(void **state)
{
	char dir[] = "/tmp/postern-maildir-XXXXXX", a[256], b[256], bad[256], nonew[256];
	char path[PATH_MAX], err[256], longsender[3000];

	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	/* Under a regular file, so that mkdir fails even for root. */
	snprintf(path, sizeof(path), "%s/file", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(bad, sizeof(bad), "%s/file/box", dir);
	/* A Maildir whose new/ is a regular file: the link fails after the
	 * file was written to tmp/. */
	snprintf(nonew, sizeof(nonew), "%s/nonew", dir);
	assert_int_equal(
	    maildir_deliver(nonew, "h", "0.X_0", "s@x", "u@y", "x", 1, err, sizeof(err)),
	    MAILDIR_OK);
	snprintf(path, sizeof(path), "%s/new/0.X_0.h", nonew);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/new", nonew);
	assert_int_equal(rmdir(path), 0);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	memset(longsender, 'x', sizeof(longsender) - 1);
	longsender[sizeof(longsender) - 1] = '\0';

	struct maildir_item items[] = {
	    {.dir = a, .unique = "1.ID_0", .sender = "s@example.net", .rcpt = "u1@example.org"},
	    {.dir = b, .unique = "1.ID_1", .sender = "s@example.net", .rcpt = "u2@example.org"},
	    {.dir = bad, .unique = "1.ID_2", .sender = "s@example.net", .rcpt = "u3@example.org"},
	    {.dir = a, .unique = "1.ID_3", .sender = "", .rcpt = "u4@example.org"},
	    {.dir = nonew, .unique = "1.ID_4", .sender = "s@example.net", .rcpt = "u5@example.org"},
	    {.dir = b, .unique = "2.ID_0", .sender = "t@example.net", .rcpt = "u6@example.org"},
	    {.dir = a, .unique = "2.ID_1", .sender = longsender, .rcpt = "u7@example.org"},
	};
	const size_t n = sizeof(items) / sizeof(items[0]);
	const enum maildir_result expect[] = {MAILDIR_OK,   MAILDIR_OK, MAILDIR_TEMP, MAILDIR_OK,
	                                      MAILDIR_TEMP, MAILDIR_OK, MAILDIR_PERM};
	for (size_t i = 0; i < n; i++) {
		items[i].body =
		    i % 2 ? "Subject: odd\r\n\r\nbody\r\n" : "Subject: even\r\n\r\n.\r\n";
		items[i].len = strlen(items[i].body);
	}

	/* The second round repeats the first, as after a crash that lost
	 * its outcome: the same results, and no second copy. */
	for (int round = 0; round < 2; round++) {
		maildir_deliver_batch(items, n, "h");
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(items[i].result, expect[i]);
			assert_int_equal(items[i].err[0] != '\0', expect[i] != MAILDIR_OK);
		}
		assert_non_null(strstr(items[2].err, bad));
		assert_non_null(strstr(items[4].err, "cannot link"));
		assert_int_equal(count_files(a, "new"), 2);
		assert_int_equal(count_files(b, "new"), 2);
		assert_int_equal(count_files(a, "tmp"), 0);
		assert_int_equal(count_files(b, "tmp"), 0);
		/* Written, then removed when the link failed. */
		assert_int_equal(count_files(nonew, "tmp"), 0);
		assert_delivered(a, &items[0]);
		assert_delivered(b, &items[1]);
		assert_delivered(a, &items[3]);
		assert_delivered(b, &items[5]);
	}
	qtest_rmtree(dir);
}

/* More items than the batch keeps open at once, over three Maildirs. */
static void test_batch_large(void **state)
{
	char dir[] = "/tmp/postern-maildir-XXXXXX", boxes[3][256], uniques[150][32];
	struct maildir_item items[150];

	assert_non_null(mkdtemp(dir));
	for (size_t j = 0; j < 3; j++)
		snprintf(boxes[j], sizeof(boxes[j]), "%s/box%zu", dir, j);
	for (size_t i = 0; i < 150; i++) {
		snprintf(uniques[i], sizeof(uniques[i]), "1.ID_%zu", i);
		items[i] = (struct maildir_item){.dir = boxes[i % 3],
		                                 .unique = uniques[i],
		                                 .sender = "s@example.net",
		                                 .rcpt = "u@example.org",
		                                 .body = "\r\nbody\r\n",
		                                 .len = 8};
	}
	maildir_deliver_batch(items, 150, "h");
	for (size_t i = 0; i < 150; i++)
		assert_int_equal(items[i].result, MAILDIR_OK);
	for (size_t j = 0; j < 3; j++) {
		assert_int_equal(count_files(boxes[j], "new"), 50);
		assert_int_equal(count_files(boxes[j], "tmp"), 0);
	}
	assert_delivered(boxes[2], &items[149]);
	qtest_rmtree(dir);
}

static void test_batch_empty(void **state)
{
	maildir_deliver_batch(NULL, 0, "h");
}

/* Creates dir/tmp/name with the given access and modification times. */
static void tmp_file(const char *dir, const char *name, time_t atime, time_t mtime)
{
	char path[PATH_MAX];
	struct timespec ts[2] = {{.tv_sec = atime}, {.tv_sec = mtime}};

	snprintf(path, sizeof(path), "%s/tmp/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "partial", 7), 7);
	close(fd);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_clean_tmp(void **state)
{
	char dir[] = "/tmp/postern-maildir-XXXXXX", box[256], path[PATH_MAX], err[256];
	const time_t now = time(NULL), old = now - MAILDIR_TMP_MAX_AGE - 60;
	const time_t young = now - MAILDIR_TMP_MAX_AGE + 60;

	assert_non_null(mkdtemp(dir));
	snprintf(box, sizeof(box), "%s/box", dir);
	assert_int_equal(maildir_clean_tmp(box, now, MAILDIR_TMP_MAX_AGE), -1);
	assert_int_equal(
	    maildir_deliver(box, "h", "1.ID_0", "s@x", "u@y", "x\r\n", 3, err, sizeof(err)),
	    MAILDIR_OK);
	tmp_file(box, "old1", old, old);
	tmp_file(box, "old2", old - 86400, old);
	tmp_file(box, "young", young, young);
	/* Read lately, or written lately: in use. */
	tmp_file(box, "read", young, old);
	tmp_file(box, "written", old, young);
	/* Only files: a directory, and a dot file (NFS's .nfsXXXX is a
	 * removed file still open), are left. */
	tmp_file(box, ".nfs0001", old, old);
	snprintf(path, sizeof(path), "%s/tmp/subdir", box);
	assert_int_equal(mkdir(path, 0700), 0);
	struct timespec ts[2] = {{.tv_sec = old}, {.tv_sec = old}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	/* new/ is not tmp/. */
	snprintf(path, sizeof(path), "%s/new/1.ID_0.h", box);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);

	assert_int_equal(maildir_clean_tmp(box, now, MAILDIR_TMP_MAX_AGE), 2);
	snprintf(path, sizeof(path), "%s/tmp/old1", box);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/tmp/old2", box);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(count_files(box, "tmp"), 4);
	assert_int_equal(count_files(box, "new"), 1);
	assert_int_equal(maildir_clean_tmp(box, now, MAILDIR_TMP_MAX_AGE), 0);
	/* A day and a half later the young ones are old too. */
	assert_int_equal(maildir_clean_tmp(box, now + MAILDIR_TMP_MAX_AGE, MAILDIR_TMP_MAX_AGE), 3);
	assert_int_equal(count_files(box, "tmp"), 1);
	snprintf(path, sizeof(path), "%s/tmp/.nfs0001", box);
	assert_int_equal(access(path, F_OK), 0);
	qtest_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_template), cmocka_unit_test(test_path_refused),
	    cmocka_unit_test(test_deliver_exact), cmocka_unit_test(test_deliver_unwritable),
	    cmocka_unit_test(test_batch),         cmocka_unit_test(test_batch_large),
	    cmocka_unit_test(test_batch_empty),   cmocka_unit_test(test_clean_tmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
