/* Unit tests of the c-ares backend against a small DNS server inside the
 * test, on loopback: answers come from the loop (never from dns_lookup),
 * the cache answers repeated questions, cancelled queries stay silent,
 * bad names are never sent, silence times out as TEMPFAIL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns.h"
#include "dns/packet.h"
#include "pktbuild.h"

struct fake {
	int fd;
	int port;
	int queries;
	struct event *ev;
};

/* Answers a query according to its name: a.test has an A record,
 * nx.test does not exist (SOA minimum 5), silent.test gets no answer. */
static void fake_read(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	unsigned char q[512];
	struct pb p;
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	char name[DNS_NAME_TEXT_MAX];
	unsigned type, class;
	size_t qend;
	ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fromlen);

	if (n < DNS_HEADER_LEN ||
	    dns_packet_question(q, (size_t)n, name, sizeof(name), &type, &class, &qend) < 0)
		return;
	f->queries++;
	if (strcmp(name, "silent.test") == 0)
		return;
	/* The query's header and question, without its EDNS OPT record. */
	memcpy(p.b, q, qend);
	p.n = qend;
	p.b[2] |= 0x80;
	p.b[10] = p.b[11] = 0;
	if (strcmp(name, "a.test") == 0 && type == DNS_T_A) {
		p.b[7] = 1;
		pb_u16(&p, 0xc00c);
		pb_rr(&p, DNS_T_A, 300, 4);
		pb_bytes(&p, "\xc0\x00\x02\x01", 4);
	} else {
		p.b[3] = 3;
		p.b[9] = 1;
		pb_soa(&p, 3600, 5);
	}
	sendto(fd, p.b, p.n, 0, (struct sockaddr *)&from, fromlen);
}

static void fake_start(struct fake *f, struct event_base *base)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	f->queries = 0;
	f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST, fake_read, f);
	event_add(f->ev, NULL);
}

static void fake_stop(struct fake *f)
{
	event_free(f->ev);
	close(f->fd);
}

struct env {
	struct event_base *base;
	struct fake fake;
	struct dns_resolver *r;
	int calls;
	int want; /* calls after which the loop stops */
	struct dns_answer last;
	int last_nrr_addr; /* the last octet of the first address */
};

static void done(void *arg, const struct dns_answer *ans)
{
	struct env *e = arg;

	e->calls++;
	e->last = *ans;
	e->last.rrs = NULL; /* dies with the call */
	e->last_nrr_addr = ans->nrr ? ans->rrs[0].u.ip.addr[3] : -1;
	if (e->calls >= e->want)
		event_base_loopbreak(e->base);
}

static struct env *env_new(int timeout_ms, int tries, size_t cache)
{
	struct env *e = calloc(1, sizeof(*e));
	char server[64], err[256];
	const char *servers[] = {server, NULL};

	e->base = event_base_new();
	fake_start(&e->fake, e->base);
	snprintf(server, sizeof(server), "127.0.0.1:%d", e->fake.port);
	struct dns_options opt = {.servers = servers,
	                          .timeout_ms = timeout_ms,
	                          .tries = tries,
	                          .cache_entries = cache,
	                          .negative_ttl_max = 3600};
	e->r = dns_resolver_new(e->base, &opt, err, sizeof(err));
	assert_non_null(e->r);
	return e;
}

/* Runs the loop until want callbacks have run, or 5 s. */
static void run(struct env *e, int want)
{
	struct timeval tv = {5, 0};

	e->want = want;
	event_base_loopexit(e->base, &tv);
	event_base_dispatch(e->base);
}

/* Runs the loop for ms milliseconds whatever happens. */
static void run_for(struct env *e, int ms)
{
	struct timeval tv = {0, ms * 1000};

	e->want = 1000;
	event_base_loopexit(e->base, &tv);
	event_base_dispatch(e->base);
}

static void env_free(struct env *e)
{
	dns_resolver_free(e->r);
	fake_stop(&e->fake);
	event_base_free(e->base);
	free(e);
}

