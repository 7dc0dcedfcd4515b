/* Runs the sender checks of one client and keeps their results. */
#include "policy/sender.h"

#include "core/ipaddr.h"
#include "core/log.h"
#include "core/lookups.h"
#include "core/netlist.h"
#include "core/xmalloc.h"
#include "dns/dns.h"
#include "policy/authres.h"
#include "policy/csa.h"
#include "policy/dnsbl.h"
#include "policy/helo.h"
#include "policy/iprev.h"
#include "policy/policy_config.h"
#include "policy/rdns.h"
#include "policy/spf.h"
#include "policy/suffix.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sender_conf {
	struct policy_objects objects; /* rDNS patterns, DNSBL lists */
	const char **local_domains;    /* NULL-terminated */
	const char **our_addrs;
};

struct sender_check {
	struct sender_env env;
	char ip[64];
	struct lookup_set session_lookups; /* connect and HELO */
	struct lookup_set txn_lookups;     /* MAIL */
	void (*waiter)(void *arg);
	void *waiter_arg;
	/* sender_check_run's caller, told once everything is in. */
	void (*run_done)(void *arg, struct sender_check *c);
	void *run_arg;
	struct event *later;

	struct verdict session_v; /* connect and HELO results: the whole session */
	struct verdict txn_v;     /* session_v plus this transaction's results */
	int in_txn;
	int helo_started;

	char helo[SENDER_HELO_MAX + 1];
	char iprev_res[16], iprev_name[256], rdns[24], helo_class[40], helo_dns_res[24];
	char csa_res[16], spf_helo_res[16], spf_mail_res[16], spf_rdns_res[16];
	char dnsbl_res[256]; /* listing zones of the session's subjects */
	/* Each domain is asked of the domain blocklists once: the rDNS
	 * name's registrable domain, the HELO name, the sender domain. */
	char rdns_domain[256];
	int iprev_running;                        /* the rDNS domain is not known yet */
	int mail_rhs_waiting;                     /* the sender domain waits for it */
	char helo_rhs[256];                       /* the HELO name, when it was asked */
	int dnsbl_temperror, dnsbl_txn_temperror; /* a list did not answer */
	char dnsbl_shown[512];                    /* what sender_check_results gave */
	char dnsbl_txn_res[256];                  /* of the sender domain */
	char mailfrom[SENDER_ADDR_MAX + 1];
};

/* snprintf(dst, size, "%s", src) without the formatting machinery: src
 * cut to size - 1 bytes. */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct sender_conf *sender_conf_new(const struct config *cfg, char *err, size_t errsize)
{
	struct sender_conf *sc = xcalloc(1, sizeof(*sc));

	struct buf errors;
	buf_init(&errors, 4096);
	if (policy_objects_build(cfg, &sc->objects, &errors) < 0) {
		snprintf(err, errsize, "%s", errors.data);
		buf_free(&errors);
		free(sc);
		return NULL;
	}
	buf_free(&errors);
	sc->local_domains = xcalloc(cfg->ndomains + 1, sizeof(char *));
	for (size_t i = 0; i < cfg->ndomains; i++)
		sc->local_domains[i] = cfg->domains[i].name;
	sc->our_addrs = xcalloc(cfg->nlisteners + 1, sizeof(char *));
	for (size_t i = 0; i < cfg->nlisteners; i++)
		sc->our_addrs[i] = cfg->listeners[i].host;
	return sc;
}

void sender_conf_free(struct sender_conf *sc)
{
	if (sc == NULL)
		return;
	policy_objects_free(&sc->objects);
	free(sc->local_domains);
	free(sc->our_addrs);
	free(sc);
}

enum sender_exemption sender_exempt(const struct sender_env *env, const char *ip, int authenticated)
{
	struct ipaddr a;

