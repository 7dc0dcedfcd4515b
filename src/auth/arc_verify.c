/* Streaming ARC validator: chain structure from the caller's header
 * section, body hashes while the body passes, then key lookups and
 * RFC 8617 5.2 steps 4 to 7. */
#include "auth/arc_verify.h"

#include "auth/arc_chain.h"
#include "auth/dkim_check.h"
#include "auth/dkim_key.h"
#include "auth/dkim_keycache.h"
#include "auth/msghead.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "dns/dns.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARC_MAX_FIELDS 1000
#define ARC_INPUT_MAX (1024 * 1024)
#define ARC_KEY_NAME_MAX (2 * DKIM_DOMAIN_MAX + 16)

/* One key record name, looked up once however many signatures use it. */
struct key_slot {
	struct arc_verifier *v;
	char name[ARC_KEY_NAME_MAX];
	struct dns_query *q;
	int have;      /* key holds a usable key */
	int temporary; /* the lookup failed temporarily */
	struct dkim_key key;
	char err[160]; /* why there is no key */
};

struct arc_verifier {
	struct arc_verify_options opt;
	int have_header;       /* arc_verify_header was called */
	enum arc_cv structure; /* arc_chain_collect's verdict */
	struct arc_chain *chain;
	struct canon_hashers hashers; /* one per distinct AMS c= and l= */
	struct canon_hasher *ams_hasher[ARC_MAX_SETS];
	struct buf ams_input[ARC_MAX_SETS], as_input[ARC_MAX_SETS];
	struct key_slot *keys;
	size_t nkeys;
	size_t ams_key[ARC_MAX_SETS], as_key[ARC_MAX_SETS];
	size_t pending;
	struct event *ev;
	arc_verify_done_fn done;
	void *arg;
	struct arc_result res;
};

