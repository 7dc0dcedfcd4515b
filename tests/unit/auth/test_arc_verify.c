/* Unit tests of the ARC sealer and the streaming validator together:
 * chains of one to three sets with RSA and Ed25519 keys fed in every
 * chunk size, and what breaks them (RFC 8617 5.1, 5.2, 7.2.2). */
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../policy/zonetest.h"
#include "auth/arc_seal.h"
#include "auth/arc_verify.h"
#include "auth/b64.h"

static const char plain_msg[] = "From: Joe <joe@example.com>\r\n"
                                "To: Suzie <suzie@example.net>\r\n"
                                "Subject: Is dinner ready?\r\n"
                                "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
                                "\r\n"
                                "Hi.\r\n"
                                "\r\n"
                                "We lost  the game. \r\n"
                                "\r\n"
                                "\r\n";

#define HEADERS "from:to:subject:date"

/* A zone with one TXT record "sel._domainkey.example.org" for key, its
 * data split in strings of 200 octets (RFC 1035 3.3). */
static void zone_for(EVP_PKEY *key, const char *name, struct buf *zone)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	char b64[1024], rec[1200];

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		assert_int_equal(EVP_PKEY_get_raw_public_key(key, raw, &rawlen), 1);
		assert_true(b64_encode(raw, rawlen, b64, sizeof(b64)) > 0);
		snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; p=%s", b64);
	} else {
		int n = i2d_PUBKEY(key, &der);
		assert_true(n > 0);
		assert_true(b64_encode(der, (size_t)n, b64, sizeof(b64)) > 0);
		OPENSSL_free(der);
		snprintf(rec, sizeof(rec), "v=DKIM1; p=%s", b64);
	}
	buf_printf(zone, "%s._domainkey.example.org TXT", name);
	for (size_t off = 0; off < strlen(rec); off += 200)
		buf_printf(zone, " \"%.200s\"", rec + off);
	buf_append_str(zone, "\n");
}

struct outcome {
	struct arc_result res;
	int called;
};

static void done(void *arg, const struct arc_result *res)
{
	struct outcome *o = arg;

	o->called++;
	o->res = *res;
}

static void run(struct zonetest *zt, const char *msg, size_t step, struct outcome *o)
{
	struct arc_verify_options opt = {.max_header_bytes = 65536};
	struct arc_verifier *v = arc_verify_new(&opt);
	size_t len = strlen(msg);

	memset(o, 0, sizeof(*o));
	for (size_t off = 0; off < len; off += step)
		assert_int_equal(arc_verify_feed(v, msg + off, len - off < step ? len - off : step),
		                 0);
	arc_verify_finish(v, zt->base, zt->r, done, o);
	assert_int_equal(o->called, 0); /* never from inside finish */
	event_base_dispatch(zt->base);
	assert_int_equal(o->called, 1);
	arc_verify_free(v);
}

/* msg with a new set on top; returns arc_seal's code. */
static int seal(EVP_PKEY *key, const char *sel, enum arc_cv cv, const char *msg, struct buf *out)
{
	struct arc_seal_options o = {.cv = cv,
	                             .authserv_id = "relay.example.org",
	                             .authres = "spf=pass smtp.mailfrom=joe@example.com",
	                             .domain = "example.org",
	                             .selector = sel,
	                             .key = key,
	                             .now = 1700000000,
	                             .headers = HEADERS};
	char err[200] = "";
	int rc;

	buf_init(out, 1 << 20);
	rc = arc_seal(&o, msg, strlen(msg), out, err, sizeof(err));
	if (rc < 0)
		assert_true(err[0] != '\0');
	else if (rc == ARC_SEAL_ADDED)
		assert_int_equal(buf_append_str(out, msg), 0);
	return rc;
}

static void expect(struct zonetest *zt, const char *msg, enum arc_cv cv, unsigned sets, int oldest,
                   const char *reason)
{
	struct outcome o;

	for (size_t step = 1; step <= strlen(msg); step += (step < 8 ? 1 : 211)) {
		run(zt, msg, step, &o);
		if (o.res.cv != cv || o.res.sets != sets || o.res.oldest_pass != oldest ||
		    (reason != NULL && strstr(o.res.reason, reason) == NULL))
			fail_msg(
			    "step %zu: cv=%s sets=%u oldest=%d (%s); want cv=%s sets=%u oldest=%d "
			    "(%s)",
			    step, arc_cv_name(o.res.cv), o.res.sets, o.res.oldest_pass,
			    o.res.reason, arc_cv_name(cv), sets, oldest,
			    reason != NULL ? reason : "");
	}
}

/* Replaces the first occurrence of from in s (same length) in place. */
static void patch(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from);

	assert_non_null(p);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
}

/* The same, for the first occurrence after anchor. */
static void patch_after(char *s, const char *anchor, const char *from, const char *to)
{
	char *a = strstr(s, anchor);
	char *p = a != NULL ? strstr(a, from) : NULL;

	assert_non_null(p);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
}

