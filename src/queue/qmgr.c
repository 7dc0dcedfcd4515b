/* The queue manager: a single process that repeatedly picks the due
 * recipients, delivers them message by message, and records the outcomes
 * in batched transactions.  Delivery is at-least-once: a recipient stays
 * queued or deferred until its outcome is committed, so a crash between
 * delivery and commit means it is delivered again, never dropped. */
#include "queue/qmgr.h"
#include "queue/lmtp.h"
#include "queue/maildir.h"
#include "queue/queue_db.h"
#include "queue/sweep.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* "<address>" as logged: a path (RFC 5321 4.5.3.1.3) with room to spare. */
#define QMGR_LOG_PATH_MAX 512

/* Due recipients read per pass: bounds the memory of one pass. */
#define QMGR_PASS_MAX 512
/* Outcomes are committed once this many are pending, or after
 * QMGR_FLUSH_MS, whichever comes first: one transaction per recipient
 * would cap discard and fast Maildir delivery at the disk's sync rate,
 * while waiting longer widens the window for re-delivery after a crash. */
#define QMGR_FLUSH_MAX 512
#define QMGR_FLUSH_MS 1000
/* How long to sleep when nothing wakes us: retries become due on their
 * own, without a notification. */
#define QMGR_IDLE_MS 1000
/* How often orphaned body files are looked for. */
#define QMGR_SWEEP_INTERVAL 3600

enum outcome_kind { OUT_DELIVERED, OUT_TEMP, OUT_PERM };

struct due {
	char *msg_id;
	long long idx;
	char *addr;
	int attempts;
	char *sender;
	long long arrival;
};

struct outcome {
	char *msg_id;
	long long idx;
	const char *state;
	int attempts;
	long long next_attempt;
	char *reply;
	int body_in_file; /* remove body/<id> when the message is finished */
};

struct qmgr {
	const struct config *cfg;
	sqlite3 *db;
	sqlite3_stmt *st_due, *st_body, *st_update, *st_pending, *st_del_rcpt, *st_del_msg;
	sqlite3_stmt *st_begin, *st_commit, *st_rollback;
	int lock_fd; /* queue/write.lock, shared with the workers' committers */
	struct outcome *out;
	size_t nout;
	long long first_out_ms; /* when the oldest unflushed outcome was made */
	int flush_failed;
};

struct body {
	char *data;
	size_t len;
	int in_file;
};

static long long now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* retry_min doubled per attempt, at most retry_max. */
static long backoff(const struct config *cfg, int attempts)
{
	long d = cfg->retry_min;

	for (int i = 1; i < attempts && d < cfg->retry_max; i++)
		d *= 2;
	return d < cfg->retry_max ? d : cfg->retry_max;
}

static void record(struct qmgr *q, const struct due *r, enum outcome_kind kind, const char *method,
                   const char *reply, int body_in_file)
{
	const struct config *cfg = q->cfg;
	long long now = now_ms();
	double delay = (double)(now - r->arrival * 1000) / 1000.0;
	/* The recipient came from a client and the reply from a peer: both are
	 * logged through log_value, so neither can forge a field or a line. */
	char path[QMGR_LOG_PATH_MAX], rcpt[LOG_VALUE_SIZE(QMGR_LOG_PATH_MAX)];
	char qr[LOG_VALUE_SIZE(LMTP_REPLY_MAX)];
	struct outcome *o;

	snprintf(path, sizeof(path), "<%s>", r->addr);
	log_value(rcpt, sizeof(rcpt), path);
	log_value(qr, sizeof(qr), reply ? reply : "");
	if (q->nout == 0)
		q->first_out_ms = now;
	q->out = xrealloc(q->out, (q->nout + 1) * sizeof(*q->out));
	o = &q->out[q->nout++];
	o->msg_id = xstrdup(r->msg_id);
	o->idx = r->idx;
	o->attempts = r->attempts + 1;
	o->next_attempt = now / 1000;
	o->reply = reply && reply[0] ? xstrdup(reply) : NULL;
	o->body_in_file = body_in_file;

	if (kind == OUT_DELIVERED) {
		o->state = QUEUE_STATE_DELIVERED;
		log_info("event=delivered queue_id=%s rcpt=%s method=%s delay=%.2f%s%s", r->msg_id,
		         rcpt, method, delay, reply && reply[0] ? " reply=" : "",
		         reply && reply[0] ? qr : "");
	} else if (kind == OUT_TEMP && now / 1000 - r->arrival < cfg->queue_lifetime) {
		o->state = QUEUE_STATE_DEFERRED;
		o->next_attempt = now / 1000 + backoff(cfg, o->attempts);
		log_info("event=deferred queue_id=%s rcpt=%s method=%s delay=%.2f attempts=%d "
		         "next_attempt=%lld reply=%s",
		         r->msg_id, rcpt, method, delay, o->attempts, o->next_attempt, qr);
	} else {
		/* No DSN yet: the log line is the only trace of the bounce. */
		o->state = QUEUE_STATE_FAILED;
		log_info("event=failed queue_id=%s rcpt=%s method=%s delay=%.2f attempts=%d "
		         "reason=%s dsn=none reply=%s",
		         r->msg_id, rcpt, method, delay, o->attempts,
		         kind == OUT_PERM ? "permanent" : "expired", qr);
	}
}

