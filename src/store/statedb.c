/* The state database's connection settings, in one place. */
#include "store/statedb.h"
#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int set_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	/* The pragma answers with the mode in force, which stays "delete"
	 * when WAL cannot be used (e.g. on a network file system). */
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		ok = mode != NULL && strcasecmp(mode, "wal") == 0;
	}
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

sqlite3 *statedb_open(const char *state_dir, char *err, size_t errsize)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;

	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsize, "cannot create %s: %s", state_dir, strerror(errno));
		return NULL;
	}
	if (snprintf(path, sizeof(path), "%s/state.db", state_dir) >= (int)sizeof(path)) {
		snprintf(err, errsize, "state_dir too long: %s", state_dir);
		return NULL;
	}
	if (sqlite3_open_v2(path, &db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errsize, "cannot open %s: %s", path,
		         db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	/* It holds password hashes: owner only, whatever the umask or the
	 * mode of an existing state_dir.  SQLite gives the -wal and -shm files
	 * the database's mode, so this must come before WAL is enabled. */
	if (chmod(path, 0600) < 0)
		log_warn("event=statedb_chmod path=%s error=\"%s\"", path, strerror(errno));
	sqlite3_busy_timeout(db, STATEDB_BUSY_MS);
	if (set_wal(db) < 0) {
		snprintf(err, errsize, "cannot use WAL for %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}
