/* Delivery into a Maildir (https://cr.yp.to/proto/maildir.html): the
 * mailbox path comes from a template, the message is written to tmp/,
 * synced, and linked into new/ under a unique name. */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stddef.h>

enum maildir_result {
	MAILDIR_OK = 0,
	MAILDIR_TEMP, /* try again later: disk full, permissions, I/O error */
	MAILDIR_PERM, /* never deliverable this way: unsafe address, bad template */
};

/* Expands tmpl for addr ("local@domain"): %d the domain and %u the local
 * part, both lower-cased, %a the whole lower-cased address, %% a percent
 * sign.  A part that is empty, holds a '/' or a control character, or
 * starts with '.' is refused, so that no address can name a path outside
 * its own mailbox.  Returns 0, or -1 with a reason in err. */
int maildir_path(const char *tmpl, const char *addr, char *out, size_t outsize, char *err,
                 size_t errsize);

/* Delivers body (CRLF lines, as received) to the Maildir at dir, creating
 * dir and its cur/ new/ tmp/ when needed, with "Return-Path: <sender>" and
 * "Delivered-To: rcpt" prepended.  The file in new/ is named
 * "unique.host": unique must name this message and recipient and nothing
 * else (queue id and recipient index), so that repeating a delivery whose
 * outcome was lost is a no-op while the first copy is still in new/.
 * On failure err says why. */
enum maildir_result maildir_deliver(const char *dir, const char *host, const char *unique,
                                    const char *sender, const char *rcpt, const char *body,
                                    size_t len, char *err, size_t errsize);

#endif
