/* Unit tests of the DSN composer: the structure of the report for each
 * action and RET, what is returned of the original, sanitised and folded
 * values, the boundary, the UTF-8 forms, the size limit; then the same
 * reports parsed back by Python's email package (check_dsn.py), whose
 * field sets are compared with real DSNs from the conformance set. */
#include "queue/dsn.h"
#include "core/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ORIGINAL                                                                                   \
	"From: Alice <alice@example.net>\r\n"                                                      \
	"To: bob@example.org, carol@example.org\r\n"                                               \
	"Subject: lunch\r\n"                                                                       \
	"Message-ID: <lunch-1@example.net>\r\n"                                                    \
	"\r\n"                                                                                     \
	"Shall we meet at noon?\r\n"                                                               \
	"-- \r\n"                                                                                  \
	"Alice\r\n"

#define FIELDS "Received: from client.example.net by mx.example.com with ESMTP id Q1\r\n"

/* 2026-12-03 12:00:00 UTC and thereabouts. */
#define T0 1796299200

static const struct dsn_rcpt failed_rcpts[] = {
    {.final_rcpt = "bob@example.org",
     .orcpt = "rfc822;Bob@Example.org",
     .action = DSN_ACTION_FAILED,
     .status = "5.1.1",
     .remote_mta = "mx.example.org",
     .diagnostic = "550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown",
     .last_attempt = T0 + 60},
    {.final_rcpt = "carol@example.org",
     .action = DSN_ACTION_FAILED,
     .status = "5.4.7",
     .last_attempt = T0 + 120},
};

static struct dsn_report report(const struct dsn_rcpt *rcpts, size_t n, enum dsn_ret ret)
{
	return (struct dsn_report){
	    .reporting_mta = "mx.example.com",
	    .from = "MAILER-DAEMON@mx.example.com",
	    .to = "alice@example.net",
	    .envid = "QQ 314159",
	    .arrival = T0,
	    .queue_id = "0000000000Q1",
	    .message_id = "<dsn.0000000000Q1@mx.example.com>",
	    .date = T0 + 180,
	    .ret = ret,
	    .fields = FIELDS,
	    .fields_len = strlen(FIELDS),
	    .message = ORIGINAL,
	    .message_len = strlen(ORIGINAL),
	    .rcpts = rcpts,
	    .nrcpt = n,
	};
}

/* Composes r; fails the test when the composer refuses. */
static char *compose(const struct dsn_report *r)
{
	struct buf out;
	buf_init(&out, 1024 * 1024);
	assert_int_equal(dsn_compose(r, &out), 0);
	assert_int_equal(strlen(out.data), out.len);
	return out.data;
}

/* The bytes between "\r\n\r\n" + the part's Content-Type and the next
 * boundary line, for checks that must look in one part only. */
static char *part(const char *dsn, const char *content_type)
{
	char needle[128];
	const char *p, *end;

	snprintf(needle, sizeof(needle), "Content-Type: %s", content_type);
	p = strstr(dsn, needle);
	assert_non_null(p);
	p = strstr(p, "\r\n\r\n");
	assert_non_null(p);
	p += 4;
	end = strstr(p, "\r\n--=_postern-dsn/");
	assert_non_null(end);
	return strndup(p, (size_t)(end - p));
}

/* RFC 5322 2.1.1 and 2.3: CRLF only, no line over 998 octets. */
static void assert_lines_ok(const char *s)
{
	size_t col = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\n')
			fail_msg("bare LF at offset %zu", (size_t)(p - s));
		if (*p == '\r') {
			if (p[1] != '\n')
				fail_msg("bare CR at offset %zu", (size_t)(p - s));
			p++;
			col = 0;
			continue;
		}
		if (++col > 998)
			fail_msg("line longer than 998 octets at offset %zu", (size_t)(p - s));
	}
}

