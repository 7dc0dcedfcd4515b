/* check_host() of RFC 7208 as an asynchronous state machine over dns.h:
 * record selection, mechanisms, redirect, exp and the processing limits. */
#include "policy/spf.h"
#include "core/ipaddr.h"
#include "policy/spf_cache.h"

#include "core/log.h"
#include "core/xmalloc.h"
#include "dns/dns.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define SPF_EXPAND_MAX 8192    /* an expansion longer than this is a permerror */
#define SPF_TRACE_MAX 65536    /* the trace stops growing here */
#define SPF_TRACE_TEXT_MAX 200 /* of one TXT record in the trace */

/* Each include pushes a frame and counts as a DNS term, so the limit of
 * 4.6.4 bounds the depth. */
#define SPF_MAX_FRAMES (SPF_MAX_DNS_MECHS + 2)

enum frame_kind { FRAME_TOP, FRAME_INCLUDE };

struct frame {
	char *domain;              /* the <domain> of this check_host() */
	struct spf_parsed *parsed; /* the record of domain, from the cache */
	size_t next;               /* the next mechanism to evaluate */
	enum frame_kind kind;
	enum spf_result include_qual; /* FRAME_INCLUDE: the qualifier in the parent */
	int redirected;               /* reached through redirect= */
};

enum state {
	ST_FETCH,     /* look up the record of the top frame */
	ST_EVAL,      /* evaluate its next mechanism, then redirect */
	ST_NAMES,     /* mx or ptr: look up the addresses of names[] one by one */
	ST_EXP_FETCH, /* fail at the top: look up exp= (6.2) */
	ST_EXP_TEXT,  /* expand exp_text into the explanation */
};

enum p_state { P_IDLE, P_WAIT, P_VALIDATE, P_DONE };

struct spf_check {
	struct dns_resolver *r;
	void (*done)(void *arg, const struct spf_outcome *out);
	void *arg;
	struct event *ev; /* delivers the start from the event loop */
	struct dns_query *q;

	char *sender, *local, *sender_domain, *helo, *receiver, *default_exp;
	unsigned char ip[16];
	int family;
	char ip_text[64]; /* IPv4-mapped addresses as plain IPv4 */
	time_t now;

	struct frame frames[SPF_MAX_FRAMES];
	size_t depth; /* frames[depth] is the one being evaluated */
	enum state state;
	unsigned lookups, voids;

	/* ST_NAMES: the mechanism's names (MX exchanges or PTR names). */
	char *target;
	char *names[SPF_MAX_NAMES];
	size_t nnames, name_i;
	int ptr_mech; /* names are PTR names to validate and compare with target */

	/* %{p} (7.3): resolved once, when first needed. */
	enum p_state p_state;
	char *p_name;
	char *p_names[SPF_MAX_NAMES];
	size_t p_n, p_i;

	int early; /* the result is known before any lookup: early_result */
	enum spf_result early_result;
	char *exp_text;
	char *explanation;
	char problem[256];
	struct buf trace;
	int want_trace;
};

const char *spf_result_name(enum spf_result res)
{
	static const char *const names[] = {"none",     "neutral",   "pass",     "fail",
	                                    "softfail", "temperror", "permerror"};

	return (unsigned)res < sizeof(names) / sizeof(names[0]) ? names[res] : "?";
}

/* ---- small helpers ---- */

static void free_names(char **names, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(names[i]);
	*n = 0;
}

static void check_free(struct spf_check *c)
{
	if (c->q != NULL)
		dns_cancel(c->q);
	if (c->ev != NULL)
		event_free(c->ev);
	for (size_t i = 0; i < SPF_MAX_FRAMES; i++) {
		free(c->frames[i].domain);
		spf_parsed_put(c->frames[i].parsed);
	}
	free_names(c->names, &c->nnames);
	free_names(c->p_names, &c->p_n);
	free(c->target);
	free(c->p_name);
	free(c->sender);
	free(c->local);
	free(c->sender_domain);
	free(c->helo);
	free(c->receiver);
	free(c->default_exp);
	free(c->exp_text);
	free(c->explanation);
	buf_free(&c->trace);
	free(c);
}

