/* bench/dkim_bench: DKIM verifications per second of one message (a 10 KiB
 * text body by default) signed rsa-sha256 relaxed/relaxed with a 2048-bit
 * key, on one thread.  See bench/dkim.sh, which runs this pinned to one
 * core next to `openssl speed`.
 *
 *   dkim_bench [--rounds R] [--burst-ms MS] [--warmup-ms MS] [--body-bytes B]
 *              [--bits BITS] [--chunk C] [--tmpdir DIR] [--only PHASE,...]
 *
 * (a) "full": the real streaming verifier, as a postern worker runs it:
 *     dkim_verify_new, the message fed in C-byte chunks (4096) to a header
 *     collector (struct msghead, which a worker keeps once per message for
 *     every consumer), dkim_verify_header once it has the section and
 *     dkim_verify_body with the rest of each chunk, finish with
 *     the zone-file resolver answering the selector's TXT record (so the
 *     key record is parsed on every verification, as it is after a cache
 *     hit of the c-ares resolver), the event loop run until the result.
 * (b) "core": the crypto core with the signature and key parsed once:
 *     msghdr_split + dkim_header_input (relaxed header canonicalisation),
 *     the relaxed body canonicaliser + SHA-256 over the body, the bh=
 *     comparison and dkim_check_signature (SHA-256 of the header input and
 *     the RSA verification).
 * Then every phase on its own, raw OpenSSL references measured the same
 * way (SHA-256 of the body and of the header input in one call each,
 * RSA-2048 PKCS#1 v1.5 verify of a precomputed digest with a context
 * prepared once, the EVP_DigestVerifyInit + EVP_DigestVerify pair that
 * dkim_check_signature uses), and an alternative key parse that avoids
 * OpenSSL 3's decoder (d2i_PublicKey of the RSAPublicKey inside the
 * SubjectPublicKeyInfo), alone and followed by a check with that key.
 *
 * The phases are interleaved (see the runner) and every figure is the
 * median (min, max) over the rounds of the wall time per operation; the
 * raw cost (RSA verify + both hashes) and the ratios of (a) and (b) to it
 * are taken within each round.  Every verification's result is checked:
 * one that does not pass is reported on stderr and the exit status is 3.
 * The last line, "RESULT ...", holds the medians for the script. */
#include "core/b64.h"
#include "auth/canon.h"
#include "auth/dkim_check.h"
#include "auth/dkim_key.h"
#include "auth/dkim_keycache.h"
#include "auth/dkim_sig.h"
#include "auth/dkim_sign.h"
#include "auth/dkim_verify.h"
#include "auth/msghdr.h"
#include "auth/msghead.h"
#include "core/buf.h"
#include "core/log.h"
#include "dns/dns.h"

#include <event2/event.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DOMAIN "bench.example"
#define SELECTOR "bench2048"
#define MAX_FIELDS 1000
#define MAX_ROUNDS 200

static size_t chunk = 4096;

static double now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "dkim_bench: %s\n", what);
	exit(1);
}

/* ---- the message ---- */

/* A deterministic English-looking text body of exactly bytes bytes in
 * CRLF lines of at most 76 characters. */
static void make_body(struct buf *out, size_t bytes)
{
	static const char *const words[] = {
	    "the",      "meeting",  "report",   "quarterly", "numbers",   "attached", "please",
	    "review",   "before",   "Thursday", "and",       "let",       "me",       "know",
	    "if",       "you",      "have",     "any",       "comments",  "on",       "section",
	    "three,",   "which",    "covers",   "the",       "budget",    "for",      "next",
	    "year.",    "Thanks",   "again",    "for",       "your",      "help",     "with",
	    "this;",    "it",       "was",      "a",         "long",      "week",     "for",
	    "everyone", "involved", "in",       "the",       "migration", "project.",
	};
	unsigned long x = 12345;
	size_t line = 0;

	while (out->len < bytes) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		const char *w = words[(x >> 33) % (sizeof(words) / sizeof(words[0]))];
		size_t wl = strlen(w);
		size_t left = bytes - out->len;
		if (left <= 2 + wl + 1) {
			/* Pad the last line to the exact size. */
			while (bytes - out->len > 2)
				buf_append(out, "x", 1);
			buf_append(out, "\r\n", 2);
			break;
		}
		if (line > 0 && line + 1 + wl > 76) {
			buf_append(out, "\r\n", 2);
			line = 0;
			/* An empty line now and then: paragraphs. */
			if ((x >> 20) % 9 == 0 && bytes - out->len > 40) {
				buf_append(out, "\r\n", 2);
			}
			continue;
		}
		if (line > 0) {
			buf_append(out, " ", 1);
			line++;
		}
		buf_append(out, w, wl);
		line += wl;
	}
}