static void outcomes_free(struct qmgr *q)
{
	for (size_t i = 0; i < q->nout; i++) {
		free(q->out[i].msg_id);
		free(q->out[i].reply);
	}
	free(q->out);
	q->out = NULL;
	q->nout = 0;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Removes the message when none of its recipients is left to deliver.
 * Returns 1 when it was removed, 0 when not, -1 on error. */
static int finish_message(struct qmgr *q, const char *id)
{
	int rc, pending;

	sqlite3_bind_text(q->st_pending, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q->st_pending);
	pending = rc == SQLITE_ROW && sqlite3_column_int(q->st_pending, 0);
	sqlite3_reset(q->st_pending);
	if (rc != SQLITE_ROW)
		return -1;
	if (pending)
		return 0;
	sqlite3_bind_text(q->st_del_rcpt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q->st_del_msg, 1, id, -1, SQLITE_STATIC);
	if (step_done(q->st_del_rcpt) < 0 || step_done(q->st_del_msg) < 0)
		return -1;
	return 1;
}

/* Commits every pending outcome in one transaction, then removes the body
 * files of finished messages (after the commit: a crash in between leaves
 * a stray file, never a row without its body). */
static void flush(struct qmgr *q)
{
	char *done;
	int rc;

	if (q->nout == 0)
		return;
	done = xcalloc(q->nout, 1);
	queue_db_lock(q->lock_fd);
	rc = queue_db_step(q->st_begin) == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(q->st_begin);
	for (size_t i = 0; i < q->nout && rc == 0; i++) {
		const struct outcome *o = &q->out[i];
		sqlite3_stmt *st = q->st_update;
		sqlite3_bind_text(st, 1, o->state, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, o->attempts);
		sqlite3_bind_int64(st, 3, o->next_attempt);
		if (o->reply)
			sqlite3_bind_text(st, 4, o->reply, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 4);
		sqlite3_bind_text(st, 5, o->msg_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, o->idx);
		rc = step_done(st);
		/* Outcomes of one message are adjacent: check it after its last. */
		if (rc == 0 && (i + 1 == q->nout || strcmp(q->out[i + 1].msg_id, o->msg_id) != 0)) {
			int f = finish_message(q, o->msg_id);
			if (f < 0)
				rc = -1;
			done[i] = f == 1;
		}
	}
	if (rc == 0) {
		rc = queue_db_step(q->st_commit) == SQLITE_DONE ? 0 : -1;
		sqlite3_reset(q->st_commit);
	}
	if (rc < 0) {
		log_err("event=qmgr_record_error outcomes=%zu error=\"%s\"", q->nout,
		        sqlite3_errmsg(q->db));
		sqlite3_step(q->st_rollback);
		sqlite3_reset(q->st_rollback);
		/* The recipients stay due and are delivered again: at-least-once. */
		q->flush_failed = 1;
	}
	queue_db_unlock(q->lock_fd);
	if (rc == 0) {
		for (size_t i = 0; i < q->nout; i++) {
			char path[PATH_MAX];
			if (!done[i])
				continue;
			log_info("event=removed queue_id=%s", q->out[i].msg_id);
			if (q->out[i].body_in_file &&
			    queue_db_body_path(q->cfg, q->out[i].msg_id, path, sizeof(path)) == 0 &&
			    unlink(path) < 0 && errno != ENOENT)
				log_warn("event=body_unlink_error queue_id=%s error=\"%s\"",
				         q->out[i].msg_id, strerror(errno));
		}
	}
	free(done);
	outcomes_free(q);
}

/* Reads the file into b, after prefix[0..plen). */
static int read_file(const char *path, const void *prefix, size_t plen, struct body *b)
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
	b->data = xmalloc(plen + (size_t)st.st_size + 1);
	if (plen)
		memcpy(b->data, prefix, plen);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b->data + plen + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	b->len = plen + got;
	return got == (size_t)st.st_size ? 0 : -1;
}