/* Delivers the outcome and frees the check: nothing may touch c after. */
static void finish(struct spf_check *c, enum spf_result res, const char *problem)
{
	struct spf_outcome out;

	memset(&out, 0, sizeof(out));
	out.result = res;
	if (problem != NULL && c->problem[0] == '\0')
		snprintf(c->problem, sizeof(c->problem), "%s", problem);
	out.problem = c->problem[0] != '\0' ? c->problem : NULL;
	out.explanation = res == SPF_FAIL ? c->explanation : NULL;
	out.dns_lookups = c->lookups;
	out.trace = &c->trace;
	c->done(c->arg, &out);
	check_free(c);
}

static void set_problem(struct spf_check *c, const char *what, const char *name)
{
	snprintf(c->problem, sizeof(c->problem), "%s %.200s", what, name);
}

static struct frame *top(struct spf_check *c)
{
	return &c->frames[c->depth];
}

static void fill_vars(struct spf_check *c, struct spf_macro_vars *v)
{
	memset(v, 0, sizeof(*v));
	v->sender = c->sender;
	v->local = c->local;
	v->sender_domain = c->sender_domain;
	v->domain = top(c)->domain;
	v->ip = c->ip;
	v->family = c->family;
	v->ptr = c->p_name != NULL ? c->p_name : "unknown";
	v->helo = c->helo;
	v->receiver = c->receiver;
	v->now = c->now;
}

static int uses_p(const char *s, unsigned flags)
{
	int p = 0;

	return spf_macro_check(s, strlen(s), flags, &p) == SPF_MACRO_OK && p;
}

/* Expands a domain-spec into a query name (7.3); NULL on a macro error. */
static char *expand_domain(struct spf_check *c, const char *spec)
{
	struct spf_macro_vars v;
	struct buf b;
	char *name = NULL;

	/* Most domain-specs hold no macro: they are their own expansion. */
	if (strchr(spec, '%') == NULL && strlen(spec) < SPF_EXPAND_MAX) {
		name = xstrdup(spec);
		char *t = spf_domain_truncate(name);
		if (t != name)
			memmove(name, t, strlen(t) + 1);
		return name;
	}
	fill_vars(c, &v);
	buf_init(&b, SPF_EXPAND_MAX);
	if (spf_macro_expand(spec, strlen(spec), &v, 0, &b) == SPF_MACRO_OK)
		name = xstrdup(b.data != NULL ? spf_domain_truncate(b.data) : "");
	buf_free(&b);
	return name;
}

/* 1 when name is target or a subdomain of it (5.5), ignoring case and a
 * final dot on either. */
static int name_within(const char *name, const char *target)
{
	size_t n = strlen(name), t = strlen(target);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (t > 0 && target[t - 1] == '.')
		t--;
	if (t == 0 || n < t || strncasecmp(name + n - t, target, t) != 0)
		return 0;
	return n == t || name[n - t - 1] == '.';
}

/* Does any A/AAAA record of ans hold the client within cidr? */
static int answer_matches(struct spf_check *c, const struct dns_answer *ans, unsigned cidr)
{
	for (size_t i = 0; i < ans->nrr; i++) {
		const struct dns_rr *rr = &ans->rrs[i];
		if ((rr->type == DNS_T_A || rr->type == DNS_T_AAAA) &&
		    rr->u.ip.family == c->family && ipaddr_prefix_match(rr->u.ip.addr, c->ip, cidr))
			return 1;
	}
	return 0;
}

static enum dns_type addr_type(const struct spf_check *c)
{
	return c->family == AF_INET6 ? DNS_T_AAAA : DNS_T_A;
}

/* ---- the trace ---- */

static void trace_text(struct buf *t, const char *s, size_t n)
{
	buf_append_str(t, " \"");
	for (size_t i = 0; i < n && i < SPF_TRACE_TEXT_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\')
			buf_printf(t, "\\%03u", ch);
		else
			buf_append(t, s + i, 1);
	}
	buf_append_str(t, n > SPF_TRACE_TEXT_MAX ? "...\"" : "\"");
}