static void make_message(struct buf *msg, size_t body_bytes)
{
	buf_printf(msg, "Received: from mail.sender.example (mail.sender.example [192.0.2.25])\r\n"
	                "\tby mx.bench.example (postern) with ESMTPS id 4f2a9c1e\r\n"
	                "\tfor <bob@test.example>; Sat, 28 Nov 2026 23:40:00 +0000\r\n"
	                "From: Alice Example <alice@" DOMAIN ">\r\n"
	                "To: Bob Example <bob@test.example>\r\n"
	                "Subject: Quarterly report for the budget meeting on Thursday,\r\n"
	                " with the numbers attached\r\n"
	                "Date: Sat, 28 Nov 2026 23:40:00 +0000\r\n"
	                "Message-ID: <20261128234000.4f2a9c1e@" DOMAIN ">\r\n"
	                "MIME-Version: 1.0\r\n"
	                "Content-Type: text/plain; charset=utf-8\r\n"
	                "Content-Transfer-Encoding: 8bit\r\n"
	                "\r\n");
	make_body(msg, msg->len + body_bytes);
}

/* ---- statistics ---- */

struct stat3 {
	double med, min, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static struct stat3 stats(double *v, size_t n)
{
	struct stat3 s;

	qsort(v, n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

/* ---- the state every phase shares ---- */

static struct buf msg; /* DKIM-Signature field + message */
static size_t hdr_len, body_off;
static struct dkim_sig sig;
static struct dkim_key key;
static EVP_PKEY *priv;
static struct event_base *base;
static struct dns_resolver *resolver;
static unsigned long failures;
static volatile unsigned sink;

/* ---- (a) the full streaming verifier ---- */

struct full_ctx {
	int done;
	enum dkim_result result;
	char reason[160];
};

static void full_done(void *arg, const struct dkim_sig_result *res, size_t n)
{
	struct full_ctx *c = arg;

	c->done = 1;
	c->result = n == 1 ? res[0].result : DKIM_PERMERROR;
	snprintf(c->reason, sizeof(c->reason), "%s", n == 1 ? res[0].reason : "not one result");
	event_base_loopbreak(base);
}

/* Parsed keys are reused across messages, as each SMTP worker does. */
static struct dkim_keycache *keycache;

static void op_full(void)
{
	struct dkim_verify_options opt = {
	    .keys = keycache,
	    .now = 1795909200, /* 2026-11-28 */
	    .max_signatures = 8,
	};
	struct dkim_verifier *v = dkim_verify_new(&opt);
	struct full_ctx c = {0};
	struct msghead mh;
	const char *head;
	size_t hlen;
	int given = 0;

	msghead_init(&mh, 256 * 1024);
	for (size_t off = 0; off < msg.len; off += chunk) {
		const char *p = msg.data + off;
		size_t n = msg.len - off < chunk ? msg.len - off : chunk;
		size_t used = msghead_feed(&mh, p, n);
		if (!given && mh.state == MSGHEAD_DONE) {
			head = msghead_section(&mh, &hlen);
			dkim_verify_header(v, head, hlen);
			given = 1;
		}
		if (given && used < n)
			dkim_verify_body(v, p + used, n - used);
	}
	if (!given) {
		head = msghead_section(&mh, &hlen);
		dkim_verify_header(v, head, hlen);
	}
	dkim_verify_finish(v, base, resolver, full_done, &c);
	while (!c.done)
		event_base_loop(base, EVLOOP_ONCE);
	if (c.result != DKIM_PASS && failures++ == 0)
		fprintf(stderr, "dkim_bench: full verify: %s (%s)\n", dkim_result_name(c.result),
		        c.reason);
	dkim_verify_free(v);
	msghead_free(&mh);
}

/* ---- (b) the core and its phases ---- */

static struct msghdr_field *fields;
static long nfields;
static const struct msghdr_field *sigfield;

static void split_headers(void)
{
	nfields = msghdr_split(msg.data, hdr_len, fields, MAX_FIELDS);
	if (nfields <= 0)
		die("msghdr_split failed");
	sigfield = NULL;
	for (long k = 0; k < nfields; k++)
		if (msghdr_name_is(&fields[k], "DKIM-Signature", 14)) {
			sigfield = &fields[k];
			break;
		}
	if (sigfield == NULL)
		die("no DKIM-Signature field");
}

static int body_hash_ok(void)
{
	struct canon_body cb;
	unsigned char d[EVP_MAX_MD_SIZE];
	const char *b = msg.data + body_off;
	size_t blen = msg.len - body_off;

	canon_body_init(&cb, sig.bcanon, canon_sha256(), sig.l);
	for (size_t off = 0; off < blen; off += chunk)
		canon_body_update(&cb, b + off, blen - off < chunk ? blen - off : chunk);
	unsigned dl = canon_body_final(&cb, d);
	canon_body_free(&cb);
	return dl == sig.bh_len && memcmp(d, sig.bh, dl) == 0;
}

static void header_input(struct buf *in)
{
	buf_init(in, 1024 * 1024);
	split_headers();
	if (dkim_header_input(&sig, fields, (size_t)nfields, sigfield, in) != 0)
		die("dkim_header_input failed");
}

static void op_core(void)
{
	struct buf in;
	char err[160];

	header_input(&in);
	int ok = body_hash_ok() &&
	         dkim_check_signature(&sig, &key, in.data, in.len, err, sizeof(err)) == 1;
	if (!ok && failures++ == 0)
		fprintf(stderr, "dkim_bench: core verify failed\n");
	buf_free(&in);
}

static void op_sig_parse(void)
{
	static struct dkim_sig s;
	char err[160];
	const char *colon = memchr(sigfield->p, ':', sigfield->len);
	size_t vlen = sigfield->len - (size_t)(colon + 1 - sigfield->p) - 2;

	if (dkim_sig_parse(colon + 1, vlen, &s, err, sizeof(err)) != 0)
		die("dkim_sig_parse failed");
	sink += (unsigned)s.b_len;
}

static void op_header_input(void)
{
	struct buf in;

	header_input(&in);
	sink += (unsigned)in.len;
	buf_free(&in);
}

static void op_body_hash(void)
{
	if (!body_hash_ok() && failures++ == 0)
		fprintf(stderr, "dkim_bench: body hash mismatch\n");
}

static struct buf hinput; /* the header hash input, built once */

static void op_check_signature(void)
{
	char err[160];

	if (dkim_check_signature(&sig, &key, hinput.data, hinput.len, err, sizeof(err)) != 1 &&
	    failures++ == 0)
		fprintf(stderr, "dkim_bench: dkim_check_signature failed\n");
}

static struct buf keyrec; /* "v=DKIM1; k=rsa; p=..." */

static void op_key_parse(void)
{
	struct dkim_key k;
	char err[160];

	if (dkim_key_parse(keyrec.data, keyrec.len, &k, err, sizeof(err)) != 0)
		die("dkim_key_parse failed");
	sink += (unsigned)k.bits;
	dkim_key_free(&k);
}

/* ---- raw OpenSSL references ---- */

static unsigned char hdr_digest[32];
static EVP_PKEY_CTX *rsa_vctx;

static void op_raw_sha256_body(void)
{
	unsigned char d[32];
	unsigned dl;

	EVP_Digest(msg.data + body_off, msg.len - body_off, d, &dl, EVP_sha256(), NULL);
	sink += d[0];
}

static void op_raw_sha256_header(void)
{
	unsigned char d[32];
	unsigned dl;

	EVP_Digest(hinput.data, hinput.len, d, &dl, EVP_sha256(), NULL);
	sink += d[0];
}

static void op_raw_rsa_verify(void)
{
	if (EVP_PKEY_verify(rsa_vctx, sig.b, sig.b_len, hdr_digest, sizeof(hdr_digest)) != 1 &&
	    failures++ == 0)
		fprintf(stderr, "dkim_bench: raw RSA verify failed\n");
}

static void op_digest_verify(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key.pkey) != 1 ||
	    EVP_DigestVerify(ctx, sig.b, sig.b_len, (const unsigned char *)hinput.data,
	                     hinput.len) != 1) {
		if (failures++ == 0)
			fprintf(stderr, "dkim_bench: EVP_DigestVerify failed\n");
	}
	EVP_MD_CTX_free(ctx);
}

static void op_canon_only(void)
{
	/* The body canonicaliser with a digest that hashes nothing: what the
	 * byte loop costs on its own (EVP_md_null, fetched once like SHA-256). */
	static EVP_MD *md_null;
	struct canon_body cb;
	unsigned char d[EVP_MAX_MD_SIZE];
	const char *b = msg.data + body_off;
	size_t blen = msg.len - body_off;

	if (md_null == NULL && (md_null = EVP_MD_fetch(NULL, "NULL", NULL)) == NULL)
		die("OpenSSL has no NULL digest");
	canon_body_init(&cb, sig.bcanon, md_null, sig.l);
	for (size_t off = 0; off < blen; off += chunk)
		canon_body_update(&cb, b + off, blen - off < chunk ? blen - off : chunk);
	sink += canon_body_final(&cb, d);
	canon_body_free(&cb);
}

/* ---- a relaxed body canonicaliser by runs, for comparison ---- */

/* RFC 6376 3.4.4 like canon.c (no l=), but a run of content bytes, with
 * the single SPs between them, is found with a table and copied to the
 * staging buffer in one memcpy, instead of a call or two per byte: in
 * ordinary text a run is a whole line. */
struct run_canon {
	EVP_MD_CTX *md;
	int cr, wsp, line_has_data;
	uint64_t empty;
	size_t staged;
	unsigned char stage[CANON_STAGE];
};

static unsigned char special[256];

static void rc_put(struct run_canon *rc, const void *p, size_t n)
{
	if (rc->staged + n > sizeof(rc->stage)) {
		EVP_DigestUpdate(rc->md, rc->stage, rc->staged);
		rc->staged = 0;
		if (n > sizeof(rc->stage)) {
			EVP_DigestUpdate(rc->md, p, n);
			return;
		}
	}
	memcpy(rc->stage + rc->staged, p, n);
	rc->staged += n;
}

/* Content follows: held-back empty lines and a pending SP become real. */
static void rc_content(struct run_canon *rc)
{
	for (; rc->empty > 0; rc->empty--)
		rc_put(rc, "\r\n", 2);
	if (rc->wsp)
		rc_put(rc, " ", 1);
	rc->wsp = 0;
	rc->line_has_data = 1;
}

static void rc_end_line(struct run_canon *rc)
{
	rc->wsp = 0;
	if (rc->line_has_data)
		rc_put(rc, "\r\n", 2);
	else
		rc->empty++;
	rc->line_has_data = 0;
}

static void rc_update(struct run_canon *rc, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		if (rc->cr) {
			rc->cr = 0;
			if (c == '\n') {
				rc_end_line(rc);
				i++;
				continue;
			}
			rc_content(rc);
			rc_put(rc, "\r", 1); /* a bare CR is content */
		}
		if (c == '\r') {
			rc->cr = 1;
			i++;
		} else if (c == ' ' || c == '\t') {
			rc->wsp = 1;
			i++;
		} else {
			/* Content and single SPs between content go through as
			 * they are: relaxed changes nothing there. */
			size_t j = i + 1;
			while (j < n) {
				if (!special[p[j]])
					j++;
				else if (p[j] == ' ' && j + 1 < n && !special[p[j + 1]])
					j += 2;
				else
					break;
			}
			rc_content(rc);
			rc_put(rc, p + i, j - i);
			i = j;
		}
	}
}

