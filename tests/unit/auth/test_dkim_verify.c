/* Unit tests of the streaming DKIM verifier and the signer: the RFC 8463
 * A.3 message, sign/verify round trips fed in every chunk size through the
 * header collector, and each result of RFC 8601 2.7.1 through a zone
 * file. */
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../policy/zonetest.h"
#include "core/b64.h"
#include "auth/dkim_sign.h"
#include "auth/dkim_verify.h"
#include "auth/msghead.h"

/* RFC 8463 A.3, as in conformance/dkim/rfc/rfc8463-A3.signed.eml. */
static const char a3_msg[] = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
                             " d=football.example.com; i=@football.example.com;\r\n"
                             " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
                             " subject : date : message-id : from : subject : date;\r\n"
                             " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                             " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
                             " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
                             "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
                             " d=football.example.com; i=@football.example.com;\r\n"
                             " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
                             " date : message-id : from : subject : date;\r\n"
                             " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                             " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
                             " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
                             " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
                             "From: Joe SixPack <joe@football.example.com>\r\n"
                             "To: Suzie Q <suzie@shopping.example.net>\r\n"
                             "Subject: Is dinner ready?\r\n"
                             "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
                             "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
                             "\r\n"
                             "Hi.\r\n"
                             "\r\n"
                             "We lost the game.  Are you hungry yet?\r\n"
                             "\r\n"
                             "Joe.\r\n"
                             "\r\n";

static const char a3_zone[] =
    "brisbane._domainkey.football.example.com TXT \"v=DKIM1; k=ed25519; "
    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"\n"
    "test._domainkey.football.example.com TXT \"v=DKIM1; k=rsa; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/"
    "8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBf\" "
    "\"O2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\"\n";

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

struct outcome {
	struct dkim_sig_result res[8];
	size_t n;
	int called;
};

static void done(void *arg, const struct dkim_sig_result *res, size_t n)
{
	struct outcome *o = arg;

	o->called++;
	o->n = n < 8 ? n : 8;
	memcpy(o->res, res, o->n * sizeof(*res));
}

/* Verifies msg at time now as the server does: its bytes in chunks of
 * hstep through a header collector of max bytes, the header section to the
 * verifier once the collector has it (or at the end of a message without
 * an empty line, or NULL when it was too big), then the body in pieces of
 * bstep. */
static void run_split(struct zonetest *zt, const char *msg, size_t len, size_t hstep, size_t bstep,
                      size_t max, int64_t now, size_t max_sigs, struct outcome *o)
{
	struct dkim_verify_options opt = {.now = now, .max_signatures = max_sigs};
	struct dkim_verifier *v = dkim_verify_new(&opt);
	struct msghead mh;
	size_t off = 0, hlen;

	memset(o, 0, sizeof(*o));
	msghead_init(&mh, max);
	while (off < len && mh.state != MSGHEAD_DONE) {
		size_t n = len - off < hstep ? len - off : hstep;
		size_t used = msghead_feed(&mh, msg + off, n);
		off += mh.state == MSGHEAD_DONE ? used : n;
	}
	const char *head = msghead_section(&mh, &hlen);
	dkim_verify_header(v, head, hlen);
	for (; off < len; off += bstep)
		dkim_verify_body(v, msg + off, len - off < bstep ? len - off : bstep);
	dkim_verify_finish(v, zt->base, zt->r, done, o);
	assert_int_equal(o->called, 0); /* never from inside finish */
	event_base_dispatch(zt->base);
	assert_int_equal(o->called, 1);
	dkim_verify_free(v);
	msghead_free(&mh);
}

/* Verifies msg fed in chunks of step bytes at time now. */
static void run(struct zonetest *zt, const char *msg, size_t len, size_t step, int64_t now,
                size_t max_sigs, struct outcome *o)
{
	run_split(zt, msg, len, step, step, 65536, now, max_sigs, o);
}

