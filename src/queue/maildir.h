/* Delivery into a Maildir (https://cr.yp.to/proto/maildir.html): the
 * mailbox path comes from a template, messages are written to tmp/, synced
 * together, and linked into new/ under unique names; stray files in tmp/
 * are removed after 36 hours. */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stddef.h>
#include <time.h>

enum maildir_result {
	MAILDIR_OK = 0,
	MAILDIR_TEMP, /* try again later: disk full, permissions, I/O error */
	MAILDIR_PERM, /* never deliverable this way: unsafe address, bad template */
};

/* "When you look through a tmp directory, you should delete files that
 * haven't been accessed in 36 hours" (the Maildir specification). */
#define MAILDIR_TMP_MAX_AGE (36L * 60 * 60)

/* Expands tmpl for addr ("local@domain"): %d the domain and %u the local
 * part, both lower-cased, %a the whole lower-cased address, %% a percent
 * sign.  A part that is empty, holds a '/' or a control character, or
 * starts with '.' is refused, so that no address can name a path outside
 * its own mailbox.  Returns 0, or -1 with a reason in err. */
int maildir_path(const char *tmpl, const char *addr, char *out, size_t outsize, char *err,
                 size_t errsize);

/* One message for one recipient.  The caller fills the inputs, which must
 * stay valid during the call; result and err are set for every item. */
struct maildir_item {
	const char *dir;    /* the Maildir, from maildir_path */
	const char *unique; /* names this message and recipient and nothing else */
	const char *sender; /* for Return-Path: "" for the null sender */
	const char *rcpt;   /* for Delivered-To */
	const char *body;   /* CRLF lines, as received */
	size_t len;
	enum maildir_result result;
	char err[256]; /* why, when result is not MAILDIR_OK (cut to fit) */
};

/* Delivers each item to its Maildir, creating dir and its cur/ new/ tmp/
 * when needed, with "Return-Path: <sender>" and "Delivered-To: rcpt"
 * prepended.  The file in new/ is named "unique.host", so that repeating
 * a delivery whose outcome was lost is a no-op while the first copy is
 * still in new/ (once a reader has moved it to cur/, a repeat makes a
 * second copy).  Every file is written to tmp/ first; the files are then
 * made durable together, linked into new/, and each distinct new/ is
 * synced once, so a batch costs one fsync per file plus one per Maildir
 * instead of two per file.  An item fails alone: the others of the batch
 * are still delivered.  Safe to call from several threads at once. */
void maildir_deliver_batch(struct maildir_item *items, size_t n, const char *host);

/* maildir_deliver_batch for a single message; err receives the item's
 * err. */
enum maildir_result maildir_deliver(const char *dir, const char *host, const char *unique,
                                    const char *sender, const char *rcpt, const char *body,
                                    size_t len, char *err, size_t errsize);

/* Removes the regular files of dir/tmp, dot files aside, that were
 * neither read nor written during the last max_age seconds (MAILDIR_TMP_MAX_AGE): the leftovers of
 * a deliverer that died between writing a file and linking it, ours or
 * another program's.  Each removal is logged.  Returns the number
 * removed, or -1 with errno set when dir/tmp cannot be read. */
int maildir_clean_tmp(const char *dir, time_t now, long max_age);

#endif
