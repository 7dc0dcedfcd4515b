/* Bounded reader for DNS messages: header, names, records, negative TTL. */
#include "dns/packet.h"

#include <stdio.h>
#include <string.h>

#define DNS_WIRE_NAME_MAX 255 /* RFC 1035 3.1, length octets included */
#define DNS_T_SOA 6

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int dns_packet_header(const unsigned char *pkt, size_t len, struct dns_header *h)
{
	if (len < DNS_HEADER_LEN)
		return -1;
	h->id = (uint16_t)get16(pkt);
	h->qr = (pkt[2] & 0x80) != 0;
	h->tc = (pkt[2] & 0x02) != 0;
	h->rcode = pkt[3] & 0x0f;
	h->qdcount = get16(pkt + 4);
	h->ancount = get16(pkt + 6);
	h->nscount = get16(pkt + 8);
	h->arcount = get16(pkt + 10);
	return 0;
}

/* Appends one label octet to the text form, escaped so that the text can
 * be split on '.' again. */
static int put_octet(char *out, size_t outsize, size_t *o, unsigned char b)
{
	char tmp[5];
	int n;

	if (b == '.' || b == '\\')
		n = snprintf(tmp, sizeof(tmp), "\\%c", b);
	else if (b < 0x21 || b > 0x7e)
		n = snprintf(tmp, sizeof(tmp), "\\%03u", b);
	else
		n = snprintf(tmp, sizeof(tmp), "%c", b);
	if (*o + (size_t)n >= outsize)
		return -1;
	memcpy(out + *o, tmp, (size_t)n);
	*o += (size_t)n;
	return 0;
}

int dns_packet_name(const unsigned char *pkt, size_t len, size_t off, char *out, size_t outsize,
                    size_t *next)
{
	size_t pos = off, o = 0, wire = 0;
	/* RFC 1035 4.1.4: a pointer refers to a prior occurrence of a name.
	 * Every pointer must go below the lowest position read so far, which
	 * makes loops impossible and bounds the work by the packet size. */
	size_t lowest = off;
	int jumped = 0;

	if (outsize < 2)
		return -1;
	for (;;) {
		if (pos >= len)
			return -1;
		unsigned c = pkt[pos];
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return -1;
			size_t target = (size_t)(c & 0x3f) << 8 | pkt[pos + 1];
			if (target >= lowest)
				return -1;
			if (!jumped)
				*next = pos + 2;
			jumped = 1;
			lowest = target;
			pos = target;
			continue;
		}
		if ((c & 0xc0) != 0) /* 01 and 10: extended and reserved label types */
			return -1;
		wire += 1 + c;
		if (wire > DNS_WIRE_NAME_MAX)
			return -1;
		if (c == 0) {
			if (!jumped)
				*next = pos + 1;
			break;
		}
		if (pos + 1 + c > len)
			return -1;
		if (o > 0) {
			if (o + 1 >= outsize)
				return -1;
			out[o++] = '.';
		}
		for (size_t i = 0; i < c; i++)
			if (put_octet(out, outsize, &o, pkt[pos + 1 + i]) < 0)
				return -1;
		pos += 1 + c;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return 0;
}

int dns_packet_question(const unsigned char *pkt, size_t len, char *name, size_t namesize,
                        unsigned *type, unsigned *class, size_t *next)
{
	size_t off;

	if (dns_packet_name(pkt, len, DNS_HEADER_LEN, name, namesize, &off) < 0 || off + 4 > len)
		return -1;
	*type = get16(pkt + off);
	*class = get16(pkt + off + 2);
	*next = off + 4;
	return 0;
}

int dns_packet_iter_init(struct dns_packet_iter *it, const unsigned char *pkt, size_t len)
{
	struct dns_header h;
	char scratch[DNS_NAME_TEXT_MAX];
	size_t off = DNS_HEADER_LEN;

	if (dns_packet_header(pkt, len, &h) < 0)
		return -1;
	for (unsigned i = 0; i < h.qdcount; i++) {
		if (dns_packet_name(pkt, len, off, scratch, sizeof(scratch), &off) < 0 ||
		    off + 4 > len)
			return -1;
		off += 4;
	}
	it->pkt = pkt;
	it->len = len;
	it->off = off;
	it->left[DNS_SEC_ANSWER] = h.ancount;
	it->left[DNS_SEC_AUTHORITY] = h.nscount;
	it->left[DNS_SEC_ADDITIONAL] = h.arcount;
	return 0;
}

int dns_packet_iter_next(struct dns_packet_iter *it, struct dns_packet_rr *rr)
{
	enum dns_section sec = DNS_SEC_ANSWER;
	size_t off;

	while (sec <= DNS_SEC_ADDITIONAL && it->left[sec] == 0)
		sec++;
	if (sec > DNS_SEC_ADDITIONAL)
		return 0;
	if (dns_packet_name(it->pkt, it->len, it->off, rr->owner, sizeof(rr->owner), &off) < 0 ||
	    off + 10 > it->len)
		return -1;
	rr->section = sec;
	rr->type = get16(it->pkt + off);
	rr->class = get16(it->pkt + off + 2);
	rr->ttl = get32(it->pkt + off + 4);
	/* RFC 2181 8: a TTL with the most significant bit set is read as zero. */
	if (rr->ttl > 0x7fffffffu)
		rr->ttl = 0;
	rr->rdlength = get16(it->pkt + off + 8);
	rr->rdata_off = off + 10;
	if (rr->rdlength > it->len - rr->rdata_off)
		return -1;
	it->off = rr->rdata_off + rr->rdlength;
	it->left[sec]--;
	return 1;
}

/* RFC 1035 3.3.13: SOA RDATA is MNAME, RNAME, then SERIAL, REFRESH, RETRY,
 * EXPIRE and MINIMUM, 32 bits each; the names must lie inside the RDATA. */
static int soa_minimum(const unsigned char *pkt, const struct dns_packet_rr *rr, uint32_t *minimum)
{
	char scratch[DNS_NAME_TEXT_MAX];
	size_t end = rr->rdata_off + rr->rdlength, off;

	if (dns_packet_name(pkt, end, rr->rdata_off, scratch, sizeof(scratch), &off) < 0 ||
	    dns_packet_name(pkt, end, off, scratch, sizeof(scratch), &off) < 0 || off + 20 != end)
		return -1;
	*minimum = get32(pkt + off + 16);
	return 0;
}

int dns_packet_negative_ttl(const unsigned char *pkt, size_t len, uint32_t *ttl)
{
	struct dns_packet_iter it;
	struct dns_packet_rr rr;
	uint32_t minimum;
	int rc;

	if (dns_packet_iter_init(&it, pkt, len) < 0)
		return -1;
	while ((rc = dns_packet_iter_next(&it, &rr)) == 1) {
		if (rr.section != DNS_SEC_AUTHORITY || rr.type != DNS_T_SOA)
			continue;
		if (soa_minimum(pkt, &rr, &minimum) < 0)
			return -1;
		*ttl = rr.ttl < minimum ? rr.ttl : minimum;
		return 0;
	}
	return rc < 0 ? -1 : 1;
}
