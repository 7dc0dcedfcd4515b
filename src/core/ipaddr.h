/* IP addresses as the configuration and the policy checks compare them: a
 * family and its bytes, with IPv4-mapped IPv6 addresses folded to IPv4.
 * The DNS helpers below read only the record layout of dns/dns.h, so core
 * links nothing of the dns module. */
#ifndef POSTERN_CORE_IPADDR_H
#define POSTERN_CORE_IPADDR_H

struct dns_rr;

struct ipaddr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char b[16];
};

/* Parses a textual IPv4 or IPv6 address.  "::ffff:192.0.2.1" becomes
 * 192.0.2.1: a dual-stack socket reports IPv4 peers that way (RFC 4291
 * 2.5.5.2), and the DNS publishes them as A records.  Returns 0, or -1 when
 * s is not an address. */
int ipaddr_parse(const char *s, struct ipaddr *out);

/* The address of an A or AAAA record, folded the same way. */
void ipaddr_from_rr(const struct dns_rr *rr, struct ipaddr *out);

int ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);

struct dns_answer;
/* 1 when one of the A or AAAA records of ans is the address a. */
int ipaddr_in_answer(const struct dns_answer *ans, const struct ipaddr *a);

#endif
