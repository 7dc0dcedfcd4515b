/* From a DNS response to struct dns_rr: status, CNAME chain, records. */
#include "dns/answer.h"
#include "core/xmalloc.h"
#include "dns/packet.h"

#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/socket.h>

#define DNS_CLASS_IN 1
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_NXDOMAIN 3

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* A name that must fill the RDATA from off to its end exactly. */
static char *rdata_name(const unsigned char *pkt, size_t off, size_t end)
{
	char name[DNS_NAME_TEXT_MAX];
	size_t next;

	if (off > end || dns_packet_name(pkt, end, off, name, sizeof(name), &next) < 0 ||
	    next != end)
		return NULL;
	return xstrdup(name);
}

/* RFC 1035 3.3.14: one or more <character-string>s; RFC 7208 3.3 joins
 * them with nothing in between.  The result keeps any NUL octets. */
static int rdata_txt(const unsigned char *p, size_t n, struct dns_rr *rr)
{
	size_t i = 0, len = 0;

	if (n == 0)
		return -1;
	rr->u.txt.data = xmalloc(n + 1);
	while (i < n) {
		size_t sl = p[i++];
		if (sl > n - i) {
			free(rr->u.txt.data);
			return -1;
		}
		memcpy(rr->u.txt.data + len, p + i, sl);
		len += sl;
		i += sl;
	}
	rr->u.txt.data[len] = '\0';
	rr->u.txt.len = len;
	return 0;
}

static int parse_rdata(const unsigned char *pkt, const struct dns_packet_rr *prr, struct dns_rr *rr)
{
	const unsigned char *p = pkt + prr->rdata_off;
	size_t n = prr->rdlength, end = prr->rdata_off + prr->rdlength;

	memset(rr, 0, sizeof(*rr));
	rr->type = (enum dns_type)prr->type;
	rr->ttl = prr->ttl;
	switch (prr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (n != (prr->type == DNS_T_A ? 4u : 16u))
			return -1;
		rr->u.ip.family = prr->type == DNS_T_A ? AF_INET : AF_INET6;
		memcpy(rr->u.ip.addr, p, n);
		return 0;
	case DNS_T_CNAME:
	case DNS_T_PTR:
		rr->u.name = rdata_name(pkt, prr->rdata_off, end);
		return rr->u.name ? 0 : -1;
	case DNS_T_MX: /* RFC 1035 3.3.9 */
		if (n < 3)
			return -1;
		rr->u.mx.pref = get16(p);
		rr->u.mx.exchange = rdata_name(pkt, prr->rdata_off + 2, end);
		return rr->u.mx.exchange ? 0 : -1;
	case DNS_T_SRV: /* RFC 2782 */
		if (n < 7)
			return -1;
		rr->u.srv.prio = get16(p);
		rr->u.srv.weight = get16(p + 2);
		rr->u.srv.port = get16(p + 4);
		rr->u.srv.target = rdata_name(pkt, prr->rdata_off + 6, end);
		return rr->u.srv.target ? 0 : -1;
	case DNS_T_TXT:
	case DNS_T_SPF:
		return rdata_txt(p, n, rr);
	default:
		return -1;
	}
}

/* Follows the CNAMEs in the answer section from name (RFC 1034 3.6.2),
 * leaving the end of the chain in name and lowering *ttl to the least
 * CNAME TTL.  Returns 0, or -1 on a malformed record or a chain longer
 * than DNS_CNAME_MAX (a loop among them). */
static int follow_cnames(const unsigned char *pkt, size_t len, char *name, uint32_t *ttl)
{
	struct dns_packet_iter it;
	struct dns_packet_rr rr;
	int hops = 0, found;

	do {
		int rc;

		found = 0;
		if (dns_packet_iter_init(&it, pkt, len) < 0)
			return -1;
		while ((rc = dns_packet_iter_next(&it, &rr)) == 1) {
			if (rr.section != DNS_SEC_ANSWER || rr.type != DNS_T_CNAME ||
			    rr.class != DNS_CLASS_IN || strcasecmp(rr.owner, name) != 0)
				continue;
			char *target = rdata_name(pkt, rr.rdata_off, rr.rdata_off + rr.rdlength);
			if (target == NULL)
				return -1;
			/* The target came from a buffer of the same size as name. */
			strcpy(name, target);
			free(target);
			if (rr.ttl < *ttl)
				*ttl = rr.ttl;
			found = 1;
			break;
		}
		if (rc < 0 || (found && ++hops > DNS_CNAME_MAX))
			return -1;
	} while (found);
	return 0;
}

/* The records of qtype owned by name. */
static int collect(const unsigned char *pkt, size_t len, enum dns_type qtype, const char *name,
                   struct dns_result *res)
{
	struct dns_packet_iter it;
	struct dns_packet_rr prr;
	size_t cap = 0;
	int rc;

