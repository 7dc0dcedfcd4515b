/* Unit tests of the parsed-key cache: a hit shares the key, a changed
 * record or another name is parsed afresh, failures are not kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/b64.h"
#include "auth/dkim_keycache.h"

#include <openssl/x509.h>
#include <stdio.h>

/* RFC 8463 A.2 keys. */
static const char ed_a[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char ed_b[] =
    "v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

static void test_hit_and_miss(void **state)
{
	struct dkim_keycache *c = dkim_keycache_new(4);
	struct dkim_key k1, k2, k3, k4;
	char err[160];
	(void)state;

	assert_int_equal(dkim_keycache_parse(c, "s._domainkey.example.org", ed_a, strlen(ed_a), &k1,
	                                     err, sizeof(err)),
	                 0);
	/* The same record again: the very same key object, shared. */
	assert_int_equal(dkim_keycache_parse(c, "S._DOMAINKEY.example.org", ed_a, strlen(ed_a), &k2,
	                                     err, sizeof(err)),
	                 0);
	assert_ptr_equal(k1.pkey, k2.pkey);
	/* A changed record under the same name is parsed afresh. */
	assert_int_equal(dkim_keycache_parse(c, "s._domainkey.example.org", ed_b, strlen(ed_b), &k3,
	                                     err, sizeof(err)),
	                 0);
	assert_ptr_not_equal(k3.pkey, k1.pkey);
	assert_true(k3.testing);
	assert_false(k1.testing);
	/* A record that does not parse fails every time. */
	assert_int_equal(dkim_keycache_parse(c, "x._domainkey.example.org", "v=DKIM1; p=!!", 13,
	                                     &k4, err, sizeof(err)),
	                 -1);
	assert_int_equal(dkim_keycache_parse(c, "x._domainkey.example.org", "v=DKIM1; p=!!", 13,
	                                     &k4, err, sizeof(err)),
	                 -1);
	dkim_key_free(&k1);
	dkim_key_free(&k2);
	/* Keys handed out outlive the cache. */
	dkim_keycache_free(c);
	assert_int_equal(EVP_PKEY_get_base_id(k3.pkey), EVP_PKEY_ED25519);
	dkim_key_free(&k3);
}

/* A cached RSA key carries one prepared verification context, shared by
 * every copy handed out and freed with the last of them. */
static void test_rsa_context_shared(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	unsigned char *der = NULL;
	int dlen = i2d_PUBKEY(pkey, &der);
	char b64[1024], rec[1200], err[160];
	struct dkim_keycache *c = dkim_keycache_new(4);
	struct dkim_key k1, k2;
	(void)state;

	assert_true(dlen > 0);
	assert_true(b64_encode(der, (size_t)dlen, b64, sizeof(b64)) > 0);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=rsa; p=%s", b64);
	assert_int_equal(dkim_keycache_parse(c, "r._domainkey.example.org", rec, strlen(rec), &k1,
	                                     err, sizeof(err)),
	                 0);
	assert_int_equal(dkim_keycache_parse(c, "r._domainkey.example.org", rec, strlen(rec), &k2,
	                                     err, sizeof(err)),
	                 0);
	assert_non_null(k1.prepared);
	assert_ptr_equal(k1.prepared, k2.prepared);
	assert_int_equal(k1.prepared->refs, 3); /* the cache's and two copies */
	dkim_key_free(&k1);
	dkim_keycache_free(c);
	assert_int_equal(k2.prepared->refs, 1);
	dkim_key_free(&k2);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
}

static void test_without_cache(void **state)
{
	struct dkim_key k;
	char err[160];
	(void)state;

	assert_int_equal(dkim_keycache_parse(NULL, "s._domainkey.example.org", ed_a, strlen(ed_a),
	                                     &k, err, sizeof(err)),
	                 0);
	assert_non_null(k.pkey);
	dkim_key_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hit_and_miss),
	    cmocka_unit_test(test_rsa_context_shared),
	    cmocka_unit_test(test_without_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
