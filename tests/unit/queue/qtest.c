/* Helpers shared by the queue tests (see qtest.h). */
#include "qtest.h"
#include "queue/queue_db.h"
#include "core/buf.h"
#include "core/id.h"
#include "core/xmalloc.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void qtest_config(struct config *cfg, char *dir)
{
	struct buf errors;

	buf_init(&errors, 4096);
	strcpy(dir, "/tmp/postern-queue-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(config_load(NULL, cfg, &errors), 0);
	buf_free(&errors);
	qtest_set(&cfg->state_dir, dir);
	/* Nothing listens on the discard port of loopback: every lookup fails
	 * at once, and no query leaves the machine. */
	qtest_set(&cfg->dns_servers, "127.0.0.1:9");
	cfg->commit_window_us = 2000;
	id_init(1);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void qtest_rmtree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void qtest_set(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

void qtest_domain(struct config *cfg, const char *name, enum delivery_method m, const char *maildir,
                  const char *lmtp)
{
	struct domain_conf *d;

	cfg->domains = xrealloc(cfg->domains, (cfg->ndomains + 1) * sizeof(*cfg->domains));
	d = &cfg->domains[cfg->ndomains++];
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(name);
	d->method = m;
	d->maildir = maildir ? xstrdup(maildir) : NULL;
	d->lmtp = lmtp ? xstrdup(lmtp) : NULL;
}

struct spool_msg *qtest_msg(struct spool *sp, const char *id, const char *sender,
                            const char *const *rcpts, size_t nrcpt, const char *body, size_t len)
{
	struct spool_msg *m = xcalloc(1, sizeof(*m));

	if (id)
		snprintf(m->id, sizeof(m->id), "%s", id);
	else
		id_new(m->id);
	m->sender = xstrdup(sender);
	m->rcpts = xcalloc(nrcpt, sizeof(*m->rcpts));
	m->nrcpt = nrcpt;
	for (size_t i = 0; i < nrcpt; i++) {
		m->rcpts[i].addr = xstrdup(rcpts[i]);
		m->rcpts[i].orcpt = xstrdup(rcpts[i]);
	}
	m->client_ip = xstrdup("127.0.0.1");
	m->helo = xstrdup("client.example");
	m->arrival = time(NULL);
	m->body = spool_body_new(sp, m->id);
	assert_int_equal(spool_body_write(m->body, body, len), 0);
	return m;
}

struct commit_wait {
	struct event_base *base;
	size_t pending;
	int *errs;
};

struct commit_arg {
	struct commit_wait *w;
	size_t i;
};

static void commit_done(void *arg, int err)
{
	struct commit_arg *a = arg;

	a->w->errs[a->i] = err;
	if (--a->w->pending == 0)
		event_base_loopbreak(a->w->base);
	free(a);
}

void qtest_commit(struct spool *sp, struct event_base *base, struct spool_msg **msgs, size_t n,
                  int *errs)
{
	struct commit_wait w = {.base = base, .pending = n, .errs = errs};

	for (size_t i = 0; i < n; i++) {
		struct commit_arg *a = xmalloc(sizeof(*a));
		a->w = &w;
		a->i = i;
		errs[i] = 12345;
		spool_commit(sp, msgs[i], commit_done, a);
	}
	while (w.pending > 0)
		assert_int_not_equal(event_base_loop(base, EVLOOP_ONCE), -1);
}

void qtest_spool_one(const struct config *cfg, const char *sender, const char *const *rcpts,
                     size_t nrcpt, const char *body, size_t len, time_t arrival, char *id_out)
{
	struct event_base *base = event_base_new();
	char err[256];
	struct spool *sp = spool_open(cfg, base, -1, err, sizeof(err));
	struct spool_msg *m;
	int e;

	assert_non_null(sp);
	m = qtest_msg(sp, NULL, sender, rcpts, nrcpt, body, len);
	if (arrival)
		m->arrival = arrival;
	if (id_out)
		strcpy(id_out, m->id);
	qtest_commit(sp, base, &m, 1, &e);
	assert_int_equal(e, 0);
	spool_close(sp);
	event_base_free(base);
}

static sqlite3_stmt *query(const struct config *cfg, sqlite3 **db, const char *sql)
{
	char err[256];
	sqlite3_stmt *st = NULL;

	*db = queue_db_open(cfg, err, sizeof(err));
	assert_non_null(*db);
	assert_int_equal(sqlite3_prepare_v2(*db, sql, -1, &st, NULL), SQLITE_OK);
	return st;
}

long long qtest_int(const struct config *cfg, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st = query(cfg, &db, sql);
	long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;

	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

void qtest_text(const struct config *cfg, const char *sql, char *out, size_t outsize)
{
	sqlite3 *db;
	sqlite3_stmt *st = query(cfg, &db, sql);
	const unsigned char *s = NULL;

	if (sqlite3_step(st) == SQLITE_ROW)
		s = sqlite3_column_text(st, 0);
	snprintf(out, outsize, "%s", s ? (const char *)s : "");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

char *qtest_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t cap = 0, n = 0;

	assert_non_null(f);
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			p = xrealloc(p, cap);
		}
		size_t r = fread(p + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return p;
}

/* ---- fake LMTP server ---- */

struct line_reader {
	int fd;
	char buf[8192];
	size_t len;
};

/* Reads one line including its LF into out; returns its length, 0 at EOF. */
static size_t read_line(struct line_reader *r, char *out, size_t outsize)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			size_t n = (size_t)(nl - r->buf) + 1;
			assert_true(n < outsize);
			memcpy(out, r->buf, n);
			out[n] = '\0';
			memmove(r->buf, r->buf + n, r->len - n);
			r->len -= n;
			return n;
		}
		assert_true(r->len < sizeof(r->buf));
		ssize_t got = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (got <= 0)
			return 0;
		r->len += (size_t)got;
	}
}

static void say(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void serve_one(struct fake_lmtp *f, int fd)
{
	struct line_reader r = {.fd = fd};
	char line[4096], accepted[16][128];
	size_t naccepted = 0;

	say(fd, "220 fake LMTP\r\n");
	while (read_line(&r, line, sizeof(line)) > 0) {
		strncat(f->log, line, sizeof(f->log) - strlen(f->log) - 1);
		if (strncmp(line, "LHLO", 4) == 0) {
			say(fd, "250-fake\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
		} else if (strncmp(line, "MAIL FROM:", 10) == 0) {
			say(fd, "250 2.1.0 Ok\r\n");
		} else if (strncmp(line, "RCPT TO:<", 9) == 0) {
			if (strncmp(line + 9, "rej", 3) == 0) {
				say(fd, "550 5.1.1 no such user\r\n");
			} else {
				assert_true(strlen(line + 9) < sizeof(accepted[0]));
				strcpy(accepted[naccepted++], line + 9);
				say(fd, "250 2.1.5 Ok\r\n");
			}
		} else if (strncmp(line, "DATA", 4) == 0) {
			say(fd, "354 go ahead\r\n");
			size_t n;
			while ((n = read_line(&r, line, sizeof(line))) > 0) {
				if (f->datalen + n < sizeof(f->data)) {
					memcpy(f->data + f->datalen, line, n);
					f->datalen += n;
				}
				if (strcmp(line, ".\r\n") == 0)
					break;
			}
			for (size_t i = 0; i < naccepted; i++)
				say(fd, strncmp(accepted[i], "tmp", 3) == 0
				            ? "452 4.2.2 over quota\r\n"
				            : "250 2.0.0 saved\r\n");
		} else if (strncmp(line, "QUIT", 4) == 0) {
			say(fd, "221 bye\r\n");
			break;
		} else {
			say(fd, "500 what\r\n");
		}
	}
}

static void *fake_thread(void *arg)
{
	struct fake_lmtp *f = arg;

	for (int i = 0; i < f->connections; i++) {
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			break;
		serve_one(f, fd);
		close(fd);
	}
	return NULL;
}

void fake_lmtp_start(struct fake_lmtp *f, int nconn)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->connections = nconn;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sin, &slen), 0);
	f->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_thread, f), 0);
}

void fake_lmtp_join(struct fake_lmtp *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
}