static int op_alt_body_ok(void)
{
	static struct run_canon rc;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	const unsigned char *b = (const unsigned char *)msg.data + body_off;
	size_t blen = msg.len - body_off;

	if (rc.md == NULL) {
		rc.md = EVP_MD_CTX_new();
		special['\r'] = special[' '] = special['\t'] = 1;
	}
	EVP_DigestInit_ex(rc.md, EVP_sha256(), NULL);
	rc.cr = rc.wsp = rc.line_has_data = 0;
	rc.empty = 0;
	rc.staged = 0;
	for (size_t off = 0; off < blen; off += chunk)
		rc_update(&rc, b + off, blen - off < chunk ? blen - off : chunk);
	if (rc.cr) {
		rc.cr = 0;
		rc_content(&rc);
		rc_put(&rc, "\r", 1);
	}
	if (rc.line_has_data)
		rc_end_line(&rc);
	EVP_DigestUpdate(rc.md, rc.stage, rc.staged);
	EVP_DigestFinal_ex(rc.md, d, &dl);
	return dl == sig.bh_len && memcmp(d, sig.bh, dl) == 0;
}

static void op_alt_body(void)
{
	if (!op_alt_body_ok() && failures++ == 0)
		fprintf(stderr, "dkim_bench: the run canonicaliser's body hash differs\n");
}

