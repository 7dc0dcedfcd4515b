/* Outbound routing (RFC 5321 5.1, RFC 7505): from a destination, a
 * recipient domain or a configured relay, to the ordered list of
 * addresses the delivery engine tries, looked up on the caller's
 * asynchronous resolver. */
#ifndef POSTERN_QUEUE_ROUTE_H
#define POSTERN_QUEUE_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct dns_resolver;
struct event_base;

/* Bounds on one destination's work and list: MX hosts whose addresses
 * are looked up (the best ones after sorting), and addresses returned. */
#define ROUTE_MAX_HOSTS 10
#define ROUTE_MAX_ADDRS 20

/* The address families a lookup uses, a bit mask. */
enum route_family {
	ROUTE_IPV4 = 1,
	ROUTE_IPV6 = 2,
	ROUTE_IPV4_IPV6 = ROUTE_IPV4 | ROUTE_IPV6,
};

struct route_addr {
	/* The MX host (dest itself when it is its own MX or a bracketed
	 * relay), or the literal's address text. */
	char host[256];
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	uint16_t port;
	unsigned pref; /* the MX preference; 0 for an implicit MX, a bracketed relay, a literal */
};

enum route_status {
	ROUTE_OK,   /* addrs holds at least one address */
	ROUTE_TEMP, /* try again later; reply says why */
	ROUTE_PERM, /* the destination cannot receive mail; reply says why */
};

struct route_result {
	enum route_status status;
	/* For ROUTE_TEMP and ROUTE_PERM: an SMTP-style reply with its
	 * enhanced code, e.g. "550 5.1.2 example.net: domain does not exist";
	 * "" for ROUTE_OK.  Room for a name of 253 octets with any reason. */
	char reply[384];
	struct route_addr *addrs; /* NULL when naddr is 0 */
	size_t naddr;
};

/* Called exactly once, from the event loop, unless route_cancel comes
 * first.  r belongs to the callee (free it with route_result_free); the
 * query is already gone when done runs. */
typedef void (*route_done_fn)(void *arg, struct route_result *r);

/* What a destination names, as route_dest_parse reads it. */
struct route_dest {
	char host[256]; /* the domain or host name, or the literal's address text */
	int literal;    /* an address: family and addr are set, nothing is looked up */
	int no_mx;      /* a name in brackets: its own A/AAAA only */
	int family;
	unsigned char addr[16];
	uint16_t port;
};

/* Reads dest.  Without is_relay_spec, dest is a recipient domain
 * ("example.net") or an RFC 5321 4.1.3 address literal ("[192.0.2.1]",
 * "[IPv6:2001:db8::1]"), and the port is default_port.  With it, dest is a
 * relay as delivery.smarthost and transports take it: "host", "host:port",
 * "[host]", "[host]:port", where brackets around a name turn the MX lookup
 * off (Postfix's convention) and brackets around an address, with or
 * without the "IPv6:" tag, make it a literal; a bare IPv4 address is a
 * literal too, since it has no MX records to ask for.  Names are host names
 * (letters, digits, '-', '_', octets over 127) within RFC 1035 2.3.4's
 * lengths; a final dot is allowed.  Returns 0, or -1 when dest is none of
 * these. */
int route_dest_parse(const char *dest, int is_relay_spec, uint16_t default_port,
                     struct route_dest *out);

struct route_query;

/* Looks up where mail for dest (as route_dest_parse reads it) goes, on
 * dns, whose answers come through base.  families: a route_family mask,
 * not 0.
 *
 * The list: the MX hosts by preference, equal preferences in random order
 * (RFC 5321 5.1), at most ROUTE_MAX_HOSTS of them; a domain without MX
 * records is its own implicit MX of preference 0.  Within one host, IPv6
 * and IPv4 addresses alternate starting with IPv6 (RFC 8305 4), each
 * family in answer order, so that a broken path of one family costs one
 * attempt per host, not all of them.  An address already listed is not
 * repeated; the list stops at ROUTE_MAX_ADDRS.  MX hosts whose address
 * lookups fail are skipped; so are MX records naming an address or no
 * valid host name.  Loopback and unspecified addresses are returned as
 * the DNS gives them: a caller that must not deliver to itself filters
 * them (and RFC 5321 5.1's own-MX rule is the caller's too: this module
 * does not know our names).
 *
 * Failures:
 *   the domain does not exist      550 5.1.2 (PERM)
 *   null MX                        556 5.1.10 (PERM, RFC 7505 3 and 4.1):
 *                                  the MX RRset is a single record with
 *                                  an empty exchange ("."); among other
 *                                  records an empty exchange is skipped
 *   the MX lookup failed           451 4.4.3 (TEMP)
 *   no MX host (or the implicit    451 4.4.3 when an address lookup
 *   MX) has an address             failed temporarily, else 451 4.4.4
 *                                  (TEMP: a broken MX is fixed sooner
 *                                  than mail should bounce)
 *   a literal of a family not used 451 4.4.4 (TEMP)
 *   dest unreadable                550 5.1.2 (PERM)
 * For a relay spec nothing is permanent (the relay is our configuration,
 * not the recipient's fault): a permanent failure becomes 451 4.4.4 with
 * the same reason, an unreadable spec 451 4.3.5.
 *
 * done is never called from inside this call.  Never NULL. */
struct route_query *route_lookup(struct event_base *base, struct dns_resolver *dns,
                                 const char *dest, int is_relay_spec, uint16_t default_port,
                                 unsigned families, route_done_fn done, void *arg);
/* Cancels every lookup of q and frees it: done will not be called.  q
 * must not have completed yet. */
void route_cancel(struct route_query *q);

void route_result_free(struct route_result *r);

#endif
