/* Message authentication of one transaction, at the end of DATA: DKIM
 * signatures verified while the body streams in (RFC 6376), then the
 * DMARC policy of the From domain (RFC 7489) once the keys are in; and
 * DKIM signing of mail from authenticated users and trusted networks.  The verdict joins the
 * sender checks' one, under the same policy section. */
#ifndef POSTERN_MSGAUTH_H
#define POSTERN_MSGAUTH_H

#include "core/buf.h"
#include "policy/verdict.h"

#include <stddef.h>

struct session;
struct msgauth;

/* At DATA or the first BDAT: decides what runs (verification for checked
 * sessions, signing for authenticated or trusted ones); s->msgauth stays
 * NULL when nothing does. */
void msgauth_start(struct session *s);
/* The message's bytes as they are stored (unstuffed, CRLF). */
void msgauth_feed(struct session *s, const void *p, size_t n);
/* Ends the message and fetches what is needed; done(s) runs once from the
 * event loop when the results are in, or at once when there is nothing to
 * wait for. */
void msgauth_finish(struct session *s, void (*done)(struct session *s));
/* The verdict with the message's own results added.  exempt: every
 * recipient is postmaster or abuse, which no content verdict refuses. */
enum policy_action msgauth_decide(struct session *s, int exempt, struct verdict_reply *reply);
/* Appends the header fields we add to the message, in order: our DKIM
 * signatures, the Received trace, Authentication-Results with every
 * result, and the quarantine mark. */
int msgauth_headers(struct session *s, struct buf *out);
/* One log line with the message's results. */
void msgauth_log(struct session *s);
/* Cancels what is still running; nothing calls back afterwards. */
void msgauth_free(struct session *s);

#endif
