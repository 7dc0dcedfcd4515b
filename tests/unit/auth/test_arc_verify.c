/* Unit tests of the ARC sealer and the streaming validator together:
 * chains of one to three sets with RSA and Ed25519 keys fed in every
 * chunk size through the header collector, and what breaks them
 * (RFC 8617 5.1, 5.2, 7.2.2). */
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../policy/zonetest.h"
#include "auth/arc_seal.h"
#include "auth/arc_verify.h"
#include "auth/msghead.h"
#include "core/b64.h"

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
	/* The header section given to the verifier, and what the latest
	 * set's ARC-Authentication-Results says, read during the call. */
	const char *head;
	size_t hlen;
	char aar[512];
};

static void done(void *arg, const struct arc_result *res)
{
	struct outcome *o = arg;
	size_t len;

	o->called++;
	o->res = *res;
	if (res->chain == NULL || res->chain->n == 0)
		return;
	const char *p = arc_set_aar_payload(&res->chain->sets[res->chain->n - 1], &len);
	if (p == NULL)
		return;
	/* A view into the caller's section, which is still there. */
	assert_true(p >= o->head && p + len <= o->head + o->hlen);
	snprintf(o->aar, sizeof(o->aar), "%.*s", (int)len, p);
}

/* Validates msg as the server does: its bytes in chunks of hstep through
 * a header collector of max bytes, the header section to the verifier
 * once the collector has it (or at the end of a message without an empty
 * line, or NULL when it was too big), then the body in pieces of bstep.
 * The collector outlives the verifier. */
static void run_split(struct zonetest *zt, const char *msg, size_t hstep, size_t bstep, size_t max,
                      struct outcome *o)
{
	struct arc_verify_options opt = {.keys = NULL};
	struct arc_verifier *v = arc_verify_new(&opt);
	struct msghead mh;
	size_t len = strlen(msg), off = 0;

	memset(o, 0, sizeof(*o));
	msghead_init(&mh, max);
	while (off < len && mh.state != MSGHEAD_DONE) {
		size_t n = len - off < hstep ? len - off : hstep;
		size_t used = msghead_feed(&mh, msg + off, n);
		off += mh.state == MSGHEAD_DONE ? used : n;
	}
	o->head = msghead_section(&mh, &o->hlen);
	arc_verify_header(v, o->head, o->hlen);
	for (; off < len; off += bstep)
		arc_verify_body(v, msg + off, len - off < bstep ? len - off : bstep);
	arc_verify_finish(v, zt->base, zt->r, done, o);
	assert_int_equal(o->called, 0); /* never from inside finish */
	event_base_dispatch(zt->base);
	assert_int_equal(o->called, 1);
	arc_verify_free(v);
	msghead_free(&mh);
}

static void run(struct zonetest *zt, const char *msg, size_t step, struct outcome *o)
{
	run_split(zt, msg, step, step, 65536, o);
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
	struct zonetest zt;
	struct outcome o;
	(void)state;

	zonetest_open(&zt, "");
	/* Over the collector's limit: the verifier is told so (NULL). */
	run_split(&zt, plain_msg, strlen(plain_msg), 1, 64, &o);
	assert_int_equal(o.res.cv, ARC_CV_FAIL);
	assert_string_equal(o.res.reason, "header section too large");
	assert_null(o.res.chain);
	zonetest_close(&zt);
}

static void same_results(const struct outcome *a, const struct outcome *b, const char *what,
                         size_t hstep, size_t bstep)
{
	const struct arc_result *x = &a->res, *y = &b->res;
	int same = x->cv == y->cv && x->sets == y->sets && x->oldest_pass == y->oldest_pass &&
	           x->temporary == y->temporary && strcmp(x->reason, y->reason) == 0 &&
	           strcmp(x->ams_d, y->ams_d) == 0 && strcmp(x->ams_s, y->ams_s) == 0 &&
	           strcmp(x->as_d, y->as_d) == 0 && strcmp(x->as_s, y->as_s) == 0 &&
	           strcmp(a->aar, b->aar) == 0;

	for (unsigned k = 0; same && k < x->sets; k++)
		same = x->set[k].ams == y->set[k].ams && x->set[k].as == y->set[k].as &&
		       strcmp(x->set[k].ams_reason, y->set[k].ams_reason) == 0 &&
		       strcmp(x->set[k].as_reason, y->set[k].as_reason) == 0;
	if (!same)
		fail_msg("%s: header in pieces of %zu, body in pieces of %zu: cv=%s i=%u "
		         "oldest=%d (%s); whole: cv=%s i=%u oldest=%d (%s)",
		         what, hstep, bstep, arc_cv_name(y->cv), y->sets, y->oldest_pass, y->reason,
		         arc_cv_name(x->cv), x->sets, x->oldest_pass, x->reason);
}

/* The header section collected in pieces by the caller's msghead, then
 * given to the verifier, and the body split at odd places: the results
 * are those of the message given whole, for chains that pass (one of them
 * with an older AMS broken) and fail. */
static void test_header_from_collector(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct zonetest zt;
	struct buf zone, m1, m2, m3;
	struct outcome whole, parts;
	(void)state;

	buf_init(&zone, 8192);
	zone_for(key, "sel", &zone);
	zonetest_open(&zt, zone.data);
	assert_int_equal(seal(key, "sel", ARC_CV_NONE, plain_msg, &m1), ARC_SEAL_ADDED);
	char *changed = strdup(m1.data);
	patch(changed, "Subject: Is dinner", "Subject: [list] Is");
	assert_int_equal(seal(key, "sel", ARC_CV_PASS, changed, &m2), ARC_SEAL_ADDED);
	assert_int_equal(seal(key, "sel", ARC_CV_PASS, m2.data, &m3), ARC_SEAL_ADDED);
	char *bad = strdup(m3.data);
	patch(bad, "We lost", "We won!");
	const struct {
		const char *what, *msg;
		enum arc_cv cv;
		int oldest;
	} cases[] = {{"one set", m1.data, ARC_CV_PASS, 0},
	             {"three sets", m3.data, ARC_CV_PASS, 2},
	             {"body changed", bad, ARC_CV_FAIL, -1},
	             {"no ARC", plain_msg, ARC_CV_NONE, -1}};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t len = strlen(cases[k].msg);
		run_split(&zt, cases[k].msg, len, len, 65536, &whole);
		if (whole.res.cv != cases[k].cv || whole.res.oldest_pass != cases[k].oldest)
			fail_msg("%s given whole: cv=%s oldest=%d (%s)", cases[k].what,
			         arc_cv_name(whole.res.cv), whole.res.oldest_pass,
			         whole.res.reason);
		if (cases[k].cv == ARC_CV_PASS)
			assert_string_equal(whole.aar, " relay.example.org;\r\n"
			                               " spf=pass smtp.mailfrom=joe@example.com");
		for (size_t hstep = 1; hstep <= 7; hstep++)
			for (size_t bstep = 1; bstep <= 7; bstep++) {
				run_split(&zt, cases[k].msg, hstep, bstep, 65536, &parts);
				same_results(&whole, &parts, cases[k].what, hstep, bstep);
			}
	}
	free(bad);
	free(changed);
	zonetest_close(&zt);
	buf_free(&zone);
	buf_free(&m1);
	buf_free(&m2);
	buf_free(&m3);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsa_chain),
	    cmocka_unit_test(test_ed25519_chain),
	    cmocka_unit_test(test_oldest_pass),
	    cmocka_unit_test(test_seal_rules),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_header_too_big),
	    cmocka_unit_test(test_header_from_collector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