/* Loads the message of id: our header fields, then the body as received.
 * Returns 0, 1 when the message is gone (deleted by `postern queue
 * delete` meanwhile), -1 when it cannot be read. */
static int load_body(struct qmgr *q, const char *id, struct body *b)
{
	sqlite3_stmt *st = q->st_body;
	int rc;

	memset(b, 0, sizeof(*b));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = queue_db_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? 1 : -1;
	}
	const void *headers = sqlite3_column_blob(st, 1);
	size_t hlen = (size_t)sqlite3_column_bytes(st, 1);
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		char path[PATH_MAX];
		b->in_file = 1;
		rc = queue_db_body_path(q->cfg, id, path, sizeof(path)) < 0 ||
		             read_file(path, headers, hlen, b) < 0
		         ? -1
		         : 0;
		if (rc < 0)
			log_err("event=body_unreadable queue_id=%s path=%s error=\"%s\"", id, path,
			        strerror(errno));
		sqlite3_reset(st);
		return rc;
	}
	size_t blen = (size_t)sqlite3_column_bytes(st, 0);
	b->len = hlen + blen;
	b->data = xmalloc(b->len + 1);
	if (hlen)
		memcpy(b->data, headers, hlen);
	if (blen)
		memcpy(b->data + hlen, sqlite3_column_blob(st, 0), blen);
	sqlite3_reset(st);
	return 0;
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

static const char *lmtp_server(const struct config *cfg, const struct domain_conf *dc)
{
	return dc->lmtp && dc->lmtp[0] ? dc->lmtp : cfg->delivery_lmtp;
}

static void deliver_maildir(struct qmgr *q, const struct due *r, const struct domain_conf *dc,
                            const struct body *b)
{
	const char *tmpl = dc->maildir && dc->maildir[0] ? dc->maildir : q->cfg->delivery_maildir;
	char dir[PATH_MAX], err[PATH_MAX + 128];
	enum maildir_result res;

	if (maildir_path(tmpl, r->addr, dir, sizeof(dir), err, sizeof(err)) < 0)
		res = MAILDIR_PERM;
	else {
		char unique[128];
		snprintf(unique, sizeof(unique), "%lld.%s_%lld", r->arrival, r->msg_id, r->idx);
		res = maildir_deliver(dir, q->cfg->hostname, unique, r->sender, r->addr, b->data,
		                      b->len, err, sizeof(err));
	}
	record(q, r,
	       res == MAILDIR_OK     ? OUT_DELIVERED
	       : res == MAILDIR_TEMP ? OUT_TEMP
	                             : OUT_PERM,
	       "maildir", res == MAILDIR_OK ? NULL : err, b->in_file);
}

/* Every recipient in rows[from..n) of the same LMTP server as rows[from]
 * goes in one LMTP transaction; handled[] marks them. */
