/* Per-resolver DNS cache: hash table with chaining plus an LRU list. */
#include "dns/cache.h"
#include "core/hash.h"
#include "core/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Enough buckets for short chains at any configured size without a huge
 * table up front. */
#define CACHE_BUCKETS_MAX ((size_t)1 << 20)

struct entry {
	struct entry *hnext;       /* bucket chain */
	struct entry *prev, *next; /* LRU list, most recently used first */
	char *key;                 /* lower-cased, without the final dot */
	enum dns_type type;
	uint32_t hash;
	struct dns_result res;
	time_t stored, expires;
};

struct dns_cache {
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count, max;
	struct entry *head, *tail;
};

struct dns_cache *dns_cache_new(size_t max_entries)
{
	struct dns_cache *c = xcalloc(1, sizeof(*c));

	c->max = max_entries;
	c->nbuckets = 16;
	while (c->nbuckets < max_entries && c->nbuckets < CACHE_BUCKETS_MAX)
		c->nbuckets <<= 1;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	return c;
}

/* Names compare case-insensitively (RFC 4343) and "a.example." is
 * "a.example".  The key goes to buf when it fits in size bytes (a lookup
 * needs it only while it looks), else to a new allocation. */
static char *make_key(const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);
	char *key;

	if (n > 1 && name[n - 1] == '.')
		n--;
	key = n < size ? buf : xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		key[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	key[n] = '\0';
	return key;
}

/* The key is already in lower case (make_key). */
static uint32_t hash_key(const char *key, enum dns_type type)
{
	return hash_fnv1a_str(HASH_FNV1A_SEED ^ (uint32_t)type, key);
}

static struct entry **find(struct dns_cache *c, const char *key, enum dns_type type, uint32_t hash)
{
	struct entry **pp = &c->buckets[hash & (c->nbuckets - 1)];

	while (*pp && ((*pp)->hash != hash || (*pp)->type != type || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->hnext;
	return pp;
}

static void lru_unlink(struct dns_cache *c, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct dns_cache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	else
		c->tail = e;
	c->head = e;
}

/* Removes the entry *pp points to from its bucket and the LRU list. */
static void drop(struct dns_cache *c, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->hnext;
	lru_unlink(c, e);
	dns_result_free(&e->res);
	free(e->key);
	free(e);
	c->count--;
}

void dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type,
                   const struct dns_result *res, time_t now)
{
	struct entry **pp, *e;
	char *key;
	uint32_t hash;

	if (!res->cacheable || res->ttl == 0)
		return;
	key = make_key(name, NULL, 0);
	hash = hash_key(key, type);
	pp = find(c, key, type, hash);
	if (*pp)
		drop(c, pp);
	else if (c->count >= c->max) {
		struct entry *old = c->tail;
		drop(c, find(c, old->key, old->type, old->hash));
	}
	e = xcalloc(1, sizeof(*e));
	e->key = key;
	e->type = type;
	e->hash = hash;
	dns_result_copy(&e->res, res);
	e->stored = now;
	e->expires = now + (time_t)res->ttl;
	e->hnext = c->buckets[hash & (c->nbuckets - 1)];
	c->buckets[hash & (c->nbuckets - 1)] = e;
	lru_push(c, e);
	c->count++;
}

int dns_cache_get(struct dns_cache *c, const char *name, enum dns_type type, time_t now,
                  struct dns_result *res)
{
	char buf[256]; /* any valid name (RFC 1035 2.3.4: 255 octets, dots included) */
	char *key = make_key(name, buf, sizeof(buf));
	uint32_t hash = hash_key(key, type);
	struct entry **pp = find(c, key, type, hash), *e = *pp;
	time_t elapsed;

	if (key != buf)
		free(key);
	if (e == NULL)
		return 0;
	if (now >= e->expires) {
		drop(c, pp);
		return 0;
	}
	lru_unlink(c, e);
	lru_push(c, e);
	dns_result_copy(res, &e->res);
	/* The TTLs handed out count down while the entry sits here. */
	elapsed = now > e->stored ? now - e->stored : 0;
	for (size_t i = 0; i < res->nrr; i++)
		res->rrs[i].ttl =
		    res->rrs[i].ttl > elapsed ? res->rrs[i].ttl - (uint32_t)elapsed : 0;
	res->ttl = (uint32_t)(e->expires - now);
	return 1;
}

size_t dns_cache_count(const struct dns_cache *c)
{
	return c->count;
}

void dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return;
	while (c->head)
		drop(c, find(c, c->head->key, c->head->type, c->head->hash));
	free(c->buckets);
	free(c);
}
