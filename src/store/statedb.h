/* Opening <state_dir>/state.db, the one database every store module
 * shares: created owner-only, WAL, a busy timeout, safe across threads. */
#ifndef POSTERN_STATEDB_H
#define POSTERN_STATEDB_H

#include <sqlite3.h>
#include <stddef.h>

/* How long a writer waits for another process's transaction. */
#define STATEDB_BUSY_MS 5000

/* NULL with err when the directory, the file or WAL mode cannot be had. */
sqlite3 *statedb_open(const char *state_dir, char *err, size_t errsize);

#endif