static void deliver_lmtp(struct qmgr *q, const struct due *rows, size_t n, size_t from,
                         char *handled, const struct body *b)
{
	const struct config *cfg = q->cfg;
	const char *server = lmtp_server(cfg, config_domain(cfg, domain_of(rows[from].addr)));
	struct lmtp_rcpt *lr = xcalloc(n - from, sizeof(*lr));
	size_t *map = xcalloc(n - from, sizeof(*map));
	size_t k = 0;

	for (size_t i = from; i < n; i++) {
		const struct domain_conf *dc;
		if (handled[i])
			continue;
		dc = config_domain(cfg, domain_of(rows[i].addr));
		if (dc == NULL || dc->method != DELIVER_LMTP ||
		    strcmp(lmtp_server(cfg, dc), server))
			continue;
		handled[i] = 1;
		lr[k].addr = rows[i].addr;
		map[k++] = i;
	}
	lmtp_deliver(server, cfg->hostname, (int)cfg->delivery_timeout, rows[from].sender, lr, k,
	             b->data, b->len);
	for (size_t j = 0; j < k; j++) {
		int cls = lr[j].code / 100;
		record(q, &rows[map[j]],
		       cls == 2   ? OUT_DELIVERED
		       : cls == 5 ? OUT_PERM
		                  : OUT_TEMP,
		       "lmtp", lr[j].reply, b->in_file);
	}
	free(lr);
	free(map);
}

/* rows: the due recipients of one message. */
static void deliver_message(struct qmgr *q, const struct due *rows, size_t n)
{
	struct body b;
	char *handled;
	int rc = load_body(q, rows[0].msg_id, &b);

	if (rc == 1)
		return;
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			record(q, &rows[i], OUT_TEMP, "none", "451 4.3.0 queued body unreadable",
			       1);
		free(b.data);
		return;
	}
	handled = xcalloc(n, 1);
	for (size_t i = 0; i < n; i++) {
		const struct domain_conf *dc;
		if (handled[i])
			continue;
		dc = config_domain(q->cfg, domain_of(rows[i].addr));
		if (dc == NULL) {
			/* Until remote delivery exists only local domains are routed. */
			handled[i] = 1;
			record(q, &rows[i], OUT_TEMP, "none", "451 4.4.0 no route", b.in_file);
		} else if (dc->method == DELIVER_DISCARD) {
			handled[i] = 1;
			record(q, &rows[i], OUT_DELIVERED, "discard", NULL, b.in_file);
		} else if (dc->method == DELIVER_MAILDIR) {
			handled[i] = 1;
			deliver_maildir(q, &rows[i], dc, &b);
		} else {
			deliver_lmtp(q, rows, n, i, handled, &b);
		}
	}
	free(handled);
	free(b.data);
}

static void due_free(struct due *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].msg_id);
		free(rows[i].addr);
		free(rows[i].sender);
	}
	free(rows);
}

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return xstrdup(s ? (const char *)s : "");
}

/* One pass over the due recipients.  Returns how many were read (a full
 * pass means there may be more), or -1 on a database error. */
static long pass(struct qmgr *q, const volatile sig_atomic_t *stop)
{
	sqlite3_stmt *st = q->st_due;
	struct due *rows = xcalloc(QMGR_PASS_MAX, sizeof(*rows));
	size_t n = 0;
	int rc = SQLITE_DONE;

	sqlite3_bind_int64(st, 1, now_ms() / 1000);
	sqlite3_bind_int(st, 2, QMGR_PASS_MAX);
	while (n < QMGR_PASS_MAX && (rc = queue_db_step(st)) == SQLITE_ROW) {
		rows[n].msg_id = column_dup(st, 0);
		rows[n].idx = sqlite3_column_int64(st, 1);
		rows[n].addr = column_dup(st, 2);
		rows[n].attempts = sqlite3_column_int(st, 3);
		rows[n].sender = column_dup(st, 4);
		rows[n].arrival = sqlite3_column_int64(st, 5);
		n++;
	}
	sqlite3_reset(st);
	if (n < QMGR_PASS_MAX && rc != SQLITE_DONE) {
		log_err("event=qmgr_select_error error=\"%s\"", sqlite3_errmsg(q->db));
		due_free(rows, n);
		return -1;
	}
	for (size_t i = 0; i < n && !*stop;) {
		size_t j = i + 1;
		while (j < n && strcmp(rows[j].msg_id, rows[i].msg_id) == 0)
			j++;
		deliver_message(q, rows + i, j - i);
		if (q->nout >= QMGR_FLUSH_MAX || now_ms() - q->first_out_ms >= QMGR_FLUSH_MS)
			flush(q);
		i = j;
	}
	flush(q);
	due_free(rows, n);
	return (long)n;
}

