/* The queue manager's statements on queue.db.  Delivery is at least once: a
 * recipient stays queued or deferred until its outcome is committed here,
 * so a crash between delivery and commit repeats a delivery, never drops
 * one. */
#include "queue/qstore.h"
#include "queue/queue_db.h"
#include "queue/sweep.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct qstore {
	const struct config *cfg;
	sqlite3 *db;
	int lock_fd; /* queue/write.lock, shared with the workers' committers */
	sqlite3_stmt *st_due, *st_msg, *st_update, *st_pending, *st_del_rcpt, *st_del_msg;
	sqlite3_stmt *st_begin, *st_commit, *st_rollback;
};

struct qstore *qstore_open(const struct config *cfg, char *err, size_t errsize)
{
	struct qstore *s = xcalloc(1, sizeof(*s));

	s->cfg = cfg;
	s->lock_fd = -1;
	s->db = queue_db_open(cfg, err, errsize);
	if (s->db == NULL || (s->lock_fd = queue_db_lock_open(cfg, err, errsize)) < 0) {
		qstore_close(s);
		return NULL;
	}
	/* Our own commits need no sync: losing the last of them to a power
	 * failure only repeats a delivery, and the next worker commit
	 * (synchronous=FULL) syncs them anyway.  The disk's syncs are left to
	 * the acknowledgements that wait on them. */
	queue_db_exec(s->db, "PRAGMA synchronous=NORMAL");
	s->st_due = queue_db_prepare(
	    s->db, "SELECT r.msg_id, r.rcpt_index, r.addr, r.orcpt, r.notify, r.dsn_orcpt, "
	           "r.attempts, r.delay_warned, m.arrival, m.size, r.forwarded "
	           "FROM recipients r JOIN messages m ON m.id = r.msg_id "
	           "WHERE r.state IN ('queued', 'deferred') AND r.next_attempt <= ?1 "
	           "AND m.held = 0 AND r.msg_id > ?2 "
	           "ORDER BY r.msg_id, r.rcpt_index LIMIT ?3");
	s->st_msg = queue_db_prepare(
	    s->db, "SELECT sender, envid, ret, auth_user, client_ip, eightbit, smtputf8, "
	           "sender_verified, is_dsn, arrival, body, headers FROM messages WHERE id = ?1");
	s->st_update = queue_db_prepare(
	    s->db, "UPDATE recipients SET state = ?1, attempts = ?2, next_attempt = ?3, "
	           "last_reply = ?4, last_attempt = ?5, remote = ?6, tls = ?7, delay_warned = ?8 "
	           "WHERE msg_id = ?9 AND rcpt_index = ?10");
	s->st_pending =
	    queue_db_prepare(s->db, "SELECT EXISTS (SELECT 1 FROM recipients "
	                            "WHERE msg_id = ?1 AND state IN ('queued', 'deferred'))");
	s->st_del_rcpt = queue_db_prepare(s->db, "DELETE FROM recipients WHERE msg_id = ?1");
	s->st_del_msg = queue_db_prepare(s->db, "DELETE FROM messages WHERE id = ?1");
	s->st_begin = queue_db_prepare(s->db, "BEGIN IMMEDIATE");
	s->st_commit = queue_db_prepare(s->db, "COMMIT");
	s->st_rollback = queue_db_prepare(s->db, "ROLLBACK");
	return s;
}

void qstore_close(struct qstore *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->st_due);
	sqlite3_finalize(s->st_msg);
	sqlite3_finalize(s->st_update);
	sqlite3_finalize(s->st_pending);
	sqlite3_finalize(s->st_del_rcpt);
	sqlite3_finalize(s->st_del_msg);
	sqlite3_finalize(s->st_begin);
	sqlite3_finalize(s->st_commit);
	sqlite3_finalize(s->st_rollback);
	queue_db_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
}

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);
	return v ? xstrdup((const char *)v) : NULL;
}