	if (ipaddr_parse(ip, &a) == 0 && netlist_contains(&env->cfg->policy.trusted, &a))
		return SENDER_TRUSTED;
	if (authenticated && !env->cfg->policy.check_submission)
		return SENDER_AUTHENTICATED;
	return SENDER_CHECKED;
}

const char *sender_exemption_name(enum sender_exemption e)
{
	switch (e) {
	case SENDER_TRUSTED:
		return "trusted";
	case SENDER_AUTHENTICATED:
		return "authenticated";
	case SENDER_CHECKED:
		break;
	}
	return "checked";
}

static void apply(struct sender_check *c, enum policy_result r, long extra, const char *detail,
                  int whole_session)
{
	const struct policy_conf *pc = &c->env.cfg->policy;
	if (whole_session)
		verdict_apply(&c->session_v, pc, r, extra, detail);
	if (c->in_txn || !whole_session)
		verdict_apply(&c->txn_v, pc, r, extra, detail);
}

size_t sender_check_pending(const struct sender_check *c)
{
	return c->session_lookups.n + c->txn_lookups.n;
}

/* A lookup has finished and its result is applied: whoever waits for the
 * last one goes on.  The waiter may free c. */
static void finished(struct sender_check *c)
{
	if (sender_check_pending(c) > 0 || c->waiter == NULL)
		return;
	void (*waiter)(void *) = c->waiter;
	c->waiter = NULL;
	waiter(c->waiter_arg);
}

int sender_check_wait(struct sender_check *c, void (*done)(void *arg), void *arg)
{
	if (sender_check_pending(c) == 0) {
		c->waiter = NULL;
		return 0;
	}
	c->waiter = done;
	c->waiter_arg = arg;
	return 1;
}

/* Typed cancels behind the lookup registry's one signature. */
static void cancel_iprev(void *h)
{
	iprev_cancel(h);
}

static void cancel_dnsbl(void *h)
{
	dnsbl_cancel(h);
}

static void cancel_helo_dns(void *h)
{
	helo_dns_cancel(h);
}

static void cancel_csa(void *h)
{
	csa_cancel(h);
}

static void cancel_spf(void *h)
{
	spf_check_cancel(h);
}

/* Appends zone to the comma-separated list in dst, whole or not at all. */
static void list_append(char *dst, size_t size, const char *zone)
{
	size_t len = strlen(dst);
	int w = snprintf(dst + len, size - len, "%s%s", len ? "," : "", zone);
	if (w < 0 || (size_t)w >= size - len)
		dst[len] = '\0';
}

static void spf_apply(struct sender_check *c, enum spf_result res, enum policy_result fail,
                      enum policy_result softfail, enum policy_result temperror,
                      enum policy_result permerror, const char *detail, int whole_session)
{
	switch (res) {
	case SPF_FAIL:
		apply(c, fail, 0, detail, whole_session);
		break;
	case SPF_SOFTFAIL:
		apply(c, softfail, 0, detail, whole_session);
		break;
	case SPF_TEMPERROR:
		apply(c, temperror, 0, detail, whole_session);
		break;
	case SPF_PERMERROR:
		if (permerror != PR_COUNT)
			apply(c, permerror, 0, detail, whole_session);
		break;
	case SPF_NEUTRAL:
		if (!whole_session)
			apply(c, PR_SPF_NEUTRAL, 0, detail, whole_session);
		break;
	case SPF_NONE:
		if (!whole_session)
			apply(c, PR_SPF_NONE, 0, detail, whole_session);
		break;
	case SPF_PASS:
		break;
	}
}

static void spf_start(struct sender_check *c, struct lookup_set *set, const char *sender,
                      const char *domain, void (*done)(void *, const struct spf_outcome *))
{
	struct spf_request req = {.ip = c->ip,
	                          .sender = sender,
	                          .helo = c->helo[0] ? c->helo : "unknown",
	                          .domain = domain,
	                          .receiver = c->env.cfg->hostname};
	struct lookup *l = lookup_new(set);
	lookup_started(l, spf_check_start(c->env.base, c->env.dns, &req, done, l), cancel_spf);
}