static void test_failed_headers_only(void **state)
{
	struct dsn_report r = report(failed_rcpts, 2, DSN_RET_HDRS);
	char *dsn = compose(&r), *status, *returned;

	assert_lines_ok(dsn);
	assert_non_null(strstr(dsn,
	                       "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
	                       "To: <alice@example.net>\r\n"
	                       "Subject: Undelivered Mail Returned to Sender\r\n"
	                       "Date: Thu, 03 Dec 2026 12:03:00 +0000\r\n"
	                       "Message-ID: <dsn.0000000000Q1@mx.example.com>\r\n"
	                       "Auto-Submitted: auto-replied\r\n"
	                       "MIME-Version: 1.0\r\n"
	                       "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	                       "\tboundary=\"=_postern-dsn/0000000000Q1/0\"\r\n\r\n"));
	assert_null(strstr(dsn, "Content-Transfer-Encoding"));
	assert_non_null(strstr(dsn, "Content-Type: text/plain; charset=us-ascii\r\n"));

	status = part(dsn, "message/delivery-status");
	assert_string_equal(
	    status, "Reporting-MTA: dns; mx.example.com\r\n"
	            "X-Postern-Queue-ID: 0000000000Q1\r\n"
	            "Original-Envelope-Id: QQ 314159\r\n"
	            "Arrival-Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n"
	            "\r\n"
	            "Original-Recipient: rfc822;Bob@Example.org\r\n"
	            "Final-Recipient: rfc822; bob@example.org\r\n"
	            "Action: failed\r\n"
	            "Status: 5.1.1\r\n"
	            "Remote-MTA: dns; mx.example.org\r\n"
	            "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address\r\n"
	            " rejected: User unknown\r\n"
	            "Last-Attempt-Date: Thu, 03 Dec 2026 12:01:00 +0000\r\n"
	            "\r\n"
	            "Final-Recipient: rfc822; carol@example.org\r\n"
	            "Action: failed\r\n"
	            "Status: 5.4.7\r\n"
	            "Last-Attempt-Date: Thu, 03 Dec 2026 12:02:00 +0000\r\n");
	returned = part(dsn, "text/rfc822-headers");
	/* Our fields and the message's header section, not its body. */
	assert_string_equal(returned, FIELDS "From: Alice <alice@example.net>\r\n"
	                                     "To: bob@example.org, carol@example.org\r\n"
	                                     "Subject: lunch\r\n"
	                                     "Message-ID: <lunch-1@example.net>\r\n");
	assert_null(strstr(dsn, "noon"));
	assert_non_null(strstr(dsn, "\r\n--=_postern-dsn/0000000000Q1/0--\r\n"));
	free(status);
	free(returned);
	free(dsn);
}

/* RFC 3461 4.3: RET=FULL returns the whole message; without RET we
 * return the header section. */
static void test_failed_full_and_default(void **state)
{
	struct dsn_report r = report(failed_rcpts, 2, DSN_RET_FULL);
	char *dsn = compose(&r), *returned = part(dsn, "message/rfc822");

	assert_string_equal(returned, FIELDS ORIGINAL);
	assert_non_null(strstr(dsn, "Content-Description: Undelivered message\r\n"));
	assert_non_null(strstr(dsn, "Your message is attached below."));
	free(returned);
	free(dsn);

	r.ret = DSN_RET_UNSET;
	dsn = compose(&r);
	assert_null(strstr(dsn, "message/rfc822"));
	assert_non_null(strstr(dsn, "Content-Type: text/rfc822-headers\r\n"));
	assert_non_null(strstr(dsn, "The header section of your message is attached below."));
	assert_null(strstr(dsn, "noon"));
	free(dsn);
}