static void trace_answer(struct spf_check *c, const struct dns_answer *ans)
{
	struct buf *t = &c->trace;
	char ip[64];

	buf_printf(t, "%s %s %s", dns_type_name(ans->qtype), ans->qname,
	           dns_status_text(ans->status));
	for (size_t i = 0; i < ans->nrr && ans->status == DNS_OK; i++) {
		const struct dns_rr *rr = &ans->rrs[i];
		switch (rr->type) {
		case DNS_T_A:
		case DNS_T_AAAA:
			if (inet_ntop(rr->u.ip.family, rr->u.ip.addr, ip, sizeof(ip)) != NULL)
				buf_printf(t, " %s", ip);
			break;
		case DNS_T_PTR:
		case DNS_T_CNAME:
			buf_printf(t, " %s", rr->u.name);
			break;
		case DNS_T_MX:
			buf_printf(t, " %u:%s", rr->u.mx.pref, rr->u.mx.exchange);
			break;
		case DNS_T_TXT:
		case DNS_T_SPF:
			trace_text(t, rr->u.txt.data, rr->u.txt.len);
			break;
		default:
			break;
		}
	}
	buf_append_str(t, "\n");
}

/* ---- lookups ---- */

static void run(struct spf_check *c);

static void lookup(struct spf_check *c, const char *name, enum dns_type type, dns_done_fn fn)
{
	c->q = dns_lookup(c->r, name, type, fn, c);
}

/* The common part of every answer: the query is over, trace it. */
static struct spf_check *answered(void *arg, const struct dns_answer *ans)
{
	struct spf_check *c = arg;

	c->q = NULL;
	if (c->want_trace)
		trace_answer(c, ans);
	return c;
}

/* 4.6.4: more than two void lookups is a permerror.  Returns -1 then. */
static int count_void(struct spf_check *c, const struct dns_answer *ans)
{
	if (ans->status != DNS_NXDOMAIN && ans->status != DNS_NODATA && ans->status != DNS_BADNAME)
		return 0;
	if (++c->voids > SPF_MAX_VOID_LOOKUPS) {
		set_problem(c, "more than 2 void lookups, the last for", ans->qname);
		return -1;
	}
	return 0;
}

/* ---- frames and results ---- */

static int frame_result(struct spf_check *c, enum spf_result res);

/* 4.6.2: the first matching mechanism gives the result of its frame. */
static int mech_matched(struct spf_check *c, enum spf_result qual)
{
	return frame_result(c, qual);
}

static void mech_next(struct spf_check *c)
{
	top(c)->next++;
	c->state = ST_EVAL;
}

/* A frame has its result.  Returns 1 when the check finished. */
static int frame_result(struct spf_check *c, enum spf_result res)
{
	struct frame *f = top(c);

	if (res == SPF_TEMPERROR || res == SPF_PERMERROR) {
		/* 5.2: errors of an include are the errors of the whole check. */
		finish(c, res, NULL);
		return 1;
	}
	if (res == SPF_NONE && (c->depth > 0 || f->redirected)) {
		/* 5.2, 6.1: include or redirect to a domain without a record
		 * is a permerror. */
		finish(c, SPF_PERMERROR, NULL);
		return 1;
	}
	if (c->depth == 0) {
		if (res == SPF_FAIL) {
			c->state = ST_EXP_FETCH;
			return 0;
		}
		finish(c, res, NULL);
		return 1;
	}
	enum spf_result qual = f->include_qual;
	free(f->domain);
	f->domain = NULL;
	spf_parsed_put(f->parsed);
	f->parsed = NULL;
	c->depth--;
	/* 5.2: include matches only on pass. */
	if (res == SPF_PASS)
		return mech_matched(c, qual);
	mech_next(c);
	return 0;
}

/* ---- the record (4.4, 4.5) ---- */

