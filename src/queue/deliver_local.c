/* Maildir delivery on the engine's file pool: a batch takes the waiting
 * Maildir jobs (up to MAILDIR_BATCH_RCPTS recipients) and writes them with
 * one maildir_deliver_batch, which makes them durable together.  The
 * Maildirs written to are remembered, and their tmp/ swept of what a crash
 * left there once an hour. */
#include "queue/dest.h"
#include "queue/maildir.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAILDIR_BATCH_RCPTS 256
/* Maildirs remembered for the sweep between two sweeps. */
#define MAILDIR_SWEEP_MAX 4096

struct batch {
	struct dest *d;
	struct job **jobs;
	size_t njobs;
	struct maildir_item *items;
	struct qrcpt **rcpts; /* items[i] belongs to rcpts[i] */
	char (*dirs)[PATH_MAX];
	char (*uniques)[128];
	size_t n;
};

static void remember_dir(struct engine *e, const char *dir)
{
	for (size_t i = 0; i < e->nmaildirs; i++)
		if (strcmp(e->maildirs[i], dir) == 0)
			return;
	if (e->nmaildirs == MAILDIR_SWEEP_MAX)
		return;
	e->maildirs = xrealloc(e->maildirs, (e->nmaildirs + 1) * sizeof(*e->maildirs));
	e->maildirs[e->nmaildirs++] = xstrdup(dir);
}

static void batch_work(void *arg)
{
	struct batch *b = arg;
	maildir_deliver_batch(b->items, b->n, b->d->e->cfg->hostname);
}

static void batch_done(void *arg)
{
	struct batch *b = arg;
	struct engine *e = b->d->e;

	for (size_t i = 0; i < b->n; i++) {
		struct qrcpt *r = b->rcpts[i];
		if (r->result != RCPT_PENDING)
			continue;
		r->method = "maildir";
		r->result = b->items[i].result == MAILDIR_OK     ? RCPT_DELIVERED
		            : b->items[i].result == MAILDIR_TEMP ? RCPT_TEMP
		                                                 : RCPT_PERM;
		if (r->result != RCPT_DELIVERED)
			snprintf(r->reply, sizeof(r->reply), "%s %s",
			         r->result == RCPT_TEMP ? "451 4.3.0" : "554 5.3.0",
			         b->items[i].err);
		else
			remember_dir(e, b->dirs[i]);
	}
	dest_release(b->d);
	for (size_t i = 0; i < b->njobs; i++)
		engine_job_done(e, b->jobs[i]);
	free(b->jobs);
	free(b->items);
	free(b->rcpts);
	free(b->dirs);
	free(b->uniques);
	free(b);
}

static size_t job_rcpts_add(struct batch *b, struct job *j, const struct config *cfg)
{
	const struct qmsg *m = j->m;

	for (size_t k = 0; k < j->n; k++) {
		struct qrcpt *r = j->r[k];
		const char *at = strrchr(r->addr, '@');
		const struct domain_conf *dc = config_domain(cfg, at ? at + 1 : "");
		const char *tmpl =
		    dc && dc->maildir && dc->maildir[0] ? dc->maildir : cfg->delivery_maildir;
		struct maildir_item *it = &b->items[b->n];
		char err[ENGINE_REPLY_MAX - 16];

		if (maildir_path(tmpl, r->addr, b->dirs[b->n], sizeof(b->dirs[b->n]), err,
		                 sizeof(err)) < 0) {
			r->result = RCPT_PERM;
			r->method = "maildir";
			snprintf(r->reply, sizeof(r->reply), "550 5.1.3 %s", err);
			continue;
		}
		snprintf(b->uniques[b->n], sizeof(b->uniques[b->n]), "%lld.%s_%lld", m->arrival,
		         m->id, r->idx);
		memset(it, 0, sizeof(*it));
		it->dir = b->dirs[b->n];
		it->unique = b->uniques[b->n];
		it->sender = m->sender;
		it->rcpt = r->addr;
		it->body = m->data;
		it->len = m->len;
		b->rcpts[b->n++] = r;
	}
	return j->n;
}

void deliver_maildir_start(struct dest *d, struct job *j)
{
	const struct config *cfg = d->e->cfg;
	struct batch *b = xcalloc(1, sizeof(*b));
	size_t cap = MAILDIR_BATCH_RCPTS, total = 0;

	b->d = d;
	b->jobs = xcalloc(cap, sizeof(*b->jobs));
	b->items = xcalloc(cap + j->n, sizeof(*b->items));
	b->rcpts = xcalloc(cap + j->n, sizeof(*b->rcpts));
	b->dirs = xcalloc(cap + j->n, sizeof(*b->dirs));
	b->uniques = xcalloc(cap + j->n, sizeof(*b->uniques));
	/* The first job always goes; more only while they fit. */
	do {
		b->jobs[b->njobs++] = j;
		total += job_rcpts_add(b, j, cfg);
		j = NULL;
		if (b->njobs < cap && TAILQ_FIRST(&d->jobs) &&
		    total + TAILQ_FIRST(&d->jobs)->n <= cap)
			j = dest_next_job(d);
	} while (j != NULL);
	pool_submit(d->e->files, batch_work, batch_done, b);
}

struct sweep {
	char **dirs;
	size_t n;
	time_t now;
	size_t removed;
};

static void sweep_work(void *arg)
{
	struct sweep *s = arg;

	for (size_t i = 0; i < s->n; i++) {
		int n = maildir_clean_tmp(s->dirs[i], s->now, MAILDIR_TMP_MAX_AGE);
		if (n > 0)
			s->removed += (size_t)n;
	}
}

static void sweep_done(void *arg)
{
	struct sweep *s = arg;

	if (s->removed)
		log_info("event=maildir_tmp_swept maildirs=%zu removed=%zu", s->n, s->removed);
	for (size_t i = 0; i < s->n; i++)
		free(s->dirs[i]);
	free(s->dirs);
	free(s);
}

void deliver_maildir_sweep(struct engine *e)
{
	struct sweep *s;

	if (e->nmaildirs == 0)
		return;
	s = xcalloc(1, sizeof(*s));
	s->dirs = e->maildirs;
	s->n = e->nmaildirs;
	s->now = time(NULL);
	e->maildirs = NULL;
	e->nmaildirs = 0;
	pool_submit(e->files, sweep_work, sweep_done, s);
}
