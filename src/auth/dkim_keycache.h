/* Parsed DKIM key records, kept per worker: turning a TXT record into an
 * OpenSSL key costs several RSA verifications (d2i_PUBKEY), and the same
 * few keys sign most mail.  An entry is found by the record's name and
 * its exact bytes, so a changed record is parsed afresh, and freshness
 * stays the DNS cache's business (TTLs).  Not thread-safe: one per loop. */
#ifndef POSTERN_AUTH_DKIM_KEYCACHE_H
#define POSTERN_AUTH_DKIM_KEYCACHE_H

#include "auth/dkim_key.h"

#include <stddef.h>

struct dkim_keycache;

struct dkim_keycache *dkim_keycache_new(size_t slots);
void dkim_keycache_free(struct dkim_keycache *c);

/* dkim_key_parse, answered from c when name had exactly this record
 * before; c may be NULL.  *out is always to be freed with dkim_key_free. */
int dkim_keycache_parse(struct dkim_keycache *c, const char *name, const char *rec, size_t len,
                        struct dkim_key *out, char *err, size_t errsize);

#endif
