/* The DKIM signing keys of the configuration (dkim_signing), read once
 * by the master before privileges are dropped, and looked up by domain. */
#ifndef POSTERN_AUTH_DKIM_KEYRING_H
#define POSTERN_AUTH_DKIM_KEYRING_H

#include "core/buf.h"
#include "core/config.h"

#include <openssl/evp.h>
#include <stddef.h>

struct dkim_keyring_entry {
	char *domain; /* lower case */
	char *selector;
	EVP_PKEY *key;
};

struct dkim_keyring {
	struct dkim_keyring_entry *e;
	size_t n;
};

/* The directory keys live in: dkim.key_dir, or <state_dir>/dkim. */
int dkim_key_dir(const struct config *cfg, char *out, size_t outsize);

/* Reads every dkim_signing key.  Returns 0, or -1 after appending one
 * "file:line: ..." line per unusable entry to errors (unreadable file, not
 * a private key, RSA under 1024 bits). */
int dkim_keyring_load(const struct config *cfg, struct dkim_keyring *kr, struct buf *errors);
void dkim_keyring_free(struct dkim_keyring *kr);

/* The entries for domain (case-insensitive), or 0 of them. */
size_t dkim_keyring_find(const struct dkim_keyring *kr, const char *domain,
                         const struct dkim_keyring_entry **first);

#endif
