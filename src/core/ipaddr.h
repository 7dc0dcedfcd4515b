/* IP addresses as the configuration and the policy checks compare them: a
 * family and its bytes, with IPv4-mapped IPv6 addresses folded to IPv4.
 * Pure: no I/O. */
#ifndef POSTERN_CORE_IPADDR_H
#define POSTERN_CORE_IPADDR_H

struct ipaddr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char b[16];
};

/* Parses a textual IPv4 or IPv6 address.  "::ffff:192.0.2.1" becomes
 * 192.0.2.1: a dual-stack socket reports IPv4 peers that way (RFC 4291
 * 2.5.5.2), and the DNS publishes them as A records.  Returns 0, or -1 when
 * s is not an address. */
int ipaddr_parse(const char *s, struct ipaddr *out);

/* The address in b (4 bytes for AF_INET, 16 for AF_INET6), folded the
 * same way: an A or AAAA record's. */
void ipaddr_from_bytes(int family, const unsigned char *b, struct ipaddr *out);

int ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);

/* 1 when the first bits bits of the address bytes net and ip agree (a
 * network/prefix test; bits at most 32 or 128 by family). */
int ipaddr_prefix_match(const unsigned char *net, const unsigned char *ip, unsigned bits);

#endif
