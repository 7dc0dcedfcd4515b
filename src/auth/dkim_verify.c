/* Streaming DKIM verifier: signatures from the caller's header section,
 * shared body hashers, key lookups. */
#include "auth/dkim_verify.h"

#include "auth/dkim_check.h"
#include "auth/dkim_key.h"
#include "auth/dkim_keycache.h"
#include "auth/msghead.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "dns/dns.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DKIM_MAX_FIELDS 1000
#define DKIM_HEADER_INPUT_MAX (1024 * 1024)

struct sig_state {
	struct dkim_verifier *v;
	struct dkim_sig sig;
	struct dkim_sig_result *res;
	int decided; /* res->result is final */
	struct canon_hasher *bh;
	struct buf input;                        /* canonical header hash input */
	char key_name[2 * DKIM_DOMAIN_MAX + 16]; /* s._domainkey.d */
	struct dns_query *q;
};

struct dkim_verifier {
	struct dkim_verify_options opt;
	int have_header; /* dkim_verify_header was called */
	struct sig_state *sigs;
	struct dkim_sig_result *res;
	size_t nsig, nres;
	struct canon_hashers hashers;
	size_t pending;
	struct event *ev;
	dkim_verify_done_fn done;
	void *arg;
};

const char *dkim_result_name(enum dkim_result r)
{
	static const char *const names[] = {"pass",      "fail",      "neutral",
	                                    "temperror", "permerror", "policy"};
	return names[r];
}

static void decide(struct sig_state *s, enum dkim_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void decide(struct sig_state *s, enum dkim_result r, const char *fmt, ...)
{
	va_list ap;

	s->res->result = r;
	s->res->reason[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(s->res->reason, sizeof(s->res->reason), fmt, ap);
		va_end(ap);
	}
	s->decided = 1;
}

struct dkim_verifier *dkim_verify_new(const struct dkim_verify_options *opt)
{
	struct dkim_verifier *v = xcalloc(1, sizeof(*v));

	v->opt = *opt;
	return v;
}

/* src into a field of size n, cut to fit. */
static void copy_field(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);

	memcpy(dst, src, l);
	dst[l] = '\0';
}

static void copy_props(struct dkim_sig_result *r, const struct dkim_sig *sig)
{
	copy_field(r->d, sizeof(r->d), sig->d);
	copy_field(r->i, sizeof(r->i), sig->i);
	copy_field(r->a, sizeof(r->a), dkim_alg_name(sig->alg));
	copy_field(r->s, sizeof(r->s), sig->s);
	copy_field(r->b, sizeof(r->b), sig->b_prefix);
}

/* One DKIM-Signature field: parse, check what needs no key, prepare. */
static void setup_sig(struct dkim_verifier *v, struct sig_state *s,
                      const struct msghdr_field *fields, size_t n, size_t idx)
{
	const struct msghdr_field *f = &fields[idx];
	const char *colon = memchr(f->p, ':', f->len);
	size_t vlen = f->len - (size_t)(colon + 1 - f->p);
	char err[160];

	/* The field's own CRLF is not part of its value. */
	if (vlen >= 2 && colon[vlen - 1] == '\r' && colon[vlen] == '\n')
		vlen -= 2;
	buf_init(&s->input, DKIM_HEADER_INPUT_MAX);
	if (dkim_sig_parse(colon + 1, vlen, &s->sig, err, sizeof(err)) != 0) {
		decide(s, DKIM_PERMERROR, "%s", err);
		return;
	}
	copy_props(s->res, &s->sig);
	if (s->sig.alg == DKIM_ALG_RSA_SHA1) {
		decide(s, DKIM_FAIL, "rsa-sha1 is not accepted (RFC 8301 3.1)");
		return;
	}
	if (s->sig.x != DKIM_NO_TIME && v->opt.now > s->sig.x) {
		decide(s, DKIM_FAIL, "signature expired (x=)");
		return;
	}
	if (dkim_header_input(&s->sig, fields, n, f, &s->input) != 0) {
		decide(s, DKIM_PERMERROR, "header hash input too large");
		return;
	}
	s->bh = canon_hashers_get(&v->hashers, s->sig.bcanon, s->sig.l);
}

/* RFC 6376 6.1: the header section h[0..hlen) (its fields) is complete;
 * set up every signature. */
static void headers_done(struct dkim_verifier *v, const char *h, size_t hlen)
{
	long n;
	struct msghdr_field *fields = msghdr_split_new(h, hlen, DKIM_MAX_FIELDS, 0, &n);
	size_t nsig = 0;

	for (long k = 0; k < n; k++)
		nsig += msghdr_name_is(&fields[k], "DKIM-Signature", 14);
	v->res = xcalloc(nsig > 0 ? nsig : 1, sizeof(*v->res));
	v->sigs = xcalloc(nsig > 0 ? nsig : 1, sizeof(*v->sigs));
	canon_hashers_init(&v->hashers, nsig);
	for (long k = 0; k < n; k++) {
		if (!msghdr_name_is(&fields[k], "DKIM-Signature", 14))
			continue;
		struct sig_state *s = &v->sigs[v->nsig];
		s->v = v;
		s->res = &v->res[v->nsig++];
		if (v->nsig > v->opt.max_signatures) {
			buf_init(&s->input, 1);
			decide(s, DKIM_POLICY, "more than %zu signatures", v->opt.max_signatures);
			continue;
		}
		setup_sig(v, s, fields, (size_t)n, (size_t)k);
	}
	v->nres = v->nsig;
	free(fields);
}

