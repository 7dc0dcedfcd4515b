/* Lists of networks ("127.0.0.0/8, ::1/128, 192.0.2.7"), as the
 * configuration gives them (policy.trusted_networks), and the question
 * whether a client address falls in one of them.  Pure: no I/O. */
#ifndef POSTERN_CORE_NETLIST_H
#define POSTERN_CORE_NETLIST_H

#include "core/ipaddr.h"

#include <stddef.h>

struct netlist_net {
	struct ipaddr net; /* host bits after the prefix are zero */
	int prefix;        /* 0..32 for IPv4, 0..128 for IPv6 */
};

struct netlist {
	struct netlist_net *nets;
	size_t n;
};

/* Parses s: items separated by commas and/or spaces, each an IPv4 or IPv6
 * address with an optional /prefix (a bare address is /32 or /128).  An
 * IPv4-mapped IPv6 network (::ffff:192.0.2.0/120) becomes the IPv4 one,
 * since ipaddr folds client addresses the same way.  A network with bits
 * set after its prefix (10.1.2.3/8) is refused: it is a typo more often
 * than not, and in a list of trusted clients a typo widens trust.  An
 * empty s gives an empty list.  Returns 0, or -1 with *out empty and a
 * message naming the bad item in err. */
int netlist_parse(const char *s, struct netlist *out, char *err, size_t errsize);

/* 1 when a is in one of the networks of nl, else 0. */
int netlist_contains(const struct netlist *nl, const struct ipaddr *a);

void netlist_free(struct netlist *nl);

#endif