static void on_record(void *arg, const struct dns_answer *ans)
{
	struct spf_check *c = answered(arg, ans);
	struct frame *f = top(c);
	const struct dns_rr *found = NULL;
	size_t count = 0;
	char err[160];

	if (ans->status == DNS_TEMPFAIL) {
		set_problem(c, "DNS error for TXT", ans->qname);
		finish(c, SPF_TEMPERROR, NULL); /* 4.4 */
		return;
	}
	for (size_t i = 0; ans->status == DNS_OK && i < ans->nrr; i++)
		if (spf_record_is_spf(ans->rrs[i].u.txt.data, ans->rrs[i].u.txt.len)) {
			found = &ans->rrs[i];
			count++;
		}
	if (count == 0) {
		set_problem(c, "no SPF record at", ans->qname);
		if (frame_result(c, SPF_NONE) == 0)
			run(c);
		return;
	}
	if (count > 1) {
		set_problem(c, "more than one SPF record at", ans->qname); /* 4.5 */
		finish(c, SPF_PERMERROR, NULL);
		return;
	}
	f->parsed = spf_parsed_get(found->u.txt.data, found->u.txt.len, err, sizeof(err));
	if (f->parsed == NULL) {
		snprintf(c->problem, sizeof(c->problem), "%.80s: %s", ans->qname, err);
		finish(c, SPF_PERMERROR, NULL);
		return;
	}
	f->next = 0;
	c->state = ST_EVAL;
	run(c);
}

/* Starts check_host() for domain in frame depth. */
static void start_frame(struct spf_check *c, char *domain, enum frame_kind kind,
                        enum spf_result qual)
{
	struct frame *f = top(c);

	free(f->domain);
	spf_parsed_put(f->parsed);
	f->parsed = NULL;
	f->domain = domain;
	f->kind = kind;
	f->include_qual = qual;
	f->redirected = 0;
	f->next = 0;
	c->state = ST_FETCH;
}

/* ---- mechanisms (5) ---- */

static void on_addr_mech(void *arg, const struct dns_answer *ans)
{
	struct spf_check *c = answered(arg, ans);
	const struct spf_mech *m = &spf_parsed_record(top(c)->parsed)->mechs[top(c)->next];

	if (ans->status == DNS_TEMPFAIL) {
		set_problem(c, "DNS error for", ans->qname);
		finish(c, SPF_TEMPERROR, NULL); /* 5: DNS errors are temperror */
		return;
	}
	if (count_void(c, ans) < 0) {
		finish(c, SPF_PERMERROR, NULL);
		return;
	}
	/* 5.3, 5.7: a matches the client within the cidr; exists matches on
	 * any A record at all. */
	int match = ans->status == DNS_OK &&
	            (m->type == SPF_MECH_EXISTS ||
	             answer_matches(c, ans, c->family == AF_INET6 ? m->cidr6 : m->cidr4));
	if (!match)
		mech_next(c);
	else if (mech_matched(c, m->qualifier))
		return;
	run(c);
}

static int cmp_mx(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;

	return (x->u.mx.pref > y->u.mx.pref) - (x->u.mx.pref < y->u.mx.pref);
}

static void on_mx(void *arg, const struct dns_answer *ans)
{
	struct spf_check *c = answered(arg, ans);

	if (ans->status == DNS_TEMPFAIL) {
		set_problem(c, "DNS error for MX", ans->qname);
		finish(c, SPF_TEMPERROR, NULL);
		return;
	}
	if (count_void(c, ans) < 0) {
		finish(c, SPF_PERMERROR, NULL);
		return;
	}
	/* 4.6.4: more than 10 MX names is a permerror for the mx mechanism. */
	if (ans->status == DNS_OK && ans->nrr > SPF_MAX_NAMES) {
		set_problem(c, "more than 10 MX records for", ans->qname);
		finish(c, SPF_PERMERROR, NULL);
		return;
	}
	if (ans->status == DNS_OK) {
		struct dns_rr sorted[SPF_MAX_NAMES];
		memcpy(sorted, ans->rrs, ans->nrr * sizeof(*sorted));
		qsort(sorted, ans->nrr, sizeof(*sorted), cmp_mx);
		/* RFC 7505: an empty exchange (null MX) names no host. */
		for (size_t i = 0; i < ans->nrr; i++)
			if (sorted[i].u.mx.exchange[0] != '\0')
				c->names[c->nnames++] = xstrdup(sorted[i].u.mx.exchange);
	}
	c->name_i = 0;
	c->ptr_mech = 0;
	c->state = ST_NAMES;
	run(c);
}