static void chain_fails(struct arc_verifier *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void chain_fails(struct arc_verifier *v, const char *fmt, ...)
{
	va_list ap;

	v->res.cv = ARC_CV_FAIL;
	va_start(ap, fmt);
	vsnprintf(v->res.reason, sizeof(v->res.reason), fmt, ap);
	va_end(ap);
}

struct arc_verifier *arc_verify_new(const struct arc_verify_options *opt)
{
	struct arc_verifier *v = xcalloc(1, sizeof(*v));

	v->opt = *opt;
	v->res.oldest_pass = -1;
	return v;
}

/* The hash inputs of every signature of a structurally sound chain, made
 * while the header section is at hand. */
static void prepare(struct arc_verifier *v, const struct msghdr_field *fields, size_t n)
{
	const struct arc_chain *c = v->chain;
	struct msghdr_field *t = xcalloc(3 * (size_t)c->n, sizeof(*t));

	canon_hashers_init(&v->hashers, c->n);
	for (unsigned k = 0; k < c->n; k++) {
		const struct arc_set *s = &c->sets[k];
		t[3 * k] = s->aar;
		t[3 * k + 1] = s->ams;
		t[3 * k + 2] = s->as;
		buf_init(&v->ams_input[k], ARC_INPUT_MAX);
		buf_init(&v->as_input[k], ARC_INPUT_MAX);
		if (dkim_header_input(&s->ams_sig.sig, fields, n, &s->ams, &v->ams_input[k]) != 0 ||
		    arc_seal_input(t, k + 1, &v->as_input[k]) != 0) {
			chain_fails(v, "hash input of instance %u is too large", k + 1);
			break;
		}
		v->ams_hasher[k] =
		    canon_hashers_get(&v->hashers, s->ams_sig.sig.bcanon, s->ams_sig.sig.l);
	}
	free(t);
}

static void copy_signers(struct arc_verifier *v)
{
	const struct arc_set *s = &v->chain->sets[v->chain->n - 1];

	if (s->ams.p != NULL) {
		snprintf(v->res.ams_d, sizeof(v->res.ams_d), "%s", s->ams_sig.sig.d);
		snprintf(v->res.ams_s, sizeof(v->res.ams_s), "%s", s->ams_sig.sig.s);
	}
	if (s->as.p != NULL) {
		snprintf(v->res.as_d, sizeof(v->res.as_d), "%s", s->seal.sig.d);
		snprintf(v->res.as_s, sizeof(v->res.as_s), "%s", s->seal.sig.s);
	}
}

/* RFC 8617 5.2 steps 1 to 3, once the header section's fields h[0..hlen)
 * are known (h NULL: the section was too large). */
static void headers_done(struct arc_verifier *v, const char *h, size_t hlen)
{
	long n;
	struct msghdr_field *fields =
	    msghdr_split_new(h, h != NULL ? hlen : 0, ARC_MAX_FIELDS, 0, &n);

	v->chain = xcalloc(1, sizeof(*v->chain));
	v->res.chain = h == NULL ? NULL : v->chain;
	if (h == NULL) {
		v->structure = ARC_CV_FAIL;
		chain_fails(v, "header section too large");
	} else if (n < 0) {
		v->structure = ARC_CV_FAIL;
		chain_fails(v, "more than %d header fields", ARC_MAX_FIELDS);
	} else {
		v->structure = arc_chain_collect(fields, (size_t)n, v->chain, v->res.reason,
		                                 sizeof(v->res.reason));
		v->res.cv = v->structure;
		v->res.sets = v->chain->n;
		if (v->chain->n > 0)
			copy_signers(v);
		if (v->structure == ARC_CV_PASS)
			prepare(v, fields, (size_t)n);
	}
	free(fields);
}

void arc_verify_header(struct arc_verifier *v, const char *head, size_t len)
{
	if (v->have_header)
		panic("arc: the header section given twice");
	v->have_header = 1;
	headers_done(v, head, head != NULL ? msghead_fields_len(head, len) : 0);
}

void arc_verify_body(struct arc_verifier *v, const void *p, size_t n)
{
	if (!v->have_header)
		panic("arc: body before the header section");
	canon_hashers_update(&v->hashers, p, n);
}

/* A key failure is reported as the signature's failure. */
static int key_of(struct arc_verifier *v, size_t slot, char *why, size_t whysize)
{
	const struct key_slot *ks = &v->keys[slot];

	if (!ks->have) {
		snprintf(why, whysize, "%s", ks->err);
		v->res.temporary |= ks->temporary;
	}
	return ks->have;
}

static int check_ams(struct arc_verifier *v, unsigned i)
{
	const struct dkim_sig *sig = &v->chain->sets[i - 1].ams_sig.sig;
	const struct canon_hasher *h = v->ams_hasher[i - 1];
	struct arc_set_report *rep = &v->res.set[i - 1];
	const struct buf *in = &v->ams_input[i - 1];
	char *why = rep->ams_reason;
	size_t whysize = sizeof(rep->ams_reason);
	int ok = 0;

	if (key_of(v, v->ams_key[i - 1], why, whysize)) {
		if (h->limit != CANON_NO_LIMIT && h->limit > h->cb.total)
			snprintf(why, whysize, "l= is longer than the body");
		else if (sig->bh_len != h->dlen || memcmp(sig->bh, h->digest, h->dlen) != 0)
			snprintf(why, whysize, "body hash did not verify");
		else if ((ok = dkim_check_signature(sig, &v->keys[v->ams_key[i - 1]].key, in->data,
		                                    in->len, why, whysize)) == 0)
			snprintf(why, whysize, "signature did not verify");
	}
	ok = ok == 1;
	rep->ams = ok ? ARC_SIG_PASS : ARC_SIG_FAIL;
	return ok;
}

static int check_as(struct arc_verifier *v, unsigned i)
{
	const struct dkim_sig *sig = &v->chain->sets[i - 1].seal.sig;
	struct arc_set_report *rep = &v->res.set[i - 1];
	const struct buf *in = &v->as_input[i - 1];
	int ok = 0;

	if (key_of(v, v->as_key[i - 1], rep->as_reason, sizeof(rep->as_reason))) {
		ok = dkim_check_signature(sig, &v->keys[v->as_key[i - 1]].key, in->data, in->len,
		                          rep->as_reason, sizeof(rep->as_reason));
		if (ok == 0)
			snprintf(rep->as_reason, sizeof(rep->as_reason),
			         "signature did not verify");
	}
	ok = ok == 1;
	rep->as = ok ? ARC_SIG_PASS : ARC_SIG_FAIL;
	return ok;
}

/* RFC 8617 5.2 steps 4 to 7. */
static void evaluate(struct arc_verifier *v)
{
	unsigned n = v->chain->n;

	if (v->structure != ARC_CV_PASS || v->res.cv == ARC_CV_FAIL)
		return;
	/* Step 4: the latest AMS must hold for the message as it is now. */
	if (!check_ams(v, n)) {
		chain_fails(v, "ARC-Message-Signature i=%u: %s", n, v->res.set[n - 1].ams_reason);
		return;
	}
	/* Step 5: older AMSes only tell how far back the message is intact. */
	v->res.oldest_pass = 0;
	for (unsigned i = n - 1; i >= 1; i--) {
		if (!check_ams(v, i)) {
			v->res.oldest_pass = (int)i + 1;
			break;
		}
	}
	/* Step 6: every seal, newest first. */
	for (unsigned i = n; i >= 1; i--) {
		if (!check_as(v, i)) {
			chain_fails(v, "ARC-Seal i=%u: %s", i, v->res.set[i - 1].as_reason);
			v->res.oldest_pass = -1;
			return;
		}
	}
	v->res.cv = ARC_CV_PASS;
	v->res.temporary = 0;
}

static void report(evutil_socket_t fd, short what, void *arg)
{
	struct arc_verifier *v = arg;

	evaluate(v);
	v->done(v->arg, &v->res);
}

static void check_done(struct arc_verifier *v)
{
	if (v->pending == 0)
		event_active(v->ev, 0, 0);
}

/* RFC 8617 reuses DKIM key records (4.1.2, 4.1.3; RFC 6376 3.6.2.2: the
 * first record that parses is used). */
static void key_answer(void *arg, const struct dns_answer *ans)
{
	struct key_slot *ks = arg;
	char err[160] = "";

	ks->q = NULL;
	if (ans->status == DNS_TEMPFAIL) {
		ks->temporary = 1;
		snprintf(ks->err, sizeof(ks->err), "key lookup failed temporarily");
	} else if (ans->status != DNS_OK) {
		snprintf(ks->err, sizeof(ks->err), "no key record (%s)",
		         dns_status_text(ans->status));
	} else {
		for (size_t k = 0; k < ans->nrr && !ks->have; k++) {
			if (dkim_keycache_parse(ks->v->opt.keys, ks->name, ans->rrs[k].u.txt.data,
			                        ans->rrs[k].u.txt.len, &ks->key, err,
			                        sizeof(err)) != 0) {
				if (ks->err[0] == '\0')
					snprintf(ks->err, sizeof(ks->err), "key record: %s", err);
			} else if (ks->key.revoked) {
				dkim_key_free(&ks->key);
				snprintf(ks->err, sizeof(ks->err), "key revoked");
			} else {
				ks->have = 1;
			}
		}
	}
	ks->v->pending--;
	check_done(ks->v);
}

static size_t key_slot_for(struct arc_verifier *v, const struct dkim_sig *sig)
{
	char name[ARC_KEY_NAME_MAX];

	snprintf(name, sizeof(name), "%s._domainkey.%s", sig->s, sig->d);
	for (size_t k = 0; k < v->nkeys; k++) {
		if (strcasecmp(v->keys[k].name, name) == 0)
			return k;
	}
	struct key_slot *ks = &v->keys[v->nkeys];
	ks->v = v;
	memcpy(ks->name, name, sizeof(name));
	return v->nkeys++;
}

void arc_verify_finish(struct arc_verifier *v, struct event_base *base, struct dns_resolver *r,
                       arc_verify_done_fn done, void *arg)
{
	if (!v->have_header)
		panic("arc: finish before the header section");
	v->done = done;
	v->arg = arg;
	v->ev = event_new(base, -1, 0, report, v);
	if (v->ev == NULL)
		fatal("arc: cannot create an event");
	canon_hashers_final(&v->hashers);
	if (v->structure == ARC_CV_PASS && v->res.cv != ARC_CV_FAIL) {
		v->keys = xcalloc(2 * (size_t)v->chain->n, sizeof(*v->keys));
		for (unsigned k = 0; k < v->chain->n; k++) {
			v->ams_key[k] = key_slot_for(v, &v->chain->sets[k].ams_sig.sig);
			v->as_key[k] = key_slot_for(v, &v->chain->sets[k].seal.sig);
		}
		v->pending = v->nkeys;
		for (size_t k = 0; k < v->nkeys; k++)
			v->keys[k].q =
			    dns_lookup(r, v->keys[k].name, DNS_T_TXT, key_answer, &v->keys[k]);
	}
	check_done(v);
}

void arc_verify_free(struct arc_verifier *v)
{
	for (size_t k = 0; k < v->nkeys; k++) {
		if (v->keys[k].q != NULL)
			dns_cancel(v->keys[k].q);
		if (v->keys[k].have)
			dkim_key_free(&v->keys[k].key);
	}
	canon_hashers_free(&v->hashers);
	for (size_t k = 0; k < ARC_MAX_SETS; k++) {
		buf_free(&v->ams_input[k]);
		buf_free(&v->as_input[k]);
	}
	if (v->ev != NULL)
		event_free(v->ev);
	free(v->keys);
	free(v->chain);
	free(v);
}

/* RFC 5322 3.2.2 comment text: parentheses and backslashes quoted. */
static int append_comment_text(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if ((*s == '(' || *s == ')' || *s == '\\') && buf_append(out, "\\", 1) != 0)
			return -1;
		if (buf_append(out, s, 1) != 0)
			return -1;
	}
	return 0;
}

int arc_result_format(const struct arc_result *res, struct buf *out)
{
	int rc = buf_printf(out, "arc=%s", arc_cv_name(res->cv));

	if (res->cv == ARC_CV_NONE)
		return rc;
	rc |= buf_printf(out, " (i=%u", res->sets);
	if (res->as_d[0] != '\0')
		rc |= buf_printf(out, " d=%s s=%s", res->as_d, res->as_s);
	if (res->ams_d[0] != '\0' &&
	    (strcmp(res->ams_d, res->as_d) != 0 || strcmp(res->ams_s, res->as_s) != 0))
		rc |= buf_printf(out, " ams.d=%s ams.s=%s", res->ams_d, res->ams_s);
	if (res->cv == ARC_CV_FAIL) {
		rc |= buf_append_str(out, ": ");
		rc |= append_comment_text(out, res->reason);
	}
	rc |= buf_append_str(out, ")");
	/* RFC 8617 7.2.2: ptype "header", property "oldest-pass". */
	if (res->oldest_pass >= 0)
		rc |= buf_printf(out, " header.oldest-pass=%d", res->oldest_pass);
	return rc != 0 ? -1 : 0;
}
