/* What `postern queue list|show|delete|retry` does: plain SQLite work on
 * the queue database, safe to run while the server is up. */
#ifndef POSTERN_QUEUE_ADMIN_H
#define POSTERN_QUEUE_ADMIN_H

#include "core/config.h"

#include <stdio.h>

/* Each returns 0 on success, 1 when the id is unknown, -1 on error
 * (message on stderr). */
int queue_admin_list(const struct config *cfg, FILE *out);
int queue_admin_show(const struct config *cfg, const char *id, FILE *out);
int queue_admin_delete(const struct config *cfg, const char *id, FILE *out);
/* Makes every deferred recipient of id (or of all messages when id is NULL)
 * due now. */
int queue_admin_retry(const struct config *cfg, const char *id, FILE *out);

#endif