static void dnsbl_start_rhs(struct sender_check *c, struct lookup_set *set, const char *subject,
                            dnsbl_fn done)
{
	const struct sender_conf *sc = c->env.conf;
	struct lookup *l = lookup_new(set);
	lookup_started(l,
	               dnsbl_start(c->env.dns, c->env.base, sc->objects.rhs_lists, sc->objects.nrhs,
	                           subject, DNSBL_RHS, (int)c->env.cfg->policy.dnsbl_budget_ms,
	                           done, l),
	               cancel_dnsbl);
}

static void spf_rdns_done(void *arg, const struct spf_outcome *out)
{
	struct sender_check *c = lookup_finish(arg);
	copy_str(c->spf_rdns_res, sizeof(c->spf_rdns_res), spf_result_name(out->result));
	if (out->result == SPF_FAIL)
		apply(c, PR_SPF_RDNS_FAIL, 0, c->iprev_name, 1);
	finished(c);
}

static void dnsbl_session_done(void *arg, const struct dnsbl_result *res)
{
	struct sender_check *c = lookup_finish(arg);
	for (size_t i = 0; i < res->n; i++)
		if (res->hits[i].status == DNSBL_LISTED)
			list_append(c->dnsbl_res, sizeof(c->dnsbl_res), res->hits[i].list->zone);
	if (res->listed)
		apply(c, PR_DNSBL_LISTED, res->score, res->subject, 1);
	if (res->tempfail) {
		c->dnsbl_temperror = 1;
		apply(c, PR_DNSBL_TEMPERROR, 0, res->subject, 1);
	}
	finished(c);
}

static void iprev_note(struct sender_check *c, enum iprev_code code, const char *confirmed,
                       const char *claimed)
{
	char reason[128];

	copy_str(c->iprev_res, sizeof(c->iprev_res), iprev_code_name(code));
	if (code == IPREV_PASS)
		copy_str(c->iprev_name, sizeof(c->iprev_name), confirmed);
	if (code == IPREV_FAIL || code == IPREV_PERMERROR)
		apply(c, PR_IPREV_FAIL, 0, c->ip, 1);
	else if (code == IPREV_TEMPERROR)
		apply(c, PR_IPREV_TEMPERROR, 0, c->ip, 1);
	/* The class is judged on the name the address claims, confirmed or not. */
	enum rdns_class rc =
	    rdns_classify(claimed, c->ip, c->env.conf->objects.rdns, reason, sizeof(reason));
	copy_str(c->rdns, sizeof(c->rdns), rdns_class_name(rc));
	if (rc == RDNS_GENERIC || rc == RDNS_STATIC_GENERIC)
		apply(c, PR_RDNS_GENERIC, 0, claimed, 1);
}

static void mail_rhs_start(struct sender_check *c);

static void iprev_done(void *arg, const struct iprev_result *res)
{
	struct sender_check *c = lookup_finish(arg);
	const struct sender_conf *sc = c->env.conf;

	iprev_note(c, res->code, res->name, res->name ? res->name : (res->nptr ? res->ptr[0] : ""));
	/* RHSBL for the domain the confirmed name belongs to. */
	const char *rdns_domain = res->code == IPREV_PASS ? suffix_registrable(res->name) : NULL;
	c->iprev_running = 0;
	if (rdns_domain && sc->objects.nrhs) {
		copy_str(c->rdns_domain, sizeof(c->rdns_domain), rdns_domain);
		if (strcasecmp(rdns_domain, c->helo_rhs) != 0)
			dnsbl_start_rhs(c, &c->session_lookups, rdns_domain, dnsbl_session_done);
	}
	if (c->mail_rhs_waiting)
		mail_rhs_start(c);
	/* Unified SPF: may this address send as the name it claims? */
	if (res->code == IPREV_PASS) {
		char sender[300];
		snprintf(sender, sizeof(sender), "postmaster@%s", res->name);
		spf_start(c, &c->session_lookups, sender, res->name, spf_rdns_done);
	}
	finished(c);
}

