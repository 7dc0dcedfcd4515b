/* The spool: bodies in memory or in body/<id> while DATA streams in, and
 * one committer thread that folds every message finished meanwhile into
 * one SQLite transaction (group commit), then hands the results back to
 * the event loop through a loopq. */
#include "queue/spool.h"
#include "queue/queue_db.h"
#include "core/log.h"
#include "core/loopq.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Once a body spills to its file, writes are gathered in memory up to this
 * many bytes so that a 10 MiB body costs a few hundred write() calls, not
 * one per network read. */
#define SPOOL_FILE_CHUNK (64 * 1024)

/* The committer stops waiting for company once this many messages are
 * queued: the window exists to gather a batch, and this one is big enough. */
#define SPOOL_BATCH_WAKE 256

struct spool_body {
	struct spool *sp;
	char id[ID_LEN + 1];
	char *mem; /* inline body, or the write-gathering chunk once in a file */
	size_t len, cap;
	int fd;        /* -1 while the body is in memory */
	int failed;    /* a write failed: the body is lost */
	uint64_t size; /* bytes written so far */
};

struct commit_item {
	struct spool_msg *msg;
	spool_done_fn done;
	void *arg;
	int err;
	struct commit_item *next;
	struct loopq_item finished;
};

struct spool {
	const struct config *cfg;
	sqlite3 *db;
	sqlite3_stmt *st_begin, *st_commit, *st_rollback, *st_msg, *st_rcpt;
	int lock_fd;    /* queue/write.lock, taken around each transaction */
	int body_dirfd; /* synced once per batch that created body files */
	int notify_fd;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct commit_item *todo_head, *todo_tail;
	size_t todo_count;
	size_t receiving; /* bodies being received: messages that may join a batch */
	int stopping;

	struct loopq *done; /* committer -> event loop */
};

/* ---- bodies ---- */

struct spool_body *spool_body_new(struct spool *sp, const char *id)
{
	struct spool_body *b = xcalloc(1, sizeof(*b));

	b->sp = sp;
	snprintf(b->id, sizeof(b->id), "%s", id);
	b->fd = -1;
	pthread_mutex_lock(&sp->lock);
	sp->receiving++;
	pthread_mutex_unlock(&sp->lock);
	return b;
}

/* A body stops being received: committed, or given up. */
static void received(struct spool *sp)
{
	sp->receiving--;
	/* Nobody else is coming: the batch waiting for company can go. */
	if (sp->receiving == 0 && sp->todo_head != NULL)
		pthread_cond_signal(&sp->wake);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int body_flush(struct spool_body *b)
{
	if (b->fd < 0 || b->len == 0)
		return 0;
	if (write_all(b->fd, b->mem, b->len) < 0) {
		log_warn("event=spool_write_error queue_id=%s error=\"%s\"", b->id,
		         strerror(errno));
		b->failed = 1;
		return -1;
	}
	b->len = 0;
	return 0;
}

/* Moves the body from memory to body/<id>; the memory becomes the chunk
 * that gathers further writes. */
static int body_spill(struct spool_body *b)
{
	char path[PATH_MAX];

	if (queue_db_body_path(b->sp->cfg, b->id, path, sizeof(path)) < 0) {
		b->failed = 1;
		return -1;
	}
	b->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b->fd < 0) {
		log_warn("event=spool_write_error queue_id=%s path=%s error=\"%s\"", b->id, path,
		         strerror(errno));
		b->failed = 1;
		return -1;
	}
	if (body_flush(b) < 0)
		return -1;
	if (b->cap < SPOOL_FILE_CHUNK) {
		b->cap = SPOOL_FILE_CHUNK;
		b->mem = xrealloc(b->mem, b->cap);
	}
	return 0;
}

int spool_body_write(struct spool_body *b, const void *p, size_t n)
{
	size_t inline_max = (size_t)b->sp->cfg->spool_inline_max;

	if (b->failed)
		return -1;
	if (b->fd < 0 && b->len + n > inline_max && body_spill(b) < 0)
		return -1;
	if (b->fd >= 0) {
		if (b->len + n > b->cap && body_flush(b) < 0)
			return -1;
		if (n >= b->cap) {
			/* Larger than the chunk: straight to the file. */
			if (write_all(b->fd, p, n) < 0) {
				b->failed = 1;
				return -1;
			}
			b->size += n;
			return 0;
		}
	} else if (b->len + n > b->cap) {
		/* Bounded by inline_max, checked above. */
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > inline_max)
			cap = inline_max;
		b->mem = xrealloc(b->mem, cap);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->mem + b->len, p, n);
	b->len += n;
	b->size += n;
	return 0;
}

