/* Unit tests of the DNS message reader and of dns_answer_from_packet, on
 * hand-made messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/answer.h"
#include "dns/packet.h"
#include "pktbuild.h"

/* In "www.example.com" as the question name: where "example.com" starts. */
#define OFF_EXAMPLE 16

static void test_header_and_question(void **state)
{
	struct pb p;
	struct dns_header h;
	char name[DNS_NAME_TEXT_MAX];
	unsigned type, class;
	size_t next;

	pb_start(&p, 3, 0, 1, "www.example.com", DNS_T_MX);
	assert_int_equal(dns_packet_header(p.b, p.n, &h), 0);
	assert_int_equal(h.id, 0x1234);
	assert_true(h.qr);
	assert_false(h.tc);
	assert_int_equal(h.rcode, 3);
	assert_int_equal(h.qdcount, 1);
	assert_int_equal(h.nscount, 1);
	assert_int_equal(dns_packet_question(p.b, p.n, name, sizeof(name), &type, &class, &next),
	                 0);
	assert_string_equal(name, "www.example.com");
	assert_int_equal(type, DNS_T_MX);
	assert_int_equal(class, 1);
	assert_int_equal(next, p.n);
	assert_int_equal(dns_packet_header(p.b, 11, &h), -1);
}

static void test_name_compression(void **state)
{
	struct pb p;
	char name[DNS_NAME_TEXT_MAX];
	size_t at, next;

	pb_start(&p, 0, 0, 0, "www.example.com", DNS_T_A);
	at = p.n;
	pb_name_ptr(&p, "mail", OFF_EXAMPLE);
	assert_int_equal(dns_packet_name(p.b, p.n, at, name, sizeof(name), &next), 0);
	assert_string_equal(name, "mail.example.com");
	assert_int_equal(next, at + 5 + 2);
	/* A pointer to a pointer further back. */
	size_t at2 = p.n;
	pb_name_ptr(&p, "x", (int)at);
	assert_int_equal(dns_packet_name(p.b, p.n, at2, name, sizeof(name), &next), 0);
	assert_string_equal(name, "x.mail.example.com");
	/* The root. */
	size_t at3 = p.n;
	pb_u8(&p, 0);
	assert_int_equal(dns_packet_name(p.b, p.n, at3, name, sizeof(name), &next), 0);
	assert_string_equal(name, ".");
	assert_int_equal(next, at3 + 1);
}

static void test_name_loops_and_bad_pointers(void **state)
{
	struct pb p;
	char name[DNS_NAME_TEXT_MAX];
	size_t at, next;

	pb_start(&p, 0, 0, 0, "a", DNS_T_A);
	/* A pointer to itself. */
	at = p.n;
	pb_u16(&p, 0xc000u | (unsigned)at);
	assert_int_equal(dns_packet_name(p.b, p.n, at, name, sizeof(name), &next), -1);
	/* A pointer forward. */
	at = p.n;
	pb_u16(&p, 0xc000u | (unsigned)(at + 2));
	pb_name(&p, "b");
	assert_int_equal(dns_packet_name(p.b, p.n, at, name, sizeof(name), &next), -1);
	/* Two names pointing at each other: label "c" then a pointer to the
	 * second, which points back at the first. */
	at = p.n;
	pb_name_ptr(&p, "c", (int)(at + 4));
	pb_u16(&p, 0xc000u | (unsigned)at);
	assert_int_equal(dns_packet_name(p.b, p.n, at + 4, name, sizeof(name), &next), -1);
	assert_int_equal(dns_packet_name(p.b, p.n, at, name, sizeof(name), &next), -1);
	/* A label followed by a pointer to the start of its own name:
	 * "x.x.x..." for ever. */
	pb_start(&p, 0, 0, 0, "ab", DNS_T_A);
	at = p.n;
	pb_name_ptr(&p, "x", (int)at);
	assert_int_equal(dns_packet_name(p.b, p.n, at, name, sizeof(name), &next), -1);
	/* Reserved label types 01 and 10 (RFC 6891 5). */
	pb_start(&p, 0, 0, 0, "a", DNS_T_A);
	at = p.n;
	pb_u8(&p, 0x41);
	pb_u8(&p, 0);
	assert_int_equal(dns_packet_name(p.b, p.n, at, name, sizeof(name), &next), -1);
	p.b[at] = 0x81;
	assert_int_equal(dns_packet_name(p.b, p.n, at, name, sizeof(name), &next), -1);
	/* Truncated inside a label and inside a pointer. */
	pb_start(&p, 0, 0, 0, "example", DNS_T_A);
	assert_int_equal(dns_packet_name(p.b, 12 + 5, 12, name, sizeof(name), &next), -1);
	assert_int_equal(dns_packet_name(p.b, 12, 12, name, sizeof(name), &next), -1);
	p.n = 12;
	pb_u8(&p, 0xc0);
	assert_int_equal(dns_packet_name(p.b, p.n, 12, name, sizeof(name), &next), -1);
}