	if (dns_packet_iter_init(&it, pkt, len) < 0)
		return -1;
	while ((rc = dns_packet_iter_next(&it, &prr)) == 1) {
		if (prr.section != DNS_SEC_ANSWER || prr.type != (unsigned)qtype ||
		    prr.class != DNS_CLASS_IN || strcasecmp(prr.owner, name) != 0)
			continue;
		if (res->nrr == cap) {
			cap = cap ? cap * 2 : 4;
			res->rrs = xrealloc(res->rrs, cap * sizeof(*res->rrs));
		}
		if (parse_rdata(pkt, &prr, &res->rrs[res->nrr]) < 0)
			return -1;
		if (prr.ttl < res->ttl)
			res->ttl = prr.ttl;
		res->nrr++;
	}
	return rc;
}

int dns_answer_from_packet(const unsigned char *pkt, size_t len, enum dns_type qtype,
                           uint32_t negative_ttl_max, struct dns_result *res)
{
	struct dns_header h;
	char name[DNS_NAME_TEXT_MAX];
	unsigned type, class;
	size_t off;
	uint32_t negttl;
	int rc;

	memset(res, 0, sizeof(*res));
	if (dns_packet_header(pkt, len, &h) < 0 || h.qdcount != 1 ||
	    dns_packet_question(pkt, len, name, sizeof(name), &type, &class, &off) < 0 ||
	    type != (unsigned)qtype || class != DNS_CLASS_IN)
		return -1;
	if (h.rcode != DNS_RCODE_NOERROR && h.rcode != DNS_RCODE_NXDOMAIN) {
		/* SERVFAIL, REFUSED and the rest say nothing about the name. */
		res->status = DNS_TEMPFAIL;
		return 0;
	}
	res->ttl = UINT32_MAX;
	/* Asked for the CNAME itself, the chain is not followed. */
	if (qtype != DNS_T_CNAME && follow_cnames(pkt, len, name, &res->ttl) < 0)
		goto bad;
	if (collect(pkt, len, qtype, name, res) < 0)
		goto bad;
	res->canonical = xstrdup(name);
	if (res->nrr > 0) {
		res->status = DNS_OK;
		res->cacheable = 1;
		return 0;
	}
	/* RFC 2308 2.1, 2.2: NXDOMAIN, or NOERROR without the asked type. */
	res->status = h.rcode == DNS_RCODE_NXDOMAIN ? DNS_NXDOMAIN : DNS_NODATA;
	rc = dns_packet_negative_ttl(pkt, len, &negttl);
	if (rc < 0)
		goto bad;
	res->cacheable = rc == 0;
	res->ttl = rc == 0 ? (negttl < negative_ttl_max ? negttl : negative_ttl_max) : 0;
	return 0;
bad:
	dns_result_free(res);
	return -1;
}

static void rr_copy(struct dns_rr *dst, const struct dns_rr *src)
{
	*dst = *src;
	switch (src->type) {
	case DNS_T_CNAME:
	case DNS_T_PTR:
		dst->u.name = xstrdup(src->u.name);
		break;
	case DNS_T_MX:
		dst->u.mx.exchange = xstrdup(src->u.mx.exchange);
		break;
	case DNS_T_SRV:
		dst->u.srv.target = xstrdup(src->u.srv.target);
		break;
	case DNS_T_TXT:
	case DNS_T_SPF:
		dst->u.txt.data = xmalloc(src->u.txt.len + 1);
		memcpy(dst->u.txt.data, src->u.txt.data, src->u.txt.len + 1);
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		break;
	}
}

void dns_rr_free(struct dns_rr *rr)
{
	switch (rr->type) {
	case DNS_T_CNAME:
	case DNS_T_PTR:
		free(rr->u.name);
		break;
	case DNS_T_MX:
		free(rr->u.mx.exchange);
		break;
	case DNS_T_SRV:
		free(rr->u.srv.target);
		break;
	case DNS_T_TXT:
	case DNS_T_SPF:
		free(rr->u.txt.data);
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		break;
	}
}

void dns_result_copy(struct dns_result *dst, const struct dns_result *src)
{
	*dst = *src;
	dst->canonical = src->canonical ? xstrdup(src->canonical) : NULL;
	dst->rrs = src->nrr ? xcalloc(src->nrr, sizeof(*dst->rrs)) : NULL;
	for (size_t i = 0; i < src->nrr; i++)
		rr_copy(&dst->rrs[i], &src->rrs[i]);
}

void dns_result_free(struct dns_result *res)
{
	for (size_t i = 0; i < res->nrr; i++)
		dns_rr_free(&res->rrs[i]);
	free(res->rrs);
	free(res->canonical);
	memset(res, 0, sizeof(*res));
}
