/* Unit tests of the policy service over socket pairs, with the sender
 * checks resolving through a zone file: each kind of request gets its
 * reply, one check serves every recipient of a message, PREPEND comes
 * once per message, pipelined requests are answered in order, and bad
 * input closes its connection and nothing else; a check serves the other
 * messages of the same client, HELO name and sender that come while it
 * runs and, once finished, the next ones for policyd_cache_seconds unless
 * it had a temporary error; with policyd_cache_seconds = 0 every message
 * has a check of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "dns/dns.h"
#include "policyd/server.h"

static const char CONF[] = "hostname = \"mx.test.example\";\n"
                           "state_dir = \"/tmp\";\n"
                           "listeners = ( { role = \"mx\"; address = \"127.0.0.1:2525\"; } );\n"
                           "domains = ( { name = \"test.example\"; } );\n"
                           "policy = {\n"
                           "  trusted_networks = \"127.0.0.0/8, 192.0.2.99/32\";\n"
                           "  spf_fail = \"reject\";\n"
                           "  spf_softfail = \"score 3\";\n"
                           "  iprev_temperror = \"tempfail\";\n"
                           "  rdns_generic = \"reject\";\n"
                           "  helo_invalid = \"reject\";\n"
                           "};\n"
                           "dnsbl = ( { zone = \"dbl.test.example\"; type = \"rhs\"; } );\n";

static const char ZONE[] = "10.2.0.192.in-addr.arpa PTR mail.good-sender.net\n"
                           "mail.good-sender.net A 192.0.2.10\n"
                           "mail.good-sender.net TXT \"v=spf1 a -all\"\n"
                           "good-sender.net TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                           "spf-fail.net TXT \"v=spf1 -all\"\n"
                           "soft-sender.net TXT \"v=spf1 ~all\"\n"
                           "12.2.0.192.in-addr.arpa PTR 192-0-2-12.dyn.pool-isp.net\n"
                           "192-0-2-12.dyn.pool-isp.net A 192.0.2.12\n"
                           "11.2.0.192.in-addr.arpa TIMEOUT\n"
                           "eleven.good-sender.net A 192.0.2.11\n"
                           /* The blocklist does not answer about it. */
                           "slow-list.net.dbl.test.example TIMEOUT\n";

struct fixture {
	struct config cfg;
	struct event_base *base;
	struct dns_resolver *dns;
	struct policyd_server *srv;
	char zone[64];
};

static void write_temp(char *path, size_t size, const char *text)
{
	snprintf(path, size, "/tmp/postern-policyd-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The server of CONF with more settings after it. */
static int setup_with(void **state, const char *more)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char conf[64], err[256] = "", text[4096];
	struct buf errors;

	snprintf(text, sizeof(text), "%s%s", CONF, more);
	write_temp(conf, sizeof(conf), text);
	buf_init(&errors, 65536);
	if (config_load(conf, &f->cfg, &errors) < 0)
		fail_msg("config: %s", errors.data);
	buf_free(&errors);
	unlink(conf);
	write_temp(f->zone, sizeof(f->zone), ZONE);
	f->base = event_base_new();
	f->dns = dns_resolver_zone(f->base, f->zone, err, sizeof(err));
	if (f->dns == NULL)
		fail_msg("zone: %s", err);
	f->srv = policyd_server_new(&f->cfg, f->base, f->dns, err, sizeof(err));
	if (f->srv == NULL)
		fail_msg("server: %s", err);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, "");
}

static int setup_reuse_1s(void **state)
{
	return setup_with(state, "policyd_cache_seconds = 1;\n");
}

static int setup_no_reuse(void **state)
{
	return setup_with(state, "policyd_cache_seconds = 0;\n");
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	policyd_server_free(f->srv);
	dns_resolver_free(f->dns);
	event_base_free(f->base);
	config_free(&f->cfg);
	unlink(f->zone);
	free(f);
	return 0;
}

/* A connection to the server; the test holds the client's end. */
static int client(struct fixture *f)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	policyd_server_attach(f->srv, sv[0], "test");
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	return sv[1];
}