static void test_rfc8463_a3(void **state)
{
	struct zonetest zt;
	struct outcome o;
	(void)state;

	zonetest_open(&zt, a3_zone);
	for (size_t step = 1; step <= sizeof(a3_msg); step += (step < 40 ? 1 : 97)) {
		run(&zt, a3_msg, strlen(a3_msg), step, 1528637909, 8, &o);
		assert_int_equal(o.n, 2);
		if (o.res[0].result != DKIM_PASS || o.res[1].result != DKIM_PASS)
			fail_msg("step %zu: %s (%s), %s (%s)", step,
			         dkim_result_name(o.res[0].result), o.res[0].reason,
			         dkim_result_name(o.res[1].result), o.res[1].reason);
	}
	assert_string_equal(o.res[0].d, "football.example.com");
	assert_string_equal(o.res[0].i, "@football.example.com");
	assert_string_equal(o.res[0].s, "brisbane");
	assert_string_equal(o.res[0].a, "ed25519-sha256");
	assert_int_equal(strlen(o.res[0].b), 8);
	assert_string_equal(o.res[1].a, "rsa-sha256");
	/* A changed body fails both. */
	char *bad = strdup(a3_msg);
	*strstr(bad, "hungry") = 'H';
	run(&zt, bad, strlen(bad), 7, 0, 8, &o);
	assert_int_equal(o.res[0].result, DKIM_FAIL);
	assert_int_equal(o.res[1].result, DKIM_FAIL);
	assert_string_equal(o.res[0].reason, "body hash did not verify");
	/* So does a changed signed header. */
	strcpy(bad, a3_msg);
	*strstr(bad, "dinner") = 'D';
	run(&zt, bad, strlen(bad), 7, 0, 8, &o);
	assert_int_equal(o.res[0].result, DKIM_FAIL);
	assert_string_equal(o.res[0].reason, "signature did not verify");
	free(bad);
	/* Only one signature checked: the other is "policy". */
	run(&zt, a3_msg, strlen(a3_msg), 4096, 0, 1, &o);
	assert_int_equal(o.res[0].result, DKIM_PASS);
	assert_int_equal(o.res[1].result, DKIM_POLICY);
	zonetest_close(&zt);
}

/* "v=DKIM1; k=...; p=..." for key's public half. */
static void txt_for(EVP_PKEY *key, char *out, size_t outsize)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	char b64[512];

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		assert_int_equal(EVP_PKEY_get_raw_public_key(key, raw, &rawlen), 1);
		assert_true(b64_encode(raw, rawlen, b64, sizeof(b64)) > 0);
		snprintf(out, outsize, "v=DKIM1; k=ed25519; p=%s", b64);
	} else {
		int n = i2d_PUBKEY(key, &der);
		assert_true(n > 0);
		assert_true(b64_encode(der, (size_t)n, b64, sizeof(b64)) > 0);
		OPENSSL_free(der);
		snprintf(out, outsize, "v=DKIM1; p=%s", b64);
	}
}

static void sign_into(EVP_PKEY *key, enum canon_alg hc, enum canon_alg bc, const char *msg,
                      struct buf *out)
{
	struct dkim_sign_options o = {.domain = "example.com",
	                              .selector = "sel",
	                              .key = key,
	                              .now = 1000,
	                              .hcanon = hc,
	                              .bcanon = bc};
	char err[160];

	buf_init(out, 65536);
	if (dkim_sign(&o, msg, strlen(msg), out, err, sizeof(err)) != 0)
		fail_msg("sign: %s", err);
	assert_int_equal(buf_append_str(out, msg), 0);
}