uint64_t spool_body_size(const struct spool_body *b)
{
	return b->size;
}

int spool_body_reader(const struct spool_body *b, int *fd, uint64_t *file_len, char **tail,
                      size_t *tail_len)
{
	char path[PATH_MAX];

	*fd = -1;
	if (b->failed)
		return -1;
	if (b->fd >= 0) {
		if (queue_db_body_path(b->sp->cfg, b->id, path, sizeof(path)) < 0 ||
		    (*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			log_warn("event=spool_read_error queue_id=%s error=\"%s\"", b->id,
			         strerror(errno));
			return -1;
		}
	}
	*file_len = b->size - b->len;
	*tail = xmalloc(b->len + 1);
	if (b->len > 0)
		memcpy(*tail, b->mem, b->len);
	*tail_len = b->len;
	return 0;
}

/* Removes the body's file, if any, and frees it. */
static void body_free(struct spool_body *b, int remove_file)
{
	if (b->fd >= 0) {
		char path[PATH_MAX];
		close(b->fd);
		if (remove_file && queue_db_body_path(b->sp->cfg, b->id, path, sizeof(path)) == 0)
			unlink(path);
	}
	free(b->mem);
	free(b);
}

void spool_body_discard(struct spool_body *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->sp->lock);
	received(b->sp);
	pthread_mutex_unlock(&b->sp->lock);
	body_free(b, 1);
}

void spool_msg_free(struct spool_msg *msg)
{
	if (msg == NULL)
		return;
	free(msg->sender);
	for (size_t i = 0; i < msg->nrcpt; i++) {
		free(msg->rcpts[i].addr);
		free(msg->rcpts[i].orcpt);
		free(msg->rcpts[i].dsn_orcpt);
	}
	free(msg->rcpts);
	free(msg->envid);
	free(msg->client_ip);
	free(msg->helo);
	free(msg->auth_user);
	free(msg->headers);
	spool_body_discard(msg->body);
	free(msg);
}

/* ---- the committer ---- */

static int fsync_retry(int fd)
{
	while (fsync(fd) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Makes the body files of the batch durable before the transaction that
 * names them.  A message whose file cannot be synced fails alone. */
static void sync_bodies(struct spool *sp, struct commit_item *batch)
{
	int any = 0;

	for (struct commit_item *it = batch; it; it = it->next) {
		struct spool_body *b = it->msg->body;
		if (it->err || b->fd < 0)
			continue;
		if (fsync_retry(b->fd) < 0) {
			log_err("event=spool_sync_error queue_id=%s error=\"%s\"", b->id,
			        strerror(errno));
			it->err = -1;
			continue;
		}
		any = 1;
	}
	/* One directory sync makes every new name in body/ durable. */
	if (any && fsync_retry(sp->body_dirfd) < 0) {
		log_err("event=spool_sync_error path=body/ error=\"%s\"", strerror(errno));
		for (struct commit_item *it = batch; it; it = it->next)
			if (it->msg->body->fd >= 0)
				it->err = -1;
	}
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int insert_msg(struct spool *sp, const struct spool_msg *m)
{
	const struct spool_body *b = m->body;
	sqlite3_stmt *st = sp->st_msg;
	int rc;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	bind_text(st, 1, m->id);
	bind_text(st, 2, m->sender ? m->sender : "");
	bind_text(st, 3, m->client_ip ? m->client_ip : "");
	bind_text(st, 4, m->helo ? m->helo : "");
	bind_text(st, 5, m->auth_user);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)m->arrival);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)(b->size + m->headers_len));
	if (b->fd >= 0)
		sqlite3_bind_null(st, 8);
	else if (b->len == 0)
		sqlite3_bind_zeroblob(st, 8, 0); /* empty, but not NULL (= "in a file") */
	else
		sqlite3_bind_blob(st, 8, b->mem, (int)b->len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, m->headers ? m->headers : "", (int)m->headers_len, SQLITE_STATIC);
	bind_text(st, 10, m->envid);
	bind_text(st, 11, m->ret == DSN_RET_FULL ? "FULL" : m->ret == DSN_RET_HDRS ? "HDRS" : NULL);
	sqlite3_bind_int(st, 12, m->sender_verified != 0);
	sqlite3_bind_int(st, 13, m->eightbit != 0);
	sqlite3_bind_int(st, 14, m->smtputf8 != 0);
	sqlite3_bind_int(st, 15, m->is_dsn != 0);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return rc;

	st = sp->st_rcpt;
	for (size_t i = 0; i < m->nrcpt; i++) {
		char notify[DSN_NOTIFY_TEXT_MAX];
		cmd_notify_format(m->rcpts[i].notify, notify, sizeof(notify));
		sqlite3_reset(st);
		bind_text(st, 1, m->id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, m->rcpts[i].addr);
		bind_text(st, 4, m->rcpts[i].orcpt ? m->rcpts[i].orcpt : m->rcpts[i].addr);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)m->arrival);
		bind_text(st, 6, notify[0] ? notify : NULL);
		bind_text(st, 7, m->rcpts[i].dsn_orcpt);
		sqlite3_bind_int(st, 8, m->rcpts[i].forwarded != 0);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return rc;
	}
	return SQLITE_DONE;
}

