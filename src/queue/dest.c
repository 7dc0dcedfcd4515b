/* The destination table: a hash of destinations by kind and target, and
 * the list of those with queued jobs, which dest_pump walks to start work
 * within the limits. */
#include "queue/dest.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEST_BUCKETS 4096
/* Maildir batches at once: one per thread of the engine's file pool. */
#define DEST_MAILDIR_BATCHES 2

TAILQ_HEAD(dest_list, dest);

struct dest_table {
	struct engine *e;
	struct dest *buckets[DEST_BUCKETS];
	struct dest_list pending;
	size_t count;
};

struct dest_table *dest_table_new(struct engine *e)
{
	struct dest_table *t = xcalloc(1, sizeof(*t));

	t->e = e;
	TAILQ_INIT(&t->pending);
	return t;
}

static void dest_free(struct dest *d)
{
	struct job *j;

	deliver_smtp_close_idle(d);
	while ((j = TAILQ_FIRST(&d->jobs)) != NULL) {
		TAILQ_REMOVE(&d->jobs, j, link);
		free(j->r);
		free(j);
	}
	free(d->target);
	free(d);
}

void dest_table_free(struct dest_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < DEST_BUCKETS; i++)
		while (t->buckets[i]) {
			struct dest *d = t->buckets[i];
			t->buckets[i] = d->hash_next;
			dest_free(d);
		}
	free(t);
}

static uint32_t dest_hash(enum dest_kind kind, const char *target)
{
	uint32_t h = hash_fnv1a(HASH_FNV1A_SEED, &kind, sizeof(kind));
	return hash_fnv1a_str_lower(h, target) % DEST_BUCKETS;
}

struct dest *dest_get(struct dest_table *t, enum dest_kind kind, const char *target)
{
	uint32_t b = dest_hash(kind, target);
	struct dest *d;

	for (d = t->buckets[b]; d; d = d->hash_next)
		if (d->kind == kind && strcasecmp(d->target, target) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	d->kind = kind;
	d->target = xstrdup(target);
	d->e = t->e;
	TAILQ_INIT(&d->jobs);
	d->limit = kind == DEST_MAILDIR ? DEST_MAILDIR_BATCHES : 1;
	d->reached = kind == DEST_MAILDIR;
	d->hash_next = t->buckets[b];
	t->buckets[b] = d;
	t->count++;
	return d;
}

static int dest_is_down(struct dest *d)
{
	if (d->down_until == 0)
		return 0;
	if (d->e->now < d->down_until)
		return 1;
	d->down_until = 0;
	return 0;
}

static void defer_job(struct dest *d, struct job *j)
{
	job_fail_all(j, 451, d->down_reply, d->kind == DEST_LMTP ? "lmtp" : "smtp");
	engine_job_done(d->e, j);
}

void dest_enqueue(struct dest *d, struct job *j)
{
	struct dest_table *t = d->e->dests;

	j->d = d;
	if (dest_is_down(d)) {
		defer_job(d, j);
		return;
	}
	TAILQ_INSERT_TAIL(&d->jobs, j, link);
	d->njobs++;
	if (!d->pending) {
		d->pending = 1;
		TAILQ_INSERT_TAIL(&t->pending, d, pending_link);
	}
}

struct job *dest_next_job(struct dest *d)
{
	struct job *j = TAILQ_FIRST(&d->jobs);

	if (j == NULL || dest_is_down(d))
		return NULL;
	TAILQ_REMOVE(&d->jobs, j, link);
	d->njobs--;
	return j;
}

void dest_pump(struct dest_table *t)
{
	struct engine *e = t->e;
	struct dest *d, *next;

	if (e->closing)
		return;
	for (d = TAILQ_FIRST(&t->pending); d && e->active < (size_t)e->cfg->delivery_concurrency;
	     d = next) {
		next = TAILQ_NEXT(d, pending_link);
		while (d->njobs > 0 && d->active < d->limit &&
		       e->active < (size_t)e->cfg->delivery_concurrency) {
			struct job *j = dest_next_job(d);
			if (j == NULL)
				break;
			dest_acquire(d);
			if (d->kind == DEST_MAILDIR)
				deliver_maildir_start(d, j);
			else
				deliver_smtp_start(d, j);
		}
		if (d->njobs == 0) {
			TAILQ_REMOVE(&t->pending, d, pending_link);
			d->pending = 0;
		}
	}
}

int dest_others_waiting(const struct dest *d)
{
	const struct dest *o;

	TAILQ_FOREACH(o, &d->e->dests->pending, pending_link)
	if (o != d && o->njobs > 0 && o->active < o->limit)
		return 1;
	return 0;
}

void dest_reached(struct dest *d)
{
	if (!d->reached) {
		d->reached = 1;
		d->limit = (size_t)d->e->cfg->destination_concurrency;
	}
}

void dest_down(struct dest *d, const char *reply)
{
	struct job *j;

	d->reached = 0;
	d->limit = 1;
	d->down_until = d->e->now + d->e->cfg->retry_min;
	snprintf(d->down_reply, sizeof(d->down_reply), "%s", reply);
	log_info("event=destination_down destination=%s until=%lld", d->target,
	         (long long)d->down_until);
	while ((j = TAILQ_FIRST(&d->jobs)) != NULL) {
		TAILQ_REMOVE(&d->jobs, j, link);
		d->njobs--;
		defer_job(d, j);
	}
}

void dest_acquire(struct dest *d)
{
	d->active++;
	d->e->active++;
}

void dest_release(struct dest *d)
{
	d->active--;
	d->e->active--;
}

void dest_expire(struct dest_table *t)
{
	for (size_t i = 0; i < DEST_BUCKETS; i++) {
		struct dest **pp = &t->buckets[i];
		while (*pp) {
			struct dest *d = *pp;
			if (!d->pending && d->njobs == 0 && d->active == 0 && d->idle == NULL &&
			    !dest_is_down(d)) {
				*pp = d->hash_next;
				t->count--;
				dest_free(d);
			} else
				pp = &d->hash_next;
		}
	}
}
