/* `postern queue list|show|delete|retry`: queries and small transactions
 * on the queue database, safe beside a running queue manager (WAL lets
 * them read while it writes; writes take the lock like everyone else). */
#include "queue/queue_admin.h"
#include "queue/queue_db.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* show prints at most this much of the header section. */
#define ADMIN_HEADERS_MAX (64 * 1024)

static sqlite3 *admin_open(const struct config *cfg)
{
	char err[512];
	sqlite3 *db = queue_db_open(cfg, err, sizeof(err));

	if (db == NULL)
		fprintf(stderr, "queue: %s\n", err);
	return db;
}

static int db_error(sqlite3 *db, const char *what)
{
	fprintf(stderr, "queue: %s: %s\n", what, sqlite3_errmsg(db));
	return -1;
}

static void format_time(long long t, char *out, size_t outsize)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outsize, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsize, "%lld", t);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

int queue_admin_list(const struct config *cfg, FILE *out)
{
	sqlite3 *db = admin_open(cfg);
	sqlite3_stmt *st;
	int rc;

	if (db == NULL)
		return -1;
	st = queue_db_prepare(db, "SELECT m.id, m.arrival, m.size, m.sender, count(r.rcpt_index), "
	                          "group_concat(DISTINCT r.state) "
	                          "FROM messages m LEFT JOIN recipients r ON r.msg_id = m.id "
	                          "GROUP BY m.id ORDER BY m.arrival, m.id");
	fprintf(out, "%-16s %-20s %10s %5s %-18s %s\n", "ID", "ARRIVAL", "SIZE", "RCPTS", "STATES",
	        "SENDER");
	while ((rc = queue_db_step(st)) == SQLITE_ROW) {
		char when[32];
		format_time(sqlite3_column_int64(st, 1), when, sizeof(when));
		fprintf(out, "%-16s %-20s %10lld %5d %-18s <%s>\n", col(st, 0), when,
		        (long long)sqlite3_column_int64(st, 2), sqlite3_column_int(st, 4),
		        col(st, 5), col(st, 3));
	}
	if (rc != SQLITE_DONE)
		rc = db_error(db, "list");
	else
		rc = 0;
	sqlite3_finalize(st);
	queue_db_close(db);
	return rc;
}

/* Prints the header section of the body: everything before the first empty
 * line, with CRLF written as the local newline. */
static void print_headers(FILE *out, const char *p, size_t len)
{
	size_t line_start = 0;

	if (len > ADMIN_HEADERS_MAX)
		len = ADMIN_HEADERS_MAX;
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		size_t end = i > line_start && p[i - 1] == '\r' ? i - 1 : i;
		if (end == line_start)
			return;
		fprintf(out, "%.*s\n", (int)(end - line_start), p + line_start);
		line_start = i + 1;
	}
}

static void show_body_file(const struct config *cfg, const char *id, FILE *out)
{
	char path[PATH_MAX], *buf;
	ssize_t n;
	int fd;

	if (queue_db_body_path(cfg, id, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(out, "(body file unreadable: %s)\n", strerror(errno));
		return;
	}
	buf = xmalloc(ADMIN_HEADERS_MAX);
	n = read(fd, buf, ADMIN_HEADERS_MAX);
	if (n < 0)
		fprintf(out, "(body file unreadable: %s)\n", strerror(errno));
	else
		print_headers(out, buf, (size_t)n);
	free(buf);
	close(fd);
}

int queue_admin_show(const struct config *cfg, const char *id, FILE *out)
{
	sqlite3 *db = admin_open(cfg);
	sqlite3_stmt *st;
	int rc;

	if (db == NULL)
		return -1;
	st = queue_db_prepare(
	    db, "SELECT id, sender, client_ip, helo, auth_user, arrival, size, "
	        "body IS NULL, substr(body, 1, ?2), headers FROM messages WHERE id = ?1");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ADMIN_HEADERS_MAX);
	rc = queue_db_step(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			fprintf(stderr, "queue: no message %s\n", id);
		rc = rc == SQLITE_DONE ? 1 : db_error(db, "show");
		sqlite3_finalize(st);
		queue_db_close(db);
		return rc;
	}
	char when[32];
	format_time(sqlite3_column_int64(st, 5), when, sizeof(when));
	fprintf(out, "id: %s\narrival: %s\nsize: %lld\nsender: <%s>\nclient_ip: %s\nhelo: %s\n",
	        col(st, 0), when, (long long)sqlite3_column_int64(st, 6), col(st, 1), col(st, 2),
	        col(st, 3));
	if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		fprintf(out, "auth_user: %s\n", col(st, 4));
	fprintf(out, "body: %s\n", sqlite3_column_int(st, 7) ? "file" : "inline");

	sqlite3_stmt *rs = queue_db_prepare(db, "SELECT rcpt_index, addr, orcpt, state, attempts, "
	                                        "next_attempt, last_reply FROM recipients "
	                                        "WHERE msg_id = ?1 ORDER BY rcpt_index");
	sqlite3_bind_text(rs, 1, id, -1, SQLITE_STATIC);
	while ((rc = queue_db_step(rs)) == SQLITE_ROW) {
		char next[32];
		format_time(sqlite3_column_int64(rs, 5), next, sizeof(next));
		fprintf(out, "rcpt %d: <%s> orcpt=<%s> state=%s attempts=%d next_attempt=%s",
		        sqlite3_column_int(rs, 0), col(rs, 1), col(rs, 2), col(rs, 3),
		        sqlite3_column_int(rs, 4), next);
		if (sqlite3_column_type(rs, 6) != SQLITE_NULL)
			fprintf(out, " last_reply=\"%s\"", col(rs, 6));
		fputc('\n', out);
	}
	sqlite3_finalize(rs);

	fprintf(out, "\n");
	print_headers(out, sqlite3_column_blob(st, 9), (size_t)sqlite3_column_bytes(st, 9));
	if (sqlite3_column_int(st, 7))
		show_body_file(cfg, id, out);
	else
		print_headers(out, sqlite3_column_blob(st, 8), (size_t)sqlite3_column_bytes(st, 8));
	rc = rc == SQLITE_DONE ? 0 : db_error(db, "show");
	sqlite3_finalize(st);
	queue_db_close(db);
	return rc;
}