/* One transaction for every message of the batch not already failed.
 * Returns SQLITE_DONE when it committed. */
static int write_batch(struct spool *sp, struct commit_item *batch)
{
	int rc = SQLITE_DONE;

	sqlite3_reset(sp->st_begin);
	/* IMMEDIATE takes the write lock up front, so that a busy database
	 * shows up here (and is retried) rather than halfway through. */
	rc = queue_db_step(sp->st_begin);
	sqlite3_reset(sp->st_begin);
	if (rc != SQLITE_DONE)
		return rc;
	for (struct commit_item *it = batch; it && rc == SQLITE_DONE; it = it->next)
		if (!it->err)
			rc = insert_msg(sp, it->msg);
	if (rc == SQLITE_DONE) {
		rc = queue_db_step(sp->st_commit);
		sqlite3_reset(sp->st_commit);
		if (rc == SQLITE_DONE)
			return rc;
	}
	sqlite3_step(sp->st_rollback);
	sqlite3_reset(sp->st_rollback);
	return rc;
}

static int run_transaction(struct spool *sp, struct commit_item *batch)
{
	queue_db_lock(sp->lock_fd);
	int rc = write_batch(sp, batch);
	queue_db_unlock(sp->lock_fd);
	return rc;
}

/* On the event loop's thread. */
static void commit_finished(void *arg)
{
	struct commit_item *it = arg;

	if (it->done)
		it->done(it->arg, it->err);
	free(it);
}

static void commit_batch(struct spool *sp, struct commit_item *batch)
{
	size_t n = 0, ok = 0;
	int rc;

	for (struct commit_item *it = batch; it; it = it->next) {
		n++;
		if (it->msg->body->failed)
			it->err = -1;
	}
	sync_bodies(sp, batch);
	rc = run_transaction(sp, batch);
	if (rc != SQLITE_DONE)
		log_err("event=spool_commit_error messages=%zu error=\"%s\"", n,
		        sqlite3_errstr(rc));
	for (struct commit_item *it = batch; it; it = it->next) {
		if (rc != SQLITE_DONE)
			it->err = -1;
		if (it->err) {
			log_err("event=spool_failed queue_id=%s", it->msg->id);
		} else {
			ok++;
		}
		/* A failed message's file must go: nothing will ever name it. */
		body_free(it->msg->body, it->err != 0);
		it->msg->body = NULL;
		spool_msg_free(it->msg);
		it->msg = NULL;
	}
	log_debug("event=spool_commit messages=%zu ok=%zu", n, ok);

	/* One lock round trip for the batch; the loop may free an item as
	 * soon as it is posted, so the chain is built first. */
	struct loopq_list finished = {NULL, NULL};
	for (struct commit_item *it = batch; it; it = it->next)
		loopq_list_add(&finished, &it->finished, commit_finished, it);
	loopq_post_list(sp->done, &finished);

	if (ok > 0 && sp->notify_fd >= 0) {
		char c = 0;
		/* Non-blocking: a full pipe already means "there is work". */
		while (write(sp->notify_fd, &c, 1) < 0 && errno == EINTR)
			;
	}
}

/* Waits for company for at most commit_window_us, unless stopping, the
 * batch is already big, or no other message is being received (a lone
 * session gets its 250 without waiting).  Called with the lock held. */