static void column_id(sqlite3_stmt *st, int i, char out[ID_LEN + 1])
{
	const unsigned char *v = sqlite3_column_text(st, i);
	snprintf(out, ID_LEN + 1, "%s", v ? (const char *)v : "");
}

long qstore_due(struct qstore *s, time_t now, const char *after, struct qstore_row *rows,
                size_t max)
{
	sqlite3_stmt *st = s->st_due;
	size_t n = 0;
	int rc = SQLITE_DONE;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	sqlite3_bind_text(st, 2, after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while (n < max && (rc = queue_db_step(st)) == SQLITE_ROW) {
		struct qstore_row *r = &rows[n++];
		column_id(st, 0, r->msg_id);
		r->idx = sqlite3_column_int64(st, 1);
		r->addr = column_dup(st, 2);
		r->orcpt = column_dup(st, 3);
		r->notify = column_dup(st, 4);
		r->dsn_orcpt = column_dup(st, 5);
		r->attempts = sqlite3_column_int(st, 6);
		r->delay_warned = sqlite3_column_int(st, 7);
		r->arrival = sqlite3_column_int64(st, 8);
		r->size = sqlite3_column_int64(st, 9);
		r->forwarded = sqlite3_column_int(st, 10);
		if (r->addr == NULL)
			r->addr = xstrdup("");
	}
	sqlite3_reset(st);
	if (n < max && rc != SQLITE_DONE) {
		log_err("event=qmgr_select_error error=\"%s\"", sqlite3_errmsg(s->db));
		for (size_t i = 0; i < n; i++)
			qstore_row_clear(&rows[i]);
		return -1;
	}
	return (long)n;
}

void qstore_row_clear(struct qstore_row *r)
{
	free(r->addr);
	free(r->orcpt);
	free(r->notify);
	free(r->dsn_orcpt);
	memset(r, 0, sizeof(*r));
}

/* Reads the file at path into m->data after prefix[0..plen). */
static int read_body_file(const char *path, const void *prefix, size_t plen, struct qstore_msg *m)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	m->data = xmalloc(plen + (size_t)st.st_size + 1);
	if (plen)
		memcpy(m->data, prefix, plen);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, m->data + plen + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	m->len = plen + got;
	return got == (size_t)st.st_size ? 0 : -1;
}

int qstore_load(struct qstore *s, const char *id, struct qstore_msg *m)
{
	sqlite3_stmt *st = s->st_msg;
	int rc;

	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", id);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = queue_db_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			log_err("event=qmgr_select_error queue_id=%s error=\"%s\"", id,
			        sqlite3_errmsg(s->db));
		return rc == SQLITE_DONE ? 1 : -1;
	}
	m->sender = column_dup(st, 0);
	if (m->sender == NULL)
		m->sender = xstrdup("");
	m->envid = column_dup(st, 1);
	m->ret = column_dup(st, 2);
	m->auth_user = column_dup(st, 3);
	m->client_ip = column_dup(st, 4);
	m->eightbit = sqlite3_column_int(st, 5);
	m->smtputf8 = sqlite3_column_int(st, 6);
	m->sender_verified = sqlite3_column_int(st, 7);
	m->is_dsn = sqlite3_column_int(st, 8);
	m->arrival = sqlite3_column_int64(st, 9);
	const void *headers = sqlite3_column_blob(st, 11);
	m->hlen = (size_t)sqlite3_column_bytes(st, 11);
	rc = 0;
	if (sqlite3_column_type(st, 10) == SQLITE_NULL) {
		char path[PATH_MAX] = "";
		m->body_in_file = 1;
		if (queue_db_body_path(s->cfg, id, path, sizeof(path)) < 0 ||
		    read_body_file(path, headers, m->hlen, m) < 0) {
			log_err("event=body_unreadable queue_id=%s path=%s error=\"%s\"", id, path,
			        strerror(errno));
			rc = -1;
		}
	} else {
		size_t blen = (size_t)sqlite3_column_bytes(st, 10);
		m->len = m->hlen + blen;
		m->data = xmalloc(m->len + 1);
		if (m->hlen)
			memcpy(m->data, headers, m->hlen);
		if (blen)
			memcpy(m->data + m->hlen, sqlite3_column_blob(st, 10), blen);
	}
	sqlite3_reset(st);
	if (rc < 0)
		qstore_msg_clear(m);
	return rc;
}