static void test_answer_then_cache(void **state)
{
	struct env *e = env_new(1000, 2, 10);

	assert_non_null(dns_lookup(e->r, "a.test", DNS_T_A, done, e));
	assert_int_equal(e->calls, 0);
	run(e, 1);
	assert_int_equal(e->calls, 1);
	assert_int_equal(e->last.status, DNS_OK);
	assert_int_equal(e->last.from_cache, 0);
	assert_int_equal(e->last_nrr_addr, 1);
	assert_int_equal(e->fake.queries, 1);

	/* Repeated, in another case: the cache answers, still from the loop. */
	dns_lookup(e->r, "A.TEST.", DNS_T_A, done, e);
	assert_int_equal(e->calls, 1);
	run(e, 2);
	assert_int_equal(e->calls, 2);
	assert_int_equal(e->last.from_cache, 1);
	assert_int_equal(e->last_nrr_addr, 1);
	assert_int_equal(e->fake.queries, 1);

	/* Negative answers are cached too. */
	dns_lookup(e->r, "nx.test", DNS_T_A, done, e);
	run(e, 3);
	assert_int_equal(e->last.status, DNS_NXDOMAIN);
	dns_lookup(e->r, "nx.test", DNS_T_A, done, e);
	run(e, 4);
	assert_int_equal(e->last.status, DNS_NXDOMAIN);
	assert_int_equal(e->last.from_cache, 1);
	assert_int_equal(e->fake.queries, 2);
	env_free(e);
}

static void test_bad_name_not_sent(void **state)
{
	struct env *e = env_new(1000, 2, 0);

	dns_lookup(e->r, "a..test", DNS_T_A, done, e);
	assert_int_equal(e->calls, 0);
	run(e, 1);
	assert_int_equal(e->last.status, DNS_BADNAME);
	assert_int_equal(e->fake.queries, 0);
	env_free(e);
}

static void test_cancel(void **state)
{
	struct env *e = env_new(1000, 2, 10);
	struct dns_query *q;

	/* Cancelled while c-ares holds it, while deferred (bad name), and a
	 * third one that completes so that the loop has an end. */
	q = dns_lookup(e->r, "a.test", DNS_T_A, done, e);
	dns_cancel(q);
	q = dns_lookup(e->r, "-..", DNS_T_A, done, e);
	dns_cancel(q);
	dns_lookup(e->r, "nx.test", DNS_T_MX, done, e);
	run(e, 1);
	assert_int_equal(e->calls, 1);
	assert_int_equal(e->last.status, DNS_NXDOMAIN);
	/* The cancelled answer still goes into the cache. */
	run_for(e, 300);
	assert_int_equal(e->calls, 1);
	q = dns_lookup(e->r, "a.test", DNS_T_A, done, e);
	dns_cancel(q);
	dns_lookup(e->r, "a.test", DNS_T_A, done, e);
	run(e, 2);
	assert_int_equal(e->calls, 2);
	assert_int_equal(e->last.from_cache, 1);
	env_free(e);
}

static void test_silence_is_tempfail(void **state)
{
	struct env *e = env_new(100, 1, 10);

	dns_lookup(e->r, "silent.test", DNS_T_TXT, done, e);
	run(e, 1);
	assert_int_equal(e->calls, 1);
	assert_int_equal(e->last.status, DNS_TEMPFAIL);
	/* Not cached: asked again, the server sees it again. */
	dns_lookup(e->r, "silent.test", DNS_T_TXT, done, e);
	run(e, 2);
	assert_int_equal(e->last.status, DNS_TEMPFAIL);
	assert_int_equal(e->fake.queries, 2);
	env_free(e);
}

static void free_in_callback(void *arg, const struct dns_answer *ans)
{
	struct env *e = arg;

	dns_resolver_free(e->r);
	e->r = NULL;
	e->calls++;
	event_base_loopbreak(e->base);
}