/* Delays and deliveries return headers whatever RET says (RFC 3461 4.3). */
static void test_delayed_and_delivered(void **state)
{
	struct dsn_rcpt d[] = {
	    {.final_rcpt = "bob@example.org",
	     .action = DSN_ACTION_DELAYED,
	     .status = "4.4.1",
	     .remote_mta = "mx.example.org",
	     .diagnostic = "421 4.4.1 try later",
	     .last_attempt = T0 + 3600,
	     .retry_until = T0 + 5 * 86400},
	};
	struct dsn_report r = report(d, 1, DSN_RET_FULL);
	char *dsn = compose(&r);

	assert_lines_ok(dsn);
	assert_non_null(strstr(dsn, "Subject: Delayed Mail (still being retried)\r\n"));
	assert_non_null(strstr(dsn, "Action: delayed\r\nStatus: 4.4.1\r\n"));
	assert_non_null(strstr(dsn, "Will-Retry-Until: Tue, 08 Dec 2026 12:00:00 +0000\r\n"));
	assert_non_null(strstr(dsn, "tried until Tue, 08 Dec 2026 12:00:00 +0000"));
	assert_non_null(strstr(dsn, "mx.example.org said: 421 4.4.1 try later"));
	assert_non_null(strstr(dsn, "Diagnostic-Code: smtp; 421 4.4.1 try later\r\n"));
	assert_non_null(strstr(dsn, "Content-Type: text/rfc822-headers\r\n"));
	assert_null(strstr(dsn, "noon"));
	free(dsn);

	d[0].action = DSN_ACTION_DELIVERED;
	d[0].status = "2.0";   /* not a status code: the generic one */
	d[0].retry_until = T0; /* only delays have one */
	dsn = compose(&r);
	assert_non_null(strstr(dsn, "Subject: Successful Mail Delivery Report\r\n"));
	assert_non_null(strstr(dsn, "Action: delivered\r\nStatus: 2.0.0\r\n"));
	assert_null(strstr(dsn, "Will-Retry-Until"));
	assert_null(strstr(dsn, "noon"));
	free(dsn);

	d[0].action = DSN_ACTION_RELAYED;
	d[0].status = NULL;
	d[0].diagnostic = "connect to mx.example.org[192.0.2.1]:25: Connection refused";
	dsn = compose(&r);
	assert_non_null(strstr(dsn, "Diagnostic-Code: X-Postern; connect to "));
	assert_non_null(strstr(dsn, "Action: relayed\r\nStatus: 2.0.0\r\n"));
	assert_non_null(strstr(dsn, "does not report on delivery"));
	free(dsn);
}

/* A remote server's reply is outside input: it cannot add fields, and
 * its long lines are folded. */
static void test_values_sanitised_and_folded(void **state)
{
	char diag[3000];
	struct dsn_rcpt d = {.final_rcpt = "bob@exa\r\nmple.org",
	                     .orcpt = "rfc822;x\r\nBcc: y@example.net",
	                     .action = DSN_ACTION_FAILED,
	                     .status = "5.0.0",
	                     .remote_mta = "mx.example.org\r\nX-Evil: 1",
	                     .diagnostic = diag};
	struct dsn_report r = report(&d, 1, DSN_RET_HDRS);
	size_t n;

	n = (size_t)snprintf(diag, sizeof(diag),
	                     "550-5.0.0 first line\r\n550-5.0.0 \x01\x7f\xff x\r\n");
	memset(diag + n, 'a', 950);
	memcpy(diag + n + 950, " tail\r\nX-Evil: 2", 17);
	char *dsn = compose(&r), *status = part(dsn, "message/delivery-status");

	assert_lines_ok(dsn);
	assert_null(strstr(dsn, "\r\nX-Evil"));
	assert_null(strstr(dsn, "\r\nBcc:"));
	assert_non_null(strstr(status, "Final-Recipient: rfc822; bob@exa mple.org\r\n"));
	assert_non_null(strstr(status, "Original-Recipient: rfc822;x Bcc: y@example.net\r\n"));
	assert_non_null(strstr(status, "Remote-MTA: dns; mx.example.org X-Evil: 1\r\n"));
	assert_non_null(strstr(status,
	                       "Diagnostic-Code: smtp; 550-5.0.0 first line 550-5.0.0 ? x\r\n"
	                       " aaaa"));
	/* The run without spaces is broken into lines of at most 900. */
	assert_non_null(strstr(status, "a\r\n aaaa"));
	assert_non_null(strstr(status, "a tail X-Evil: 2\r\n"));
	free(status);
	free(dsn);
}

/* RFC 2046 5.1.1: a boundary the original holds is not used. */
static void test_boundary_not_in_original(void **state)
{
	const char msg[] = "Subject: trap\r\n\r\n--=_postern-dsn/0000000000Q1/0\r\n"
	                   "=_postern-dsn/0000000000Q1/1\r\n";
	struct dsn_report r = report(failed_rcpts, 1, DSN_RET_FULL);
	char *dsn;

	r.message = msg;
	r.message_len = strlen(msg);
	dsn = compose(&r);
	assert_non_null(strstr(dsn, "boundary=\"=_postern-dsn/0000000000Q1/2\""));
	free(dsn);
	/* Headers only: what is not returned does not count. */
	r.ret = DSN_RET_HDRS;
	dsn = compose(&r);
	assert_non_null(strstr(dsn, "boundary=\"=_postern-dsn/0000000000Q1/0\""));
	free(dsn);
}