void qstore_msg_clear(struct qstore_msg *m)
{
	free(m->sender);
	free(m->envid);
	free(m->ret);
	free(m->auth_user);
	free(m->client_ip);
	free(m->data);
	memset(m, 0, sizeof(*m));
}

static int step_done(sqlite3_stmt *st)
{
	int rc = queue_db_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Removes the message when none of its recipients is left to deliver.
 * Returns 1 when it was removed, 0 when not, -1 on error. */
static int finish_message(struct qstore *s, const char *id)
{
	int rc, pending;

	sqlite3_bind_text(s->st_pending, 1, id, -1, SQLITE_STATIC);
	rc = queue_db_step(s->st_pending);
	pending = rc == SQLITE_ROW && sqlite3_column_int(s->st_pending, 0);
	sqlite3_reset(s->st_pending);
	if (rc != SQLITE_ROW)
		return -1;
	if (pending)
		return 0;
	sqlite3_bind_text(s->st_del_rcpt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->st_del_msg, 1, id, -1, SQLITE_STATIC);
	if (step_done(s->st_del_rcpt) < 0 || step_done(s->st_del_msg) < 0)
		return -1;
	return 1;
}

static int update(struct qstore *s, const struct qstore_outcome *o)
{
	sqlite3_stmt *st = s->st_update;

	sqlite3_bind_text(st, 1, o->state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, o->attempts);
	sqlite3_bind_int64(st, 3, o->next_attempt);
	bind_text_or_null(st, 4, o->reply);
	sqlite3_bind_int64(st, 5, o->last_attempt);
	bind_text_or_null(st, 6, o->remote);
	bind_text_or_null(st, 7, o->tls);
	sqlite3_bind_int(st, 8, o->delay_warned);
	sqlite3_bind_text(st, 9, o->msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, o->idx);
	return step_done(st);
}

int qstore_record(struct qstore *s, const struct qstore_outcome *o, size_t n)
{
	char *removed = xcalloc(n ? n : 1, 1);
	int rc;

	queue_db_lock(s->lock_fd);
	rc = step_done(s->st_begin);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = update(s, &o[i]);
		/* The outcomes of one message are adjacent: check it after its
		 * last. */
		if (rc == 0 && (i + 1 == n || strcmp(o[i + 1].msg_id, o[i].msg_id) != 0)) {
			int f = finish_message(s, o[i].msg_id);
			if (f < 0)
				rc = -1;
			removed[i] = f == 1;
		}
	}
	if (rc == 0)
		rc = step_done(s->st_commit);
	if (rc < 0) {
		log_err("event=qmgr_record_error outcomes=%zu error=\"%s\"", n,
		        sqlite3_errmsg(s->db));
		step_done(s->st_rollback);
	}
	queue_db_unlock(s->lock_fd);
	/* Body files go after the commit: a crash in between leaves a stray
	 * file for the sweep, never a row without its body. */
	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[PATH_MAX];
		if (!removed[i])
			continue;
		log_info("event=removed queue_id=%s", o[i].msg_id);
		if (o[i].body_in_file &&
		    queue_db_body_path(s->cfg, o[i].msg_id, path, sizeof(path)) == 0 &&
		    unlink(path) < 0 && errno != ENOENT)
			log_warn("event=body_unlink_error queue_id=%s error=\"%s\"", o[i].msg_id,
			         strerror(errno));
	}
	free(removed);
	return rc;
}

void qstore_sweep(struct qstore *s, time_t now, long min_age)
{
	queue_sweep_bodies(s->cfg, s->db, now, min_age);
}