static void test_name_limits_and_escapes(void **state)
{
	struct pb p;
	char name[DNS_NAME_TEXT_MAX], small[8];
	size_t next;

	/* 4 labels of 63: 256 octets on the wire, one too many. */
	p.n = 0;
	for (int i = 0; i < 4; i++) {
		pb_u8(&p, 63);
		memset(p.b + p.n, 'a', 63);
		p.n += 63;
	}
	pb_u8(&p, 0);
	assert_int_equal(dns_packet_name(p.b, p.n, 0, name, sizeof(name), &next), -1);
	/* 3 of 63 and one of 61: 255 octets, the most allowed. */
	p.b[3 * 64] = 61;
	p.b[3 * 64 + 62] = 0;
	assert_int_equal(dns_packet_name(p.b, 3 * 64 + 63, 0, name, sizeof(name), &next), 0);
	assert_int_equal(strlen(name), 253);
	/* Escapes keep the text splittable on dots. */
	p.n = 0;
	pb_u8(&p, 5);
	pb_bytes(&p, "a.b\\", 4);
	pb_u8(&p, 0);
	pb_u8(&p, 1);
	pb_u8(&p, 0xff);
	pb_u8(&p, 0);
	assert_int_equal(dns_packet_name(p.b, p.n, 0, name, sizeof(name), &next), 0);
	assert_string_equal(name, "a\\.b\\\\\\000.\\255");
	/* The output buffer is a bound too. */
	assert_int_equal(dns_packet_name(p.b, p.n, 0, small, sizeof(small), &next), -1);
}

static void test_negative_ttl(void **state)
{
	struct pb p;
	uint32_t ttl;

	/* RFC 2308 5: the smaller of the SOA's TTL and its MINIMUM. */
	pb_start(&p, 3, 0, 1, "nx.example.com", DNS_T_A);
	pb_soa(&p, 3600, 5);
	assert_int_equal(dns_packet_negative_ttl(p.b, p.n, &ttl), 0);
	assert_int_equal(ttl, 5);
	pb_start(&p, 0, 0, 1, "nx.example.com", DNS_T_A);
	pb_soa(&p, 2, 300);
	assert_int_equal(dns_packet_negative_ttl(p.b, p.n, &ttl), 0);
	assert_int_equal(ttl, 2);
	/* Every truncation is refused, never read past. */
	for (size_t len = 0; len < p.n; len++)
		assert_int_equal(dns_packet_negative_ttl(p.b, len, &ttl), -1);
	/* No SOA: not to be cached. */
	pb_start(&p, 3, 0, 0, "nx.example.com", DNS_T_A);
	assert_int_equal(dns_packet_negative_ttl(p.b, p.n, &ttl), 1);
	/* An SOA whose RDATA is longer than its fields. */
	pb_start(&p, 3, 0, 1, "nx.example.com", DNS_T_A);
	pb_soa(&p, 60, 60);
	p.b[p.n - 24 - 1] += 1; /* the low byte of RDLENGTH */
	pb_u8(&p, 0);
	assert_int_equal(dns_packet_negative_ttl(p.b, p.n, &ttl), -1);
	/* A TTL with the top bit set reads as 0 (RFC 2181 8). */
	pb_start(&p, 3, 0, 1, "nx.example.com", DNS_T_A);
	pb_soa(&p, 0x80000000u, 60);
	assert_int_equal(dns_packet_negative_ttl(p.b, p.n, &ttl), 0);
	assert_int_equal(ttl, 0);
}

