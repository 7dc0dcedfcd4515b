/* What a DNS backend provides: the resolver and query structs of every
 * backend start with these, and dns.c dispatches through ops. */
#ifndef POSTERN_DNS_BACKEND_H
#define POSTERN_DNS_BACKEND_H

#include "dns/dns.h"

struct dns_resolver_ops {
	struct dns_query *(*lookup)(struct dns_resolver *r, const char *name, enum dns_type type,
	                            dns_done_fn done, void *arg);
	void (*cancel)(struct dns_query *q);
	void (*free)(struct dns_resolver *r);
};

struct dns_resolver {
	const struct dns_resolver_ops *ops;
};

struct dns_query {
	struct dns_resolver *resolver;
};

/* 1 when name can be asked for at all: labels of 1..63 octets, 253 octets
 * in all, an optional final dot.  Backends answer DNS_BADNAME otherwise. */
int dns_name_valid(const char *name);

#endif