static void test_free_with_pending_and_from_callback(void **state)
{
	struct env *e = env_new(1000, 2, 10);

	/* Pending queries are dropped silently with the resolver. */
	dns_lookup(e->r, "silent.test", DNS_T_A, done, e);
	dns_lookup(e->r, "x..", DNS_T_A, done, e);
	dns_resolver_free(e->r);
	char server[64], err[256];
	const char *servers[] = {server, NULL};
	snprintf(server, sizeof(server), "127.0.0.1:%d", e->fake.port);
	struct dns_options opt = {.servers = servers, .timeout_ms = 1000, .tries = 1};
	e->r = dns_resolver_new(e->base, &opt, err, sizeof(err));
	assert_non_null(e->r);
	/* The callback may free the resolver, with another query pending. */
	dns_lookup(e->r, "silent.test", DNS_T_A, done, e);
	dns_lookup(e->r, "a.test", DNS_T_A, free_in_callback, e);
	run(e, 1);
	assert_int_equal(e->calls, 1);
	assert_null(e->r);
	fake_stop(&e->fake);
	event_base_free(e->base);
	free(e);
}

/* Lookups of a name and type already asked for wait for that answer: the
 * server sees one query, every lookup gets the answer, and cancelling any
 * of them, the first included, silences only that one. */
static void test_merged_lookups(void **state)
{
	struct env *e = env_new(1000, 2, 0);

	dns_lookup(e->r, "a.test", DNS_T_A, done, e);
	dns_lookup(e->r, "A.Test.", DNS_T_A, done, e);
	dns_lookup(e->r, "a.test", DNS_T_A, done, e);
	dns_lookup(e->r, "a.test", DNS_T_MX, done, e); /* another type: asked */
	run(e, 4);
	assert_int_equal(e->calls, 4);
	assert_int_equal(e->fake.queries, 2);

	struct dns_query *first = dns_lookup(e->r, "a.test", DNS_T_A, done, e);
	struct dns_query *second = dns_lookup(e->r, "a.test", DNS_T_A, done, e);
	dns_lookup(e->r, "a.test", DNS_T_A, done, e);
	dns_cancel(first);
	dns_cancel(second);
	run(e, 5);
	run_for(e, 200);
	assert_int_equal(e->calls, 5);
	assert_int_equal(e->last.status, DNS_OK);
	assert_int_equal(e->last_nrr_addr, 1);
	assert_int_equal(e->last.from_cache, 0);
	assert_int_equal(e->fake.queries, 3);

	/* A timeout reaches every waiting lookup; the next one asks again. */
	dns_lookup(e->r, "silent.test", DNS_T_TXT, done, e);
	dns_lookup(e->r, "silent.test", DNS_T_TXT, done, e);
	run(e, 7);
	assert_int_equal(e->calls, 7);
	assert_int_equal(e->last.status, DNS_TEMPFAIL);
	int asked = e->fake.queries;
	dns_lookup(e->r, "silent.test", DNS_T_TXT, done, e);
	run(e, 8);
	assert_true(e->fake.queries > asked);

	/* Freed with a lookup waiting for another. */
	dns_lookup(e->r, "silent.test", DNS_T_A, done, e);
	dns_lookup(e->r, "silent.test", DNS_T_A, done, e);
	env_free(e);
}

static void test_bad_server_list(void **state)
{
	struct event_base *base = event_base_new();
	const char *servers[] = {"not an address", NULL};
	struct dns_options opt = {.servers = servers, .timeout_ms = 1000, .tries = 1};
	char err[256];

	assert_null(dns_resolver_new(base, &opt, err, sizeof(err)));
	assert_non_null(strstr(err, "not an address"));
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answer_then_cache),
	    cmocka_unit_test(test_bad_name_not_sent),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_merged_lookups),
	    cmocka_unit_test(test_silence_is_tempfail),
	    cmocka_unit_test(test_free_with_pending_and_from_callback),
	    cmocka_unit_test(test_bad_server_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