static void on_ptr_mech(void *arg, const struct dns_answer *ans)
{
	struct spf_check *c = answered(arg, ans);

	/* 5.5: a DNS error on the PTR lookup makes the mechanism not match. */
	if (count_void(c, ans) < 0) {
		finish(c, SPF_PERMERROR, NULL);
		return;
	}
	/* 4.6.4: only the first 10 PTR names are checked; 5.5: only those
	 * within the target can matter, so only those are validated. */
	for (size_t i = 0; ans->status == DNS_OK && i < ans->nrr && i < SPF_MAX_NAMES; i++)
		if (name_within(ans->rrs[i].u.name, c->target))
			c->names[c->nnames++] = xstrdup(ans->rrs[i].u.name);
	c->name_i = 0;
	c->ptr_mech = 1;
	c->state = ST_NAMES;
	run(c);
}

static void on_name_addr(void *arg, const struct dns_answer *ans)
{
	struct spf_check *c = answered(arg, ans);
	const struct spf_mech *m = &spf_parsed_record(top(c)->parsed)->mechs[top(c)->next];

	/* 5.5: for ptr, a DNS error skips that name; 5.4: for mx it is a
	 * temperror like any other. */
	if (ans->status == DNS_TEMPFAIL && !c->ptr_mech) {
		set_problem(c, "DNS error for", ans->qname);
		finish(c, SPF_TEMPERROR, NULL);
		return;
	}
	unsigned cidr = c->ptr_mech ? (c->family == AF_INET6 ? 128 : 32)
	                            : (c->family == AF_INET6 ? m->cidr6 : m->cidr4);
	if (ans->status == DNS_OK && answer_matches(c, ans, cidr)) {
		free_names(c->names, &c->nnames);
		if (!mech_matched(c, m->qualifier))
			run(c);
		return;
	}
	c->name_i++;
	run(c);
}

/* Evaluates the names of an mx or ptr mechanism, one lookup at a time. */
static int step_names(struct spf_check *c)
{
	if (c->name_i < c->nnames) {
		lookup(c, c->names[c->name_i], addr_type(c), on_name_addr);
		return 1;
	}
	free_names(c->names, &c->nnames);
	mech_next(c);
	return 0;
}

/* ---- %{p} (7.3) ---- */

static void p_done(struct spf_check *c, const char *name)
{
	c->p_name = xstrdup(name);
	c->p_state = P_DONE;
	free_names(c->p_names, &c->p_n);
}

static void on_p_addr(void *arg, const struct dns_answer *ans)
{
	struct spf_check *c = answered(arg, ans);

	if (ans->status == DNS_OK && answer_matches(c, ans, c->family == AF_INET6 ? 128 : 32))
		p_done(c, c->p_names[c->p_i]);
	else
		c->p_i++;
	run(c);
}

