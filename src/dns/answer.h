/* The outcome of one lookup as the backends and the cache hold it, and
 * its conversion from a DNS response (RFC 1035 4.1) into struct dns_rr. */
#ifndef POSTERN_DNS_ANSWER_H
#define POSTERN_DNS_ANSWER_H

#include "dns/dns.h"

#include <stddef.h>
#include <stdint.h>

/* How many CNAMEs a chain may have before the answer counts as a
 * failure; recursive servers stop well before this. */
#define DNS_CNAME_MAX 16

struct dns_result {
	enum dns_status status;
	char *canonical; /* xmalloc'd; NULL means the asked name */
	struct dns_rr *rrs;
	size_t nrr;
	int cacheable; /* 0: TEMPFAIL, or a negative answer without SOA (RFC 2308 5) */
	uint32_t ttl;  /* seconds it may be cached when cacheable */
};

/* Converts the response pkt to the question qtype into *res: the status
 * from the RCODE and the records, the CNAME chain from the question name
 * followed to its end, the records of qtype owned by that end.  A
 * positive answer may be cached for the least TTL of its records and
 * CNAMEs; a negative one per RFC 2308 5, at most negative_ttl_max.
 * Returns 0, or -1 when pkt is malformed (res is then empty). */
int dns_answer_from_packet(const unsigned char *pkt, size_t len, enum dns_type qtype,
                           uint32_t negative_ttl_max, struct dns_result *res);

/* Deep copy; dst is overwritten. */
void dns_result_copy(struct dns_result *dst, const struct dns_result *src);
void dns_result_free(struct dns_result *res);
/* Frees what one record points to (names, TXT data), not the record. */
void dns_rr_free(struct dns_rr *rr);

#endif