static void round_trip(EVP_PKEY *key)
{
	char txt[600], zone[2048];
	struct zonetest zt;
	struct outcome o;
	struct buf signed_msg;

	txt_for(key, txt, sizeof(txt));
	snprintf(zone, sizeof(zone), "sel._domainkey.example.com TXT \"%s\"\n", txt);
	zonetest_open(&zt, zone);
	for (int hc = 0; hc < 2; hc++) {
		for (int bc = 0; bc < 2; bc++) {
			sign_into(key, (enum canon_alg)hc, (enum canon_alg)bc, plain_msg,
			          &signed_msg);
			/* h= oversigns From, To, Subject, Date. */
			assert_non_null(strstr(signed_msg.data,
			                       "h=from:from:to:to:subject:subject:date:date;"));
			for (size_t step = 1; step < signed_msg.len; step += 13) {
				run(&zt, signed_msg.data, signed_msg.len, step, 1001, 8, &o);
				assert_int_equal(o.n, 1);
				if (o.res[0].result != DKIM_PASS)
					fail_msg("c=%d/%d step %zu: %s", hc, bc, step,
					         o.res[0].reason);
			}
			/* A From added below the others breaks it: From is
			 * oversigned (RFC 6376 8.15). */
			struct buf added;
			char *body = strstr(signed_msg.data, "\r\n\r\n");
			buf_init(&added, 65536);
			buf_append(&added, signed_msg.data, (size_t)(body - signed_msg.data) + 2);
			buf_append_str(&added, "From: mallory@example.org\r\n");
			buf_append_str(&added, body + 2);
			run(&zt, added.data, added.len, 64, 1001, 8, &o);
			assert_int_equal(o.res[0].result, DKIM_FAIL);
			buf_free(&added);
			buf_free(&signed_msg);
		}
	}
	zonetest_close(&zt);
}

static void test_round_trip_rsa(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	(void)state;

	assert_non_null(key);
	round_trip(key);
	EVP_PKEY_free(key);
}

static void test_round_trip_ed25519(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	(void)state;

	assert_non_null(key);
	round_trip(key);
	EVP_PKEY_free(key);
}

static void test_sign_refuses(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct dkim_sign_options o = {
	    .domain = "example.com", .selector = "sel", .key = key, .now = DKIM_NO_TIME};
	const char *nofrom = "To: a@example.com\r\n\r\nbody\r\n";
	char err[160];
	struct buf out;
	(void)state;

	buf_init(&out, 65536);
	assert_int_equal(dkim_sign(&o, nofrom, strlen(nofrom), &out, err, sizeof(err)), -1);
	o.domain = "bad domain";
	assert_int_equal(dkim_sign(&o, plain_msg, strlen(plain_msg), &out, err, sizeof(err)), -1);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	EVP_PKEY_free(key);
}