static void say(int fd, const char *text)
{
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

static char *rcpt_request(const char *instance, const char *ip, const char *helo,
                          const char *sender, const char *rcpt)
{
	static char buf[2048];
	snprintf(buf, sizeof(buf),
	         "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
	         "helo_name=%s\nqueue_id=\nsender=%s\nrecipient=%s\nrecipient_count=0\n"
	         "client_address=%s\nclient_name=unknown\ninstance=%s\nsasl_username=\n\n",
	         helo, sender, rcpt, ip, instance);
	return buf;
}

/* Runs the loop until the client has n whole replies (or the server
 * closed: then returns what came, and *closed is set).  Replies are
 * returned one per line. */
static char *await(struct fixture *f, int fd, int n, int *closed)
{
	static char got[8192];
	size_t len = 0;
	time_t deadline = time(NULL) + 5;

	*closed = 0;
	got[0] = '\0';
	for (;;) {
		int have = 0;
		for (char *p = got; (p = strstr(p, "\n\n")) != NULL; p += 2)
			have++;
		if (have >= n)
			break;
		assert_true(time(NULL) < deadline);
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 2) <= 0)
			continue;
		ssize_t r = read(fd, got + len, sizeof(got) - 1 - len);
		if (r == 0) {
			*closed = 1;
			break;
		}
		if (r > 0) {
			len += (size_t)r;
			got[len] = '\0';
		}
	}
	/* "a\n\nb\n\n" -> "a\nb" */
	char *out = got, *w = got;
	for (char *p = got; *p; p++) {
		if (p[0] == '\n' && p[1] == '\n') {
			*w++ = '\n';
			p++;
		} else {
			*w++ = *p;
		}
	}
	if (w > got && w[-1] == '\n')
		w--;
	*w = '\0';
	return out;
}

static char *ask(struct fixture *f, int fd, const char *text)
{
	int closed;
	say(fd, text);
	char *r = await(f, fd, 1, &closed);
	assert_false(closed);
	return r;
}

static void test_good_sender_dunno(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);

	assert_string_equal(ask(f, fd,
	                        rcpt_request("i1", "192.0.2.10", "mail.good-sender.net",
	                                     "alice@good-sender.net", "user@test.example")),
	                    "action=DUNNO");
	close(fd);
}

static void test_spf_fail_rejected_every_recipient(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);
	const char *r;

	r = ask(f, fd,
	        rcpt_request("i2", "192.0.2.10", "mail.good-sender.net", "x@spf-fail.net",
	                     "user@test.example"));
	assert_non_null(strstr(r, "action=550 5.7.23 "));
	/* The second recipient of the message: the same answer. */
	assert_string_equal(ask(f, fd,
	                        rcpt_request("i2", "192.0.2.10", "mail.good-sender.net",
	                                     "x@spf-fail.net", "other@test.example")),
	                    r);
	/* Postmaster and abuse are reached whatever the verdict. */
	assert_string_equal(ask(f, fd,
	                        rcpt_request("i2", "192.0.2.10", "mail.good-sender.net",
	                                     "x@spf-fail.net", "postmaster@test.example")),
	                    "action=DUNNO");
	assert_string_equal(ask(f, fd,
	                        rcpt_request("i2", "192.0.2.10", "mail.good-sender.net",
	                                     "x@spf-fail.net", "Abuse@elsewhere.example")),
	                    "action=DUNNO");
	close(fd);
}

static void test_prepend_once_per_message(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);
	const char *r;

	r = ask(f, fd,
	        rcpt_request("i3", "192.0.2.10", "mail.good-sender.net", "s@soft-sender.net",
	                     "user@test.example"));
	assert_true(strncmp(r, "action=PREPEND Authentication-Results: mx.test.example; ", 56) ==
	            0);
	assert_non_null(strstr(r, "spf=softfail smtp.mailfrom=s@soft-sender.net"));
	assert_non_null(strstr(r, "policy.score=3"));
	assert_null(strchr(r, '\r'));
	assert_string_equal(ask(f, fd,
	                        rcpt_request("i3", "192.0.2.10", "mail.good-sender.net",
	                                     "s@soft-sender.net", "two@test.example")),
	                    "action=DUNNO");
	/* The next message of the same client gets its own. */
	r = ask(f, fd,
	        rcpt_request("i4", "192.0.2.10", "mail.good-sender.net", "s@soft-sender.net",
	                     "user@test.example"));
	assert_true(strncmp(r, "action=PREPEND ", 15) == 0);
	/* Without instance= every request is a message of its own. */
	for (int i = 0; i < 2; i++) {
		r = ask(f, fd,
		        rcpt_request("", "192.0.2.10", "mail.good-sender.net", "s@soft-sender.net",
		                     "user@test.example"));
		assert_true(strncmp(r, "action=PREPEND ", 15) == 0);
	}
	close(fd);
}