static void test_answer_a_with_cname_chain(void **state)
{
	struct pb p;
	struct dns_result res;
	size_t alias2;

	pb_start(&p, 0, 5, 0, "alias.example.com", DNS_T_A);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_CNAME, 60, 9);
	alias2 = p.n;
	pb_name_ptr(&p, "alias2", 12 + 6);
	pb_u16(&p, 0xc000u | (unsigned)alias2);
	pb_rr(&p, DNS_T_CNAME, 120, 6);
	pb_name_ptr(&p, "WWW", 12 + 6);
	/* Owned by the end of the chain, in another case. */
	pb_name_ptr(&p, "www", 12 + 6);
	pb_rr(&p, DNS_T_A, 300, 4);
	pb_bytes(&p, "\xc0\x00\x02\x0a", 4);
	/* Not on the chain: ignored. */
	pb_name_ptr(&p, "other", 12 + 6);
	pb_rr(&p, DNS_T_A, 300, 4);
	pb_bytes(&p, "\xc0\x00\x02\x63", 4);
	pb_name_ptr(&p, "www", 12 + 6);
	pb_rr(&p, DNS_T_A, 200, 4);
	pb_bytes(&p, "\xc0\x00\x02\x0b", 4);

	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_A, 3600, &res), 0);
	assert_int_equal(res.status, DNS_OK);
	assert_string_equal(res.canonical, "WWW.example.com");
	assert_int_equal(res.nrr, 2);
	assert_int_equal(res.rrs[0].type, DNS_T_A);
	assert_int_equal(res.rrs[0].u.ip.family, AF_INET);
	assert_memory_equal(res.rrs[0].u.ip.addr, "\xc0\x00\x02\x0a", 4);
	assert_int_equal(res.rrs[0].ttl, 300);
	assert_memory_equal(res.rrs[1].u.ip.addr, "\xc0\x00\x02\x0b", 4);
	assert_int_equal(res.rrs[1].ttl, 200);
	/* Cached no longer than the shortest link of the chain. */
	assert_true(res.cacheable);
	assert_int_equal(res.ttl, 60);
	dns_result_free(&res);

	/* Asked for the CNAME itself. */
	pb_start(&p, 0, 1, 0, "alias.example.com", DNS_T_CNAME);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_CNAME, 60, 9);
	pb_name_ptr(&p, "alias2", 12 + 6);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_CNAME, 3600, &res), 0);
	assert_int_equal(res.status, DNS_OK);
	assert_string_equal(res.canonical, "alias.example.com");
	assert_string_equal(res.rrs[0].u.name, "alias2.example.com");
	dns_result_free(&res);
}

static void test_answer_cname_loop(void **state)
{
	struct pb p;
	struct dns_result res;

	/* a -> b -> a */
	pb_start(&p, 0, 2, 0, "a.example.com", DNS_T_A);
	size_t b_at;
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_CNAME, 60, 4);
	b_at = p.n;
	pb_name_ptr(&p, "b", 12 + 2);
	pb_u16(&p, 0xc000u | (unsigned)b_at);
	pb_rr(&p, DNS_T_CNAME, 60, 2);
	pb_u16(&p, 0xc00c);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_A, 3600, &res), -1);
	assert_null(res.rrs);
	assert_null(res.canonical);
}

static void test_answer_txt(void **state)
{
	struct pb p;
	struct dns_result res;

	pb_start(&p, 0, 3, 0, "example.com", DNS_T_TXT);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_TXT, 300, 3 + 4 + 1);
	pb_bytes(&p,
	         "\x02v=\x03"
	         "a\0b\x00",
	         8); /* "v=" "a\0b" "" */
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_TXT, 100, 4);
	pb_bytes(&p, "\x03two", 4);
	/* An SPF record is not TXT. */
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_SPF, 100, 4);
	pb_bytes(&p, "\x03spf", 4);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_TXT, 3600, &res), 0);
	assert_int_equal(res.nrr, 2);
	assert_int_equal(res.rrs[0].u.txt.len, 5);
	assert_memory_equal(res.rrs[0].u.txt.data, "v=a\0b", 6);
	assert_string_equal(res.rrs[1].u.txt.data, "two");
	assert_int_equal(res.ttl, 100);

	/* Copies are deep and equal. */
	struct dns_result copy;
	dns_result_copy(&copy, &res);
	dns_result_free(&res);
	assert_int_equal(copy.rrs[0].u.txt.len, 5);
	assert_memory_equal(copy.rrs[0].u.txt.data, "v=a\0b", 6);
	assert_string_equal(copy.canonical, "example.com");
	dns_result_free(&copy);

	/* A character-string running past its RDATA, and an empty RDATA. */
	pb_start(&p, 0, 1, 0, "example.com", DNS_T_TXT);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_TXT, 300, 3);
	pb_bytes(&p,
	         "\x03"
	         "ab",
	         3);
	pb_u8(&p, 'c');
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_TXT, 3600, &res), -1);
	pb_start(&p, 0, 1, 0, "example.com", DNS_T_TXT);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_TXT, 300, 0);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_TXT, 3600, &res), -1);
}