static void wait_window(struct spool *sp)
{
	struct timespec deadline;
	long window = sp->cfg->commit_window_us;

	if (window <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += (window % 1000000) * 1000;
	deadline.tv_sec += window / 1000000 + deadline.tv_nsec / 1000000000;
	deadline.tv_nsec %= 1000000000;
	while (!sp->stopping && sp->todo_count < SPOOL_BATCH_WAKE && sp->receiving > 0)
		if (pthread_cond_timedwait(&sp->wake, &sp->lock, &deadline) == ETIMEDOUT)
			break;
}

static void *committer(void *arg)
{
	struct spool *sp = arg;

	pthread_mutex_lock(&sp->lock);
	for (;;) {
		int idle = sp->todo_head == NULL;
		while (sp->todo_head == NULL && !sp->stopping)
			pthread_cond_wait(&sp->wake, &sp->lock);
		if (sp->todo_head == NULL)
			break;
		/* Only a committer that was idle waits for company: under load
		 * the batch gathered while the previous one was syncing. */
		if (idle)
			wait_window(sp);
		struct commit_item *batch = sp->todo_head;
		sp->todo_head = sp->todo_tail = NULL;
		sp->todo_count = 0;
		pthread_mutex_unlock(&sp->lock);

		commit_batch(sp, batch);

		pthread_mutex_lock(&sp->lock);
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

void spool_commit(struct spool *sp, struct spool_msg *msg, spool_done_fn done, void *arg)
{
	struct commit_item *it = xcalloc(1, sizeof(*it));

	if (msg->body == NULL)
		panic("spool_commit: message %s has no body", msg->id);
	it->msg = msg;
	it->done = done;
	it->arg = arg;
	/* The rest of the chunk goes to the file here, on the loop thread, so
	 * that the committer only syncs. */
	if (body_flush(msg->body) < 0)
		it->err = -1;

	pthread_mutex_lock(&sp->lock);
	int was_empty = sp->todo_head == NULL;
	LOOPQ_APPEND(sp->todo_head, sp->todo_tail, it, it);
	sp->todo_count++;
	received(sp);
	if (was_empty || sp->todo_count == SPOOL_BATCH_WAKE)
		pthread_cond_signal(&sp->wake);
	pthread_mutex_unlock(&sp->lock);
}

struct spool *spool_open(const struct config *cfg, struct event_base *base, int notify_fd,
                         char *err, size_t errsize)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));
	char dir[PATH_MAX];
	pthread_condattr_t ca;

	sp->cfg = cfg;
	sp->notify_fd = notify_fd;
	sp->db = queue_db_open(cfg, err, errsize);
	if (sp->db == NULL) {
		free(sp);
		return NULL;
	}
	if (queue_db_body_dir(cfg, dir, sizeof(dir)) < 0 ||
	    (sp->body_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errsize, "cannot open %s: %s", dir, strerror(errno));
		queue_db_close(sp->db);
		free(sp);
		return NULL;
	}
	sp->lock_fd = queue_db_lock_open(cfg, err, errsize);
	if (sp->lock_fd < 0) {
		close(sp->body_dirfd);
		queue_db_close(sp->db);
		free(sp);
		return NULL;
	}
	sp->st_begin = queue_db_prepare(sp->db, "BEGIN IMMEDIATE");
	sp->st_commit = queue_db_prepare(sp->db, "COMMIT");
	sp->st_rollback = queue_db_prepare(sp->db, "ROLLBACK");
	sp->st_msg = queue_db_prepare(
	    sp->db, "INSERT INTO messages (id, sender, client_ip, helo, auth_user, "
	            "arrival, size, body, headers, envid, ret, sender_verified, eightbit, "
	            "smtputf8, is_dsn) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	            "?12, ?13, ?14, ?15)");
	sp->st_rcpt = queue_db_prepare(
	    sp->db, "INSERT INTO recipients (msg_id, rcpt_index, addr, orcpt, state, "
	            "attempts, next_attempt, notify, dsn_orcpt, forwarded) "
	            "VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, ?6, ?7, ?8)");

	pthread_mutex_init(&sp->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sp->wake, &ca);
	pthread_condattr_destroy(&ca);
	sp->done = loopq_new(base);
	if (pthread_create(&sp->thread, NULL, committer, sp) != 0)
		fatal("spool: cannot start the committer thread");
	return sp;
}

void spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	/* The committer finishes what is queued before it stops, and the done
	 * callbacks of those messages still run, here. */
	pthread_mutex_lock(&sp->lock);
	sp->stopping = 1;
	pthread_cond_signal(&sp->wake);
	pthread_mutex_unlock(&sp->lock);
	pthread_join(sp->thread, NULL);
	loopq_free(sp->done);
	sqlite3_finalize(sp->st_begin);
	sqlite3_finalize(sp->st_commit);
	sqlite3_finalize(sp->st_rollback);
	sqlite3_finalize(sp->st_msg);
	sqlite3_finalize(sp->st_rcpt);
	queue_db_close(sp->db);
	close(sp->body_dirfd);
	close(sp->lock_fd);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->wake);
	free(sp);
}
