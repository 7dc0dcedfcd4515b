/* Asynchronous DNS for the policy checks: one interface, two backends.
 * The c-ares backend (dns_resolver_new) is driven by the caller's libevent
 * loop and keeps a cache per resolver that honours TTLs, with negative
 * caching (RFC 2308).  The zone backend (dns_resolver_zone) answers from a
 * zone file and exists only for the conformance suites.  Both deliver
 * every answer through the event loop, never from inside dns_lookup(). */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct dns_resolver;
struct dns_query;

enum dns_type {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_SPF = 99,
};

enum dns_status {
	DNS_OK = 0,   /* at least one record of the asked type */
	DNS_NXDOMAIN, /* the name does not exist */
	DNS_NODATA,   /* the name exists, no record of that type */
	DNS_TEMPFAIL, /* timeout, SERVFAIL, REFUSED, network error: try again later */
	DNS_BADNAME,  /* not a valid DNS name (empty label, label over 63, name over 253) */
};

struct dns_rr {
	enum dns_type type;
	uint32_t ttl;
	union {
		struct {
			int family; /* AF_INET or AF_INET6 */
			unsigned char addr[16];
		} ip;       /* A, AAAA */
		char *name; /* PTR, CNAME: without the trailing dot */
		struct {
			char *data; /* the character-strings joined with no separator (RFC
			               7208 3.3); NUL-terminated, may hold NULs */
			size_t len;
		} txt; /* TXT, SPF */
		struct {
			unsigned pref;
			char *exchange;
		} mx;
		struct {
			unsigned prio, weight, port;
			char *target;
		} srv;
	} u;
};

struct dns_answer {
	enum dns_status status;
	const char *qname;
	enum dns_type qtype;
	const char *canonical;    /* qname after following CNAMEs */
	const struct dns_rr *rrs; /* records of qtype only */
	size_t nrr;
	int from_cache;
};

/* Called once per lookup, on the event loop; ans and everything it points
 * to live only during the call. */
typedef void (*dns_done_fn)(void *arg, const struct dns_answer *ans);

struct dns_options {
	const char *const
	    *servers; /* "host:port" or "host" (port 53); NULL-terminated; NULL: /etc/resolv.conf */
	int timeout_ms; /* per try */
	int tries;
	size_t cache_entries;      /* 0: no cache */
	uint32_t negative_ttl_max; /* cap on RFC 2308 negative caching, seconds */
};

struct dns_resolver *dns_resolver_new(struct event_base *base, const struct dns_options *opt,
                                      char *err, size_t errsize);
/* Zone file: one record per line, "name TYPE data" (TYPE A, AAAA, PTR,
 * CNAME, MX "pref name", TXT/SPF one or more "quoted" strings with \DDD and
 * \" escapes, SRV "prio weight port target"), or "name TIMEOUT" (every
 * query for name not answered by a record listed before it times out).
 * '#' starts a comment.  Unknown names are NXDOMAIN. */
struct dns_resolver *dns_resolver_zone(struct event_base *base, const char *path, char *err,
                                       size_t errsize);
void dns_resolver_free(struct dns_resolver *r);

/* Starts a lookup; returns a handle for dns_cancel.  done is always called
 * later from the event loop (even for a cache hit or a bad name), exactly
 * once unless the query is cancelled first. */
struct dns_query *dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
                             dns_done_fn done, void *arg);
/* done will not be called for q.  q must not have completed yet. */
void dns_cancel(struct dns_query *q);

struct ipaddr;
/* 1 when one of the A or AAAA records of ans is the address a (IPv4-mapped
 * addresses folded as core/ipaddr.h does). */
int dns_answer_has_address(const struct dns_answer *ans, const struct ipaddr *a);

const char *dns_status_text(enum dns_status st);
const char *dns_type_name(enum dns_type t);

/* 1 when name's labels (1..63 octets) and total (253 octets, an optional
 * final dot aside) fit RFC 1035 2.3.4; nothing is said about its octets. */
int dns_name_lengths_valid(const char *name);

/* The reverse name for an address: "4.3.2.1.in-addr.arpa" or the ip6.arpa
 * nibble form.  Returns 0, or -1 when ip is not an address. */
int dns_reverse_name(const char *ip, char *out, size_t outsize);

#endif