struct sender_check *sender_check_new(const struct sender_env *env, const char *ip)
{
	struct sender_check *c = xcalloc(1, sizeof(*c));
	const struct sender_conf *sc = env->conf;

	c->env = *env;
	c->session_lookups.owner = c;
	c->txn_lookups.owner = c;
	copy_str(c->ip, sizeof(c->ip), ip);
	verdict_init(&c->session_v);
	verdict_init(&c->txn_v);
	struct lookup *l = lookup_new(&c->session_lookups);
	c->iprev_running = 1;
	if (lookup_started(l, iprev_start(env->dns, ip, iprev_done, l), cancel_iprev) < 0) {
		c->iprev_running = 0;
		/* Not an address the DNS can be asked about (a scoped IPv6
		 * address): RFC 8601 3 calls that a permanent error. */
		iprev_note(c, IPREV_PERMERROR, NULL, "");
		return c;
	}
	if (sc->objects.nip) {
		l = lookup_new(&c->session_lookups);
		lookup_started(l,
		               dnsbl_start(env->dns, env->base, sc->objects.ip_lists,
		                           sc->objects.nip, ip, DNSBL_IP,
		                           (int)env->cfg->policy.dnsbl_budget_ms,
		                           dnsbl_session_done, l),
		               cancel_dnsbl);
	}
	return c;
}

static void helo_dns_done(void *arg, enum helo_dns_result res)
{
	struct sender_check *c = lookup_finish(arg);
	copy_str(c->helo_dns_res, sizeof(c->helo_dns_res), helo_dns_result_name(res));
	if (res == HELO_DNS_NXDOMAIN || res == HELO_DNS_NO_ADDRESS)
		apply(c, PR_HELO_NXDOMAIN, 0, c->helo, 1);
	else if (res == HELO_DNS_NO_MATCH)
		apply(c, PR_HELO_NO_MATCH, 0, c->helo, 1);
	else if (res == HELO_DNS_TEMPERROR)
		apply(c, PR_HELO_TEMPERROR, 0, c->helo, 1);
	finished(c);
}

static void csa_done(void *arg, enum csa_result res, enum csa_reason why)
{
	struct sender_check *c = lookup_finish(arg);
	copy_str(c->csa_res, sizeof(c->csa_res), csa_result_name(res));
	if (res == CSA_UNAUTHORIZED)
		apply(c, PR_CSA_UNAUTHORIZED, 0, c->helo, 1);
	else if (res == CSA_TEMPERROR)
		apply(c, PR_CSA_TEMPERROR, 0, c->helo, 1);
	finished(c);
}

static void spf_helo_done(void *arg, const struct spf_outcome *out)
{
	struct sender_check *c = lookup_finish(arg);
	copy_str(c->spf_helo_res, sizeof(c->spf_helo_res), spf_result_name(out->result));
	/* RFC 7208 2.4: for the null sender the HELO result is the one that
	 * counts for MAIL FROM too. */
	if (c->in_txn && c->mailfrom[0] == '\0')
		copy_str(c->spf_mail_res, sizeof(c->spf_mail_res), c->spf_helo_res);
	spf_apply(c, out->result, PR_SPF_HELO_FAIL, PR_SPF_HELO_SOFTFAIL, PR_SPF_HELO_TEMPERROR,
	          PR_COUNT, c->helo, 1);
	finished(c);
}