static void chain_with(EVP_PKEY *key)
{
	struct zonetest zt;
	struct buf zone, m1, m2, m3;

	buf_init(&zone, 8192);
	zone_for(key, "sel", &zone);
	zonetest_open(&zt, zone.data);
	expect(&zt, plain_msg, ARC_CV_NONE, 0, -1, NULL);

	assert_int_equal(seal(key, "sel", ARC_CV_NONE, plain_msg, &m1), ARC_SEAL_ADDED);
	assert_true(strncmp(m1.data, "ARC-Seal: ", 10) == 0);
	assert_non_null(strstr(m1.data, "\r\nARC-Message-Signature: "));
	/* Folded after the authserv-id: the line would pass 78 characters. */
	assert_non_null(strstr(m1.data, "ARC-Authentication-Results: i=1; relay.example.org;\r\n"
	                                " spf=pass smtp.mailfrom=joe@example.com\r\n"));
	expect(&zt, m1.data, ARC_CV_PASS, 1, 0, NULL);

	assert_int_equal(seal(key, "sel", ARC_CV_PASS, m1.data, &m2), ARC_SEAL_ADDED);
	expect(&zt, m2.data, ARC_CV_PASS, 2, 0, NULL);
	assert_int_equal(seal(key, "sel", ARC_CV_PASS, m2.data, &m3), ARC_SEAL_ADDED);
	expect(&zt, m3.data, ARC_CV_PASS, 3, 0, NULL);

	/* A body change breaks the latest AMS: the chain fails (5.2 step 4). */
	char *bad = strdup(m3.data);
	patch(bad, "We lost", "We won!");
	expect(&zt, bad, ARC_CV_FAIL, 3, -1, "ARC-Message-Signature i=3: body hash");
	free(bad);
	/* A field no AMS signs changes nothing. */
	struct buf extra;
	buf_init(&extra, 1 << 20);
	buf_printf(&extra, "X-Added: by a later hop\r\n%s", m3.data);
	expect(&zt, extra.data, ARC_CV_PASS, 3, 0, NULL);
	buf_free(&extra);
	/* An altered older AAR breaks every seal from its instance up. */
	bad = strdup(m3.data);
	patch_after(bad, "i=1; relay.example.org;", "spf=pass", "spf=fail");
	expect(&zt, bad, ARC_CV_FAIL, 3, -1, "ARC-Seal i=3: signature did not verify");
	free(bad);
	/* Without the key there is nothing to check against. */
	zonetest_close(&zt);
	zonetest_open(&zt, "other._domainkey.example.org TXT \"v=DKIM1; p=\"\n");
	expect(&zt, m1.data, ARC_CV_FAIL, 1, -1, "no key record");
	zonetest_close(&zt);
	buf_free(&m1);
	buf_free(&m2);
	buf_free(&m3);
	buf_free(&zone);
}

static void test_rsa_chain(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	(void)state;

	assert_non_null(key);
	chain_with(key);
	EVP_PKEY_free(key);
}

static void test_ed25519_chain(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	(void)state;

	assert_non_null(key);
	chain_with(key);
	EVP_PKEY_free(key);
}

/* RFC 8617 5.2 step 5: a hop that changed a signed field leaves the
 * chain passing, but the oldest intact set is after it. */
static void test_oldest_pass(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct zonetest zt;
	struct buf zone, m1, m2, m3;
	struct outcome o;
	(void)state;

	buf_init(&zone, 8192);
	zone_for(key, "sel", &zone);
	zonetest_open(&zt, zone.data);
	assert_int_equal(seal(key, "sel", ARC_CV_NONE, plain_msg, &m1), ARC_SEAL_ADDED);
	char *changed = strdup(m1.data);
	patch(changed, "Subject: Is dinner", "Subject: [list] Is");
	assert_int_equal(seal(key, "sel", ARC_CV_PASS, changed, &m2), ARC_SEAL_ADDED);
	expect(&zt, m2.data, ARC_CV_PASS, 2, 2, NULL);
	assert_int_equal(seal(key, "sel", ARC_CV_PASS, m2.data, &m3), ARC_SEAL_ADDED);
	expect(&zt, m3.data, ARC_CV_PASS, 3, 2, NULL);
	run(&zt, m3.data, 4096, &o);
	assert_int_equal(o.res.set[0].ams, ARC_SIG_FAIL);
	assert_int_equal(o.res.set[1].ams, ARC_SIG_PASS);
	assert_int_equal(o.res.set[0].as, ARC_SIG_PASS);

	struct buf ar;
	buf_init(&ar, 4096);
	assert_int_equal(arc_result_format(&o.res, &ar), 0);
	assert_string_equal(ar.data, "arc=pass (i=3 d=example.org s=sel) header.oldest-pass=2");
	buf_free(&ar);
	free(changed);
	zonetest_close(&zt);
	buf_free(&zone);
	buf_free(&m1);
	buf_free(&m2);
	buf_free(&m3);
	EVP_PKEY_free(key);
}