static void on_p_ptr(void *arg, const struct dns_answer *ans)
{
	struct spf_check *c = answered(arg, ans);
	const char *domain = top(c)->domain;

	/* 7.3: "If a subdomain of the <domain> is present, it SHOULD be
	 * used": those names are validated first. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; ans->status == DNS_OK && i < ans->nrr && i < SPF_MAX_NAMES; i++)
			if (name_within(ans->rrs[i].u.name, domain) == (pass == 0))
				c->p_names[c->p_n++] = xstrdup(ans->rrs[i].u.name);
	c->p_i = 0;
	c->p_state = P_VALIDATE;
	run(c);
}

/* 1 when %{p} is known; else its resolution is under way and run()
 * resumes the current step once it is. */
static int ensure_p(struct spf_check *c)
{
	char rev[80];

	if (c->p_state == P_DONE)
		return 1;
	if (c->p_state == P_IDLE) {
		if (dns_reverse_name(c->ip_text, rev, sizeof(rev)) < 0) {
			p_done(c, "unknown");
			return 1;
		}
		c->p_state = P_WAIT;
		lookup(c, rev, DNS_T_PTR, on_p_ptr);
	}
	return 0;
}

/* P_VALIDATE: checks the PTR names in order until one has the address. */
static void step_p(struct spf_check *c)
{
	if (c->p_i < c->p_n)
		lookup(c, c->p_names[c->p_i], addr_type(c), on_p_addr);
	else
		p_done(c, "unknown");
}

/* ---- evaluation ---- */

/* Counts a term that queries DNS (4.6.4).  Returns -1 past the limit. */
static int count_lookup(struct spf_check *c)
{
	if (++c->lookups > SPF_MAX_DNS_MECHS) {
		set_problem(c, "more than 10 DNS lookups, at", top(c)->domain);
		return -1;
	}
	return 0;
}

/* Sets c->target for a mechanism: its expanded domain-spec or the current
 * domain.  Returns -1 (permerror) when the expansion fails. */
static int set_target(struct spf_check *c, const char *spec)
{
	free(c->target);
	c->target = spec != NULL ? expand_domain(c, spec) : xstrdup(top(c)->domain);
	if (c->target == NULL) {
		set_problem(c, "cannot expand", spec);
		return -1;
	}
	return 0;
}

/* 5.6: ip4 and ip6 compare without DNS; 5/9/2: IPv4-mapped clients were
 * made IPv4 at the start, so ip6 never matches them. */
static int network_matches(const struct spf_check *c, const struct spf_mech *m)
{
	if (m->type == SPF_MECH_IP4)
		return c->family == AF_INET && ipaddr_prefix_match(m->addr, c->ip, m->cidr4);
	return c->family == AF_INET6 && ipaddr_prefix_match(m->addr, c->ip, m->cidr6);
}

/* 6.1: after the last mechanism, redirect= or the default neutral (4.7). */
static int step_end(struct spf_check *c)
{
	const char *spec = spf_parsed_record(top(c)->parsed)->redirect;

	if (spec == NULL)
		return frame_result(c, SPF_NEUTRAL);
	if (uses_p(spec, 0) && !ensure_p(c))
		return 1;
	if (count_lookup(c) < 0 || set_target(c, spec) < 0) {
		finish(c, SPF_PERMERROR, NULL);
		return 1;
	}
	/* The frame is replaced: its exp= is dropped (6.2), and a redirect
	 * to a domain without a record is a permerror (6.1). */
	char *domain = c->target;
	c->target = NULL;
	enum frame_kind kind = top(c)->kind;
	start_frame(c, domain, kind, top(c)->include_qual);
	top(c)->redirected = 1;
	return 0;
}

/* Evaluates mechanisms of the top frame until one needs DNS. */
static int step_eval(struct spf_check *c)
{
	struct frame *f = top(c);

	while (f->next < spf_parsed_record(f->parsed)->nmechs) {
		const struct spf_mech *m = &spf_parsed_record(f->parsed)->mechs[f->next];
		if (m->type == SPF_MECH_ALL)
			return mech_matched(c, m->qualifier);
		if (m->type == SPF_MECH_IP4 || m->type == SPF_MECH_IP6) {
			if (network_matches(c, m))
				return mech_matched(c, m->qualifier);
			f->next++;
			continue;
		}
		if (m->domain_spec != NULL && uses_p(m->domain_spec, 0) && !ensure_p(c))
			return 1;
		if (count_lookup(c) < 0 || set_target(c, m->domain_spec) < 0) {
			finish(c, SPF_PERMERROR, NULL);
			return 1;
		}
		switch (m->type) {
		case SPF_MECH_INCLUDE:
			if (c->depth + 1 >= SPF_MAX_FRAMES) {
				finish(c, SPF_PERMERROR, "includes nested too deep");
				return 1;
			}
			c->depth++;
			start_frame(c, c->target, FRAME_INCLUDE, m->qualifier);
			c->target = NULL;
			return 0;
		case SPF_MECH_A:
			lookup(c, c->target, addr_type(c), on_addr_mech);
			return 1;
		case SPF_MECH_EXISTS:
			lookup(c, c->target, DNS_T_A, on_addr_mech); /* 5.7: always A */
			return 1;
		case SPF_MECH_MX:
			lookup(c, c->target, DNS_T_MX, on_mx);
			return 1;
		default: {
			char rev[80];
			if (dns_reverse_name(c->ip_text, rev, sizeof(rev)) < 0) {
				f->next++;
				continue;
			}
			lookup(c, rev, DNS_T_PTR, on_ptr_mech);
			return 1;
		}
		}
	}
	return step_end(c);
}

/* ---- explanation (6.2) ---- */

static void on_exp(void *arg, const struct dns_answer *ans)
{
	struct spf_check *c = answered(arg, ans);

	/* 6.2: exactly one TXT record, else the default explanation. */
	if (ans->status == DNS_OK && ans->nrr == 1)
		c->exp_text = xstrndup(ans->rrs[0].u.txt.data, ans->rrs[0].u.txt.len);
	c->state = ST_EXP_TEXT;
	run(c);
}

static int step_exp_fetch(struct spf_check *c)
{
	const char *spec = spf_parsed_record(top(c)->parsed)->exp;
	char *name;

	if (spec != NULL && uses_p(spec, 0) && !ensure_p(c))
		return 1;
	/* Not counted against the limits of 4.6.4 (test exp-void). */
	name = spec != NULL ? expand_domain(c, spec) : NULL;
	if (name == NULL) {
		c->state = ST_EXP_TEXT;
		return 0;
	}
	lookup(c, name, DNS_T_TXT, on_exp);
	free(name);
	return 1;
}

static char *expand_exp(struct spf_check *c, const char *text, size_t len)
{
	struct spf_macro_vars v;
	struct buf b;
	char *out = NULL;

	fill_vars(c, &v);
	buf_init(&b, SPF_EXPAND_MAX);
	if (spf_macro_expand(text, len, &v, SPF_MACRO_EXP, &b) == SPF_MACRO_OK)
		out = xstrdup(b.data != NULL ? b.data : "");
	buf_free(&b);
	return out;
}

static int step_exp_text(struct spf_check *c)
{
	const char *text = c->exp_text != NULL ? c->exp_text : c->default_exp;

	if (uses_p(text, SPF_MACRO_EXP) && !ensure_p(c))
		return 1;
	/* 6.2: a syntax error in the explanation string (including 8-bit
	 * text) falls back to the default. */
	c->explanation = expand_exp(c, text, strlen(text));
	if (c->explanation == NULL && c->exp_text != NULL) {
		free(c->exp_text);
		c->exp_text = NULL;
		return 0;
	}
	if (c->explanation == NULL)
		c->explanation = xstrdup(c->default_exp);
	finish(c, SPF_FAIL, NULL);
	return 1;
}

/* Advances until a lookup is pending or the check is over. */
static void run(struct spf_check *c)
{
	for (;;) {
		if (c->q != NULL)
			return;
		if (c->p_state == P_VALIDATE) {
			step_p(c);
			continue;
		}
		int stop;
		switch (c->state) {
		case ST_FETCH:
			lookup(c, top(c)->domain, DNS_T_TXT, on_record);
			stop = 1;
			break;
		case ST_EVAL:
			stop = step_eval(c);
			break;
		case ST_NAMES:
			stop = step_names(c);
			break;
		case ST_EXP_FETCH:
			stop = step_exp_fetch(c);
			break;
		default:
			stop = step_exp_text(c);
			break;
		}
		if (stop)
			return;
	}
}

static void on_start(evutil_socket_t fd, short what, void *arg)
{
	struct spf_check *c = arg;

	event_free(c->ev);
	c->ev = NULL;
	if (c->early) {
		finish(c, c->early_result, NULL);
		return;
	}
	run(c);
}

/* The client address; IPv4-mapped IPv6 is IPv4 (5/9/2). */
static int parse_client(struct spf_check *c, const char *ip)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (ip != NULL && inet_pton(AF_INET, ip, c->ip) == 1) {
		c->family = AF_INET;
	} else if (ip != NULL && inet_pton(AF_INET6, ip, c->ip) == 1) {
		c->family = AF_INET6;
		if (memcmp(c->ip, mapped, sizeof(mapped)) == 0) {
			memmove(c->ip, c->ip + 12, 4);
			c->family = AF_INET;
		}
	} else {
		return -1;
	}
	return inet_ntop(c->family, c->ip, c->ip_text, sizeof(c->ip_text)) != NULL ? 0 : -1;
}