void sender_check_helo(struct sender_check *c, const char *helo)
{
	const struct sender_conf *sc = c->env.conf;

	if (c->helo_started || helo == NULL || helo[0] == '\0')
		return;
	c->helo_started = 1;
	copy_str(c->helo, sizeof(c->helo), helo);
	struct helo_context ctx = {.client_ip = c->ip,
	                           .hostname = c->env.cfg->hostname,
	                           .local_domains = sc->local_domains,
	                           .our_addrs = sc->our_addrs};
	enum helo_class hc = helo_classify(c->helo, &ctx);
	copy_str(c->helo_class, sizeof(c->helo_class), helo_class_name(hc));
	switch (hc) {
	case HELO_SYNTAX:
	case HELO_BARE_WORD:
	case HELO_LOCALHOST:
	case HELO_LOCAL_TLD:
	case HELO_NOT_UNDER_PUBLIC_SUFFIX:
		apply(c, PR_HELO_INVALID, 0, c->helo, 1);
		return;
	case HELO_OUR_NAME:
	case HELO_OUR_ADDRESS:
		apply(c, PR_HELO_OURS, 0, c->helo, 1);
		return;
	case HELO_ADDRESS_LITERAL_MISMATCH:
		apply(c, PR_HELO_LITERAL_MISMATCH, 0, c->helo, 1);
		return;
	case HELO_ADDRESS_LITERAL_MATCH:
		return;
	case HELO_VALID_FQDN:
		break;
	}
	struct lookup *l = lookup_new(&c->session_lookups);
	lookup_started(l, helo_dns_start(c->env.dns, c->helo, c->ip, helo_dns_done, l),
	               cancel_helo_dns);
	l = lookup_new(&c->session_lookups);
	lookup_started(l, csa_start(c->env.dns, c->helo, c->ip, csa_done, l), cancel_csa);
	spf_start(c, &c->session_lookups, "", c->helo, spf_helo_done);
	if (sc->objects.nrhs)
		if (strcasecmp(c->helo, c->rdns_domain) != 0) {
			copy_str(c->helo_rhs, sizeof(c->helo_rhs), c->helo);
			dnsbl_start_rhs(c, &c->session_lookups, c->helo, dnsbl_session_done);
		}
}

static void spf_mail_done(void *arg, const struct spf_outcome *out)
{
	struct sender_check *c = lookup_finish(arg);
	copy_str(c->spf_mail_res, sizeof(c->spf_mail_res), spf_result_name(out->result));
	spf_apply(c, out->result, PR_SPF_FAIL, PR_SPF_SOFTFAIL, PR_SPF_TEMPERROR, PR_SPF_PERMERROR,
	          out->result == SPF_FAIL && out->explanation ? out->explanation : c->mailfrom, 0);
	finished(c);
}

static void dnsbl_mail_done(void *arg, const struct dnsbl_result *res)
{
	struct sender_check *c = lookup_finish(arg);
	for (size_t i = 0; i < res->n; i++)
		if (res->hits[i].status == DNSBL_LISTED)
			list_append(c->dnsbl_txn_res, sizeof(c->dnsbl_txn_res),
			            res->hits[i].list->zone);
	if (res->listed)
		apply(c, PR_DNSBL_LISTED, res->score, res->subject, 0);
	if (res->tempfail) {
		c->dnsbl_txn_temperror = 1;
		apply(c, PR_DNSBL_TEMPERROR, 0, res->subject, 0);
	}
	finished(c);
}

/* The sender domain, unless the session's lookups asked about it. */
static void mail_rhs_start(struct sender_check *c)
{
	const char *domain = strrchr(c->mailfrom, '@') + 1;

	c->mail_rhs_waiting = 0;
	if (strcasecmp(domain, c->rdns_domain) != 0 && strcasecmp(domain, c->helo_rhs) != 0)
		dnsbl_start_rhs(c, &c->txn_lookups, domain, dnsbl_mail_done);
}