static void test_helo_generic_and_tempfail(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);

	assert_non_null(strstr(ask(f, fd,
	                           rcpt_request("i5", "192.0.2.10", "localhost",
	                                        "alice@good-sender.net", "user@test.example")),
	                       "action=550 5.7.1 "));
	assert_non_null(strstr(ask(f, fd,
	                           rcpt_request("i6", "192.0.2.12", "mail.good-sender.net",
	                                        "alice@good-sender.net", "user@test.example")),
	                       "action=550 5.7.25 "));
	assert_non_null(strstr(ask(f, fd,
	                           rcpt_request("i7", "192.0.2.11", "eleven.good-sender.net",
	                                        "alice@good-sender.net", "user@test.example")),
	                       "action=451 4.7.25 "));
	close(fd);
}

static void test_exempt_and_other_states(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);
	char req[2048];

	/* A trusted network. */
	assert_string_equal(ask(f, fd,
	                        rcpt_request("i8", "192.0.2.99", "localhost", "x@spf-fail.net",
	                                     "user@test.example")),
	                    "action=DUNNO");
	/* Authenticated. */
	snprintf(
	    req, sizeof(req), "%s",
	    rcpt_request("i9", "192.0.2.10", "localhost", "x@spf-fail.net", "user@test.example"));
	char *sasl = strstr(req, "sasl_username=");
	memcpy(sasl, "sasl_username=u\n\n", 18);
	assert_string_equal(ask(f, fd, req), "action=DUNNO");
	/* States where postern gives no verdict. */
	static const char *const states[] = {"CONNECT",        "EHLO", "MAIL", "DATA",
	                                     "END-OF-MESSAGE", "VRFY", "ETRN"};
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		snprintf(
		    req, sizeof(req),
		    "request=smtpd_access_policy\nprotocol_state=%s\nclient_address=192.0.2.10\n"
		    "helo_name=localhost\nsender=x@spf-fail.net\ninstance=i10\n\n",
		    states[i]);
		assert_string_equal(ask(f, fd, req), "action=DUNNO");
	}
	/* No client address. */
	assert_string_equal(
	    ask(f, fd, rcpt_request("i11", "", "localhost", "x@spf-fail.net", "user@test.example")),
	    "action=DUNNO");
	close(fd);
}

static void test_pipelined_in_order(void **state)
{
	struct fixture *f = *state;
	int fd = client(f), closed;
	char all[8192];

	/* A check that waits, then requests answered from the cache or at
	 * once: the replies keep the order of the requests. */
	snprintf(all, sizeof(all), "%s",
	         rcpt_request("p1", "192.0.2.10", "mail.good-sender.net", "x@spf-fail.net",
	                      "user@test.example"));
	strcat(all, "request=smtpd_access_policy\nprotocol_state=VRFY\n\n");
	strcat(all, rcpt_request("p1", "192.0.2.10", "mail.good-sender.net", "x@spf-fail.net",
	                         "postmaster@test.example"));
	strcat(all, rcpt_request("p1", "192.0.2.10", "mail.good-sender.net", "x@spf-fail.net",
	                         "b@test.example"));
	say(fd, all);
	char *r = await(f, fd, 4, &closed);
	assert_false(closed);
	char *l1 = strtok(r, "\n"), *l2 = strtok(NULL, "\n"), *l3 = strtok(NULL, "\n"),
	     *l4 = strtok(NULL, "\n");
	assert_non_null(l4);
	assert_non_null(strstr(l1, "action=550 5.7.23"));
	assert_string_equal(l2, "action=DUNNO");
	assert_string_equal(l3, "action=DUNNO");
	assert_string_equal(l4, l1);
	close(fd);
}

