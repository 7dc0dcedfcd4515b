/* A bounded reader for DNS messages (RFC 1035 4.1): the header, names with
 * compression pointers, and a walk over the resource records.  Pure
 * functions over a byte buffer; nothing here trusts a length or pointer
 * from the packet before checking it against the buffer. */
#ifndef POSTERN_DNS_PACKET_H
#define POSTERN_DNS_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
/* A name in text form: at most 255 wire octets (RFC 1035 3.1), each of
 * which may become a 4-byte \DDD escape, plus the NUL. */
#define DNS_NAME_TEXT_MAX 1024

enum dns_section { DNS_SEC_ANSWER, DNS_SEC_AUTHORITY, DNS_SEC_ADDITIONAL };

struct dns_header {
	uint16_t id;
	int qr, tc;
	unsigned rcode; /* the 4-bit RCODE of the header (no EDNS extension) */
	unsigned qdcount, ancount, nscount, arcount;
};

/* One resource record; rdata points into the packet. */
struct dns_packet_rr {
	enum dns_section section;
	char owner[DNS_NAME_TEXT_MAX];
	unsigned type, class;
	uint32_t ttl;
	size_t rdata_off; /* offset of the RDATA in the packet */
	size_t rdlength;
};

/* A cursor over the records after the question section. */
struct dns_packet_iter {
	const unsigned char *pkt;
	size_t len;
	size_t off;
	unsigned left[3]; /* records still to read per section */
};

int dns_packet_header(const unsigned char *pkt, size_t len, struct dns_header *h);

/* Reads the name at off into out as dotted text without the final dot ("."
 * for the root); '.', '\' and bytes outside 0x21..0x7e inside a label are
 * written as \DDD or \c.  *next is the offset after the name where it
 * starts (compression pointers end it in place).  Returns 0, or -1 on
 * truncation, a pointer that does not point backwards, a reserved label
 * type, or more than 255 octets. */
int dns_packet_name(const unsigned char *pkt, size_t len, size_t off, char *out, size_t outsize,
                    size_t *next);

/* The first question: its name, type and class; *next is the offset after it. */
int dns_packet_question(const unsigned char *pkt, size_t len, char *name, size_t namesize,
                        unsigned *type, unsigned *class, size_t *next);

/* Positions it after the question section.  Returns 0 or -1. */
int dns_packet_iter_init(struct dns_packet_iter *it, const unsigned char *pkt, size_t len);
/* Reads the next record: 1 with *rr filled, 0 at the end, -1 on a
 * malformed record. */
int dns_packet_iter_next(struct dns_packet_iter *it, struct dns_packet_rr *rr);

/* RFC 2308 5: a negative answer may be cached for the smaller of the TTL
 * of the SOA in the authority section and the SOA's MINIMUM field.
 * Returns 0 with *ttl set, 1 when the answer has no SOA (RFC 2308 5: do
 * not cache), -1 on a malformed packet. */
int dns_packet_negative_ttl(const unsigned char *pkt, size_t len, uint32_t *ttl);

#endif