void dkim_verify_header(struct dkim_verifier *v, const char *head, size_t len)
{
	if (v->have_header)
		panic("dkim: the header section given twice");
	v->have_header = 1;
	/* A section over the limit has no fields that can be told apart. */
	headers_done(v, head, head != NULL ? msghead_fields_len(head, len) : 0);
}

void dkim_verify_body(struct dkim_verifier *v, const void *p, size_t n)
{
	if (!v->have_header)
		panic("dkim: body before the header section");
	canon_hashers_update(&v->hashers, p, n);
}

static void report(evutil_socket_t fd, short what, void *arg)
{
	struct dkim_verifier *v = arg;

	v->done(v->arg, v->res, v->nres);
}

static void check_done(struct dkim_verifier *v)
{
	if (v->pending == 0)
		event_active(v->ev, 0, 0);
}

/* RFC 6376 6.1.3: the body hash, checked once the key is known (6.1.2). */
static void check_body(struct sig_state *s)
{
	const struct canon_hasher *h = s->bh;

	if (h->cb.limit != CANON_NO_LIMIT && h->cb.limit > h->cb.total) {
		decide(s, DKIM_FAIL, "l= is longer than the body");
		return;
	}
	s->res->beyond_limit = canon_body_beyond_limit(&h->cb);
	if (s->sig.bh_len != h->dlen || memcmp(s->sig.bh, h->digest, h->dlen) != 0)
		decide(s, DKIM_FAIL, "body hash did not verify");
}

/* RFC 6376 6.1.2 / 6.1.3 once the key record is known. */
static void with_key(struct sig_state *s, const struct dns_answer *ans)
{
	struct dkim_key key;
	char err[160] = "", first[160] = "";
	int have = 0;

	if (ans->status == DNS_TEMPFAIL) {
		decide(s, DKIM_TEMPERROR, "key lookup failed temporarily");
		return;
	}
	if (ans->status != DNS_OK) {
		decide(s, DKIM_PERMERROR, "no key for signature (%s)",
		       dns_status_text(ans->status));
		return;
	}
	/* Several TXT records: the first one that parses is used (3.6.2.2). */
	for (size_t k = 0; k < ans->nrr && !have; k++) {
		if (dkim_keycache_parse(s->v->opt.keys, s->key_name, ans->rrs[k].u.txt.data,
		                        ans->rrs[k].u.txt.len, &key, err, sizeof(err)) == 0)
			have = 1;
		else if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", err);
	}
	if (!have) {
		decide(s, DKIM_PERMERROR, "key record: %s", first);
		return;
	}
	s->res->testing = key.testing;
	if (key.revoked) {
		decide(s, DKIM_PERMERROR, "key revoked");
	} else if (key.strict && s->sig.i[0] != '\0' &&
	           strcasecmp(strrchr(s->sig.i, '@') + 1, s->sig.d) != 0) {
		decide(s, DKIM_PERMERROR, "key t=s forbids an i= subdomain of d=");
	} else {
		check_body(s);
	}
	if (!s->decided) {
		int ok = dkim_check_signature(&s->sig, &key, s->input.data, s->input.len, err,
		                              sizeof(err));
		if (ok < 0)
			decide(s, DKIM_PERMERROR, "%s", err);
		else if (ok == 0)
			decide(s, DKIM_FAIL, "signature did not verify");
		else
			decide(s, DKIM_PASS, NULL);
	}
	/* 3.6.1 t=y: a failure of a testing key counts as no signature. */
	if (key.testing && s->res->result == DKIM_FAIL)
		decide(s, DKIM_NEUTRAL, "testing key (t=y): %.120s", s->res->reason);
	dkim_key_free(&key);
}

static void key_answer(void *arg, const struct dns_answer *ans)
{
	struct sig_state *s = arg;

	s->q = NULL;
	with_key(s, ans);
	s->v->pending--;
	check_done(s->v);
}

void dkim_verify_finish(struct dkim_verifier *v, struct event_base *base, struct dns_resolver *r,
                        dkim_verify_done_fn done, void *arg)
{
	if (!v->have_header)
		panic("dkim: finish before the header section");
	v->done = done;
	v->arg = arg;
	v->ev = event_new(base, -1, 0, report, v);
	if (v->ev == NULL)
		fatal("dkim: cannot create an event");
	canon_hashers_final(&v->hashers);
	for (size_t k = 0; k < v->nsig; k++) {
		struct sig_state *s = &v->sigs[k];
		if (s->decided)
			continue;
		snprintf(s->key_name, sizeof(s->key_name), "%s._domainkey.%s", s->sig.s, s->sig.d);
		v->pending++;
		s->q = dns_lookup(r, s->key_name, DNS_T_TXT, key_answer, s);
	}
	check_done(v);
}

void dkim_verify_free(struct dkim_verifier *v)
{
	for (size_t k = 0; k < v->nsig; k++) {
		if (v->sigs[k].q != NULL)
			dns_cancel(v->sigs[k].q);
		buf_free(&v->sigs[k].input);
	}
	canon_hashers_free(&v->hashers);
	if (v->ev != NULL)
		event_free(v->ev);
	free(v->sigs);
	free(v->res);
	free(v);
}