/* RFC 8617 5.1: what a sealer refuses, and 5.1.2: a failed chain. */
static void test_seal_rules(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct zonetest zt;
	struct buf zone, m1, m2, m3;
	(void)state;

	buf_init(&zone, 8192);
	zone_for(key, "sel", &zone);
	zonetest_open(&zt, zone.data);
	/* cv=pass with no chain, cv=none on a chain. */
	assert_int_equal(seal(key, "sel", ARC_CV_PASS, plain_msg, &m1), -1);
	buf_free(&m1);
	assert_int_equal(seal(key, "sel", ARC_CV_NONE, plain_msg, &m1), ARC_SEAL_ADDED);
	assert_int_equal(seal(key, "sel", ARC_CV_NONE, m1.data, &m2), -1);
	buf_free(&m2);
	/* A broken chain sealed cv=fail: the chain stays failed, and no later
	 * hop adds to it (5.1 step 1). */
	char *bad = strdup(m1.data);
	patch(bad, "We lost", "We won!");
	assert_int_equal(seal(key, "sel", ARC_CV_FAIL, bad, &m2), ARC_SEAL_ADDED);
	assert_non_null(strstr(m2.data, "cv=fail; d=example.org; i=2;"));
	expect(&zt, m2.data, ARC_CV_FAIL, 2, -1, "latest ARC-Seal (i=2) says cv=fail");
	assert_int_equal(seal(key, "sel", ARC_CV_FAIL, m2.data, &m3), ARC_SEAL_SKIPPED);
	assert_int_equal(m3.len, 0);
	buf_free(&m3);
	free(bad);
	/* Bad options. */
	struct arc_seal_options o = {.cv = ARC_CV_NONE,
	                             .authserv_id = "relay.example.org",
	                             .domain = "example.org",
	                             .selector = "sel",
	                             .key = key,
	                             .now = DKIM_NO_TIME,
	                             .headers = "from:arc-seal"};
	char err[200];
	buf_init(&m3, 1 << 16);
	assert_int_equal(arc_seal(&o, plain_msg, strlen(plain_msg), &m3, err, sizeof(err)), -1);
	o.headers = "from::to";
	assert_int_equal(arc_seal(&o, plain_msg, strlen(plain_msg), &m3, err, sizeof(err)), -1);
	o.headers = "From";
	o.authres = "spf=pass\r\nX-Injected: yes";
	assert_int_equal(arc_seal(&o, plain_msg, strlen(plain_msg), &m3, err, sizeof(err)), -1);
	o.authres = NULL;
	o.authserv_id = "bad id";
	assert_int_equal(arc_seal(&o, plain_msg, strlen(plain_msg), &m3, err, sizeof(err)), -1);
	o.authserv_id = "relay.example.org";
	assert_int_equal(m3.len, 0);
	/* No results record "none"; no t= without a time; h= lower-cased. */
	assert_int_equal(arc_seal(&o, plain_msg, strlen(plain_msg), &m3, err, sizeof(err)), 0);
	assert_non_null(
	    strstr(m3.data, "ARC-Authentication-Results: i=1; relay.example.org; none"));
	assert_null(strstr(m3.data, " t="));
	assert_non_null(strstr(m3.data, "h=from;"));
	buf_free(&m3);
	zonetest_close(&zt);
	buf_free(&zone);
	buf_free(&m1);
	buf_free(&m2);
	EVP_PKEY_free(key);
}

static void test_format(void **state)
{
	struct arc_result r;
	struct buf b;
	(void)state;

	memset(&r, 0, sizeof(r));
	r.oldest_pass = -1;
	buf_init(&b, 4096);
	assert_int_equal(arc_result_format(&r, &b), 0);
	assert_string_equal(b.data, "arc=none");
	buf_reset(&b);
	r.cv = ARC_CV_FAIL;
	r.sets = 2;
	strcpy(r.as_d, "example.org");
	strcpy(r.as_s, "a");
	strcpy(r.ams_d, "example.net");
	strcpy(r.ams_s, "b");
	strcpy(r.reason, "ARC-Seal i=1: bad (really) \\");
	assert_int_equal(arc_result_format(&r, &b), 0);
	assert_string_equal(b.data, "arc=fail (i=2 d=example.org s=a ams.d=example.net ams.s=b: "
	                            "ARC-Seal i=1: bad \\(really\\) \\\\)");
	buf_free(&b);
}

static void test_header_too_big(void **state)
{
	struct arc_verify_options opt = {.max_header_bytes = 64};
	struct arc_verifier *v = arc_verify_new(&opt);
	struct zonetest zt;
	struct outcome o;
	(void)state;

	zonetest_open(&zt, "");
	memset(&o, 0, sizeof(o));
	assert_int_equal(arc_verify_feed(v, plain_msg, strlen(plain_msg)), -1);
	arc_verify_finish(v, zt.base, zt.r, done, &o);
	event_base_dispatch(zt.base);
	assert_int_equal(o.called, 1);
	assert_int_equal(o.res.cv, ARC_CV_FAIL);
	arc_verify_free(v);
	zonetest_close(&zt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsa_chain),   cmocka_unit_test(test_ed25519_chain),
	    cmocka_unit_test(test_oldest_pass), cmocka_unit_test(test_seal_rules),
	    cmocka_unit_test(test_format),      cmocka_unit_test(test_header_too_big),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