/* ---- an alternative key parse, for comparison ---- */

static unsigned char keyder[4096];
static size_t keyder_len;

/* One DER tag and length at *p (definite lengths only); returns the value
 * length and moves *p to the value, or -1. */
static long der_hdr(const unsigned char **p, const unsigned char *end, int tag)
{
	const unsigned char *q = *p;
	size_t len;

	if (end - q < 2 || q[0] != tag)
		return -1;
	q++;
	if (*q < 0x80) {
		len = *q++;
	} else {
		int nb = *q++ & 0x7f;
		if (nb < 1 || nb > 3 || end - q < nb)
			return -1;
		for (len = 0; nb-- > 0;)
			len = (len << 8) | *q++;
	}
	if ((size_t)(end - q) < len)
		return -1;
	*p = q;
	return (long)len;
}

/* The SubjectPublicKeyInfo walked by hand to its RSAPublicKey, which
 * d2i_PublicKey reads without OpenSSL 3's decoder framework. */
static EVP_PKEY *alt_rsa_key(void)
{
	const unsigned char *p = keyder, *end = keyder + keyder_len;
	long n;

	if (der_hdr(&p, end, 0x30) < 0 || (n = der_hdr(&p, end, 0x30)) < 0)
		return NULL;
	p += n; /* AlgorithmIdentifier (a real parser checks rsaEncryption) */
	if ((n = der_hdr(&p, end, 0x03)) < 1 || *p != 0)
		return NULL;
	p++;
	return d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, n - 1);
}

