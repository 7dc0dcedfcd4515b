/* The sender checks of one client, without an SMTP session: iprev and the
 * rDNS class, DNSBL of the address, HELO (syntax, resolution, SPF, CSA,
 * RHSBL), SPF for MAIL FROM and for the rDNS name, RHSBL of the sender
 * domain.  Each stage's checks start as soon as its identity is known and
 * run in parallel on the given resolver; the results become one verdict
 * under the configuration's policy section.  The server's session, the
 * transcript driver (`postern policy test`) and the Postfix policy
 * service (`postern policyd`) all run these. */
#ifndef POSTERN_SENDER_H
#define POSTERN_SENDER_H

#include "core/buf.h"
#include "core/config.h"
#include "policy/verdict.h"

#include <stddef.h>

struct event_base;
struct dns_resolver;

/* What every check of a process shares, built once from the
 * configuration (trusted networks, rDNS patterns, DNSBL lists, local
 * domains and addresses).  Returns NULL with a reason in err. */
struct sender_conf;
struct sender_conf *sender_conf_new(const struct config *cfg, char *err, size_t errsize);
void sender_conf_free(struct sender_conf *sc);

struct sender_env {
	const struct config *cfg;
	const struct sender_conf *conf;
	struct event_base *base;
	struct dns_resolver *dns;
};

/* Why a client is not checked. */
enum sender_exemption {
	SENDER_CHECKED,       /* checked */
	SENDER_TRUSTED,       /* in policy.trusted_networks */
	SENDER_AUTHENTICATED, /* authenticated, and policy.check_submission is 0 */
};
enum sender_exemption sender_exempt(const struct sender_env *env, const char *ip,
                                    int authenticated);
const char *sender_exemption_name(enum sender_exemption e);

/* The longest HELO name and MAIL FROM address a check keeps whole (RFC
 * 1035 2.3.4 names, RFC 5321 4.5.3.1.3 paths); callers refuse longer
 * ones rather than have them cut. */
#define SENDER_HELO_MAX 255
#define SENDER_ADDR_MAX 256

/* The plain input of a whole check, for callers without stages. */
struct sender_input {
	const char *ip;
	const char *helo;      /* NULL or "": not given */
	const char *mail_from; /* "" for the null reverse-path; NULL: no transaction */
};

struct sender_check;

/* Starts the connect-stage checks of the client at ip.  Never NULL: an
 * address that cannot be checked (not an address, a scoped IPv6 address)
 * is an iprev permerror, never a lookup that does not end. */
struct sender_check *sender_check_new(const struct sender_env *env, const char *ip);
/* The first HELO/EHLO name is judged; a later one (after STARTTLS, or
 * repeated) is not looked up again. */
void sender_check_helo(struct sender_check *c, const char *helo);
/* Starts a transaction: "" is the null reverse-path (RFC 7208 2.4: the
 * HELO identity is then the one SPF checks). */
void sender_check_mail(struct sender_check *c, const char *mail_from);
/* Ends the transaction (RSET, a new MAIL, end of message): its lookups are
 * cancelled, the connect and HELO results stay.  A waiter is not called. */
void sender_check_reset(struct sender_check *c);

/* Lookups still running. */
size_t sender_check_pending(const struct sender_check *c);
/* Returns 0 when nothing is pending (done is not called), else 1: done
 * runs once from the event loop when the last lookup has finished.  A
 * second wait replaces the first. */
int sender_check_wait(struct sender_check *c, void (*done)(void *arg), void *arg);

/* The verdict so far: the transaction's when one is open, else the
 * session's (connect and HELO). */
const struct verdict *sender_check_verdict(const struct sender_check *c);
enum policy_action sender_check_decide(const struct sender_check *c, struct verdict_reply *reply);

/* 1 when a result so far (the session's, and the open transaction's) is
 * a temporary error: a lookup failed or timed out, so that the same check
 * made again later may well end otherwise. */
int sender_check_temporary(const struct sender_check *c);

/* 1 when recipient (a formatted address, or "postmaster" alone) is one
 * that RFC 5321 4.5.1 and RFC 2142 keep reachable whatever the verdict:
 * postmaster or abuse at one of our domains (any_domain: at any domain,
 * for a policy service whose MTA limits recipients to its own domains). */
int sender_recipient_exempt(const struct config *cfg, const char *recipient, int any_domain);

/* Every result, as the RFC 8601 and log words; "" when not checked. */
struct sender_results {
	const char *iprev, *iprev_name, *rdns, *helo_class, *helo_dns, *csa;
	const char *spf_helo, *spf_mail, *spf_rdns;
	const char *dnsbl; /* listing zones, comma-separated; "temperror" when none is
	                      known to list but one did not answer; "" for none */
	const char *helo, *mail_from;
};
/* The strings live until the next call or sender_check_free. */
void sender_check_results(struct sender_check *c, struct sender_results *out);

/* The SPF result DMARC evaluates (RFC 7489 4.1): for the MAIL FROM
 * domain, or the HELO name for the null sender.  result is "" when
 * unchecked; scope "mfrom" or "helo". */
struct sender_spf {
	const char *result;
	const char *domain;
	const char *scope;
};
void sender_check_spf(const struct sender_check *c, struct sender_spf *out);

/* Appends the Authentication-Results field of the verdict so far. */
int sender_check_authres(const struct sender_check *c, struct buf *out);
/* The same results as a part of a field with others' (authres_sender):
 * the iprev and spf entries, and the x-postern properties. */
int sender_check_authres_parts(const struct sender_check *c, struct buf *entries,
                               struct buf *props);
/* Appends the log fields: "iprev=... rdns=... helo=... helo_dns=... csa=...
 * spf_helo=... spf_mailfrom=... spf_rdns=... dnsbl=... score=N tags=...". */
int sender_check_log(const struct sender_check *c, struct buf *out);

/* Cancels every lookup still running; nothing calls back afterwards. */
void sender_check_free(struct sender_check *c);

/* The whole check of in, stage by stage: done(arg, c) runs once from the
 * event loop with every result in; the caller then owns c (free it with
 * sender_check_free).  Returns the check, so that a caller that goes away
 * first can free it (nothing is called then). */
struct sender_check *sender_check_run(const struct sender_env *env, const struct sender_input *in,
                                      void (*done)(void *arg, struct sender_check *c), void *arg);

#endif
