/* The queue database <state_dir>/queue/queue.db, shared by the spool
 * (SMTP workers), the queue manager and `postern queue`: opening it with
 * the same settings everywhere, its schema, and the few helpers all three
 * need (busy retries, body file paths). */
#ifndef POSTERN_QUEUE_DB_H
#define POSTERN_QUEUE_DB_H

#include "core/config.h"

#include <sqlite3.h>
#include <stddef.h>

/* Recipient states as stored in recipients.state. */
#define QUEUE_STATE_QUEUED "queued"
#define QUEUE_STATE_DEFERRED "deferred"
#define QUEUE_STATE_DELIVERED "delivered"
#define QUEUE_STATE_FAILED "failed"

/* Creates <state_dir>/queue and queue/body when needed, opens queue.db in
 * WAL mode with synchronous=FULL and a busy timeout, and creates the schema.
 * Returns NULL and fills err when that fails. */
sqlite3 *queue_db_open(const struct config *cfg, char *err, size_t errsize);
void queue_db_close(sqlite3 *db);

/* Writes <state_dir>/queue/body into out; then, for queue_db_body_path,
 * "/<id>".  Return 0, or -1 when out is too small. */
int queue_db_body_dir(const struct config *cfg, char *out, size_t outsize);
int queue_db_body_path(const struct config *cfg, const char *id, char *out, size_t outsize);

/* The queue's writers (each worker's committer, the queue manager) take
 * turns through an flock on <state_dir>/queue/write.lock around their write
 * transactions: a waiting writer wakes the moment the lock is free, where
 * SQLite's busy handler would sleep 1 ms and more, which at hundreds of
 * commits a second is most of the time.  Returns the lock's descriptor,
 * or -1 with err. */
int queue_db_lock_open(const struct config *cfg, char *err, size_t errsize);
void queue_db_lock(int fd);
void queue_db_unlock(int fd);

/* sqlite3_step that retries while the database stays busy beyond the busy
 * timeout (another process holding the write lock for long). */
int queue_db_step(sqlite3_stmt *st);
/* Runs one statement without results, with the same retries.  Returns the
 * SQLite result code (SQLITE_OK on success). */
int queue_db_exec(sqlite3 *db, const char *sql);
/* Prepares sql; a failure here is a programming error or a broken
 * database, so it ends the process. */
sqlite3_stmt *queue_db_prepare(sqlite3 *db, const char *sql);

#endif
