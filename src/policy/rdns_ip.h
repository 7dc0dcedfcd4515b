/* Finds the client address written into a reverse-DNS name (the rdns classifier's evidence). */
#ifndef POSTERN_RDNS_IP_H
#define POSTERN_RDNS_IP_H

#define RDNS_NAME_MAX 253 /* RFC 1035 2.3.4, without the trailing dot */

/* How much of the client address a name carries, weakest first. */
enum rdns_ip_match {
	RDNS_IP_NONE = 0,
	RDNS_IP_PART2, /* the last two IPv4 octets, in order or reversed */
	RDNS_IP_PART3, /* three adjacent IPv4 octets (the /24 or the last three) */
	RDNS_IP_FULL,  /* the whole address in some spelling */
};

/* name: lower case, no trailing dot, at most RDNS_NAME_MAX octets.  ip: the
 * client address as text (IPv4, IPv6 or IPv4-mapped IPv6); NULL or not an
 * address gives RDNS_IP_NONE.  *form names the spelling found, for logs. */
enum rdns_ip_match rdns_ip_find(const char *name, const char *ip, const char **form);

/* 1 when name holds four adjacent octet-like numbers (each 0..255, joined
 * by single '.', '-' or '_'): shaped like some address even when not the
 * client's. */
int rdns_ip_like(const char *name);

#endif
