/* `postern queue list|show|delete|retry|hold|release`: queries and small
 * transactions on the queue database, safe beside a running queue manager
 * (WAL lets them read while it writes; writes take the lock like everyone
 * else). */
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
	                          "group_concat(DISTINCT r.state), m.held "
	                          "FROM messages m LEFT JOIN recipients r ON r.msg_id = m.id "
	                          "GROUP BY m.id ORDER BY m.arrival, m.id");
	/* The column is named HOLD so that `grep HELD` finds the held
	 * messages and not the heading. */
	fprintf(out, "%-16s %-20s %10s %5s %-4s %-18s %s\n", "ID", "ARRIVAL", "SIZE", "RCPTS",
	        "HOLD", "STATES", "SENDER");
	while ((rc = queue_db_step(st)) == SQLITE_ROW) {
		char when[32];
		format_time(sqlite3_column_int64(st, 1), when, sizeof(when));
		fprintf(out, "%-16s %-20s %10lld %5d %-4s %-18s <%s>\n", col(st, 0), when,
		        (long long)sqlite3_column_int64(st, 2), sqlite3_column_int(st, 4),
		        sqlite3_column_int(st, 6) ? "HELD" : "-", col(st, 5), col(st, 3));
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

/* Text that came from outside (a client's HELO and ENVID, a remote
 * server's name and reply) with control characters escaped, so that it
 * can neither break the one-line-per-field shape nor drive the terminal;
 * between quotes, '"' and '\' are escaped too. */
static void put_text(FILE *out, const char *s, int quoted)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else if (quoted && (*p == '"' || *p == '\\'))
			fprintf(out, "\\%c", *p);
		else
			fputc(*p, out);
	}
}

/* Returns 0, or -1 with the error on stderr. */
static int show_recipients(sqlite3 *db, const char *id, FILE *out)
{
	sqlite3_stmt *rs = queue_db_prepare(
	    db, "SELECT rcpt_index, addr, orcpt, state, attempts, next_attempt, last_reply, "
	        "last_attempt, remote, tls FROM recipients WHERE msg_id = ?1 ORDER BY rcpt_index");
	int rc;

	sqlite3_bind_text(rs, 1, id, -1, SQLITE_STATIC);
	while ((rc = queue_db_step(rs)) == SQLITE_ROW) {
		const char *state = col(rs, 3);
		char when[32];

		fprintf(out, "rcpt %d: <%s> orcpt=<%s> state=%s attempts=%d",
		        sqlite3_column_int(rs, 0), col(rs, 1), col(rs, 2), state,
		        sqlite3_column_int(rs, 4));
		/* A delivered or failed recipient is never tried again. */
		if (strcmp(state, QUEUE_STATE_QUEUED) == 0 ||
		    strcmp(state, QUEUE_STATE_DEFERRED) == 0) {
			format_time(sqlite3_column_int64(rs, 5), when, sizeof(when));
			fprintf(out, " next_attempt=%s", when);
		}
		if (sqlite3_column_type(rs, 7) != SQLITE_NULL) {
			format_time(sqlite3_column_int64(rs, 7), when, sizeof(when));
			fprintf(out, " last_attempt=%s", when);
		}
		if (sqlite3_column_type(rs, 8) != SQLITE_NULL) {
			fputs(" remote=", out);
			put_text(out, col(rs, 8), 0);
		}
		if (sqlite3_column_type(rs, 9) != SQLITE_NULL) {
			fputs(" tls=", out);
			put_text(out, col(rs, 9), 0);
		}
		if (sqlite3_column_type(rs, 6) != SQLITE_NULL) {
			fputs(" last_reply=\"", out);
			put_text(out, col(rs, 6), 1);
			fputc('"', out);
		}
		fputc('\n', out);
	}
	rc = rc == SQLITE_DONE ? 0 : db_error(db, "show");
	sqlite3_finalize(rs);
	return rc;
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
	        "body IS NULL, substr(body, 1, ?2), headers, held, envid, ret, sender_verified "
	        "FROM messages WHERE id = ?1");
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
	fprintf(out,
	        "id: %s\narrival: %s\nsize: %lld\nsender: <%s>\nclient_ip: %s\nhelo: ", col(st, 0),
	        when, (long long)sqlite3_column_int64(st, 6), col(st, 1), col(st, 2));
	put_text(out, col(st, 3), 0);
	fputc('\n', out);
	if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
		fputs("auth_user: ", out);
		put_text(out, col(st, 4), 0);
		fputc('\n', out);
	}
	fprintf(out, "held: %s\n", sqlite3_column_int(st, 10) ? "yes" : "no");
	/* RFC 3461 4.3 and 4.4: absent unless the client asked. */
	if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
		fputs("envid: ", out);
		put_text(out, col(st, 11), 0);
		fputc('\n', out);
	}
	if (sqlite3_column_type(st, 12) != SQLITE_NULL)
		fprintf(out, "ret: %s\n", col(st, 12));
	fprintf(out, "sender_verified: %s\n", sqlite3_column_int(st, 13) ? "yes" : "no");
	fprintf(out, "body: %s\n", sqlite3_column_int(st, 7) ? "file" : "inline");
	rc = show_recipients(db, id, out);

	fprintf(out, "\n");
	print_headers(out, sqlite3_column_blob(st, 9), (size_t)sqlite3_column_bytes(st, 9));
	if (sqlite3_column_int(st, 7))
		show_body_file(cfg, id, out);
	else
		print_headers(out, sqlite3_column_blob(st, 8), (size_t)sqlite3_column_bytes(st, 8));
	sqlite3_finalize(st);
	queue_db_close(db);
	return rc;
}

