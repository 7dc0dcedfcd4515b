/* HELO/EHLO checks: a pure classification of the argument's syntax and of
 * whose name or address it claims (helo.c), and an asynchronous check that
 * the name resolves to the client's address (helo_dns.c).  Both return
 * results; the policy engine maps them to verdicts. */
#ifndef POSTERN_POLICY_HELO_H
#define POSTERN_POLICY_HELO_H

struct dns_resolver;

/* Longest HELO argument we classify: a domain fits in 253 octets of text
 * (RFC 1035 2.3.4 less the length octets), and the longest address literal
 * "[IPv6:" + 45 + "]" is far shorter.  Longer is HELO_SYNTAX. */
#define HELO_NAME_MAX 253

enum helo_class {
	HELO_VALID_FQDN,               /* a domain under a listed public suffix */
	HELO_ADDRESS_LITERAL_MATCH,    /* [a.b.c.d] or [IPv6:...] equal to the client's address */
	HELO_ADDRESS_LITERAL_MISMATCH, /* a literal of some other address */
	HELO_BARE_WORD,                /* a single label: "pc42" */
	HELO_LOCALHOST,                /* "localhost", "localhost.localdomain", "*.localhost" */
	HELO_LOCAL_TLD, /* .local .lan .home .internal .localdomain .corp .home.arpa */
	HELO_NOT_UNDER_PUBLIC_SUFFIX, /* "host.invalidtld", or a public suffix itself ("co.uk") */
	HELO_OUR_NAME,                /* our host name or one of our local domains */
	HELO_OUR_ADDRESS,             /* a literal of one of our addresses, not the client's */
	HELO_SYNTAX, /* neither a Domain nor an address-literal (RFC 5321 4.1.2/4.1.3) */
};

/* What the argument is compared with.  The lists are NULL-terminated and
 * may be NULL. */
struct helo_context {
	const char *client_ip;            /* the peer's address, text */
	const char *hostname;             /* our own host name */
	const char *const *local_domains; /* the domains we receive mail for */
	const char *const *our_addrs;     /* the addresses we listen on, text */
};

/* Classifies helo (the HELO/EHLO argument as received).  Pure apart from
 * reading the public suffix list.  A client on our own machine that claims
 * our name is still HELO_OUR_NAME: trusting it is the caller's decision. */
enum helo_class helo_classify(const char *helo, const struct helo_context *ctx);
const char *helo_class_name(enum helo_class c);

/* ---- Does the name resolve to the client? (helo_dns.c) ---- */

enum helo_dns_result {
	HELO_DNS_MATCH,      /* an A or AAAA record equals the client's address */
	HELO_DNS_NO_MATCH,   /* it has addresses, none of them the client's */
	HELO_DNS_NO_ADDRESS, /* the name exists but has neither A nor AAAA */
	HELO_DNS_NXDOMAIN,   /* the name does not exist (or is not a valid DNS name) */
	HELO_DNS_TEMPERROR,  /* the lookup of the client's address family failed */
};

const char *helo_dns_result_name(enum helo_dns_result r);

typedef void (*helo_dns_fn)(void *arg, enum helo_dns_result res);

struct helo_lookup;

/* Looks up A and AAAA for name in parallel and compares them with
 * client_ip.  done is called exactly once from the event loop, never from
 * inside this call, unless helo_dns_cancel comes first; the lookup frees
 * itself after done returns.  NULL when client_ip is not an address. */
struct helo_lookup *helo_dns_start(struct dns_resolver *r, const char *name, const char *client_ip,
                                   helo_dns_fn done, void *arg);
/* done will not be called; l must not have completed yet. */
void helo_dns_cancel(struct helo_lookup *l);

#endif