static void test_answer_mx_srv_aaaa(void **state)
{
	struct pb p;
	struct dns_result res;

	pb_start(&p, 0, 2, 0, "example.com", DNS_T_MX);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_MX, 300, 2 + 5);
	pb_u16(&p, 10);
	pb_name_ptr(&p, "mx", 12);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_MX, 300, 3);
	pb_u16(&p, 0);
	pb_u8(&p, 0); /* RFC 7505 null MX */
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_MX, 3600, &res), 0);
	assert_int_equal(res.nrr, 2);
	assert_int_equal(res.rrs[0].u.mx.pref, 10);
	assert_string_equal(res.rrs[0].u.mx.exchange, "mx.example.com");
	assert_string_equal(res.rrs[1].u.mx.exchange, ".");
	dns_result_free(&res);

	pb_start(&p, 0, 1, 0, "_sip._tcp.example.com", DNS_T_SRV);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_SRV, 300, 6 + 6);
	pb_u16(&p, 1);
	pb_u16(&p, 2);
	pb_u16(&p, 5060);
	pb_name_ptr(&p, "sip", 12 + 10);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_SRV, 3600, &res), 0);
	assert_int_equal(res.rrs[0].u.srv.prio, 1);
	assert_int_equal(res.rrs[0].u.srv.weight, 2);
	assert_int_equal(res.rrs[0].u.srv.port, 5060);
	assert_string_equal(res.rrs[0].u.srv.target, "sip.example.com");
	dns_result_free(&res);

	/* A name in the RDATA must end where the RDATA does. */
	pb_start(&p, 0, 1, 0, "example.com", DNS_T_MX);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_MX, 300, 2 + 3);
	pb_u16(&p, 10);
	pb_u16(&p, 0xc00c);
	pb_u8(&p, 0);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_MX, 3600, &res), -1);

	pb_start(&p, 0, 1, 0, "example.com", DNS_T_AAAA);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_AAAA, 300, 4); /* an AAAA of 4 octets */
	pb_u32(&p, 1);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_AAAA, 3600, &res), -1);
}

static void test_answer_negative_and_errors(void **state)
{
	struct pb p;
	struct dns_result res;

	pb_start(&p, 3, 0, 1, "nx.example.com", DNS_T_A);
	pb_soa(&p, 3600, 900);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_A, 300, &res), 0);
	assert_int_equal(res.status, DNS_NXDOMAIN);
	assert_true(res.cacheable);
	assert_int_equal(res.ttl, 300); /* capped by negative_ttl_max */
	assert_int_equal(res.nrr, 0);
	dns_result_free(&res);

	/* NOERROR with only a record of another type: NODATA. */
	pb_start(&p, 0, 1, 1, "example.com", DNS_T_MX);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_A, 300, 4);
	pb_u32(&p, 0x7f000001);
	pb_soa(&p, 3600, 5);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_MX, 3600, &res), 0);
	assert_int_equal(res.status, DNS_NODATA);
	assert_int_equal(res.ttl, 5);
	dns_result_free(&res);

	/* Without an SOA a negative answer is not cached (RFC 2308 5). */
	pb_start(&p, 0, 0, 0, "example.com", DNS_T_MX);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_MX, 3600, &res), 0);
	assert_int_equal(res.status, DNS_NODATA);
	assert_false(res.cacheable);
	dns_result_free(&res);

	/* SERVFAIL and REFUSED. */
	pb_start(&p, 2, 0, 0, "example.com", DNS_T_MX);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_MX, 3600, &res), 0);
	assert_int_equal(res.status, DNS_TEMPFAIL);
	assert_false(res.cacheable);
	pb_start(&p, 5, 0, 0, "example.com", DNS_T_MX);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_MX, 3600, &res), 0);
	assert_int_equal(res.status, DNS_TEMPFAIL);

	/* An answer to another question. */
	pb_start(&p, 0, 0, 0, "example.com", DNS_T_A);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_MX, 3600, &res), -1);
	/* An answer count larger than the records present. */
	pb_start(&p, 0, 3, 0, "example.com", DNS_T_A);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_A, 300, 4);
	pb_u32(&p, 0x7f000001);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_A, 3600, &res), -1);
	/* Truncated anywhere. */
	pb_start(&p, 0, 1, 0, "example.com", DNS_T_A);
	pb_u16(&p, 0xc00c);
	pb_rr(&p, DNS_T_A, 300, 4);
	pb_u32(&p, 0x7f000001);
	for (size_t len = 0; len < p.n; len++)
		assert_int_equal(dns_answer_from_packet(p.b, len, DNS_T_A, 3600, &res), -1);
	assert_int_equal(dns_answer_from_packet(p.b, p.n, DNS_T_A, 3600, &res), 0);
	dns_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_and_question),
	    cmocka_unit_test(test_name_compression),
	    cmocka_unit_test(test_name_loops_and_bad_pointers),
	    cmocka_unit_test(test_name_limits_and_escapes),
	    cmocka_unit_test(test_negative_ttl),
	    cmocka_unit_test(test_answer_a_with_cname_chain),
	    cmocka_unit_test(test_answer_cname_loop),
	    cmocka_unit_test(test_answer_txt),
	    cmocka_unit_test(test_answer_mx_srv_aaaa),
	    cmocka_unit_test(test_answer_negative_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