/* Runs the n statements (bound by the caller) in one transaction, under
 * the write lock every writer of the queue takes (queue_db.h); changed[i]
 * receives the rows statement i changed.  Returns 0, or -1 with the error
 * on stderr. */
static int write_tx(const struct config *cfg, sqlite3 *db, const char *what, sqlite3_stmt **st,
                    int *changed, size_t n)
{
	char err[512];
	int lock_fd = queue_db_lock_open(cfg, err, sizeof(err)), rc = 0;

	if (lock_fd < 0) {
		fprintf(stderr, "queue: %s\n", err);
		return -1;
	}
	queue_db_lock(lock_fd);
	if (queue_db_exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		rc = db_error(db, what);
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (queue_db_step(st[i]) == SQLITE_DONE)
			changed[i] = sqlite3_changes(db);
		else
			rc = db_error(db, what);
	}
	if (rc == 0 && queue_db_exec(db, "COMMIT") != SQLITE_OK)
		rc = db_error(db, what);
	if (rc < 0)
		queue_db_exec(db, "ROLLBACK");
out:
	queue_db_unlock(lock_fd);
	close(lock_fd);
	return rc;
}

static void finalize_all(sqlite3_stmt **st, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sqlite3_finalize(st[i]);
}

int queue_admin_delete(const struct config *cfg, const char *id, FILE *out)
{
	sqlite3 *db = admin_open(cfg);
	sqlite3_stmt *st[2];
	char path[PATH_MAX];
	int changed[2], rc;

	if (db == NULL)
		return -1;
	st[0] = queue_db_prepare(db, "DELETE FROM messages WHERE id = ?1");
	st[1] = queue_db_prepare(db, "DELETE FROM recipients WHERE msg_id = ?1");
	for (size_t i = 0; i < 2; i++)
		sqlite3_bind_text(st[i], 1, id, -1, SQLITE_STATIC);
	rc = write_tx(cfg, db, "delete", st, changed, 2);
	finalize_all(st, 2);
	queue_db_close(db);
	if (rc < 0)
		return -1;
	if (changed[0] == 0) {
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

/* The recipients retry picks: ?2 a message id or NULL, ?3 a domain or
 * NULL.  The address ends in "@" + domain exactly when the part after its
 * last '@' is the domain, as the domain has no '@' of its own. */
#define RETRY_WHERE                                                                                \
	"state IN ('queued', 'deferred') AND (?2 IS NULL OR msg_id = ?2) AND "                     \
	"(?3 IS NULL OR lower(substr(addr, -length(?3) - 1)) = '@' || lower(?3))"

/* Binds ?2 and ?3 of a RETRY_WHERE statement. */
static void bind_retry(sqlite3_stmt *st, const char *id, const char *domain)
{
	if (id)
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (domain)
		sqlite3_bind_text(st, 3, domain, -1, SQLITE_STATIC);
}

static int message_exists(sqlite3 *db, const char *id)
{
	sqlite3_stmt *ex = queue_db_prepare(db, "SELECT 1 FROM messages WHERE id = ?1");
	int found;

	sqlite3_bind_text(ex, 1, id, -1, SQLITE_STATIC);
	found = queue_db_step(ex) == SQLITE_ROW;
	sqlite3_finalize(ex);
	return found;
}

int queue_admin_retry(const struct config *cfg, const char *id, const char *domain, FILE *out)
{
	sqlite3 *db = admin_open(cfg);
	sqlite3_stmt *st, *held;
	int changed = 0, on_hold, rc;

	if (db == NULL)
		return -1;
	if (id && !message_exists(db, id)) {
		queue_db_close(db);
		fprintf(stderr, "queue: no message %s\n", id);
		return 1;
	}
	held = queue_db_prepare(db, "SELECT count(*) FROM recipients WHERE " RETRY_WHERE
	                            " AND msg_id IN (SELECT id FROM messages WHERE held != 0)");
	bind_retry(held, id, domain);
	on_hold = queue_db_step(held) == SQLITE_ROW ? sqlite3_column_int(held, 0) : 0;
	sqlite3_finalize(held);
	/* min(): a recipient already due keeps its place in the schedule. */
	st = queue_db_prepare(db, "UPDATE recipients SET next_attempt = min(next_attempt, ?1) "
	                          "WHERE " RETRY_WHERE
	                          " AND msg_id IN (SELECT id FROM messages WHERE held = 0)");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	bind_retry(st, id, domain);
	rc = write_tx(cfg, db, "retry", &st, &changed, 1);
	sqlite3_finalize(st);
	queue_db_close(db);
	if (rc < 0)
		return -1;
	fprintf(out, "%d recipient%s due now", changed, changed == 1 ? "" : "s");
	if (on_hold > 0)
		fprintf(out, " (%d of held messages not retried)", on_hold);
	fputc('\n', out);
	return 0;
}

int queue_admin_hold(const struct config *cfg, const char *id, FILE *out)
{
	sqlite3 *db = admin_open(cfg);
	sqlite3_stmt *st;
	int changed = 0, rc;

	if (db == NULL)
		return -1;
	st = queue_db_prepare(db, "UPDATE messages SET held = 1 WHERE id = ?1");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = write_tx(cfg, db, "hold", &st, &changed, 1);
	sqlite3_finalize(st);
	queue_db_close(db);
	if (rc < 0)
		return -1;
	if (changed == 0) {
		fprintf(stderr, "queue: no message %s\n", id);
		return 1;
	}
	fprintf(out, "held %s\n", id);
	return 0;
}

int queue_admin_release(const struct config *cfg, const char *id, FILE *out)
{
	sqlite3 *db = admin_open(cfg);
	sqlite3_stmt *st[2];
	int changed[2] = {0, 0}, rc;

	if (db == NULL)
		return -1;
	st[0] = queue_db_prepare(db, "UPDATE messages SET held = 0 WHERE id = ?1");
	/* Released, the message goes now, not at a retry time set before it
	 * was held (up to delivery.retry_max away). */
	st[1] = queue_db_prepare(db, "UPDATE recipients SET next_attempt = min(next_attempt, ?2) "
	                             "WHERE msg_id = ?1 AND state IN ('queued', 'deferred')");
	for (size_t i = 0; i < 2; i++)
		sqlite3_bind_text(st[i], 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st[1], 2, (sqlite3_int64)time(NULL));
	rc = write_tx(cfg, db, "release", st, changed, 2);
	finalize_all(st, 2);
	queue_db_close(db);
	if (rc < 0)
		return -1;
	if (changed[0] == 0) {
		fprintf(stderr, "queue: no message %s\n", id);
		return 1;
	}
	fprintf(out, "released %s, %d recipient%s due now\n", id, changed[1],
	        changed[1] == 1 ? "" : "s");
	return 0;
}
