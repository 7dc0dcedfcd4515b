/* Unit tests of log forgery defences: log_value() for values from outside,
 * and the line writer that lets no control byte through whatever its
 * arguments hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "core/log.h"

/* A line an attacker would like to see in the log after his own. */
#define FORGED "2024-01-01T00:00:00.000Z proc=smtp pid=1 level=info event=auth_ok user=admin"

static void check_value(const char *in, const char *want)
{
	char out[LOG_VALUE_SIZE(128)];
	const char *r = log_value(out, sizeof(out), in);
	assert_ptr_equal(r, out);
	if (strcmp(out, want) != 0)
		fail_msg("log_value(\"%s\"): expected [%s], got [%s]", in, want, out);
}

static void test_value_unchanged(void **state)
{
	check_value("alice@example.org", "alice@example.org");
	check_value("<bob+tag@[192.0.2.1]>", "<bob+tag@[192.0.2.1]>");
	check_value("mx.example.org", "mx.example.org");
	/* Well-formed UTF-8 (SMTPUTF8 addresses, IDNs) stays readable. */
	check_value("j\xc3\xb6rg@b\xc3\xbc"
	            "cher.example",
	            "j\xc3\xb6rg@b\xc3\xbc"
	            "cher.example");
	check_value("\xe2\x82\xac\xf0\x9f\x98\x80", "\xe2\x82\xac\xf0\x9f\x98\x80");
}

static void test_value_quoted(void **state)
{
	/* Empty: "" so that the pair still reads as key and value. */
	check_value("", "\"\"");
	/* A space would start a forged key=value pair. */
	check_value("x user=admin", "\"x user=admin\"");
	check_value("a=b", "\"a=b\"");
	check_value("say \"hi\"", "\"say \\\"hi\\\"\"");
	check_value("back\\slash", "\"back\\\\slash\"");
	check_value("\"", "\"\\\"\"");
	/* Control bytes and DEL. */
	check_value("a\tb", "\"a\\x09b\"");
	check_value("a\x7f", "\"a\\x7f\"");
	check_value("\x1b[31mred", "\"\\x1b[31mred\"");
}

static void test_value_crlf(void **state)
{
	check_value("x\r\n" FORGED, "\"x\\x0d\\x0a" FORGED "\"");
	check_value("\n", "\"\\x0a\"");
}

static void test_value_separators(void **state)
{
	/* NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR end lines for some
	 * viewers: escaped per byte. */
	check_value("a\xc2\x85"
	            "b",
	            "\"a\\xc2\\x85b\"");
	check_value("a\xe2\x80\xa8"
	            "b",
	            "\"a\\xe2\\x80\\xa8b\"");
	check_value("a\xe2\x80\xa9"
	            "b",
	            "\"a\\xe2\\x80\\xa9b\"");
	/* Other C1 controls too. */
	check_value("\xc2\x9b"
	            "31m",
	            "\"\\xc2\\x9b31m\"");
	/* U+2027 and U+202A are neighbours, not separators. */
	check_value("\xe2\x80\xa7", "\xe2\x80\xa7");
	/* Good UTF-8 stays as it is inside quotes. */
	check_value("\xc3\xa9 \xc3\xa9", "\"\xc3\xa9 \xc3\xa9\"");
}

static void test_value_invalid_utf8(void **state)
{
	check_value("a\xff", "\"a\\xff\"");
	/* A lone continuation byte, a truncated sequence. */
	check_value("\x80", "\"\\x80\"");
	check_value("\xc3", "\"\\xc3\"");
	check_value("\xe2\x82", "\"\\xe2\\x82\"");
	/* Overlong "/" and overlong NUL, a UTF-16 surrogate, above U+10FFFF. */
	check_value("\xc0\xaf", "\"\\xc0\\xaf\"");
	check_value("\xc0\x80", "\"\\xc0\\x80\"");
	check_value("\xe0\x80\xaf", "\"\\xe0\\x80\\xaf\"");
	check_value("\xed\xa0\x80", "\"\\xed\\xa0\\x80\"");
	check_value("\xf4\x90\x80\x80", "\"\\xf4\\x90\\x80\\x80\"");
	/* A lead byte followed by a good character: the lead alone is
	 * escaped. */
	check_value("\xc3\xc3\xa9", "\"\\xc3\xc3\xa9\"");
}

