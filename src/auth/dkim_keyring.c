/* Loading the signing keys named by the configuration. */
#include "auth/dkim_keyring.h"

#include "core/xmalloc.h"

#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int dkim_key_dir(const struct config *cfg, char *out, size_t outsize)
{
	int n = cfg->dkim_key_dir[0] ? snprintf(out, outsize, "%s", cfg->dkim_key_dir)
	                             : snprintf(out, outsize, "%s/dkim", cfg->state_dir);
	return n < 0 || (size_t)n >= outsize ? -1 : 0;
}

static EVP_PKEY *read_key(const char *path, char *err, size_t errsize)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *key;

	if (fp == NULL) {
		snprintf(err, errsize, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (key == NULL) {
		snprintf(err, errsize, "%s is not a PEM private key", path);
		return NULL;
	}
	int base = EVP_PKEY_get_base_id(key);
	/* RFC 8301 3.2: verifiers refuse RSA keys under 1024 bits. */
	if (base != EVP_PKEY_ED25519 && !(base == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 1024)) {
		snprintf(err, errsize, "%s is neither Ed25519 nor RSA of 1024 bits or more", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

int dkim_keyring_load(const struct config *cfg, struct dkim_keyring *kr, struct buf *errors)
{
	char dir[4096], path[8192], err[8400];
	int rc = 0;

	memset(kr, 0, sizeof(*kr));
	if (cfg->ndkim_signing == 0)
		return 0;
	if (dkim_key_dir(cfg, dir, sizeof(dir)) < 0) {
		buf_printf(errors, "%s:0: dkim.key_dir is too long\n", cfg->source);
		return -1;
	}
	kr->e = xcalloc(cfg->ndkim_signing, sizeof(*kr->e));
	for (size_t i = 0; i < cfg->ndkim_signing; i++) {
		const struct dkim_signing_conf *dc = &cfg->dkim_signing[i];
		if (dc->key[0] == '/')
			snprintf(path, sizeof(path), "%s", dc->key);
		else
			snprintf(path, sizeof(path), "%s/%s", dir, dc->key);
		EVP_PKEY *key = read_key(path, err, sizeof(err));
		if (key == NULL) {
			buf_printf(errors, "%s:%d: dkim_signing %s: %s\n", cfg->source, dc->line,
			           dc->domain, err);
			rc = -1;
			continue;
		}
		kr->e[kr->n].domain = xstrdup(dc->domain);
		kr->e[kr->n].selector = xstrdup(dc->selector);
		kr->e[kr->n].key = key;
		kr->n++;
	}
	if (rc < 0) {
		dkim_keyring_free(kr);
		return rc;
	}
	/* A domain's keys side by side, in the order given (insertion sort is
	 * stable), so that a lookup returns one run. */
	for (size_t i = 1; i < kr->n; i++) {
		struct dkim_keyring_entry t = kr->e[i];
		size_t j = i;
		for (; j > 0 && strcasecmp(kr->e[j - 1].domain, t.domain) > 0; j--)
			kr->e[j] = kr->e[j - 1];
		kr->e[j] = t;
	}
	return 0;
}

void dkim_keyring_free(struct dkim_keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++) {
		free(kr->e[i].domain);
		free(kr->e[i].selector);
		EVP_PKEY_free(kr->e[i].key);
	}
	free(kr->e);
	memset(kr, 0, sizeof(*kr));
}

size_t dkim_keyring_find(const struct dkim_keyring *kr, const char *domain,
                         const struct dkim_keyring_entry **first)
{
	size_t n = 0;

	*first = NULL;
	for (size_t i = 0; i < kr->n; i++) {
		if (strcasecmp(kr->e[i].domain, domain) != 0)
			continue;
		if (*first == NULL)
			*first = &kr->e[i];
		n++;
	}
	return n;
}