static void wait_for_work(int notify_fd)
{
	struct pollfd p = {.fd = notify_fd, .events = POLLIN};

	if (poll(&p, notify_fd >= 0 ? 1 : 0, QMGR_IDLE_MS) > 0) {
		char sink[256];
		while (read(notify_fd, sink, sizeof(sink)) > 0)
			;
	}
}

int qmgr_run(const struct config *cfg, int notify_fd, volatile sig_atomic_t *stop)
{
	struct qmgr q = {.cfg = cfg};
	char err[512];

	q.db = queue_db_open(cfg, err, sizeof(err));
	if (q.db == NULL || (q.lock_fd = queue_db_lock_open(cfg, err, sizeof(err))) < 0) {
		log_err("event=qmgr_error error=\"%s\"", err);
		queue_db_close(q.db);
		close(q.lock_fd);
		return 1;
	}
	/* The queue manager's own commits (delivered, deferred, removed) need
	 * no sync of their own: losing the last of them to a power failure
	 * only means a delivery is repeated, never that mail is lost, and the
	 * next worker commit (synchronous=FULL) syncs them anyway.  This keeps
	 * the disk's syncs for the acknowledgements that wait on them. */
	queue_db_exec(q.db, "PRAGMA synchronous=NORMAL");
	/* Drained after each wake-up; never blocks the loop. */
	if (notify_fd >= 0)
		fcntl(notify_fd, F_SETFL, fcntl(notify_fd, F_GETFL) | O_NONBLOCK);
	q.st_due = queue_db_prepare(
	    q.db, "SELECT r.msg_id, r.rcpt_index, r.addr, r.attempts, m.sender, m.arrival "
	          "FROM recipients r JOIN messages m ON m.id = r.msg_id "
	          "WHERE r.state IN ('queued', 'deferred') AND r.next_attempt <= ?1 "
	          "ORDER BY r.msg_id, r.rcpt_index LIMIT ?2");
	q.st_body = queue_db_prepare(q.db, "SELECT body, headers FROM messages WHERE id = ?1");
	q.st_update = queue_db_prepare(q.db, "UPDATE recipients SET state = ?1, attempts = ?2, "
	                                     "next_attempt = ?3, last_reply = ?4 "
	                                     "WHERE msg_id = ?5 AND rcpt_index = ?6");
	q.st_pending =
	    queue_db_prepare(q.db, "SELECT EXISTS (SELECT 1 FROM recipients "
	                           "WHERE msg_id = ?1 AND state IN ('queued', 'deferred'))");
	q.st_del_rcpt = queue_db_prepare(q.db, "DELETE FROM recipients WHERE msg_id = ?1");
	q.st_del_msg = queue_db_prepare(q.db, "DELETE FROM messages WHERE id = ?1");
	q.st_begin = queue_db_prepare(q.db, "BEGIN IMMEDIATE");
	q.st_commit = queue_db_prepare(q.db, "COMMIT");
	q.st_rollback = queue_db_prepare(q.db, "ROLLBACK");

	log_info("event=qmgr_start");
	time_t last_sweep = 0;
	while (!*stop) {
		time_t now = time(NULL);
		if (now - last_sweep >= QMGR_SWEEP_INTERVAL) {
			/* A body younger than the longest session may still be
			 * on its way into the queue. */
			queue_sweep_bodies(cfg, q.db, now, cfg->session_timeout + 60);
			last_sweep = now;
		}
		long n = pass(&q, stop);
		if (n == QMGR_PASS_MAX && !q.flush_failed)
			continue;
		/* After a failed record the recipients are still due: wait
		 * before delivering them again. */
		q.flush_failed = 0;
		wait_for_work(notify_fd);
	}
	log_info("event=qmgr_stop");

	sqlite3_finalize(q.st_due);
	sqlite3_finalize(q.st_body);
	sqlite3_finalize(q.st_update);
	sqlite3_finalize(q.st_pending);
	sqlite3_finalize(q.st_del_rcpt);
	sqlite3_finalize(q.st_del_msg);
	sqlite3_finalize(q.st_begin);
	sqlite3_finalize(q.st_commit);
	sqlite3_finalize(q.st_rollback);
	queue_db_close(q.db);
	close(q.lock_fd);
	return 0;
}