/* 4.3: check_host() of a malformed domain ("label longer than 63
 * characters, zero-length label not at the end") or of a single label is
 * "none"; so is one that could not be a domain-spec (a literal). */
static int domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n > 0 && d[n - 1] == '.')
		n--;
	if (!dns_name_lengths_valid(d) || strchr(d, '%') != NULL ||
	    !spf_domain_spec_valid(d, strlen(d)))
		return 0;
	return strchr(d, '.') != NULL && strchr(d, '.') < d + n;
}

/* 2.4, 4.3: the identity, its local part (default "postmaster") and
 * domain; a null reverse-path checks postmaster@HELO. */
static void set_identity(struct spf_check *c, const struct spf_request *req)
{
	const char *helo = req->helo != NULL ? req->helo : "";
	const char *sender = req->sender != NULL ? req->sender : "";
	const char *at;

	if (sender[0] == '\0') {
		size_t n = strlen(helo) + sizeof("postmaster@");
		c->sender = xmalloc(n);
		snprintf(c->sender, n, "postmaster@%s", helo);
	} else {
		c->sender = xstrdup(sender);
	}
	at = strrchr(c->sender, '@');
	if (at == NULL || at == c->sender)
		c->local = xstrdup("postmaster");
	else
		c->local = xstrndup(c->sender, (size_t)(at - c->sender));
	c->sender_domain = xstrdup(at != NULL ? at + 1 : c->sender);
	if (at == c->sender) {
		/* 4.3: "@example.net" is postmaster@example.net for %{s} too. */
		size_t n = strlen(c->sender) + sizeof("postmaster");
		char *s = xmalloc(n);
		snprintf(s, n, "postmaster%s", c->sender);
		free(c->sender);
		c->sender = s;
	}
}