/* Runs st (bound by the caller) inside BEGIN IMMEDIATE ... COMMIT.
 * Returns the rows it changed, or -1. */
static int in_transaction(sqlite3 *db, sqlite3_stmt *st, sqlite3_stmt *st2)
{
	int changed;

	if (queue_db_exec(db, "BEGIN IMMEDIATE") != SQLITE_OK)
		return -1;
	if (queue_db_step(st) != SQLITE_DONE) {
		queue_db_exec(db, "ROLLBACK");
		return -1;
	}
	changed = sqlite3_changes(db);
	if (st2 && queue_db_step(st2) != SQLITE_DONE) {
		queue_db_exec(db, "ROLLBACK");
		return -1;
	}
	if (queue_db_exec(db, "COMMIT") != SQLITE_OK) {
		queue_db_exec(db, "ROLLBACK");
		return -1;
	}
	return changed;
}

int queue_admin_delete(const struct config *cfg, const char *id, FILE *out)
{
	sqlite3 *db = admin_open(cfg);
	sqlite3_stmt *dm, *dr;
	char path[PATH_MAX];
	int changed;

	if (db == NULL)
		return -1;
	dm = queue_db_prepare(db, "DELETE FROM messages WHERE id = ?1");
	dr = queue_db_prepare(db, "DELETE FROM recipients WHERE msg_id = ?1");
	sqlite3_bind_text(dm, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(dr, 1, id, -1, SQLITE_STATIC);
	changed = in_transaction(db, dm, dr);
	if (changed < 0)
		db_error(db, "delete");
	sqlite3_finalize(dm);
	sqlite3_finalize(dr);
	queue_db_close(db);
	if (changed < 0)
		return -1;
	if (changed == 0) {
		fprintf(stderr, "queue: no message %s\n", id);
		return 1;
	}
	/* After the commit, as the queue manager does: a crash in between
	 * leaves a stray file, never a row without its body. */
	if (queue_db_body_path(cfg, id, path, sizeof(path)) == 0)
		unlink(path);
	fprintf(out, "deleted %s\n", id);
	return 0;
}

int queue_admin_retry(const struct config *cfg, const char *id, FILE *out)
{
	sqlite3 *db = admin_open(cfg);
	sqlite3_stmt *st;
	int changed, known = 1;

	if (db == NULL)
		return -1;
	if (id) {
		sqlite3_stmt *ex = queue_db_prepare(db, "SELECT 1 FROM messages WHERE id = ?1");
		sqlite3_bind_text(ex, 1, id, -1, SQLITE_STATIC);
		known = queue_db_step(ex) == SQLITE_ROW;
		sqlite3_finalize(ex);
	}
	if (!known) {
		queue_db_close(db);
		fprintf(stderr, "queue: no message %s\n", id);
		return 1;
	}
	st = queue_db_prepare(db, "UPDATE recipients SET next_attempt = ?1 "
	                          "WHERE state = 'deferred' AND (?2 IS NULL OR msg_id = ?2)");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	if (id)
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	changed = in_transaction(db, st, NULL);
	if (changed < 0)
		db_error(db, "retry");
	sqlite3_finalize(st);
	queue_db_close(db);
	if (changed < 0)
		return -1;
	fprintf(out, "%d recipient%s due now\n", changed, changed == 1 ? "" : "s");
	return 0;
}
