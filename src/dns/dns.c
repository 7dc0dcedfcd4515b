/* The backend-independent part of dns.h: dispatch through the backend's
 * ops, names of statuses and types, reverse names, name validation, and
 * the address test of an answer. */
#include "dns/backend.h"
#include "core/ipaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

struct dns_query *dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
                             dns_done_fn done, void *arg)
{
	return r->ops->lookup(r, name, type, done, arg);
}

void dns_cancel(struct dns_query *q)
{
	q->resolver->ops->cancel(q);
}

int dns_answer_has_address(const struct dns_answer *ans, const struct ipaddr *a)
{
	for (size_t i = 0; ans->status == DNS_OK && i < ans->nrr; i++) {
		const struct dns_rr *rr = &ans->rrs[i];
		struct ipaddr r;
		if (rr->type != DNS_T_A && rr->type != DNS_T_AAAA)
			continue;
		ipaddr_from_bytes(rr->u.ip.family, rr->u.ip.addr, &r);
		if (ipaddr_equal(&r, a))
			return 1;
	}
	return 0;
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (r != NULL)
		r->ops->free(r);
}

const char *dns_status_text(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "OK";
	case DNS_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_NODATA:
		return "NODATA";
	case DNS_TEMPFAIL:
		return "TEMPFAIL";
	case DNS_BADNAME:
		return "BADNAME";
	}
	return "UNKNOWN";
}

const char *dns_type_name(enum dns_type t)
{
	switch (t) {
	case DNS_T_A:
		return "A";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	case DNS_T_SRV:
		return "SRV";
	case DNS_T_SPF:
		return "SPF";
	}
	return "UNKNOWN";
}

int dns_reverse_name(const char *ip, char *out, size_t outsize)
{
	unsigned char a[16];
	size_t o = 0;

	if (inet_pton(AF_INET, ip, a) == 1) {
		/* RFC 1035 3.5: the octets in reverse order under in-addr.arpa. */
		int n = snprintf(out, outsize, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
		return n < 0 || (size_t)n >= outsize ? -1 : 0;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	/* RFC 3596 2.5: 32 nibbles, least significant first, under ip6.arpa. */
	static const char hex[] = "0123456789abcdef";
	if (outsize < 32 * 2 + sizeof("ip6.arpa"))
		return -1;
	for (int i = 15; i >= 0; i--) {
		out[o++] = hex[a[i] & 0x0f];
		out[o++] = '.';
		out[o++] = hex[a[i] >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

/* Beyond the lengths of RFC 1035 2.3.4, a name is refused when it holds
 * a control character, a space or DEL (which would break log lines and
 * never name a host) or a backslash (which c-ares would read as an
 * escape and so ask for another name). */
int dns_name_lengths_valid(const char *name)
{
	size_t n = strlen(name), label = 0;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (name[i] != '.')
			label++;
		else if (label == 0)
			return 0;
		else
			label = 0;
		if (label > 63)
			return 0;
	}
	return label > 0;
}

int dns_name_valid(const char *name)
{
	if (!dns_name_lengths_valid(name))
		return 0;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c <= 0x20 || *c == 0x7f || *c == '\\')
			return 0;
	return 1;
}