/* The same RSAPublicKey's n and e read by hand and made a provider key
 * with EVP_PKEY_fromdata (no legacy key to export at the first use). */
static EVP_PKEY *alt_rsa_key_fromdata(void)
{
	const unsigned char *p = keyder, *end = keyder + keyder_len;
	long n, nn, ne;

	if (der_hdr(&p, end, 0x30) < 0 || (n = der_hdr(&p, end, 0x30)) < 0)
		return NULL;
	p += n;
	if ((n = der_hdr(&p, end, 0x03)) < 1 || *p != 0)
		return NULL;
	p++;
	if (der_hdr(&p, end, 0x30) < 0 || (nn = der_hdr(&p, end, 0x02)) < 1)
		return NULL;
	BIGNUM *bn_n = BN_bin2bn(p, (int)nn, NULL);
	p += nn;
	if ((ne = der_hdr(&p, end, 0x02)) < 1) {
		BN_free(bn_n);
		return NULL;
	}
	BIGNUM *bn_e = BN_bin2bn(p, (int)ne, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;

	if (bn_n != NULL && bn_e != NULL && bld != NULL && ctx != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn_n);
	BN_free(bn_e);
	return k;
}

static void op_alt_fromdata_check(void)
{
	struct dkim_key k = key;
	char err[160];

	k.pkey = alt_rsa_key_fromdata();
	if (k.pkey == NULL)
		die("EVP_PKEY_fromdata failed");
	if (dkim_check_signature(&sig, &k, hinput.data, hinput.len, err, sizeof(err)) != 1 &&
	    failures++ == 0)
		fprintf(stderr, "dkim_bench: check with the fromdata key failed\n");
	EVP_PKEY_free(k.pkey);
}

static void op_alt_key_parse(void)
{
	EVP_PKEY *k = alt_rsa_key();

	if (k == NULL)
		die("d2i_PublicKey failed");
	sink += (unsigned)EVP_PKEY_get_bits(k);
	EVP_PKEY_free(k);
}

/* The alternative key, then the signature check with that fresh key (the
 * legacy key is exported to the provider inside DigestVerifyInit). */
static void op_alt_key_check(void)
{
	struct dkim_key k = key;
	char err[160];

	k.pkey = alt_rsa_key();
	if (k.pkey == NULL)
		die("d2i_PublicKey failed");
	if (dkim_check_signature(&sig, &k, hinput.data, hinput.len, err, sizeof(err)) != 1 &&
	    failures++ == 0)
		fprintf(stderr, "dkim_bench: check with the alternative key failed\n");
	EVP_PKEY_free(k.pkey);
}

/* ---- the runner ---- */

/* Our machines change speed by tens of per cent from one second to the
 * next (shared VMs).  So the phases are interleaved: every round runs a
 * burst of each phase (about burst_ms long, starting with a different
 * phase each round), and ratios are taken within one round. */
struct phase {
	const char *tag, *what;
	void (*op)(void);
	int on;
	unsigned long n; /* operations per burst */
	double per[MAX_ROUNDS];
	double cpu, wall; /* seconds over all rounds */
	struct stat3 us;
};

static unsigned long rounds = 15;
static double burst_ms = 40, warmup_ms = 300;

/* Untimed warm-up of about warmup_ms, which also sizes the bursts. */
static void calibrate(struct phase *p)
{
	unsigned long k = 0;
	double t0 = now_wall(), el;

	do {
		p->op();
		k++;
		el = now_wall() - t0;
	} while (k < 10 || el < warmup_ms / 1e3);
	double us = 1e6 * el / (double)k;
	p->n = (unsigned long)(burst_ms * 1e3 / us);
	if (p->n == 0)
		p->n = 1;
}

static void burst(struct phase *p, unsigned long r)
{
	double c0 = now_cpu(), t0 = now_wall();

	for (unsigned long i = 0; i < p->n; i++)
		p->op();
	double t1 = now_wall(), c1 = now_cpu();
	p->per[r] = 1e6 * (t1 - t0) / (double)p->n;
	p->wall += t1 - t0;
	p->cpu += c1 - c0;
}

static struct phase *find(struct phase *ph, size_t n, const char *tag)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(ph[k].tag, tag) == 0)
			return &ph[k];
	die("unknown phase");
	return NULL;
}

