/* DNS blocklists (RFC 5782): IP lists asked with the client's address,
 * domain lists (RHSBL) asked with a name, every configured list in
 * parallel under one time budget.  Results only: the policy engine maps
 * them to verdicts. */
#ifndef POSTERN_POLICY_DNSBL_H
#define POSTERN_POLICY_DNSBL_H

#include <stddef.h>
#include <stdint.h>

struct dns_resolver;
struct event_base;

enum dnsbl_kind {
	DNSBL_IP,  /* keyed by address: 2.0.0.127.<zone> (RFC 5782 2.1, 2.4) */
	DNSBL_RHS, /* keyed by domain: example.com.<zone> (RFC 5782 3) */
};

/* What a returned address means.  It matches when (mask != 0 and
 * (addr & mask) != 0) or (mask == 0 and lo <= addr <= hi); addresses are
 * in host byte order. */
struct dnsbl_code {
	uint32_t lo, hi, mask;
	const char *meaning;
	int weight;
};

struct dnsbl_list {
	const char *zone;
	enum dnsbl_kind kind;
	const struct dnsbl_code *codes;
	size_t ncodes;
	int default_weight; /* for a returned address no code matches */
	int want_txt;       /* also ask TXT, in parallel, for the listing's reason */
};

/* ---- Pure helpers ---- */

/* Parses a code: "127.0.0.2", a range "127.0.0.2-127.0.0.11", or a bit
 * mask "&4" / "&0x0c" tested against the whole address.  meaning and
 * weight are left for the caller.  Returns 0, or -1 on a syntax error. */
int dnsbl_code_parse(const char *spec, struct dnsbl_code *out);

/* Builds the query name for subject (an address for DNSBL_IP, a domain
 * for DNSBL_RHS) in zone.  Returns 0, or -1 when subject is not of that
 * kind or the name would not be a valid DNS name. */
int dnsbl_query_name(const char *subject, enum dnsbl_kind kind, const char *zone, char *out,
                     size_t outsize);

/* The weight of a listing that returned addrs: the heaviest of the codes
 * they match, an address matching none counting as default_weight.
 * *meaning is the meaning of the code that gave it, or NULL. */
int dnsbl_weigh(const struct dnsbl_list *list, const uint32_t *addrs, size_t n,
                const char **meaning);

/* Copies a TXT reason into out for logs and replies: at most outsize-1
 * octets, anything but printable ASCII replaced by '?'. */
void dnsbl_txt_clean(const char *txt, size_t len, char *out, size_t outsize);

/* ---- The check ---- */

#define DNSBL_MAX_CODES 8
#define DNSBL_TXT_MAX 255

enum dnsbl_status {
	DNSBL_NOT_LISTED,
	DNSBL_LISTED,
	DNSBL_TEMPERROR, /* failed, or no answer within the budget */
	DNSBL_SKIPPED,   /* a list of the other kind, or no valid query name */
};

struct dnsbl_hit {
	const struct dnsbl_list *list;
	enum dnsbl_status status;
	uint32_t codes[DNSBL_MAX_CODES]; /* the 127.0.0.0/8 addresses returned */
	size_t ncodes;
	const char *meaning;         /* of the code that gave the weight, or NULL */
	int weight;                  /* 0 unless listed */
	char txt[DNSBL_TXT_MAX + 1]; /* the TXT reason, cleaned; "" when none */
};

struct dnsbl_result {
	const char *subject;
	const struct dnsbl_hit *hits; /* one per list, in the order given */
	size_t n;
	int score;    /* the sum of the listed lists' weights */
	int listed;   /* how many lists list the subject */
	int tempfail; /* how many lists could not answer */
};

/* Called once from the event loop; res lives only during the call. */
typedef void (*dnsbl_fn)(void *arg, const struct dnsbl_result *res);

struct dnsbl_check;

/* Asks every list of the given kind about subject, in parallel, and calls
 * done once all have answered or budget_ms has passed, whichever comes
 * first; a list still unanswered then is a temperror.  done is never
 * called from inside this call; the check frees itself after done
 * returns.  lists must outlive the check. */
struct dnsbl_check *dnsbl_start(struct dns_resolver *r, struct event_base *base,
                                const struct dnsbl_list *lists, size_t n, const char *subject,
                                enum dnsbl_kind kind, int budget_ms, dnsbl_fn done, void *arg);
/* done will not be called; c must not have completed yet. */
void dnsbl_cancel(struct dnsbl_check *c);

const char *dnsbl_status_name(enum dnsbl_status st);

#endif
