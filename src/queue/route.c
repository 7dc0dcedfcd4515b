/* Outbound routing over dns.h: the MX lookup, the address lookups of the
 * hosts it names, run in parallel, and the ordered address list of
 * route.h. */
#include "queue/route.h"

#include "core/ipaddr.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/xmalloc.h"
#include "dns/dns.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* The order a host's addresses are interleaved in: IPv6 first. */
enum { FAM_V6, FAM_V4, NFAM };

struct route_host;

/* One A or AAAA lookup of one host. */
struct host_lookup {
	struct route_host *host;
	struct dns_query *q; /* in flight, or NULL */
	enum dns_status status;
	size_t n;
	/* No host can contribute more addresses of a family than the
	 * whole list holds, so the rest of an answer is not kept. */
	unsigned char addr[ROUTE_MAX_ADDRS][16];
};

struct route_host {
	struct route_query *rq;
	char name[256];
	unsigned pref;
	struct host_lookup fam[NFAM];
};

struct route_query {
	struct dns_resolver *dns;
	route_done_fn done;
	void *arg;
	struct route_dest dest;
	int relay;
	unsigned families;
	struct dns_query *mx_q; /* in flight, or NULL */
	struct event *ev;       /* delivers ready, a result known without DNS */
	struct route_result *ready;
	int implicit; /* the one host is dest itself, not an MX record's */
	struct route_host hosts[ROUTE_MAX_HOSTS];
	size_t nhosts, pending;
};

/* ---- reading destinations ---- */

/* Host names as mail routes them: RFC 5321 4.1.2 Domain (letters, digits,
 * hyphens) plus '_', which real names carry, and octets over 127 for
 * SMTPUTF8 domains; the lengths of RFC 1035 2.3.4. */
static int name_ok(const char *s)
{
	if (!dns_name_lengths_valid(s))
		return 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.' ||
		      *c >= 0x80))
			return 0;
	return 1;
}