static void test_two_connections_one_check(void **state)
{
	struct fixture *f = *state;
	int a = client(f), b = client(f), closed;
	const char *req = rcpt_request("shared", "192.0.2.10", "mail.good-sender.net",
	                               "s@soft-sender.net", "user@test.example");

	/* Both ask before the check has answered: one check, one PREPEND. */
	say(a, req);
	say(b, req);
	char ra[4096], rb[4096];
	snprintf(ra, sizeof(ra), "%s", await(f, a, 1, &closed));
	assert_false(closed);
	snprintf(rb, sizeof(rb), "%s", await(f, b, 1, &closed));
	assert_false(closed);
	assert_int_equal(policyd_server_checks(f->srv), 1);
	assert_int_equal(policyd_server_connections(f->srv), 2);
	int prepends =
	    (strncmp(ra, "action=PREPEND ", 15) == 0) + (strncmp(rb, "action=PREPEND ", 15) == 0);
	assert_int_equal(prepends, 1);
	assert_true(strcmp(ra, "action=DUNNO") == 0 || strcmp(rb, "action=DUNNO") == 0);
	close(a);
	close(b);
}

static void test_bad_input_closes(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
	    "request=smtpd_access_policy\nthis line has no equals sign\n\n",
	    "protocol_state=RCPT\nsender=a@example.net\n\n",
	    "request=other_policy\n\n",
	};
	int closed;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = client(f);
		say(fd, bad[i]);
		char *r = await(f, fd, 1, &closed);
		assert_true(closed);
		assert_string_equal(r, "");
		close(fd);
	}
	/* An oversized value, sent without ever ending the line. */
	int fd = client(f);
	char big[4096];
	memset(big, 'v', sizeof(big));
	say(fd, "request=smtpd_access_policy\nsender=");
	for (int i = 0; i < 2; i++)
		if (send(fd, big, sizeof(big), MSG_NOSIGNAL) < 0)
			break;
	await(f, fd, 1, &closed);
	assert_true(closed);
	close(fd);
	/* The other connections go on. */
	fd = client(f);
	assert_string_equal(ask(f, fd, "request=smtpd_access_policy\nprotocol_state=DATA\n\n"),
	                    "action=DUNNO");
	close(fd);
}

static void test_client_gone_while_waiting(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);

	say(fd, rcpt_request("gone", "192.0.2.10", "mail.good-sender.net", "alice@good-sender.net",
	                     "user@test.example"));
	close(fd);
	/* The check ends with nobody to tell; the verdict stays for the next. */
	for (int i = 0; i < 50; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(policyd_server_connections(f->srv), 0);
	assert_int_equal(policyd_server_checks(f->srv), 1);
	fd = client(f);
	assert_string_equal(ask(f, fd,
	                        rcpt_request("gone", "192.0.2.10", "mail.good-sender.net",
	                                     "alice@good-sender.net", "user@test.example")),
	                    "action=DUNNO");
	assert_int_equal(policyd_server_checks(f->srv), 1);
	assert_int_equal(policyd_server_connections(f->srv), 1);
	close(fd);
}