/* 1 when tag is one of the comma-separated names in list. */
static int in_list(const char *list, const char *tag)
{
	size_t tl = strlen(tag);

	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n == tl && strncmp(p, tag, n) == 0)
			return 1;
		p += n + (p[n] == ',');
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: dkim_bench [--rounds R] [--burst-ms MS] [--warmup-ms MS] "
	        "[--body-bytes B] [--bits BITS] [--chunk C] [--tmpdir DIR] [--only PHASE,...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	size_t body_bytes = 10240;
	int bits = 2048;
	const char *tmpdir = "/tmp", *only = NULL;
	char err[256];

	/* Every option takes a value: they come in pairs. */
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			usage();
		if (strcmp(a, "--rounds") == 0)
			rounds = strtoul(v, NULL, 10);
		else if (strcmp(a, "--burst-ms") == 0)
			burst_ms = atof(v);
		else if (strcmp(a, "--warmup-ms") == 0)
			warmup_ms = atof(v);
		else if (strcmp(a, "--body-bytes") == 0)
			body_bytes = strtoul(v, NULL, 10);
		else if (strcmp(a, "--bits") == 0)
			bits = atoi(v);
		else if (strcmp(a, "--chunk") == 0)
			chunk = strtoul(v, NULL, 10);
		else if (strcmp(a, "--tmpdir") == 0)
			tmpdir = v;
		else if (strcmp(a, "--only") == 0)
			only = v;
		else
			usage();
	}
	if (rounds == 0 || rounds > MAX_ROUNDS || burst_ms <= 0 || chunk == 0 || bits < 1024)
		usage();
	log_init("dkim_bench", 0, 0);

	/* Key, message, signature. */
	priv = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (priv == NULL)
		die("RSA key generation failed");
	struct buf plain;
	buf_init(&plain, 16 * 1024 * 1024);
	make_message(&plain, body_bytes);
	struct dkim_sign_options so = {
	    .domain = DOMAIN,
	    .selector = SELECTOR,
	    .key = priv,
	    .now = 1795909200,
	    .hcanon = CANON_RELAXED,
	    .bcanon = CANON_RELAXED,
	};
	buf_init(&msg, 16 * 1024 * 1024);
	if (dkim_sign(&so, plain.data, plain.len, &msg, err, sizeof(err)) != 0) {
		fprintf(stderr, "dkim_bench: dkim_sign: %s\n", err);
		return 1;
	}
	size_t siglen = msg.len;
	buf_append(&msg, plain.data, plain.len);
	buf_free(&plain);
	char *sep = strstr(msg.data, "\r\n\r\n");
	if (sep == NULL)
		die("no end of header section");
	hdr_len = (size_t)(sep - msg.data) + 2;
	body_off = hdr_len + 2;

	/* The key record, and a zone file with it in 255-octet strings. */
	unsigned char *der = NULL;
	int derlen = i2d_PUBKEY(priv, &der);
	char b64[4096];
	if (derlen <= 0 || b64_encode(der, (size_t)derlen, b64, sizeof(b64)) < 0)
		die("cannot encode the public key");
	if ((size_t)derlen > sizeof(keyder))
		die("public key too large");
	memcpy(keyder, der, (size_t)derlen);
	keyder_len = (size_t)derlen;
	OPENSSL_free(der);
	buf_init(&keyrec, 8192);
	buf_printf(&keyrec, "v=DKIM1; k=rsa; p=%s", b64);
	char zpath[4096];
	snprintf(zpath, sizeof(zpath), "%s/dkim_bench.XXXXXX", tmpdir);
	int zfd = mkstemp(zpath);
	FILE *zf = zfd >= 0 ? fdopen(zfd, "w") : NULL;
	if (zf == NULL)
		die("cannot create the zone file");
	fprintf(zf, "# dkim_bench\n" SELECTOR "._domainkey." DOMAIN " TXT");
	for (size_t off = 0; off < keyrec.len; off += 255)
		fprintf(zf, " \"%.*s\"", (int)(keyrec.len - off < 255 ? keyrec.len - off : 255),
		        keyrec.data + off);
	fprintf(zf, "\n");
	if (fclose(zf) != 0)
		die("cannot write the zone file");
	base = event_base_new();
	if (base == NULL)
		die("event_base_new failed");
	keycache = dkim_keycache_new(16);
	resolver = dns_resolver_zone(base, zpath, err, sizeof(err));
	unlink(zpath);
	if (resolver == NULL) {
		fprintf(stderr, "dkim_bench: dns_resolver_zone: %s\n", err);
		return 1;
	}

	/* Parsed once for (b). */
	fields = calloc(MAX_FIELDS, sizeof(*fields));
	if (fields == NULL)
		die("out of memory");
	split_headers();
	const char *colon = memchr(sigfield->p, ':', sigfield->len);
	if (dkim_sig_parse(colon + 1, sigfield->len - (size_t)(colon + 1 - sigfield->p) - 2, &sig,
	                   err, sizeof(err)) != 0) {
		fprintf(stderr, "dkim_bench: dkim_sig_parse: %s\n", err);
		return 1;
	}
	if (dkim_key_parse(keyrec.data, keyrec.len, &key, err, sizeof(err)) != 0) {
		fprintf(stderr, "dkim_bench: dkim_key_parse: %s\n", err);
		return 1;
	}
	/* As a worker's key cache keeps it: with its verification context. */
	dkim_key_prepare(&key);
	header_input(&hinput);
	unsigned hdl = 0;
	EVP_Digest(hinput.data, hinput.len, hdr_digest, &hdl, EVP_sha256(), NULL);
	rsa_vctx = EVP_PKEY_CTX_new(key.pkey, NULL);
	if (rsa_vctx == NULL || EVP_PKEY_verify_init(rsa_vctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(rsa_vctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(rsa_vctx, EVP_sha256()) != 1)
		die("cannot prepare the raw RSA verify context");

	printf("message: %zu bytes (DKIM-Signature field %zu, other header fields %zu, body "
	       "%zu); header hash input %zu bytes; h=",
	       msg.len, siglen, hdr_len - siglen, msg.len - body_off, hinput.len);
	for (size_t k = 0; k < sig.nh; k++)
		printf("%s%s", k ? ":" : "", dkim_sig_header(&sig, k));
	printf("\nkey: RSA-%d (%s), %s/%s, a=%s; key record %zu bytes\n", key.bits,
	       OpenSSL_version(OPENSSL_VERSION), sig.hcanon == CANON_RELAXED ? "relaxed" : "simple",
	       sig.bcanon == CANON_RELAXED ? "relaxed" : "simple", dkim_alg_name(sig.alg),
	       keyrec.len);
	printf("%lu rounds; each round runs a burst of about %.0f ms of every phase, "
	       "interleaved; after %.0f ms of untimed warm-up per phase\n",
	       rounds, burst_ms, warmup_ms);
	printf("figures: wall time per operation, median over the rounds (min, max); CPU = "
	       "process CPU time per operation over all rounds\n");
	fflush(stdout);

#define PHASE(t, w, f)                                                                             \
	{                                                                                          \
		.tag = (t), .what = (w), .op = (f)                                                 \
	}
	struct phase ph[] = {
	    PHASE("full", "(a) dkim_verify_new/header+body in chunks/finish (zone key lookup)/free",
	          op_full),
	    PHASE("core",
	          "(b) header input + body canon/hash + dkim_check_signature, key pre-parsed",
	          op_core),
	    PHASE("sig_parse", "    dkim_sig_parse of the DKIM-Signature value", op_sig_parse),
	    PHASE("key_parse", "    dkim_key_parse of the TXT record (base64 + d2i_PUBKEY)",
	          op_key_parse),
	    PHASE("header_input", "    msghdr_split + dkim_header_input (relaxed)",
	          op_header_input),
	    PHASE("body_hash", "    canon_body relaxed + SHA-256 of the body, 4 KiB chunks",
	          op_body_hash),
	    PHASE("body_canon", "    the same with EVP_md_null: the canonicaliser alone",
	          op_canon_only),
	    PHASE("check_sig", "    dkim_check_signature (DigestVerifyInit + DigestVerify)",
	          op_check_signature),
	    PHASE("raw_sha_body", "raw: EVP_Digest SHA-256 of the body", op_raw_sha256_body),
	    PHASE("raw_sha_hdr", "raw: EVP_Digest SHA-256 of the header hash input",
	          op_raw_sha256_header),
	    PHASE("raw_rsa", "raw: EVP_PKEY_verify of the digest, context prepared once",
	          op_raw_rsa_verify),
	    PHASE("raw_dverify", "raw: EVP_MD_CTX_new + DigestVerifyInit + DigestVerify",
	          op_digest_verify),
	    PHASE("alt_body",
	          "alt: relaxed body canon by runs (a table, one memcpy a line) + SHA-256",
	          op_alt_body),
	    PHASE("alt_key_parse", "alt: SPKI walked by hand + d2i_PublicKey (RSAPublicKey)",
	          op_alt_key_parse),
	    PHASE("alt_key_check", "alt: that key parse + dkim_check_signature with the new key",
	          op_alt_key_check),
	    PHASE("alt_fromdata",
	          "alt: n, e by hand + EVP_PKEY_fromdata + dkim_check_signature with it",
	          op_alt_fromdata_check),
	};
#undef PHASE
	size_t nph = sizeof(ph) / sizeof(ph[0]), non = 0;
	for (size_t k = 0; k < nph; k++)
		if (only == NULL || in_list(only, ph[k].tag)) {
			ph[k].on = 1;
			non++;
			calibrate(&ph[k]);
		}
	if (non == 0)
		usage();
	for (unsigned long r = 0; r < rounds; r++)
		for (size_t j = 0; j < nph; j++) {
			/* Start each round with another phase. */
			struct phase *p = &ph[(j + r) % nph];
			if (p->on)
				burst(p, r);
		}

	/* Ratios to the raw cost, within each round: one RSA verify with a
	 * prepared context + SHA-256 of the body + SHA-256 of the header input. */
	struct phase *full = find(ph, nph, "full"), *core = find(ph, nph, "core"),
	             *rsa = find(ph, nph, "raw_rsa"), *shab = find(ph, nph, "raw_sha_body"),
	             *shah = find(ph, nph, "raw_sha_hdr");
	int have_raw = rsa->on && shab->on && shah->on;
	double rfull[MAX_ROUNDS], rcore[MAX_ROUNDS], rawsum[MAX_ROUNDS];
	for (unsigned long r = 0; r < rounds && have_raw; r++) {
		rawsum[r] = rsa->per[r] + shab->per[r] + shah->per[r];
		rfull[r] = full->on ? full->per[r] / rawsum[r] : 0;
		rcore[r] = core->on ? core->per[r] / rawsum[r] : 0;
	}

	for (size_t k = 0; k < nph; k++) {
		struct phase *p = &ph[k];
		if (!p->on)
			continue;
		p->us = stats(p->per, rounds);
		printf("  %-14s %9.2f us (min %8.2f, max %8.2f; CPU %8.2f) %9.0f/s  %s\n", p->tag,
		       p->us.med, p->us.min, p->us.max, 1e6 * p->cpu / (double)(p->n * rounds),
		       1e6 / p->us.med, p->what);
	}
	struct stat3 sraw = {0}, sfull = {0}, score = {0};
	if (have_raw) {
		sraw = stats(rawsum, rounds);
		printf("  raw cost (raw_rsa + raw_sha_body + raw_sha_hdr, per round): %.2f us "
		       "(min %.2f, max %.2f)\n",
		       sraw.med, sraw.min, sraw.max);
		if (full->on) {
			sfull = stats(rfull, rounds);
			printf("  full / raw, per round: %.2f (min %.2f, max %.2f)\n", sfull.med,
			       sfull.min, sfull.max);
		}
		if (core->on) {
			score = stats(rcore, rounds);
			printf("  core / raw, per round: %.2f (min %.2f, max %.2f)\n", score.med,
			       score.min, score.max);
		}
	}
	printf("failures: %lu\n", failures);
	printf("RESULT");
	for (size_t k = 0; k < nph; k++)
		if (ph[k].on)
			printf(" %s=%.3f %s_min=%.3f %s_max=%.3f", ph[k].tag, ph[k].us.med,
			       ph[k].tag, ph[k].us.min, ph[k].tag, ph[k].us.max);
	if (have_raw)
		printf(
		    " raw=%.3f raw_min=%.3f raw_max=%.3f ratio_full=%.3f ratio_full_min=%.3f "
		    "ratio_full_max=%.3f ratio_core=%.3f ratio_core_min=%.3f ratio_core_max=%.3f",
		    sraw.med, sraw.min, sraw.max, sfull.med, sfull.min, sfull.max, score.med,
		    score.min, score.max);
	printf(" rounds=%lu failures=%lu body=%zu msg=%zu hinput=%zu\n", rounds, failures,
	       msg.len - body_off, msg.len, hinput.len);

	EVP_PKEY_CTX_free(rsa_vctx);
	dkim_key_free(&key);
	buf_free(&hinput);
	buf_free(&keyrec);
	buf_free(&msg);
	free(fields);
	dns_resolver_free(resolver);
	dkim_keycache_free(keycache);
	event_base_free(base);
	EVP_PKEY_free(priv);
	return failures > 0 ? 3 : 0;
}