static void test_value_truncation(void **state)
{
	char out[16];

	/* Bare values are cut at a character. */
	log_value(out, sizeof(out), "abcdefghijklmnopqrstuvwxyz");
	assert_string_equal(out, "abcdefghijklmno");
	log_value(out, 5, "ab\xc3\xa9\xc3\xa9");
	assert_string_equal(out, "ab\xc3\xa9");
	log_value(out, 4, "ab\xc3\xa9");
	assert_string_equal(out, "ab");
	/* Quoted values keep their closing quote and never end inside an
	 * escape: 7 bytes of room after the opening quote hold one escape
	 * (4) and the next one does not fit. */
	log_value(out, 10, "\r\n\r\n");
	assert_string_equal(out, "\"\\x0d\"");
	log_value(out, 11, " \r\n");
	assert_string_equal(out, "\" \\x0d\"");
	log_value(out, 5, "a\"b");
	assert_string_equal(out, "\"a\"");
	log_value(out, 6, "a\"b");
	assert_string_equal(out, "\"a\\\"\"");
	log_value(out, 3, "a b");
	assert_string_equal(out, "\"\"");
	log_value(out, 2, "a b");
	assert_string_equal(out, "");
	for (size_t size = 3; size <= sizeof(out); size++) {
		log_value(out, size, "\x01\x02\x03\xe2\x80\xa8 x\"y\\");
		size_t len = strlen(out);
		assert_true(len < size);
		assert_int_equal(out[0], '"');
		assert_int_equal(out[len - 1], '"');
		assert_true(len < 2 || out[len - 2] != '\\' || (len >= 3 && out[len - 3] == '\\'));
	}
	/* The advertised size holds any value whole. */
	char big[LOG_VALUE_SIZE(4)];
	log_value(big, sizeof(big), "\r\n\r\n");
	assert_string_equal(big, "\"\\x0d\\x0a\\x0d\\x0a\"");
}

/* Runs fn with stderr going to a file; returns what was written. */
static char *capture(void (*fn)(void))
{
	static char out[65536];
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(f);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(f), 2) == 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

static void log_crlf(void)
{
	log_init("test", 0, 0);
	log_info("event=auth_failed user=%s", "x\r\n" FORGED);
}

static void log_controls(void)
{
	log_init("test", 0, 0);
	log_warn("event=x a=%s b=%s c=%s", "\x01\x1f", "tab\there", "\x7f\x0d");
}

static void log_long(void)
{
	static char v[10000];
	memset(v, '\n', sizeof(v) - 1);
	log_init("test", 0, 0);
	log_info("event=long v=%s", v);
}

static void test_line_crlf(void **state)
{
	const char *out = capture(log_crlf);
	/* One line: the only LF is the one that ends it. */
	assert_non_null(strchr(out, '\n'));
	assert_int_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_null(strchr(out, '\r'));
	assert_non_null(strstr(out, " level=info event=auth_failed user=x\\x0d\\x0a" FORGED "\n"));
}

static void test_line_controls(void **state)
{
	const char *out = capture(log_controls);
	assert_non_null(strstr(out, " a=\\x01\\x1f b=tab\\x09here c=\\x7f\\x0d\n"));
	for (const char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			fail_msg("control byte 0x%02x in the log line", (unsigned char)*p);
}

static void test_line_long(void **state)
{
	const char *out = capture(log_long);
	size_t len = strlen(out);
	/* Cut, still one line, and never inside an escape. */
	assert_int_equal(strchr(out, '\n'), out + len - 1);
	assert_true(len > 4096);
	assert_memory_equal(out + len - 5, "\\x0a\n", 5);
}

static pid_t child_pid;

/* A line in the parent, one in a child forked after it, one in the parent
 * under another name. */
static void log_fork(void)
{
	int status;

	log_init("test", 0, 0);
	log_info("event=parent");
	child_pid = fork();
	assert_true(child_pid >= 0);
	if (child_pid == 0) {
		log_info("event=child");
		_exit(0);
	}
	assert_int_equal(waitpid(child_pid, &status, 0), child_pid);
	log_set_process("a-process-name-longer-than-any-real-one");
	log_warn("event=renamed");
	log_init("test", 0, 0);
}

/* Every line names its process and pid, the child's its own pid; a name
 * longer than 32 bytes is cut. */
static void test_line_head(void **state)
{
	char want[160];
	const char *out = capture(log_fork);

	snprintf(want, sizeof(want), "Z proc=test pid=%ld level=info event=parent\n",
	         (long)getpid());
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "Z proc=test pid=%ld level=info event=child\n",
	         (long)child_pid);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want),
	         "Z proc=a-process-name-longer-than-any-r pid=%ld level=warn "
	         "event=renamed\n",
	         (long)getpid());
	assert_non_null(strstr(out, want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_value_unchanged),    cmocka_unit_test(test_value_quoted),
	    cmocka_unit_test(test_value_crlf),         cmocka_unit_test(test_value_separators),
	    cmocka_unit_test(test_value_invalid_utf8), cmocka_unit_test(test_value_truncation),
	    cmocka_unit_test(test_line_crlf),          cmocka_unit_test(test_line_controls),
	    cmocka_unit_test(test_line_long),          cmocka_unit_test(test_line_head),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
