/* A direct-mapped cache of parsed key records. */
#include "auth/dkim_keycache.h"

#include "core/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct slot {
	char *name;
	char *rec;
	size_t len;
	struct dkim_key key;
};

struct dkim_keycache {
	struct slot *slots;
	size_t n;
};

struct dkim_keycache *dkim_keycache_new(size_t slots)
{
	struct dkim_keycache *c = xcalloc(1, sizeof(*c));
	c->n = slots > 0 ? slots : 1;
	c->slots = xcalloc(c->n, sizeof(*c->slots));
	return c;
}

static void slot_clear(struct slot *s)
{
	free(s->name);
	free(s->rec);
	if (s->name != NULL)
		dkim_key_free(&s->key);
	memset(s, 0, sizeof(*s));
}

void dkim_keycache_free(struct dkim_keycache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		slot_clear(&c->slots[i]);
	free(c->slots);
	free(c);
}

/* FNV-1a over the lower-cased name: DNS names compare without case. */
static size_t slot_of(const struct dkim_keycache *c, const char *name)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		unsigned char ch = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
		h = (h ^ ch) * 1099511628211ULL;
	}
	return (size_t)(h % c->n);
}

static void share(const struct dkim_key *from, struct dkim_key *to)
{
	*to = *from;
	if (to->pkey != NULL)
		EVP_PKEY_up_ref(to->pkey);
	if (to->prepared != NULL)
		to->prepared->refs++;
}

int dkim_keycache_parse(struct dkim_keycache *c, const char *name, const char *rec, size_t len,
                        struct dkim_key *out, char *err, size_t errsize)
{
	struct slot *s;

	if (c == NULL)
		return dkim_key_parse(rec, len, out, err, errsize);
	s = &c->slots[slot_of(c, name)];
	if (s->name != NULL && strcasecmp(s->name, name) == 0 && s->len == len &&
	    memcmp(s->rec, rec, len) == 0) {
		share(&s->key, out);
		return 0;
	}
	if (dkim_key_parse(rec, len, out, err, errsize) != 0)
		return -1;
	/* Kept keys are used again: a context made once is worth it. */
	dkim_key_prepare(out);
	slot_clear(s);
	s->name = xstrdup(name);
	s->rec = xmalloc(len + 1);
	memcpy(s->rec, rec, len);
	s->len = len;
	share(out, &s->key);
	return 0;
}
