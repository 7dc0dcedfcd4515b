/* iprev (RFC 8601 3): forward-confirmed reverse DNS of the client address,
 * asynchronous over dns.h, with the RFC 8601 2.7.3 result codes.  The
 * confirmed name goes into the Received header and SPF's %{p} macro. */
#ifndef POSTERN_POLICY_IPREV_H
#define POSTERN_POLICY_IPREV_H

#include <stddef.h>

struct dns_resolver;

/* How many PTR names are looked up forward.  RFC 8601 sets no number;
 * this is the limit RFC 7208 4.6.4 puts on the names of one PTR answer
 * ("ptr" mechanism and %{p}), which most MTAs also use for iprev.  Names
 * beyond it are reported but not checked. */
#define IPREV_NAMES_MAX 10

/* RFC 8601 2.7.3. */
enum iprev_code {
	IPREV_PASS,      /* a PTR name resolves back to the client address */
	IPREV_FAIL,      /* PTR names exist, none of them resolves back */
	IPREV_TEMPERROR, /* a lookup failed for now and no name passed: try later */
	IPREV_PERMERROR, /* no PTR data published, or only names that cannot be looked up */
};

struct iprev_result {
	enum iprev_code code;
	const char *ip;         /* the client address as given to iprev_start */
	const char *name;       /* the confirmed PTR name; NULL unless IPREV_PASS */
	const char *const *ptr; /* every name of the PTR answer, in answer order */
	size_t nptr;
	const char *text; /* one key=value line for logs */
};

/* Called once, from the event loop; res and everything it points to live
 * only during the call.  done must not call iprev_cancel on its check. */
typedef void (*iprev_done_fn)(void *arg, const struct iprev_result *res);

struct iprev_check;

/* Asks the PTR of ip, then A (IPv4) or AAAA (IPv6) of the first
 * IPREV_NAMES_MAX names all in parallel, and stops at the first name that
 * confirms.  An IPv4-mapped IPv6 address is checked as IPv4.  done is
 * called later, never inside this call; the check frees itself after done
 * returns.  Returns NULL, and done is never called, when ip is not an
 * address. */
struct iprev_check *iprev_start(struct dns_resolver *r, const char *ip, iprev_done_fn done,
                                void *arg);
/* done will not be called; c must not have completed yet. */
void iprev_cancel(struct iprev_check *c);

/* "pass", "fail", "temperror", "permerror": the RFC 8601 result words. */
const char *iprev_code_name(enum iprev_code code);

#endif
