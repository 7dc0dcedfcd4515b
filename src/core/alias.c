/* Alias expansion over the aliases of the configuration's local domains:
 * a depth-first walk that remembers the addresses on its way down (a
 * cycle) and those already expanded (given once, looked up once). */
#include "core/alias.h"
#include "core/xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest local part an alias can have (config.c refuses longer ones). */
#define ALIAS_LOCAL_MAX 64

struct walk {
	const struct config *cfg;
	size_t max;
	alias_exists_fn exists;
	void *ctx;
	struct alias_expansion *out;
	/* The addresses being expanded, outermost first. */
	const char *path[ALIAS_MAX_DEPTH + 1];
	size_t depth;
	/* The addresses expanded already. */
	const char **done;
	size_t ndone, done_cap;
};

static int listed(const char *const *list, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(list[i], addr) == 0)
			return 1;
	return 0;
}

static enum alias_status give(struct walk *w, const char *addr, int forwarded)
{
	struct alias_expansion *out = w->out;

	for (size_t i = 0; i < out->n; i++)
		if (strcasecmp(out->targets[i].addr, addr) == 0)
			return ALIAS_OK;
	if (out->n == w->max) {
		out->culprit = addr;
		return ALIAS_TOO_MANY;
	}
	out->targets = xrealloc(out->targets, (out->n + 1) * sizeof(*out->targets));
	out->targets[out->n].addr = xstrdup(addr);
	out->targets[out->n].forwarded = forwarded;
	out->n++;
	return ALIAS_OK;
}

/* A final address of the configuration (postmaster, abuse): forwarded
 * when it is not at a local domain. */
static enum alias_status give_setting(struct walk *w, const char *addr)
{
	const char *at = strrchr(addr, '@');
	return give(w, addr, at == NULL || config_domain(w->cfg, at + 1) == NULL);
}

static enum alias_status expand(struct walk *w, const char *addr);

static enum alias_status expand_all(struct walk *w, const struct alias_conf *a)
{
	enum alias_status st = ALIAS_OK;

	for (size_t k = 0; k < a->nto && st == ALIAS_OK; k++)
		st = expand(w, a->to[k]);
	return st;
}

/* What the local address addr, at domain d, stands for. */
static enum alias_status expand_local(struct walk *w, const char *addr, const char *local,
                                      const struct domain_conf *d)
{
	const struct alias_conf *a = local ? config_alias(d, local) : NULL;
	int found;

	if (a != NULL)
		return expand_all(w, a);
	found = w->exists(w->ctx, addr);
	if (found < 0) {
		w->out->culprit = addr;
		return ALIAS_TEMPFAIL;
	}
	if (found > 0)
		return give(w, addr, 0);
	a = config_alias(d, CONFIG_ALIAS_CATCHALL);
	if (a == NULL) {
		w->out->culprit = addr;
		return ALIAS_UNKNOWN;
	}
	return expand_all(w, a);
}

static enum alias_status expand(struct walk *w, const char *addr)
{
	const char *at = strrchr(addr, '@');
	const struct domain_conf *d = at ? config_domain(w->cfg, at + 1) : NULL;
	char local[ALIAS_LOCAL_MAX + 1];
	size_t llen = at ? (size_t)(at - addr) : 0;
	enum alias_status st;

	if (d == NULL)
		return give(w, addr, 1);
	/* A local part longer than any alias's is no alias. */
	if (llen <= ALIAS_LOCAL_MAX) {
		memcpy(local, addr, llen);
		local[llen] = '\0';
		/* RFC 5321 4.5.1, RFC 2142: as for a recipient given directly. */
		if (strcasecmp(local, "postmaster") == 0)
			return give_setting(w, w->cfg->postmaster);
		if (strcasecmp(local, "abuse") == 0)
			return give_setting(w, w->cfg->abuse);
	}
	if (listed(w->done, w->ndone, addr))
		return ALIAS_OK;
	if (w->depth > ALIAS_MAX_DEPTH || listed(w->path, w->depth, addr)) {
		w->out->culprit = addr;
		return ALIAS_LOOP;
	}
	w->path[w->depth++] = addr;
	st = expand_local(w, addr, llen <= ALIAS_LOCAL_MAX ? local : NULL, d);
	w->depth--;
	if (w->ndone == w->done_cap) {
		w->done_cap = w->done_cap ? 2 * w->done_cap : 8;
		w->done = xrealloc(w->done, w->done_cap * sizeof(*w->done));
	}
	w->done[w->ndone++] = addr;
	return st;
}

enum alias_status alias_expand(const struct config *cfg, const char *addr, size_t max,
                               alias_exists_fn exists, void *ctx, struct alias_expansion *out)
{
	struct walk w = {.cfg = cfg, .max = max, .exists = exists, .ctx = ctx, .out = out};
	enum alias_status st;

	memset(out, 0, sizeof(*out));
	st = expand(&w, addr);
	free(w.done);
	return st;
}

void alias_expansion_free(struct alias_expansion *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->targets[i].addr);
	free(e->targets);
	memset(e, 0, sizeof(*e));
}

const char *alias_status_text(enum alias_status st)
{
	switch (st) {
	case ALIAS_OK:
		return "ok";
	case ALIAS_UNKNOWN:
		return "unknown";
	case ALIAS_LOOP:
		return "loop";
	case ALIAS_TOO_MANY:
		return "too_many";
	case ALIAS_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}
