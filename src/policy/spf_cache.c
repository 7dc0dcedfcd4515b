/* The per-thread cache of parsed SPF records: a small direct-mapped table;
 * an entry in use by a running check is never replaced, only skipped. */
#include "policy/spf_cache.h"
#include "core/hash.h"
#include "core/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define SPF_CACHE_SLOTS 512

struct spf_parsed {
	struct spf_record rec;
	char *text;
	size_t len;
	unsigned refs; /* checks using it, plus one while it is in the table */
};

static _Thread_local struct spf_parsed *spf_cache[SPF_CACHE_SLOTS];

struct spf_parsed *spf_parsed_get(const char *txt, size_t len, char *err, size_t errsize)
{
	struct spf_parsed **slot =
	    &spf_cache[hash_fnv1a(HASH_FNV1A_SEED, txt, len) % SPF_CACHE_SLOTS];
	struct spf_parsed *p = *slot;

	if (p && p->len == len && memcmp(p->text, txt, len) == 0) {
		p->refs++;
		return p;
	}
	p = xcalloc(1, sizeof(*p));
	if (spf_record_parse(txt, len, &p->rec, err, errsize) < 0) {
		free(p);
		return NULL;
	}
	p->text = xstrndup(txt, len);
	p->len = len;
	p->refs = 1;
	/* The slot's old entry leaves the table; its users keep it alive. */
	if (*slot)
		spf_parsed_put(*slot);
	*slot = p;
	p->refs++;
	return p;
}

const struct spf_record *spf_parsed_record(const struct spf_parsed *p)
{
	return &p->rec;
}

void spf_parsed_put(struct spf_parsed *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	spf_record_free(&p->rec);
	free(p->text);
	free(p);
}