/* Key problems and the results they give, with one signed message. */
static void test_results(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char txt[600], zone[4096];
	struct zonetest zt;
	struct outcome o;
	struct buf m;
	(void)state;

	txt_for(key, txt, sizeof(txt));
	snprintf(zone, sizeof(zone),
	         "sel._domainkey.example.com TXT \"%s; t=y\"\n"
	         "t1._domainkey.example.com TIMEOUT\n"
	         "rev._domainkey.example.com TXT \"v=DKIM1; k=ed25519; p=\"\n"
	         "bad._domainkey.example.com TXT \"v=DKIM1; k=foo; p=abcd\"\n",
	         txt);
	zonetest_open(&zt, zone);
	sign_into(key, CANON_RELAXED, CANON_RELAXED, plain_msg, &m);
	/* testing key: a pass stays a pass and is flagged */
	run(&zt, m.data, m.len, 100, 0, 8, &o);
	assert_int_equal(o.res[0].result, DKIM_PASS);
	assert_true(o.res[0].testing);
	/* testing key: a failure is neutral (RFC 6376 3.6.1 t=y) */
	char *s = strstr(m.data, "lost");
	s[0] = 'L';
	run(&zt, m.data, m.len, 100, 0, 8, &o);
	assert_int_equal(o.res[0].result, DKIM_NEUTRAL);
	s[0] = 'l';
	const struct {
		const char *sel;
		enum dkim_result want;
	} sels[] = {{"t1", DKIM_TEMPERROR},
	            {"rev", DKIM_PERMERROR},
	            {"bad", DKIM_PERMERROR},
	            {"nx", DKIM_PERMERROR}};
	for (size_t k = 0; k < sizeof(sels) / sizeof(sels[0]); k++) {
		struct buf c;
		buf_init(&c, 65536);
		char *sp = strstr(m.data, "s=sel;");
		buf_append(&c, m.data, (size_t)(sp - m.data));
		buf_printf(&c, "s=%s;%s", sels[k].sel, sp + 6);
		run(&zt, c.data, c.len, 50, 0, 8, &o);
		if (o.res[0].result != sels[k].want)
			fail_msg("%s: %s (%s)", sels[k].sel, dkim_result_name(o.res[0].result),
			         o.res[0].reason);
		buf_free(&c);
	}
	/* x= in the past: the signature has expired */
	struct buf x;
	buf_init(&x, 65536);
	char *tp = strstr(m.data, "t=1000;");
	buf_append(&x, m.data, (size_t)(tp - m.data));
	buf_printf(&x, "t=1000; x=2000;%s", tp + 7);
	run(&zt, x.data, x.len, 50, 1999, 8, &o);
	assert_int_equal(o.res[0].result, DKIM_NEUTRAL); /* the header changed; t=y key */
	run(&zt, x.data, x.len, 50, 2001, 8, &o);
	assert_string_equal(o.res[0].reason, "signature expired (x=)");
	buf_free(&x);
	/* no signature at all: no results */
	run(&zt, plain_msg, strlen(plain_msg), 5, 0, 8, &o);
	assert_int_equal(o.n, 0);
	buf_free(&m);
	zonetest_close(&zt);
	EVP_PKEY_free(key);
}

/* Limits and unusual framing of the header section. */
static void test_framing(void **state)
{
	struct zonetest zt;
	struct outcome o;
	(void)state;

	zonetest_open(&zt, a3_zone);
	/* Over the collector's limit without an empty line: the verifier is
	 * told so (NULL) and nothing can be checked. */
	run_split(&zt, a3_msg, strlen(a3_msg), 100, 100, 64, 1528637909, 8, &o);
	assert_int_equal(o.n, 0);
	/* The same section given whole, with or without its empty line. */
	const char *body = strstr(a3_msg, "\r\n\r\n") + 4;
	size_t blen = strlen(body), slen = (size_t)(body - a3_msg);
	for (size_t cut = 0; cut <= 2; cut += 2) {
		struct dkim_verify_options opt = {.now = 1528637909, .max_signatures = 8};
		struct dkim_verifier *v = dkim_verify_new(&opt);
		memset(&o, 0, sizeof(o));
		dkim_verify_header(v, a3_msg, slen - cut);
		dkim_verify_body(v, body, blen);
		dkim_verify_finish(v, zt.base, zt.r, done, &o);
		event_base_dispatch(zt.base);
		assert_int_equal(o.n, 2);
		assert_int_equal(o.res[0].result, DKIM_PASS);
		assert_int_equal(o.res[1].result, DKIM_PASS);
		dkim_verify_free(v);
	}
	/* A message without a body and without a signature. */
	run(&zt, "From: a@example.com\r\n", 21, 1, 0, 8, &o);
	assert_int_equal(o.n, 0);
	/* A header-only signed message is still checked (empty body). */
	const char *head_only =
	    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=YWJj; b=ZGVm\r\n"
	    "From: a@example.com\r\n";
	run(&zt, head_only, strlen(head_only), 3, 0, 8, &o);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.res[0].result, DKIM_PERMERROR); /* no key x._domainkey */
	/* Header only, with the empty line and nothing after it. */
	run(&zt, "From: a@example.com\r\n\r\n", 23, 2, 0, 8, &o);
	assert_int_equal(o.n, 0);
	zonetest_close(&zt);
}

