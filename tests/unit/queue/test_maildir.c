/* Maildir tests: template expansion, unsafe addresses refused, and a
 * delivered file that is byte for byte the message with the two trace
 * headers prepended. */
#include "qtest.h"
#include "queue/maildir.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	snprintf(file, sizeof(file), "%s/tmp", box);
	DIR *d = opendir(file);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 0);

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_template),
	    cmocka_unit_test(test_path_refused),
	    cmocka_unit_test(test_deliver_exact),
	    cmocka_unit_test(test_deliver_unwritable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
