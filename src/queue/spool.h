/* The durable queue, SMTP-worker side.  A message is acknowledged only
 * after its body, envelope and per-recipient state are on disk.  Commits
 * are grouped: one committer thread per process folds every message that
 * finished meanwhile into one SQLite transaction (WAL, synchronous=FULL),
 * so many messages share one sync.  No sync ever runs on the event loop.
 *
 * Layout under <state_dir>/queue/: queue.db (envelopes, recipients, bodies
 * up to spool.inline_max), body/<id> for larger bodies (written while DATA
 * streams in, fsynced by the committer before the transaction naming it). */
#ifndef POSTERN_SPOOL_H
#define POSTERN_SPOOL_H

#include "core/config.h"
#include "core/id.h"
#include "smtp/cmd.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct spool;
struct spool_body;

struct spool_rcpt {
	char *addr;  /* where it is delivered: "local@domain" */
	char *orcpt; /* as the client gave it (before postmaster/abuse mapping) */
	/* DSN (RFC 3461): NOTIFY= as DSN_NOTIFY_* bits (0: not given), stored
	 * as its normalised list; ORCPT= as "rfc822;address" (NULL: not
	 * given). */
	unsigned notify;
	char *dsn_orcpt;
	/* addr is remote and stands for a local address (an alias, or the
	 * original sender of a bounce to an SRS address): the delivery engine
	 * sends it with the envelope sender rewritten by SRS. */
	int forwarded;
};

struct spool_msg {
	char id[ID_LEN + 1];
	char *sender; /* "" for the null reverse-path */
	struct spool_rcpt *rcpts;
	size_t nrcpt;
	char *client_ip;
	char *helo;
	char *auth_user; /* NULL when not authenticated */
	time_t arrival;
	char *envid;      /* DSN ENVID=, decoded; NULL when not given */
	enum dsn_ret ret; /* DSN RET= */
	int eightbit;     /* BODY=8BITMIME */
	int smtputf8;     /* SMTPUTF8 */
	/* The envelope sender is known to be genuine, so that a bounce to it
	 * is no backscatter (decided at the end of DATA by the session). */
	int sender_verified;
	int is_dsn; /* a DSN we made: its own failure is never reported */
	/* Fields put in front of the body at delivery (ours: trace and
	 * authentication results), CRLF lines; NULL: none. */
	char *headers;
	size_t headers_len;
	struct spool_body *body; /* owned; consumed by spool_commit */
};

/* Opens (creating when needed) the queue under cfg->state_dir and starts
 * the committer thread.  notify_fd: written one byte after each commit so
 * the queue manager wakes up (-1: none).  Returns NULL and fills err. */
struct spool *spool_open(const struct config *cfg, struct event_base *base, int notify_fd,
                         char *err, size_t errsize);
void spool_close(struct spool *sp);

/* Body storage while DATA streams in: memory up to inline_max, then a file
 * under body/ (plain writes, synced later by the committer). */
struct spool_body *spool_body_new(struct spool *sp, const char *id);
/* Returns 0, or -1 on an I/O error (disk full): the caller answers 452. */
int spool_body_write(struct spool_body *b, const void *p, size_t n);
uint64_t spool_body_size(const struct spool_body *b);
/* The bytes written so far, for reading them back away from the event
 * loop (ARC sealing a whole message): *fd, a new descriptor of the body's
 * file open for reading (-1 when the body is in memory), holds the first
 * *file_len bytes, and *tail, a copy for the caller to free, the *tail_len
 * bytes after them still in memory.  The descriptor stays valid when the
 * body is discarded meanwhile.  Returns 0, or -1 when a write failed or
 * the file cannot be opened. */
int spool_body_reader(const struct spool_body *b, int *fd, uint64_t *file_len, char **tail,
                      size_t *tail_len);
void spool_body_discard(struct spool_body *b);

/* Called with err == 0 once the message is durable, or err != 0 when it
 * could not be stored (the caller answers 451).  Runs on the thread of the
 * event base given to spool_open. */
typedef void (*spool_done_fn)(void *arg, int err);

/* Takes ownership of msg (and its body) whatever happens. */
void spool_commit(struct spool *sp, struct spool_msg *msg, spool_done_fn done, void *arg);

void spool_msg_free(struct spool_msg *msg);

#endif
