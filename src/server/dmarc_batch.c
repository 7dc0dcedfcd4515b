/* Batched writes of DMARC observations from an SMTP worker. */
#include "server/dmarc_batch.h"

#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "core/config.h"
#include "core/pool.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Beyond this many pending observations the oldest batch is written at
 * once rather than waiting for the timer. */
#define DMARC_BATCH_MAX 4096

struct owned_obs {
	struct dmarc_obs o;
	char *mem; /* every string of o */
};

struct batch_job {
	struct dmarc_store *store;
	struct owned_obs *items;
	size_t n;
	int64_t forget_before; /* 0: nothing to purge this time */
};

struct dmarc_batch {
	const struct config *cfg;
	struct pool *pool;
	struct dmarc_store *store;
	struct event *timer;
	struct owned_obs *items;
	size_t n, cap;
	time_t last_purge;
};

static size_t len0(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/* Copies s into *p (advancing it); NULL stays NULL. */
static const char *put(char **p, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = *p;
	memcpy(d, s, n);
	*p += n;
	return d;
}

void dmarc_batch_add(struct dmarc_batch *b, const struct dmarc_obs *o)
{
	size_t need = len0(o->policy_domain) + len0(o->rua) + len0(o->p) + len0(o->sp) +
	              len0(o->fo) + len0(o->source_ip) + len0(o->disposition) + len0(o->reason) +
	              len0(o->reason_comment) + len0(o->header_from) + len0(o->envelope_from) +
	              len0(o->spf_domain) + len0(o->spf_scope) + len0(o->spf_result);
	for (size_t k = 0; k < o->ndkim; k++)
		need +=
		    len0(o->dkim[k].domain) + len0(o->dkim[k].selector) + len0(o->dkim[k].result);

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->items = xrealloc(b->items, b->cap * sizeof(*b->items));
	}
	struct owned_obs *it = &b->items[b->n++];
	char *p = it->mem = xmalloc(need + 1);
	it->o = *o;
	it->o.policy_domain = put(&p, o->policy_domain);
	it->o.rua = put(&p, o->rua);
	it->o.p = put(&p, o->p);
	it->o.sp = put(&p, o->sp);
	it->o.fo = put(&p, o->fo);
	it->o.source_ip = put(&p, o->source_ip);
	it->o.disposition = put(&p, o->disposition);
	it->o.reason = put(&p, o->reason);
	it->o.reason_comment = put(&p, o->reason_comment);
	it->o.header_from = put(&p, o->header_from);
	it->o.envelope_from = put(&p, o->envelope_from);
	it->o.spf_domain = put(&p, o->spf_domain);
	it->o.spf_scope = put(&p, o->spf_scope);
	it->o.spf_result = put(&p, o->spf_result);
	for (size_t k = 0; k < o->ndkim; k++) {
		it->o.dkim[k].domain = put(&p, o->dkim[k].domain);
		it->o.dkim[k].selector = put(&p, o->dkim[k].selector);
		it->o.dkim[k].result = put(&p, o->dkim[k].result);
	}
	if (b->n >= DMARC_BATCH_MAX)
		event_active(b->timer, EV_TIMEOUT, 0);
}

static void write_items(struct dmarc_store *store, struct owned_obs *items, size_t n)
{
	struct dmarc_obs *obs = xcalloc(n, sizeof(*obs));
	char err[256];

	for (size_t k = 0; k < n; k++)
		obs[k] = items[k].o;
	if (dmarc_store_add(store, obs, n, err, sizeof(err)) != 0)
		log_err("event=dmarc_store_error observations=%zu error=\"%s\"", n, err);
	free(obs);
}

static void job_work(void *arg)
{
	struct batch_job *j = arg;
	char err[256];

	if (j->n > 0)
		write_items(j->store, j->items, j->n);
	if (j->forget_before > 0) {
		long removed = dmarc_store_purge(j->store, j->forget_before, err, sizeof(err));
		if (removed < 0)
			log_err("event=dmarc_store_error error=\"%s\"", err);
		else if (removed > 0)
			log_info("event=dmarc_purged rows=%ld", removed);
	}
}

static void job_done(void *arg)
{
	struct batch_job *j = arg;
	for (size_t k = 0; k < j->n; k++)
		free(j->items[k].mem);
	free(j->items);
	free(j);
}

static void flush(evutil_socket_t fd, short what, void *arg)
{
	struct dmarc_batch *b = arg;
	struct batch_job *j;

	/* Old days go once a day (and at the first flush), beside a batch. */
	time_t now = time(NULL);
	int purge = now - b->last_purge >= DMARC_STORE_DAY;
	if (b->n == 0 && !purge)
		return;
	j = xcalloc(1, sizeof(*j));
	if (purge) {
		b->last_purge = now;
		j->forget_before = dmarc_store_day((int64_t)now) -
		                   (int64_t)b->cfg->dmarc_keep_days * DMARC_STORE_DAY;
	}
	j->store = b->store;
	j->items = b->items;
	j->n = b->n;
	b->items = NULL;
	b->n = b->cap = 0;
	pool_submit(b->pool, job_work, job_done, j);
}

struct dmarc_batch *dmarc_batch_new(const struct config *cfg, struct event_base *base,
                                    struct pool *pool, char *err, size_t errsize)
{
	struct dmarc_store *store = dmarc_store_open(cfg->state_dir, err, errsize);
	struct timeval every = {.tv_sec = DMARC_BATCH_SECONDS};
	struct dmarc_batch *b;

	if (store == NULL)
		return NULL;
	b = xcalloc(1, sizeof(*b));
	b->cfg = cfg;
	b->pool = pool;
	b->store = store;
	b->timer = event_new(base, -1, EV_PERSIST, flush, b);
	if (b->timer == NULL)
		fatal("dmarc: cannot create a timer");
	event_add(b->timer, &every);
	return b;
}

void dmarc_batch_free(struct dmarc_batch *b)
{
	if (b == NULL)
		return;
	if (b->n > 0)
		write_items(b->store, b->items, b->n);
	for (size_t k = 0; k < b->n; k++)
		free(b->items[k].mem);
	free(b->items);
	event_free(b->timer);
	dmarc_store_close(b->store);
	free(b);
}