struct spf_check *spf_check_start(struct event_base *base, struct dns_resolver *r,
                                  const struct spf_request *req,
                                  void (*done)(void *arg, const struct spf_outcome *out), void *arg)
{
	struct spf_check *c = xcalloc(1, sizeof(*c));
	const char *domain;

	c->r = r;
	c->done = done;
	c->arg = arg;
	buf_init(&c->trace, SPF_TRACE_MAX);
	c->want_trace = req->want_trace;
	set_identity(c, req);
	c->helo = xstrdup(req->helo != NULL && req->helo[0] != '\0' ? req->helo : "unknown");
	c->receiver = xstrdup(req->receiver != NULL ? req->receiver : "unknown");
	c->default_exp = xstrdup(req->default_explanation != NULL ? req->default_explanation
	                                                          : SPF_DEFAULT_EXPLANATION);
	c->now = req->now != 0 ? req->now : time(NULL);
	domain = req->domain != NULL ? req->domain : c->sender_domain;
	c->frames[0].domain = xstrdup(domain);
	c->state = ST_FETCH;
	if (parse_client(c, req->ip) < 0) {
		set_problem(c, "bad client address", req->ip != NULL ? req->ip : "(none)");
		c->early = 1;
		c->early_result = SPF_PERMERROR;
	} else if (!domain_ok(domain)) {
		set_problem(c, "not a valid domain:", domain);
		c->early = 1;
		c->early_result = SPF_NONE;
	}
	c->ev = event_new(base, -1, 0, on_start, c);
	if (c->ev == NULL)
		fatal("spf: event_new failed");
	/* The outcome always comes from the event loop, like a DNS answer. */
	event_active(c->ev, 0, 0);
	return c;
}

void spf_check_cancel(struct spf_check *c)
{
	check_free(c);
}
