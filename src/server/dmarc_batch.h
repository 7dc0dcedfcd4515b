/* The DMARC observations of one worker, gathered in memory and written to
 * the state database in one transaction every DMARC_BATCH_SECONDS on a
 * pool thread, so that no session waits for SQLite.  A worker that dies
 * loses at most that many seconds of report counts, never mail. */
#ifndef POSTERN_DMARC_BATCH_H
#define POSTERN_DMARC_BATCH_H

#include "store/dmarc_store.h"

#define DMARC_BATCH_SECONDS 30

struct config;
struct event_base;
struct pool;
struct dmarc_batch;

/* NULL with err when the state database cannot be opened. */
struct dmarc_batch *dmarc_batch_new(const struct config *cfg, struct event_base *base,
                                    struct pool *pool, char *err, size_t errsize);
/* Keeps a copy of o (its strings included). */
void dmarc_batch_add(struct dmarc_batch *b, const struct dmarc_obs *o);
/* Writes what is pending, here and now (the worker is exiting), and frees b. */
void dmarc_batch_free(struct dmarc_batch *b);

#endif
