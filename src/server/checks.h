/* The sender checks of one session (iprev and rDNS class, DNSBL, HELO,
 * CSA, SPF for HELO, MAIL FROM and the rDNS name), started at the stage
 * where their identity is known, run in parallel on the worker's DNS
 * resolver, and turned into one verdict that is given at RCPT, where
 * postmaster and abuse can still be let through. */
#ifndef POSTERN_CHECKS_H
#define POSTERN_CHECKS_H

#include "core/buf.h"
#include "core/config.h"
#include "policy/verdict.h"

#include <stddef.h>

struct session;
struct worker;
struct checks;

/* What every session of a worker shares: parsed once per worker. */
struct checks_conf;
struct checks_conf *checks_conf_new(const struct config *cfg, char *err, size_t errsize);
void checks_conf_free(struct checks_conf *cc);

/* Decides whether the session is checked at all (trusted networks skip,
 * authenticated submission skips unless policy.check_submission) and
 * starts the connect-stage checks.  s->checks stays NULL when unchecked. */
void checks_connect(struct session *s);
/* After AUTH: an authenticated session is no longer checked. */
void checks_authenticated(struct session *s);
void checks_helo(struct session *s);
void checks_mail(struct session *s);
void checks_reset_transaction(struct session *s);

/* At RCPT: when checks are still running, keeps line to be dispatched again
 * once they are done and returns 1 (the session waits). */
int checks_defer(struct session *s, const char *line, size_t len);
/* The verdict for the current transaction. */
enum policy_action checks_decide(struct session *s, struct verdict_reply *reply);
/* The SPF result DMARC evaluates (RFC 7489 4.1): for the MAIL FROM
 * domain, or the HELO name for the null sender.  result is an RFC 8601
 * name ("" when unchecked); scope "mfrom" or "helo". */
struct checks_spf {
	const char *result;
	const char *domain;
	const char *scope;
};
void checks_spf(const struct session *s, struct checks_spf *out);
/* The transaction's verdict so far (for end-of-data results to add to). */
void checks_verdict(const struct session *s, struct verdict *out);
/* Appends the Authentication-Results header, with more (resinfo entries,
 * each beginning ";\r\n\t", may be NULL) after the sender checks' own;
 * nothing when unchecked.  v: the verdict to report, NULL for the RCPT one. */
int checks_authres(struct session *s, const struct verdict *v, const char *more, struct buf *out);
/* One log line with every result of the transaction. */
void checks_log(struct session *s);
/* Cancels what is still running; no callback runs afterwards. */
void checks_free(struct session *s);

#endif