/* Runs the loop a little, for checks whose client has gone. */
static void spin(struct fixture *f)
{
	for (int i = 0; i < 50; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static void test_reuse_across_messages(void **state)
{
	struct fixture *f = *state;
	int fd = client(f), other = client(f), closed;
	const char *r;
	char first[4096];

	/* The first message of a client, HELO name and sender is checked. */
	snprintf(first, sizeof(first), "%s",
	         ask(f, fd,
	             rcpt_request("m1", "192.0.2.10", "mail.good-sender.net", "s@soft-sender.net",
	                          "user@test.example")));
	assert_true(strncmp(first, "action=PREPEND ", 15) == 0);
	assert_int_equal(policyd_server_checks(f->srv), 1);
	/* The next ones, on any connection, have its verdict: the same field,
	 * once per message, and no check. */
	for (int i = 0; i < 3; i++) {
		char inst[16];
		snprintf(inst, sizeof(inst), "m%d", i + 2);
		assert_string_equal(ask(f, i % 2 ? other : fd,
		                        rcpt_request(inst, "192.0.2.10", "mail.good-sender.net",
		                                     "s@soft-sender.net", "user@test.example")),
		                    first);
		assert_string_equal(ask(f, i % 2 ? other : fd,
		                        rcpt_request(inst, "192.0.2.10", "mail.good-sender.net",
		                                     "s@soft-sender.net", "two@test.example")),
		                    "action=DUNNO");
	}
	/* Without instance= too, each request a message of its own. */
	assert_string_equal(ask(f, fd,
	                        rcpt_request("", "192.0.2.10", "mail.good-sender.net",
	                                     "s@soft-sender.net", "user@test.example")),
	                    first);
	assert_int_equal(policyd_server_checks(f->srv), 1);
	/* A refusal is reused as well. */
	r = ask(f, fd,
	        rcpt_request("m5", "192.0.2.10", "mail.good-sender.net", "x@spf-fail.net",
	                     "user@test.example"));
	assert_non_null(strstr(r, "action=550 5.7.23 "));
	assert_string_equal(ask(f, other,
	                        rcpt_request("m6", "192.0.2.10", "mail.good-sender.net",
	                                     "x@spf-fail.net", "user@test.example")),
	                    r);
	assert_int_equal(policyd_server_checks(f->srv), 2);
	/* Any difference in client, HELO name or sender is another check. */
	ask(f, fd,
	    rcpt_request("m7", "192.0.2.10", "mail.good-sender.net", "t@soft-sender.net",
	                 "user@test.example"));
	ask(f, fd,
	    rcpt_request("m8", "192.0.2.10", "eleven.good-sender.net", "s@soft-sender.net",
	                 "user@test.example"));
	assert_int_equal(policyd_server_checks(f->srv), 4);
	/* A running check is shared too: two messages asked about before
	 * the first answer have one check, and the next message has it. */
	say(fd, rcpt_request("n1", "192.0.2.10", "mail.good-sender.net", "alice@good-sender.net",
	                     "user@test.example"));
	say(other, rcpt_request("n2", "192.0.2.10", "mail.good-sender.net", "alice@good-sender.net",
	                        "user@test.example"));
	assert_string_equal(await(f, fd, 1, &closed), "action=DUNNO");
	assert_false(closed);
	assert_string_equal(await(f, other, 1, &closed), "action=DUNNO");
	assert_false(closed);
	assert_int_equal(policyd_server_checks(f->srv), 5);
	assert_string_equal(ask(f, fd,
	                        rcpt_request("n3", "192.0.2.10", "mail.good-sender.net",
	                                     "alice@good-sender.net", "user@test.example")),
	                    "action=DUNNO");
	assert_int_equal(policyd_server_checks(f->srv), 5);
	close(fd);
	close(other);
	spin(f);
}

/* The replies to messages on connections a and b, asked about at once,
 * into ra and rb. */
static void ask_both(struct fixture *f, int a, const char *qa, int b, const char *qb, char *ra,
                     char *rb, size_t size)
{
	int closed;

	say(a, qa);
	say(b, qb);
	snprintf(ra, size, "%s", await(f, a, 1, &closed));
	assert_false(closed);
	snprintf(rb, size, "%s", await(f, b, 1, &closed));
	assert_false(closed);
}

static void test_messages_wait_for_running_check(void **state)
{
	struct fixture *f = *state;
	int a = client(f), b = client(f);
	char qa[2048], ra[4096], rb[4096];

	/* Two messages of one client, HELO name and sender, the second asked
	 * about while the first one's check runs: one check, and each
	 * message its own PREPEND, once. */
	snprintf(qa, sizeof(qa), "%s",
	         rcpt_request("w1", "192.0.2.10", "mail.good-sender.net", "s@soft-sender.net",
	                      "user@test.example"));
	ask_both(f, a, qa, b,
	         rcpt_request("w2", "192.0.2.10", "mail.good-sender.net", "s@soft-sender.net",
	                      "user@test.example"),
	         ra, rb, sizeof(ra));
	assert_int_equal(policyd_server_checks(f->srv), 1);
	assert_true(strncmp(ra, "action=PREPEND ", 15) == 0);
	assert_string_equal(ra, rb);
	for (int i = 0; i < 2; i++)
		assert_string_equal(
		    ask(f, i ? b : a,
		        rcpt_request(i ? "w2" : "w1", "192.0.2.10", "mail.good-sender.net",
		                     "s@soft-sender.net", "two@test.example")),
		    "action=DUNNO");
	/* Without instance= as well. */
	snprintf(qa, sizeof(qa), "%s",
	         rcpt_request("", "192.0.2.10", "mail.good-sender.net", "t@soft-sender.net",
	                      "user@test.example"));
	ask_both(f, a, qa, b, qa, ra, rb, sizeof(ra));
	assert_int_equal(policyd_server_checks(f->srv), 2);
	assert_true(strncmp(ra, "action=PREPEND ", 15) == 0);
	assert_string_equal(ra, rb);
	/* A check that ends with a temporary error answers the messages that
	 * waited for it, and no message after them. */
	snprintf(qa, sizeof(qa), "%s",
	         rcpt_request("x1", "192.0.2.11", "eleven.good-sender.net", "alice@good-sender.net",
	                      "user@test.example"));
	ask_both(f, a, qa, b,
	         rcpt_request("x2", "192.0.2.11", "eleven.good-sender.net", "alice@good-sender.net",
	                      "user@test.example"),
	         ra, rb, sizeof(ra));
	assert_int_equal(policyd_server_checks(f->srv), 3);
	assert_non_null(strstr(ra, "action=451 4.7.25 "));
	assert_string_equal(ra, rb);
	/* The second recipient of a message that waited: its verdict. */
	assert_string_equal(ask(f, b,
	                        rcpt_request("x2", "192.0.2.11", "eleven.good-sender.net",
	                                     "alice@good-sender.net", "two@test.example")),
	                    ra);
	assert_int_equal(policyd_server_checks(f->srv), 3);
	/* The next message: checked again. */
	assert_non_null(strstr(ask(f, a,
	                           rcpt_request("x3", "192.0.2.11", "eleven.good-sender.net",
	                                        "alice@good-sender.net", "user@test.example")),
	                       "action=451 4.7.25 "));
	assert_int_equal(policyd_server_checks(f->srv), 4);
	assert_int_equal(policyd_server_connections(f->srv), 2);
	close(a);
	close(b);
	spin(f);
}

static void test_reuse_expires(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);
	const char *req1 = rcpt_request("e1", "192.0.2.10", "mail.good-sender.net",
	                                "s@soft-sender.net", "user@test.example");
	char first[4096];

	snprintf(first, sizeof(first), "%s", ask(f, fd, req1));
	time_t done = time(NULL);
	assert_true(strncmp(first, "action=PREPEND ", 15) == 0);
	assert_string_equal(ask(f, fd,
	                        rcpt_request("e2", "192.0.2.10", "mail.good-sender.net",
	                                     "s@soft-sender.net", "user@test.example")),
	                    first);
	assert_int_equal(policyd_server_checks(f->srv), 1);
	/* policyd_cache_seconds = 1: past it the next message is checked. */
	while (time(NULL) < done + 2)
		usleep(50000);
	assert_string_equal(ask(f, fd,
	                        rcpt_request("e3", "192.0.2.10", "mail.good-sender.net",
	                                     "s@soft-sender.net", "user@test.example")),
	                    first);
	assert_int_equal(policyd_server_checks(f->srv), 2);
	/* The messages seen keep their own verdict (for their other
	 * recipients) whatever the time. */
	assert_string_equal(ask(f, fd,
	                        rcpt_request("e1", "192.0.2.10", "mail.good-sender.net",
	                                     "s@soft-sender.net", "two@test.example")),
	                    "action=DUNNO");
	assert_int_equal(policyd_server_checks(f->srv), 2);
	close(fd);
}

static void test_no_reuse_of_temperror(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);
	const char *r;

	/* The reverse lookup times out: tempfail, for every recipient of the
	 * message, and the next message is checked again. */
	for (int i = 0; i < 2; i++) {
		char inst[16];
		snprintf(inst, sizeof(inst), "t%d", i);
		for (int k = 0; k < 2; k++)
			assert_non_null(
			    strstr(ask(f, fd,
			               rcpt_request(inst, "192.0.2.11", "eleven.good-sender.net",
			                            "alice@good-sender.net",
			                            k ? "two@test.example" : "user@test.example")),
			           "action=451 4.7.25 "));
		assert_int_equal(policyd_server_checks(f->srv), (unsigned long)i + 1);
	}
	/* A blocklist that does not answer only tags (dnsbl_temperror): the
	 * message is accepted, and still the next one is checked again. */
	for (int i = 0; i < 2; i++) {
		char inst[16];
		snprintf(inst, sizeof(inst), "d%d", i);
		r = ask(f, fd,
		        rcpt_request(inst, "192.0.2.10", "mail.good-sender.net", "s@slow-list.net",
		                     "user@test.example"));
		assert_true(strncmp(r, "action=PREPEND ", 15) == 0);
		assert_non_null(strstr(r, "policy.dnsbl=temperror"));
		assert_int_equal(policyd_server_checks(f->srv), (unsigned long)i + 3);
	}
	close(fd);
}

