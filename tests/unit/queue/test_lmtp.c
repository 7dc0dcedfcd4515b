/* LMTP client tests against a scripted server on loopback: per-recipient
 * replies at RCPT and after the dot (RFC 2033 4.2), dot-stuffing on the
 * wire, and a refused connection giving every recipient a 4xx. */
#include "qtest.h"
#include "queue/lmtp.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_per_recipient_replies(void **state)
{
	struct fake_lmtp f;
	char server[64];
	struct lmtp_rcpt r[3] = {
	    {.addr = "ok@example.org"}, {.addr = "rej@example.org"}, {.addr = "tmp@example.org"}};
	const char body[] = ".starts with a dot\r\nmiddle\r\n.\r\nlast";
	const char wire[] = "..starts with a dot\r\nmiddle\r\n..\r\nlast\r\n.\r\n";

	fake_lmtp_start(&f, 1);
	snprintf(server, sizeof(server), "127.0.0.1:%d", f.port);
	lmtp_deliver(server, "mx.test", 5, "s@example.net", r, 3, body, sizeof(body) - 1);
	fake_lmtp_join(&f);

	assert_int_equal(r[0].code, 250);
	assert_int_equal(r[1].code, 550);
	assert_int_equal(r[2].code, 452);
	assert_non_null(strstr(r[1].reply, "5.1.1"));
	assert_non_null(strstr(r[2].reply, "over quota"));
	assert_int_equal(f.datalen, sizeof(wire) - 1);
	assert_memory_equal(f.data, wire, f.datalen);
	assert_non_null(strstr(f.log, "LHLO mx.test\r\n"));
	assert_non_null(strstr(f.log, "MAIL FROM:<s@example.net>\r\n"));
	assert_non_null(strstr(f.log, "QUIT\r\n"));
}

/* A body that ends with CRLF gets ".\r\n" only: no blank line added. */
static void test_body_ending_in_crlf(void **state)
{
	struct fake_lmtp f;
	char server[64];
	struct lmtp_rcpt r[1] = {{.addr = "ok@example.org"}};
	const char body[] = "Subject: x\r\n\r\nhello\r\n";
	const char wire[] = "Subject: x\r\n\r\nhello\r\n.\r\n";

	fake_lmtp_start(&f, 1);
	snprintf(server, sizeof(server), "127.0.0.1:%d", f.port);
	lmtp_deliver(server, "mx.test", 5, "s@example.net", r, 1, body, sizeof(body) - 1);
	fake_lmtp_join(&f);
	assert_int_equal(r[0].code, 250);
	assert_int_equal(f.datalen, sizeof(wire) - 1);
	assert_memory_equal(f.data, wire, f.datalen);
}

static void test_all_rejected_sends_no_data(void **state)
{
	struct fake_lmtp f;
	char server[64];
	struct lmtp_rcpt r[1] = {{.addr = "rej@example.org"}};

	fake_lmtp_start(&f, 1);
	snprintf(server, sizeof(server), "127.0.0.1:%d", f.port);
	lmtp_deliver(server, "mx.test", 5, "", r, 1, "x\r\n", 3);
	fake_lmtp_join(&f);
	assert_int_equal(r[0].code, 550);
	assert_null(strstr(f.log, "DATA"));
	assert_non_null(strstr(f.log, "MAIL FROM:<>\r\n"));
}

/* A port nothing listens on: bound, then closed. */
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

static void test_refused_is_temporary(void **state)
{
	char server[64];
	struct lmtp_rcpt r[2] = {{.addr = "a@example.org"}, {.addr = "b@example.org"}};

	snprintf(server, sizeof(server), "127.0.0.1:%d", refused_port());
	lmtp_deliver(server, "mx.test", 2, "s@example.net", r, 2, "x\r\n", 3);
	assert_int_equal(r[0].code / 100, 4);
	assert_int_equal(r[1].code / 100, 4);
	assert_non_null(strstr(r[0].reply, "connect"));

	lmtp_deliver("unix:/nonexistent/lmtp.sock", "mx.test", 2, "s@example.net", r, 1, "x", 1);
	assert_int_equal(r[0].code / 100, 4);
	lmtp_deliver("no-port", "mx.test", 2, "s@example.net", r, 1, "x", 1);
	assert_int_equal(r[0].code / 100, 4);
}

static void test_control_characters_refused(void **state)
{
	struct lmtp_rcpt r[1] = {{.addr = "a@example.org>\r\nRSET"}};

	lmtp_deliver("127.0.0.1:1", "mx.test", 2, "s@example.net", r, 1, "x", 1);
	assert_int_equal(r[0].code, 553);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_per_recipient_replies),
	    cmocka_unit_test(test_body_ending_in_crlf),
	    cmocka_unit_test(test_all_rejected_sends_no_data),
	    cmocka_unit_test(test_refused_is_temporary),
	    cmocka_unit_test(test_control_characters_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