static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n] >= '0' && s[n] <= '9'; n++) {
		if (n == 5)
			return -1;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || s[n] != '\0' || v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Makes out a literal when text is an address of family af. */
static int take_literal(int af, const char *text, struct route_dest *out)
{
	if (inet_pton(af, text, out->addr) != 1)
		return -1;
	out->literal = 1;
	out->family = af;
	inet_ntop(af, out->addr, out->host, sizeof(out->host));
	return 0;
}

int route_dest_parse(const char *dest, int is_relay_spec, uint16_t default_port,
                     struct route_dest *out)
{
	const char *host = dest, *end, *port = NULL;
	int bracketed = dest[0] == '[';
	size_t len;

	memset(out, 0, sizeof(*out));
	out->port = default_port;
	if (bracketed) {
		host = dest + 1;
		end = strchr(host, ']');
		if (end == NULL)
			return -1;
		if (is_relay_spec && end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else {
		end = is_relay_spec ? strchr(dest, ':') : NULL;
		if (end != NULL)
			port = end + 1;
		else
			end = dest + strlen(dest);
	}
	len = (size_t)(end - host);
	if (len == 0 || len >= sizeof(out->host))
		return -1;
	memcpy(out->host, host, len);
	out->host[len] = '\0';
	if (port != NULL && parse_port(port, &out->port) < 0)
		return -1;

	/* RFC 5321 4.1.3 address literals; a relay may leave out the tag. */
	if (bracketed && strncasecmp(out->host, "IPv6:", 5) == 0) {
		char text[sizeof(out->host)];
		memcpy(text, out->host + 5, len - 4);
		return take_literal(AF_INET6, text, out);
	}
	/* A recipient domain that is a bare address is neither a name nor
	 * a literal; a relay's has no MX records to ask for. */
	if (take_literal(AF_INET, out->host, out) == 0)
		return bracketed || is_relay_spec ? 0 : -1;
	if (bracketed && is_relay_spec && take_literal(AF_INET6, out->host, out) == 0)
		return 0;
	if (bracketed && !is_relay_spec)
		return -1;

	out->no_mx = bracketed;
	if (!name_ok(out->host))
		return -1;
	if (out->host[len - 1] == '.')
		out->host[len - 1] = '\0';
	return 0;
}

/* ---- results ---- */

static struct route_result *result_fail(enum route_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct route_result *result_fail(enum route_status st, const char *fmt, ...)
{
	struct route_result *r = xcalloc(1, sizeof(*r));
	va_list ap;

	r->status = st;
	va_start(ap, fmt);
	vsnprintf(r->reply, sizeof(r->reply), fmt, ap);
	va_end(ap);
	return r;
}

/* A failure of dest.  A relay's is never permanent: the relay is our
 * configuration, and mail should wait for it to be fixed, not bounce. */
static struct route_result *dest_fail(const struct route_query *q, enum route_status st,
                                      const char *code, const char *why)
{
	if (q->relay && st == ROUTE_PERM) {
		st = ROUTE_TEMP;
		code = "451 4.4.4";
	}
	return result_fail(st, "%s %s: %s", code, q->dest.host, why);
}

void route_result_free(struct route_result *r)
{
	if (r == NULL)
		return;
	free(r->addrs);
	free(r);
}

/* ---- the query ---- */

static void release(struct route_query *q)
{
	if (q->mx_q != NULL)
		dns_cancel(q->mx_q);
	for (size_t i = 0; i < q->nhosts; i++)
		for (int f = 0; f < NFAM; f++)
			if (q->hosts[i].fam[f].q != NULL)
				dns_cancel(q->hosts[i].fam[f].q);
	if (q->ev != NULL)
		event_free(q->ev);
	route_result_free(q->ready);
	free(q);
}

/* The query is gone before done runs, so done may do anything, free the
 * resolver included. */
static void complete(struct route_query *q, struct route_result *r)
{
	route_done_fn done = q->done;
	void *arg = q->arg;

	release(q);
	done(arg, r);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct route_query *q = arg;
	struct route_result *r = q->ready;

	q->ready = NULL;
	complete(q, r);
}

/* route.h: done never runs from inside route_lookup, even when no lookup
 * is needed. */
static void defer(struct route_query *q, struct event_base *base, struct route_result *r)
{
	q->ready = r;
	q->ev = event_new(base, -1, 0, on_ready, q);
	if (q->ev == NULL)
		fatal("route: event_new failed");
	event_active(q->ev, 0, 0);
}

static int seen(const struct route_addr *list, size_t n, int family, const unsigned char *addr)
{
	struct ipaddr a, b;

	ipaddr_from_bytes(family, addr, &a);
	for (size_t i = 0; i < n; i++) {
		ipaddr_from_bytes(list[i].family, list[i].addr, &b);
		if (ipaddr_equal(&a, &b))
			return 1;
	}
	return 0;
}

static void add(struct route_result *r, const char *host, unsigned pref, uint16_t port, int family,
                const unsigned char *addr)
{
	struct route_addr *a;

	if (r->naddr == ROUTE_MAX_ADDRS || seen(r->addrs, r->naddr, family, addr))
		return;
	a = &r->addrs[r->naddr++];
	snprintf(a->host, sizeof(a->host), "%s", host);
	a->family = family;
	memcpy(a->addr, addr, family == AF_INET ? 4 : 16);
	a->port = port;
	a->pref = pref;
}

/* Every address lookup has answered: the list in MX order, or why there
 * is none. */
static struct route_result *assemble(const struct route_query *q)
{
	struct route_result *r = xcalloc(1, sizeof(*r));
	int tempfail = 0, all_nxdomain = 1;

	r->addrs = xcalloc(ROUTE_MAX_ADDRS, sizeof(*r->addrs));
	for (size_t i = 0; i < q->nhosts; i++) {
		const struct route_host *h = &q->hosts[i];
		const struct host_lookup *v6 = &h->fam[FAM_V6], *v4 = &h->fam[FAM_V4];
		size_t n = v6->n > v4->n ? v6->n : v4->n;

		for (size_t k = 0; k < n; k++) {
			if (k < v6->n)
				add(r, h->name, h->pref, q->dest.port, AF_INET6, v6->addr[k]);
			if (k < v4->n)
				add(r, h->name, h->pref, q->dest.port, AF_INET, v4->addr[k]);
		}
		for (int f = 0; f < NFAM; f++) {
			if (!(q->families & (f == FAM_V6 ? ROUTE_IPV6 : ROUTE_IPV4)))
				continue;
			tempfail |= h->fam[f].status == DNS_TEMPFAIL;
			all_nxdomain &= h->fam[f].status == DNS_NXDOMAIN;
		}
	}
	if (r->naddr > 0)
		return r;
	route_result_free(r);
	if (!q->implicit)
		return tempfail
		           ? dest_fail(q, ROUTE_TEMP, "451 4.4.3",
		                       "MX host lookup: temporary DNS failure")
		           : dest_fail(q, ROUTE_TEMP, "451 4.4.4", "no MX host has an address");
	if (tempfail)
		return dest_fail(q, ROUTE_TEMP, "451 4.4.3",
		                 "address lookup: temporary DNS failure");
	/* The MX query found the name, its address queries did not: it went
	 * away in between, and what the DNS says now stands. */
	if (all_nxdomain)
		return dest_fail(q, ROUTE_PERM, "550 5.1.2", "domain does not exist");
	return dest_fail(q, ROUTE_TEMP, "451 4.4.4",
	                 q->dest.no_mx ? "no address" : "no MX record and no address");
}

static void on_addr(void *arg, const struct dns_answer *ans)
{
	struct host_lookup *l = arg;
	struct route_query *q = l->host->rq;

	l->q = NULL;
	l->status = ans->status;
	for (size_t i = 0; ans->status == DNS_OK && i < ans->nrr && l->n < ROUTE_MAX_ADDRS; i++)
		memcpy(l->addr[l->n++], ans->rrs[i].u.ip.addr, 16);
	if (--q->pending == 0)
		complete(q, assemble(q));
}

static void add_host(struct route_query *q, const char *name, unsigned pref)
{
	struct route_host *h = &q->hosts[q->nhosts++];

	h->rq = q;
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->pref = pref;
	for (int f = 0; f < NFAM; f++)
		h->fam[f].host = h;
}

/* Both families of every host at once: a slow host delays the list by one
 * lookup's time, not by the sum of them. */
static void lookup_hosts(struct route_query *q)
{
	for (size_t i = 0; i < q->nhosts; i++) {
		struct route_host *h = &q->hosts[i];
		if (q->families & ROUTE_IPV6) {
			q->pending++;
			h->fam[FAM_V6].q =
			    dns_lookup(q->dns, h->name, DNS_T_AAAA, on_addr, &h->fam[FAM_V6]);
		}
		if (q->families & ROUTE_IPV4) {
			q->pending++;
			h->fam[FAM_V4].q =
			    dns_lookup(q->dns, h->name, DNS_T_A, on_addr, &h->fam[FAM_V4]);
		}
	}
}

struct mx {
	unsigned pref;
	const char *name;
};

static int mx_cmp(const void *a, const void *b)
{
	const struct mx *x = a, *y = b;
	return (x->pref > y->pref) - (x->pref < y->pref);
}

/* An MX record whose exchange is no host name: the root (a null MX among
 * other records, which RFC 7505 3 forbids), an address (RFC 5321 5.1
 * wants names; an address is no name that has A records), or garbage. */
static int exchange_usable(const char *name)
{
	struct ipaddr a;
	return name_ok(name) && ipaddr_parse(name, &a) != 0;
}

/* RFC 5321 5.1: by preference, equal preferences in random order so that
 * senders spread over them; the best ROUTE_MAX_HOSTS distinct usable
 * hosts. */
static void take_mx(struct route_query *q, const struct dns_answer *ans)
{
	size_t n = ans->nrr;
	struct mx *mx = xcalloc(n, sizeof(*mx));

	for (size_t i = 0; i < n; i++)
		mx[i] = (struct mx){ans->rrs[i].u.mx.pref, ans->rrs[i].u.mx.exchange};
	qsort(mx, n, sizeof(*mx), mx_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && mx[j].pref == mx[i].pref; j++)
			;
		for (size_t k = j - 1; k > i; k--) {
			size_t o = i + rng_below((uint32_t)(k - i + 1));
			struct mx t = mx[k];
			mx[k] = mx[o];
			mx[o] = t;
		}
	}
	for (size_t i = 0; i < n && q->nhosts < ROUTE_MAX_HOSTS; i++) {
		int dup = 0;
		if (!exchange_usable(mx[i].name))
			continue;
		for (size_t k = 0; k < q->nhosts && !dup; k++)
			dup = strcasecmp(q->hosts[k].name, mx[i].name) == 0;
		if (!dup)
			add_host(q, mx[i].name, mx[i].pref);
	}
	free(mx);
}

/* The root as an exchange: "." from the network backend, "" from the
 * zone backend. */
static int null_mx(const struct dns_answer *ans)
{
	const char *x = ans->rrs[0].u.mx.exchange;
	return ans->nrr == 1 && (x[0] == '\0' || strcmp(x, ".") == 0);
}

static void on_mx(void *arg, const struct dns_answer *ans)
{
	struct route_query *q = arg;

	q->mx_q = NULL;
	switch (ans->status) {
	case DNS_OK:
		if (null_mx(ans)) {
			complete(q, dest_fail(q, ROUTE_PERM, "556 5.1.10", "null MX (RFC 7505)"));
			return;
		}
		take_mx(q, ans);
		if (q->nhosts == 0) {
			complete(q, dest_fail(q, ROUTE_TEMP, "451 4.4.4", "no usable MX host"));
			return;
		}
		break;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX records, the domain is its own implicit MX
		 * of preference 0. */
		q->implicit = 1;
		add_host(q, q->dest.host, 0);
		break;
	case DNS_NXDOMAIN:
	case DNS_BADNAME:
		complete(q, dest_fail(q, ROUTE_PERM, "550 5.1.2", "domain does not exist"));
		return;
	case DNS_TEMPFAIL:
		complete(q,
		         dest_fail(q, ROUTE_TEMP, "451 4.4.3", "MX lookup: temporary DNS failure"));
		return;
	}
	lookup_hosts(q);
}

struct route_query *route_lookup(struct event_base *base, struct dns_resolver *dns,
                                 const char *dest, int is_relay_spec, uint16_t default_port,
                                 unsigned families, route_done_fn done, void *arg)
{
	struct route_query *q = xcalloc(1, sizeof(*q));
	struct route_result *r;

	if ((families & ROUTE_IPV4_IPV6) == 0)
		panic("route_lookup: no address family");
	q->dns = dns;
	q->done = done;
	q->arg = arg;
	q->relay = is_relay_spec;
	q->families = families;
	if (route_dest_parse(dest, is_relay_spec, default_port, &q->dest) < 0) {
		/* dest is not echoed: it is no name, and may hold anything. */
		r = is_relay_spec ? result_fail(ROUTE_TEMP, "451 4.3.5 unreadable relay")
		                  : result_fail(ROUTE_PERM, "550 5.1.2 bad destination domain");
		defer(q, base, r);
	} else if (q->dest.literal) {
		if (!(families & (q->dest.family == AF_INET ? ROUTE_IPV4 : ROUTE_IPV6))) {
			r = result_fail(ROUTE_TEMP, "451 4.4.4 %s: address family not used",
			                q->dest.host);
		} else {
			r = xcalloc(1, sizeof(*r));
			r->addrs = xcalloc(1, sizeof(*r->addrs));
			add(r, q->dest.host, 0, q->dest.port, q->dest.family, q->dest.addr);
		}
		defer(q, base, r);
	} else if (q->dest.no_mx) {
		q->implicit = 1;
		add_host(q, q->dest.host, 0);
		lookup_hosts(q);
	} else {
		q->mx_q = dns_lookup(dns, q->dest.host, DNS_T_MX, on_mx, q);
	}
	return q;
}

void route_cancel(struct route_query *q)
{
	release(q);
}
