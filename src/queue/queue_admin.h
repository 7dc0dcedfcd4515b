/* What `postern queue list|show|delete|retry|hold|release` does: plain
 * SQLite work on the queue database, safe to run while the server is up. */
#ifndef POSTERN_QUEUE_ADMIN_H
#define POSTERN_QUEUE_ADMIN_H

#include "core/config.h"

#include <stdio.h>

/* Each returns 0 on success, 1 when the id is unknown, -1 on error
 * (message on stderr). */
int queue_admin_list(const struct config *cfg, FILE *out);
int queue_admin_show(const struct config *cfg, const char *id, FILE *out);
int queue_admin_delete(const struct config *cfg, const char *id, FILE *out);
/* Makes the queued and deferred recipients due now: those of id (every
 * message when NULL) whose address is at domain (any when NULL; the part
 * after the last '@', ASCII case-insensitive, no subdomains).  Recipients
 * of held messages are left alone and counted apart. */
int queue_admin_retry(const struct config *cfg, const char *id, const char *domain, FILE *out);
/* A held message is not delivered until released; an attempt already
 * under way when it is held still finishes.  Release makes the message's
 * queued and deferred recipients due now. */
int queue_admin_hold(const struct config *cfg, const char *id, FILE *out);
int queue_admin_release(const struct config *cfg, const char *id, FILE *out);

#endif