void sender_check_mail(struct sender_check *c, const char *mail_from)
{
	const struct sender_conf *sc = c->env.conf;

	sender_check_reset(c);
	c->in_txn = 1;
	c->txn_v = c->session_v;
	copy_str(c->mailfrom, sizeof(c->mailfrom), mail_from);
	/* RFC 7208 2.4: with a null reverse-path the HELO identity is checked. */
	if (c->mailfrom[0])
		spf_start(c, &c->txn_lookups, c->mailfrom, NULL, spf_mail_done);
	else
		copy_str(c->spf_mail_res, sizeof(c->spf_mail_res), c->spf_helo_res);
	if (sc->objects.nrhs && strrchr(c->mailfrom, '@')) {
		/* Which domains the session asks is known once the rDNS
		 * name is. */
		if (c->iprev_running)
			c->mail_rhs_waiting = 1;
		else
			mail_rhs_start(c);
	}
}

void sender_check_reset(struct sender_check *c)
{
	lookup_set_cancel(&c->txn_lookups);
	c->waiter = NULL;
	c->mail_rhs_waiting = 0;
	c->in_txn = 0;
	c->spf_mail_res[0] = '\0';
	c->dnsbl_txn_res[0] = '\0';
	c->dnsbl_txn_temperror = 0;
	c->mailfrom[0] = '\0';
	verdict_init(&c->txn_v);
}

const struct verdict *sender_check_verdict(const struct sender_check *c)
{
	return c->in_txn ? &c->txn_v : &c->session_v;
}

enum policy_action sender_check_decide(const struct sender_check *c, struct verdict_reply *reply)
{
	return verdict_decide(sender_check_verdict(c), &c->env.cfg->policy, reply);
}

int sender_check_temporary(const struct sender_check *c)
{
	const char *const results[] = {c->iprev_res,    c->helo_dns_res,
	                               c->csa_res,      c->spf_helo_res,
	                               c->spf_rdns_res, c->in_txn ? c->spf_mail_res : ""};

	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++)
		if (strcmp(results[i], "temperror") == 0)
			return 1;
	return c->dnsbl_temperror || (c->in_txn && c->dnsbl_txn_temperror);
}

int sender_recipient_exempt(const struct config *cfg, const char *recipient, int any_domain)
{
	const char *at = strrchr(recipient, '@');
	size_t local = at ? (size_t)(at - recipient) : strlen(recipient);

	/* RFC 5321 4.1.1.3: <Postmaster> without a domain. */
	if (at == NULL)
		return strcasecmp(recipient, "postmaster") == 0;
	if (!(local == 10 && strncasecmp(recipient, "postmaster", 10) == 0) &&
	    !(local == 5 && strncasecmp(recipient, "abuse", 5) == 0))
		return 0;
	return any_domain || config_domain(cfg, at + 1) != NULL;
}

/* The listing zones of every subject, for the report and the log;
 * "temperror" when nothing is listed but a list did not answer. */
static void dnsbl_zones(const struct sender_check *c, char *out, size_t size)
{
	copy_str(out, size, c->dnsbl_res);
	if (c->dnsbl_txn_res[0])
		list_append(out, size, c->dnsbl_txn_res);
	if (!out[0] && (c->dnsbl_temperror || c->dnsbl_txn_temperror))
		copy_str(out, size, "temperror");
}

void sender_check_results(struct sender_check *c, struct sender_results *out)
{
	dnsbl_zones(c, c->dnsbl_shown, sizeof(c->dnsbl_shown));
	*out = (struct sender_results){
	    .iprev = c->iprev_res,
	    .iprev_name = c->iprev_name,
	    .rdns = c->rdns,
	    .helo_class = c->helo_class,
	    .helo_dns = c->helo_dns_res,
	    .csa = c->csa_res,
	    .spf_helo = c->spf_helo_res,
	    .spf_mail = c->spf_mail_res,
	    .spf_rdns = c->spf_rdns_res,
	    .dnsbl = c->dnsbl_shown,
	    .helo = c->helo,
	    .mail_from = c->mailfrom,
	};
}