/* RFC 6533: UTF-8 addresses make the report global. */
static void test_utf8_global(void **state)
{
	const char msg[] = "Subject: caf\xc3\xa9\r\nFrom: j\xc3\xb6rg@example.net\r\n\r\nbody\r\n";
	struct dsn_rcpt d = {.final_rcpt = "j\xc3\xb6rg@example.org",
	                     .orcpt = "utf-8;J\xc3\xb6rg@example.org",
	                     .action = DSN_ACTION_FAILED,
	                     .status = "5.1.1",
	                     .diagnostic = "550 5.1.1 unknown \xc3\xa9"};
	struct dsn_report r = report(&d, 1, DSN_RET_HDRS);
	char *dsn;

	r.to = "j\xc3\xb6rg@example.net";
	r.message = msg;
	r.message_len = strlen(msg);
	dsn = compose(&r);
	assert_lines_ok(dsn);
	assert_non_null(strstr(dsn, "To: <j\xc3\xb6rg@example.net>\r\n"));
	assert_non_null(strstr(dsn, "Content-Transfer-Encoding: 8bit\r\n\r\nThis is a MIME"));
	assert_non_null(strstr(dsn, "Content-Type: text/plain; charset=utf-8\r\n"
	                            "Content-Transfer-Encoding: 8bit\r\n"));
	assert_non_null(strstr(dsn, "Content-Type: message/global-delivery-status\r\n"
	                            "Content-Transfer-Encoding: 8bit\r\n"));
	assert_non_null(strstr(dsn, "Original-Recipient: utf-8;J\xc3\xb6rg@example.org\r\n"
	                            "Final-Recipient: utf-8; j\xc3\xb6rg@example.org\r\n"));
	assert_non_null(strstr(dsn, "Content-Type: message/global-headers\r\n"));
	free(dsn);

	/* Returned whole: message/global. */
	r.ret = DSN_RET_FULL;
	dsn = compose(&r);
	assert_non_null(strstr(dsn, "Content-Type: message/global\r\n"
	                            "Content-Transfer-Encoding: 8bit\r\n"));
	free(dsn);
}

/* An ASCII utf-8 ORCPT in a report that is not global takes RFC 6533's
 * escapes for what xtext cannot carry; an 8-bit body alone makes the
 * returned message 8bit, not global. */
static void test_utf8_orcpt_ascii_report(void **state)
{
	const char msg[] = "Subject: x\r\n\r\ncaf\xc3\xa9\r\n";
	struct dsn_rcpt d = {.final_rcpt = "a+b@example.org",
	                     .orcpt = "utf-8;a+b=c@example.org",
	                     .action = DSN_ACTION_FAILED,
	                     .status = "5.1.1"};
	struct dsn_report r = report(&d, 1, DSN_RET_FULL);
	char *dsn;

	r.message = msg;
	r.message_len = strlen(msg);
	dsn = compose(&r);
	assert_non_null(strstr(dsn, "Content-Type: message/delivery-status\r\n\r\n"));
	assert_non_null(strstr(dsn, "Original-Recipient: utf-8;a\\x{2B}b\\x{3D}c@example.org\r\n"));
	assert_non_null(strstr(dsn, "Content-Type: message/rfc822\r\n"
	                            "Content-Transfer-Encoding: 8bit\r\n"));
	assert_non_null(strstr(dsn, "Content-Type: text/plain; charset=us-ascii\r\n\r\n"));
	free(dsn);
}

/* The header section of a message the caller cut short, and a message
 * returned whole that does not end with a line end. */
static void test_cut_and_unterminated_originals(void **state)
{
	const char cut[] = "Subject: a\r\nFrom: b@example.net\r\nTo: c@exa";
	const char open_end[] = "Subject: a\r\n\r\nno line end";
	struct dsn_report r = report(failed_rcpts, 1, DSN_RET_HDRS);
	char *dsn, *returned;

	r.message = cut;
	r.message_len = strlen(cut);
	dsn = compose(&r);
	returned = part(dsn, "text/rfc822-headers");
	assert_string_equal(returned, FIELDS "Subject: a\r\nFrom: b@example.net\r\n");
	free(returned);
	free(dsn);

	r.ret = DSN_RET_FULL;
	r.message = open_end;
	r.message_len = strlen(open_end);
	r.fields = NULL;
	r.fields_len = 0;
	dsn = compose(&r);
	assert_lines_ok(dsn);
	assert_non_null(strstr(dsn, "\r\n\r\nSubject: a\r\n\r\nno line end\r\n\r\n--=_postern-dsn/"
	                            "0000000000Q1/0--\r\n"));
	free(dsn);
}

