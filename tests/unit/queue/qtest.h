/* Helpers shared by the queue tests: a configuration over a temporary
 * state directory, spooling messages through a real spool and event loop,
 * single-value queries, and a scripted fake LMTP server. */
#ifndef POSTERN_QTEST_H
#define POSTERN_QTEST_H

#include "core/config.h"
#include "queue/spool.h"

#include <pthread.h>
#include <stddef.h>

/* Loads the embedded defaults with state_dir set to a fresh temporary
 * directory, written to dir (at least 64 bytes). */
void qtest_config(struct config *cfg, char *dir);
/* Removes dir and everything under it. */
void qtest_rmtree(const char *dir);
/* Replaces a string field of cfg (the old value is freed). */
void qtest_set(char **field, const char *value);
/* Adds a local domain. */
void qtest_domain(struct config *cfg, const char *name, enum delivery_method m, const char *maildir,
                  const char *lmtp);

/* A message with a fresh id (or id when not NULL) and body. */
struct spool_msg *qtest_msg(struct spool *sp, const char *id, const char *sender,
                            const char *const *rcpts, size_t nrcpt, const char *body, size_t len);
/* Commits msgs through sp on base and runs the loop until every done
 * callback ran; errs[i] receives each err. */
void qtest_commit(struct spool *sp, struct event_base *base, struct spool_msg **msgs, size_t n,
                  int *errs);
/* Opens a spool, commits the messages described, closes it. */
void qtest_spool_one(const struct config *cfg, const char *sender, const char *const *rcpts,
                     size_t nrcpt, const char *body, size_t len, time_t arrival, char *id_out);

/* The first column of the first row of sql on the queue db, as an integer
 * (-1 when there is no row). */
long long qtest_int(const struct config *cfg, const char *sql);
/* The same as text, copied into out ("" when no row). */
void qtest_text(const struct config *cfg, const char *sql, char *out, size_t outsize);

/* Reads a whole file; returns its bytes (caller frees) and sets *len. */
char *qtest_read_file(const char *path, size_t *len);

/* A fake LMTP server on 127.0.0.1: answers RCPT for addresses starting
 * with "rej" with 550, everything else with 250; after the dot answers
 * "tmp..." recipients 452, others 250.  Records the DATA it received. */
struct fake_lmtp {
	int lfd;
	int port;
	pthread_t thread;
	int connections;
	char data[65536];
	size_t datalen;
	char log[8192]; /* commands received, one per line */
};
void fake_lmtp_start(struct fake_lmtp *f, int nconn);
void fake_lmtp_join(struct fake_lmtp *f);

#endif