void sender_check_spf(const struct sender_check *c, struct sender_spf *out)
{
	const char *at = strrchr(c->mailfrom, '@');

	out->domain = at ? at + 1 : c->helo;
	out->scope = at ? "mfrom" : "helo";
	out->result = c->spf_mail_res;
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

/* The sender checks' part of Authentication-Results; zones holds the
 * DNSBL listing for as long as a is used. */
static void authres_of(const struct sender_check *c, char *zones, size_t zsize, struct authres *a)
{
	dnsbl_zones(c, zones, zsize);
	*a = (struct authres){.authserv_id = c->env.cfg->hostname,
	                      .client_ip = c->ip,
	                      .iprev = or_null(c->iprev_res),
	                      .iprev_name = or_null(c->iprev_name),
	                      .spf_mailfrom = or_null(c->spf_mail_res),
	                      .mailfrom = c->mailfrom,
	                      .spf_helo = or_null(c->spf_helo_res),
	                      .helo = c->helo,
	                      .rdns = or_null(c->rdns),
	                      .helo_check = or_null(c->helo_class),
	                      .csa = or_null(c->csa_res),
	                      .dnsbl = zones[0] ? zones : "none"};
}

int sender_check_authres(const struct sender_check *c, struct buf *out)
{
	const struct verdict *v = sender_check_verdict(c);
	struct verdict_reply rep;
	struct authres a;
	char zones[512];

	authres_of(c, zones, sizeof(zones), &a);
	enum policy_action act = verdict_decide(v, &c->env.cfg->policy, &rep);
	a.verdict = act == PA_ACCEPT && v->tags[0] ? "tag" : policy_action_name(act);
	a.score = v->score;
	return authres_format(&a, out);
}

int sender_check_authres_parts(const struct sender_check *c, struct buf *entries, struct buf *props)
{
	struct authres a;
	char zones[512];

	authres_of(c, zones, sizeof(zones), &a);
	return authres_sender(&a, entries, props);
}

static const char *or_dash(const char *s)
{
	return s[0] ? s : "-";
}

int sender_check_log(const struct sender_check *c, struct buf *out)
{
	const struct verdict *v = sender_check_verdict(c);
	char zones[512];

	dnsbl_zones(c, zones, sizeof(zones));
	return buf_printf(out,
	                  "iprev=%s rdns=%s helo=%s helo_dns=%s csa=%s spf_helo=%s "
	                  "spf_mailfrom=%s spf_rdns=%s dnsbl=%s score=%ld tags=%s",
	                  or_dash(c->iprev_res), or_dash(c->rdns), or_dash(c->helo_class),
	                  or_dash(c->helo_dns_res), or_dash(c->csa_res), or_dash(c->spf_helo_res),
	                  or_dash(c->spf_mail_res), or_dash(c->spf_rdns_res),
	                  zones[0] ? zones : "none", v->score, or_dash(v->tags));
}

void sender_check_free(struct sender_check *c)
{
	if (c == NULL)
		return;
	lookup_set_cancel(&c->session_lookups);
	lookup_set_cancel(&c->txn_lookups);
	if (c->later)
		event_free(c->later);
	free(c);
}

static void run_done(void *arg)
{
	struct sender_check *c = arg;
	c->run_done(c->run_arg, c);
}

/* Nothing had to be looked up: the answer still comes from the loop. */
static void run_later(evutil_socket_t fd, short what, void *arg)
{
	run_done(arg);
}

struct sender_check *sender_check_run(const struct sender_env *env, const struct sender_input *in,
                                      void (*done)(void *arg, struct sender_check *c), void *arg)
{
	struct sender_check *c = sender_check_new(env, in->ip);

	c->run_done = done;
	c->run_arg = arg;
	sender_check_helo(c, in->helo);
	if (in->mail_from)
		sender_check_mail(c, in->mail_from);
	if (!sender_check_wait(c, run_done, c)) {
		c->later = evtimer_new(env->base, run_later, c);
		struct timeval now = {0, 0};
		evtimer_add(c->later, &now);
	}
	return c;
}