static void test_no_reuse_when_off(void **state)
{
	struct fixture *f = *state;
	int fd = client(f);

	/* policyd_cache_seconds = 0: one check per message, as many PREPENDs. */
	for (int i = 0; i < 3; i++) {
		char inst[16];
		snprintf(inst, sizeof(inst), "o%d", i);
		assert_true(strncmp(ask(f, fd,
		                        rcpt_request(inst, "192.0.2.10", "mail.good-sender.net",
		                                     "s@soft-sender.net", "user@test.example")),
		                    "action=PREPEND ", 15) == 0);
		assert_string_equal(ask(f, fd,
		                        rcpt_request(inst, "192.0.2.10", "mail.good-sender.net",
		                                     "s@soft-sender.net", "two@test.example")),
		                    "action=DUNNO");
		assert_int_equal(policyd_server_checks(f->srv), (unsigned long)i + 1);
	}
	close(fd);
}

static void test_listen_parse(void **state)
{
	struct policyd_listen l;
	char err[256];

	assert_int_equal(
	    policyd_listen_parse("unix:/run/postern/policyd.sock", &l, err, sizeof(err)), 0);
	assert_true(l.is_unix);
	assert_string_equal(l.path, "/run/postern/policyd.sock");
	assert_int_equal(policyd_listen_parse("127.0.0.1:10040", &l, err, sizeof(err)), 0);
	assert_false(l.is_unix);
	assert_string_equal(l.host, "127.0.0.1");
	assert_int_equal(l.port, 10040);
	assert_int_equal(policyd_listen_parse("inet:127.0.0.2:1", &l, err, sizeof(err)), 0);
	assert_int_equal(policyd_listen_parse("[::1]:10040", &l, err, sizeof(err)), 0);
	assert_string_equal(l.host, "::1");
	assert_int_equal(policyd_listen_parse("192.0.2.1:10040", &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "loopback"));
	assert_int_equal(policyd_listen_parse("[2001:db8::1]:25", &l, err, sizeof(err)), -1);
	assert_int_equal(policyd_listen_parse("127.0.0.1:0", &l, err, sizeof(err)), -1);
	assert_int_equal(policyd_listen_parse("127.0.0.1:65536", &l, err, sizeof(err)), -1);
	assert_int_equal(policyd_listen_parse("127.0.0.1:", &l, err, sizeof(err)), -1);
	assert_int_equal(policyd_listen_parse("localhost:25", &l, err, sizeof(err)), -1);
	assert_int_equal(policyd_listen_parse("unix:", &l, err, sizeof(err)), -1);
	assert_int_equal(policyd_listen_parse("10040", &l, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good_sender_dunno, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spf_fail_rejected_every_recipient, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_prepend_once_per_message, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_helo_generic_and_tempfail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exempt_and_other_states, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_connections_one_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input_closes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_gone_while_waiting, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reuse_across_messages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_messages_wait_for_running_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reuse_expires, setup_reuse_1s, teardown),
	    cmocka_unit_test_setup_teardown(test_no_reuse_of_temperror, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_reuse_when_off, setup_no_reuse, teardown),
	    cmocka_unit_test(test_listen_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