static void same_results(const struct outcome *a, const struct outcome *b, const char *what,
                         size_t hstep, size_t bstep)
{
	int same = a->n == b->n;

	for (size_t k = 0; same && k < a->n; k++) {
		const struct dkim_sig_result *x = &a->res[k], *y = &b->res[k];
		same = x->result == y->result && strcmp(x->reason, y->reason) == 0 &&
		       strcmp(x->d, y->d) == 0 && strcmp(x->i, y->i) == 0 &&
		       strcmp(x->a, y->a) == 0 && strcmp(x->s, y->s) == 0 &&
		       strcmp(x->b, y->b) == 0 && x->testing == y->testing &&
		       x->beyond_limit == y->beyond_limit;
	}
	if (!same)
		fail_msg("%s: header in pieces of %zu, body in pieces of %zu: %zu results, "
		         "first %s (%s); whole: %zu, first %s (%s)",
		         what, hstep, bstep, b->n, b->n ? dkim_result_name(b->res[0].result) : "-",
		         b->n ? b->res[0].reason : "", a->n,
		         a->n ? dkim_result_name(a->res[0].result) : "-",
		         a->n ? a->res[0].reason : "");
}

/* The header section collected in pieces by the caller's msghead, then
 * given to the verifier, and the body split at odd places: the results are
 * those of the message given whole, for signed messages that pass and fail
 * with every canonicalisation. */
static void test_header_from_collector(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char txt[600], zone[4096];
	struct zonetest zt;
	struct outcome whole, parts;
	struct buf m[5];
	(void)state;

	txt_for(key, txt, sizeof(txt));
	snprintf(zone, sizeof(zone), "%ssel._domainkey.example.com TXT \"%s\"\n", a3_zone, txt);
	zonetest_open(&zt, zone);
	buf_init(&m[0], 65536);
	buf_append_str(&m[0], a3_msg);
	sign_into(key, CANON_SIMPLE, CANON_SIMPLE, plain_msg, &m[1]);
	sign_into(key, CANON_RELAXED, CANON_SIMPLE, plain_msg, &m[2]);
	sign_into(key, CANON_SIMPLE, CANON_RELAXED, plain_msg, &m[3]);
	/* A body that ends without its trailing empty lines: relaxed body
	 * canonicalisation drops them anyway (RFC 6376 3.4.4). */
	sign_into(key, CANON_RELAXED, CANON_RELAXED, plain_msg, &m[4]);
	m[4].len -= 4;
	m[4].data[m[4].len] = '\0';
	for (size_t k = 0; k < 5; k++) {
		for (int broken = 0; broken < 2; broken++) {
			char what[32];
			char *lost = strstr(m[k].data, "lost");
			if (broken)
				lost[0] = 'L';
			snprintf(what, sizeof(what), "message %zu%s", k, broken ? " changed" : "");
			run_split(&zt, m[k].data, m[k].len, m[k].len, m[k].len, 65536, 1528637909,
			          8, &whole);
			assert_true(whole.n >= 1);
			for (size_t r = 0; r < whole.n; r++)
				if ((whole.res[r].result == DKIM_PASS) == broken)
					fail_msg("%s: %s (%s) given whole", what,
					         dkim_result_name(whole.res[r].result),
					         whole.res[r].reason);
			for (size_t hstep = 1; hstep <= 7; hstep++) {
				for (size_t bstep = 1; bstep <= 7; bstep++) {
					run_split(&zt, m[k].data, m[k].len, hstep, bstep, 65536,
					          1528637909, 8, &parts);
					same_results(&whole, &parts, what, hstep, bstep);
				}
			}
			lost[0] = 'l';
		}
		buf_free(&m[k]);
	}
	zonetest_close(&zt);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc8463_a3),
	    cmocka_unit_test(test_round_trip_rsa),
	    cmocka_unit_test(test_round_trip_ed25519),
	    cmocka_unit_test(test_sign_refuses),
	    cmocka_unit_test(test_results),
	    cmocka_unit_test(test_framing),
	    cmocka_unit_test(test_header_from_collector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