/* Out of room: -1, and out as it was. */
static void test_too_big(void **state)
{
	struct dsn_report r = report(failed_rcpts, 2, DSN_RET_FULL);
	struct buf out, big;
	size_t need;

	buf_init(&big, 1 << 20);
	assert_int_equal(dsn_compose(&r, &big), 0);
	need = big.len;
	buf_init(&out, need + 2);
	assert_int_equal(buf_append_str(&out, "ab"), 0);
	assert_int_equal(dsn_compose(&r, &out), 0);
	assert_int_equal(out.len, need + 2);
	assert_memory_equal(out.data + 2, big.data, need);
	buf_reset(&out);
	assert_int_equal(buf_append_str(&out, "abc"), 0);
	assert_int_equal(dsn_compose(&r, &out), -1);
	assert_string_equal(out.data, "abc");
	/* Headers only fit. */
	r.ret = DSN_RET_HDRS;
	assert_int_equal(dsn_compose(&r, &out), 0);
	r.nrcpt = 0;
	assert_int_equal(dsn_compose(&r, &big), -1);
	buf_free(&out);
	buf_free(&big);
}

/* The same input gives the same bytes. */
static void test_pure(void **state)
{
	struct dsn_report r = report(failed_rcpts, 2, DSN_RET_FULL);
	char *a = compose(&r), *b = compose(&r);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* The reports above, parsed back by Python's email package. */
static void write_file(const char *dir, const char *name, const char *data)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	assert_int_equal(fclose(f), 0);
}

static void test_python_parses(void **state)
{
	const char *python = "/usr/bin/python3";
	char dir[] = "/tmp/postern-dsn-XXXXXX";
	struct dsn_rcpt mixed[] = {
	    failed_rcpts[0],
	    {.final_rcpt = "dave@example.org",
	     .orcpt = "rfc822;dave@example.org",
	     .action = DSN_ACTION_DELAYED,
	     .status = "4.4.1",
	     .remote_mta = "mx2.example.org",
	     .diagnostic = "451 4.4.1 later",
	     .last_attempt = T0 + 60,
	     .retry_until = T0 + 86400},
	};
	struct dsn_rcpt utf8 = {.final_rcpt = "j\xc3\xb6rg@example.org",
	                        .orcpt = "utf-8;j\xc3\xb6rg@example.org",
	                        .action = DSN_ACTION_FAILED,
	                        .status = "5.1.1",
	                        .diagnostic = "550 5.1.1 unknown"};
	struct dsn_report r;
	char *dsn;
	pid_t pid;
	int status;

	if (access(python, X_OK) != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	r = report(failed_rcpts, 2, DSN_RET_FULL);
	write_file(dir, "failed-full.eml", dsn = compose(&r));
	free(dsn);
	r = report(mixed, 2, DSN_RET_HDRS);
	write_file(dir, "mixed-headers.eml", dsn = compose(&r));
	free(dsn);
	r = report(&utf8, 1, DSN_RET_HDRS);
	write_file(dir, "utf8-headers.eml", dsn = compose(&r));
	free(dsn);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(python, python, DSN_CHECK_PY, dir, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	for (const char *const *n = (const char *const[]){"failed-full.eml", "mixed-headers.eml",
	                                                  "utf8-headers.eml", NULL};
	     *n; n++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failed_headers_only),
	    cmocka_unit_test(test_failed_full_and_default),
	    cmocka_unit_test(test_delayed_and_delivered),
	    cmocka_unit_test(test_values_sanitised_and_folded),
	    cmocka_unit_test(test_boundary_not_in_original),
	    cmocka_unit_test(test_utf8_global),
	    cmocka_unit_test(test_utf8_orcpt_ascii_report),
	    cmocka_unit_test(test_cut_and_unterminated_originals),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_pure),
	    cmocka_unit_test(test_python_parses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
