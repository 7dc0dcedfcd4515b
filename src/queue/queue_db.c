/* Opens the queue database with the settings every process must share and
 * creates its schema. */
#include "core/fsutil.h"
#include "queue/queue_db.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

/* How long one statement waits for another process's write lock before
 * SQLite gives up with SQLITE_BUSY; queue_db_step then tries again. */
#define QUEUE_DB_BUSY_MS 5000
#define QUEUE_DB_BUSY_TRIES 12

/* Version 4.  messages.body holds bodies up to spool.inline_max and is NULL
 * when the body lives in body/<id>; messages.headers are the fields we add
 * at the end of DATA (Received, Authentication-Results, DKIM-Signature),
 * delivered in front of the body as it was received.  The DSN parameters
 * (RFC 3461 4): messages.envid (decoded; NULL: not given), messages.ret
 * (NULL, 'FULL' or 'HDRS'), recipients.notify (NULL, 'NEVER' or a list
 * such as 'FAILURE,DELAY'), recipients.dsn_orcpt ('rfc822;address',
 * decoded; NULL: not given).  messages.sender_verified: the envelope
 * sender is known to be genuine, so a bounce to it is no backscatter;
 * messages.is_dsn: a DSN we made, whose own failure is never reported;
 * messages.held: `postern queue hold`.  recipients.last_attempt, tls and
 * remote describe the last delivery attempt, delay_warned whether a
 * delayed DSN went out.  recipients.forwarded: the recipient is a remote
 * address we send on for a local one (an alias, or the original sender of
 * a bounce to an SRS address), whose envelope sender the delivery engine
 * rewrites by SRS.  recipients_due is the retry schedule: the queue
 * manager asks for (state, next_attempt <= now). */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS messages ("
    " id TEXT PRIMARY KEY,"
    " sender TEXT NOT NULL,"
    " client_ip TEXT NOT NULL,"
    " helo TEXT NOT NULL,"
    " auth_user TEXT,"
    " arrival INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " body BLOB,"
    " headers BLOB NOT NULL DEFAULT x'',"
    " envid TEXT,"
    " ret TEXT CHECK (ret IN ('FULL','HDRS')),"
    " sender_verified INTEGER NOT NULL DEFAULT 0,"
    " eightbit INTEGER NOT NULL DEFAULT 0,"
    " smtputf8 INTEGER NOT NULL DEFAULT 0,"
    " held INTEGER NOT NULL DEFAULT 0,"
    " is_dsn INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS recipients ("
    " msg_id TEXT NOT NULL,"
    " rcpt_index INTEGER NOT NULL,"
    " addr TEXT NOT NULL,"
    " orcpt TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('queued','deferred','delivered','failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt INTEGER NOT NULL,"
    " last_reply TEXT,"
    " notify TEXT,"
    " dsn_orcpt TEXT,"
    " last_attempt INTEGER,"
    " tls TEXT,"
    " remote TEXT,"
    " delay_warned INTEGER NOT NULL DEFAULT 0,"
    " forwarded INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (msg_id, rcpt_index));"
    "CREATE INDEX IF NOT EXISTS recipients_due ON recipients (state, next_attempt);"
    "PRAGMA user_version = 4;";

/* Version 1 had no headers column. */
static const char migrate_1[] = "ALTER TABLE messages ADD COLUMN headers BLOB NOT NULL DEFAULT x'';"
                                "PRAGMA user_version = 2;";

/* Version 2 had neither the DSN parameters nor the delivery engine's
 * columns; the messages and recipients already queued get the defaults
 * (no DSN asked for, sender not verified). */
static const char migrate_2[] =
    "ALTER TABLE messages ADD COLUMN envid TEXT;"
    "ALTER TABLE messages ADD COLUMN ret TEXT CHECK (ret IN ('FULL','HDRS'));"
    "ALTER TABLE messages ADD COLUMN sender_verified INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN eightbit INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN held INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN is_dsn INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE recipients ADD COLUMN notify TEXT;"
    "ALTER TABLE recipients ADD COLUMN dsn_orcpt TEXT;"
    "ALTER TABLE recipients ADD COLUMN last_attempt INTEGER;"
    "ALTER TABLE recipients ADD COLUMN tls TEXT;"
    "ALTER TABLE recipients ADD COLUMN remote TEXT;"
    "ALTER TABLE recipients ADD COLUMN delay_warned INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 3;";

/* Version 3 forwarded nothing: the recipients already queued are
 * delivered as they were addressed. */
static const char migrate_3[] =
    "ALTER TABLE recipients ADD COLUMN forwarded INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 4;";

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Migrates an older schema and creates what is missing, in one
 * transaction: every worker and the queue manager open the database at
 * the same moment, and the one that takes the write lock first migrates
 * while the others wait, then find the current version. */
static int set_up(sqlite3 *db)
{
	int rc = queue_db_exec(db, "BEGIN IMMEDIATE");
	int v;

	if (rc != SQLITE_OK)
		return rc;
	v = user_version(db);
	if (v == 1)
		rc = queue_db_exec(db, migrate_1);
	if (rc == SQLITE_OK && (v == 1 || v == 2))
		rc = queue_db_exec(db, migrate_2);
	if (rc == SQLITE_OK && v >= 1 && v <= 3)
		rc = queue_db_exec(db, migrate_3);
	if (rc == SQLITE_OK)
		rc = queue_db_exec(db, schema);
	if (rc == SQLITE_OK)
		return queue_db_exec(db, "COMMIT");
	queue_db_exec(db, "ROLLBACK");
	return rc;
}

int queue_db_body_dir(const struct config *cfg, char *out, size_t outsize)
{
	int n = snprintf(out, outsize, "%s/queue/body", cfg->state_dir);
	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

int queue_db_body_path(const struct config *cfg, const char *id, char *out, size_t outsize)
{
	int n = snprintf(out, outsize, "%s/queue/body/%s", cfg->state_dir, id);
	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

sqlite3 *queue_db_open(const struct config *cfg, char *err, size_t errsize)
{
	char dir[PATH_MAX], path[PATH_MAX];
	sqlite3 *db = NULL;
	int n;

	if (queue_db_body_dir(cfg, dir, sizeof(dir)) < 0) {
		snprintf(err, errsize, "state_dir is too long");
		return NULL;
	}
	/* 0700: the queue holds other people's mail. */
	if (fs_mkdir_p(dir, 0700) < 0) {
		snprintf(err, errsize, "cannot create %s: %s", dir, strerror(errno));
		return NULL;
	}
	n = snprintf(path, sizeof(path), "%s/queue/queue.db", cfg->state_dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errsize, "state_dir is too long");
		return NULL;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errsize, "cannot open %s: %s", path,
		         db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, QUEUE_DB_BUSY_MS);
	/* WAL lets `postern queue` and the queue manager read while a worker
	 * commits; FULL makes every COMMIT durable, which is what the 250 after
	 * a spool commit promises. */
	if (queue_db_exec(db, "PRAGMA journal_mode=WAL") != SQLITE_OK ||
	    queue_db_exec(db, "PRAGMA synchronous=FULL") != SQLITE_OK || set_up(db) != SQLITE_OK) {
		snprintf(err, errsize, "cannot set up %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

void queue_db_close(sqlite3 *db)
{
	sqlite3_close(db);
}

int queue_db_lock_open(const struct config *cfg, char *err, size_t errsize)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/queue/write.lock", cfg->state_dir);
	int fd;

	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errsize, "state_dir is too long");
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

void queue_db_lock(int fd)
{
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			fatal("queue: cannot lock write.lock: %s", strerror(errno));
}

void queue_db_unlock(int fd)
{
	flock(fd, LOCK_UN);
}

static void busy_pause(int attempt)
{
	struct timespec ts = {0, 10000000L * (attempt + 1)};
	nanosleep(&ts, NULL);
}

int queue_db_step(sqlite3_stmt *st)
{
	for (int i = 0;; i++) {
		int rc = sqlite3_step(st);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || i + 1 >= QUEUE_DB_BUSY_TRIES)
			return rc;
		log_warn("event=queue_db_busy attempt=%d", i + 1);
		sqlite3_reset(st);
		busy_pause(i);
	}
}

int queue_db_exec(sqlite3 *db, const char *sql)
{
	for (int i = 0;; i++) {
		int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || i + 1 >= QUEUE_DB_BUSY_TRIES)
			return rc;
		log_warn("event=queue_db_busy attempt=%d", i + 1);
		busy_pause(i);
	}
}

sqlite3_stmt *queue_db_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		fatal("queue db: cannot prepare \"%s\": %s", sql, sqlite3_errmsg(db));
	return st;
}
