/* The verdict caches: a hash table of entries chained by key, and a list
 * from the oldest entry to the newest along which entries are expired and
 * evicted; verdicts counted by reference. */
#include "policyd/cache.h"
#include "core/hash.h"
#include "core/xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct policyd_cache {
	struct policyd_entry **buckets;
	size_t mask;
	size_t count, max;
	unsigned ttl;
	struct policyd_entry *oldest, *newest;
};

struct policyd_cache *policyd_cache_new(size_t max, unsigned ttl)
{
	struct policyd_cache *c = xcalloc(1, sizeof(*c));
	size_t n = 16;

	while (n < max)
		n *= 2;
	c->buckets = xcalloc(n, sizeof(*c->buckets));
	c->mask = n - 1;
	c->max = max > 0 ? max : 1;
	c->ttl = ttl;
	return c;
}

struct policyd_verdict *policyd_verdict_new(void)
{
	struct policyd_verdict *v = xcalloc(1, sizeof(*v));

	v->pending = 1;
	v->refs = 1;
	return v;
}

void policyd_verdict_hold(struct policyd_verdict *v)
{
	v->refs++;
}

void policyd_verdict_drop(struct policyd_verdict *v)
{
	if (v == NULL || --v->refs > 0)
		return;
	free(v->reply);
	free(v->prepend);
	free(v->log);
	free(v);
}

static void entry_free(struct policyd_entry *e)
{
	policyd_verdict_drop(e->verdict);
	free(e);
}

void policyd_cache_free(struct policyd_cache *c)
{
	if (c == NULL)
		return;
	for (struct policyd_entry *e = c->oldest, *next; e; e = next) {
		next = e->newer;
		entry_free(e);
	}
	free(c->buckets);
	free(c);
}

static void unlink_age(struct policyd_cache *c, struct policyd_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	e->older = e->newer = NULL;
}

static void link_newest(struct policyd_cache *c, struct policyd_entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

void policyd_cache_remove(struct policyd_cache *c, struct policyd_entry *e)
{
	struct policyd_entry **pp = &c->buckets[e->hash & c->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	unlink_age(c, e);
	c->count--;
	entry_free(e);
}

struct policyd_entry *policyd_cache_get(struct policyd_cache *c, const void *key, size_t keylen,
                                        time_t now)
{
	uint32_t h = hash_fnv1a(HASH_FNV1A_SEED, key, keylen);

	for (struct policyd_entry *e = c->buckets[h & c->mask]; e; e = e->hnext) {
		if (e->hash != h || e->keylen != keylen || memcmp(e->key, key, keylen) != 0)
			continue;
		if (!e->verdict->pending && now >= e->expires) {
			policyd_cache_remove(c, e);
			return NULL;
		}
		return e;
	}
	return NULL;
}

struct policyd_entry *policyd_cache_put(struct policyd_cache *c, const void *key, size_t keylen,
                                        struct policyd_verdict *v, time_t now)
{
	struct policyd_entry *e, *next;

	/* The list runs from the oldest verdict to the newest, so the
	 * expired ones are at its start; pending entries are stepped over. */
	for (e = c->oldest; e != NULL; e = next) {
		next = e->newer;
		if (e->verdict->pending)
			continue;
		if (c->count < c->max && now < e->expires)
			break;
		policyd_cache_remove(c, e);
	}
	e = xcalloc(1, sizeof(*e) + keylen);
	memcpy(e->key, key, keylen);
	e->keylen = keylen;
	e->hash = hash_fnv1a(HASH_FNV1A_SEED, key, keylen);
	e->verdict = v;
	policyd_verdict_hold(v);
	e->expires = now + c->ttl;
	e->hnext = c->buckets[e->hash & c->mask];
	c->buckets[e->hash & c->mask] = e;
	link_newest(c, e);
	c->count++;
	return e;
}

void policyd_cache_done(struct policyd_cache *c, struct policyd_entry *e, time_t now)
{
	e->expires = now + c->ttl;
	/* Keep the list in order of expiry. */
	unlink_age(c, e);
	link_newest(c, e);
}

size_t policyd_cache_count(const struct policyd_cache *c)
{
	return c->count;
}
