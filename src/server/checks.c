/* Runs the sender checks of a session and keeps their results. */
#include "server/checks.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "dns/dns.h"
#include "policy/authres.h"
#include "policy/csa.h"
#include "policy/dnsbl.h"
#include "policy/helo.h"
#include "policy/ipaddr.h"
#include "policy/iprev.h"
#include "policy/policy_config.h"
#include "policy/rdns.h"
#include "policy/spf.h"
#include "policy/suffix.h"
#include "server/listener.h"
#include "server/session.h"
#include "server/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct trusted_net {
	struct ipaddr net;
	int prefix;
};

struct checks_conf {
	const struct config *cfg;
	struct trusted_net *trusted;
	size_t ntrusted;
	struct policy_objects objects; /* rDNS patterns, DNSBL lists */
	const char **local_domains;    /* NULL-terminated */
	const char **our_addrs;
};

struct checks {
	struct session *s;
	int pending;
	struct verdict session_v; /* connect and HELO results: the whole session */
	struct verdict txn_v;     /* session_v plus this transaction's results */
	int in_txn;
	int helo_started;
	char *deferred;
	size_t deferred_len;

	struct iprev_check *iprev;
	struct dnsbl_check *dnsbl_ip, *dnsbl_helo, *dnsbl_mail, *dnsbl_rdns;
	struct helo_lookup *helo_dns;
	struct csa_check *csa;
	struct spf_check *spf_helo, *spf_mail, *spf_rdns;

	char iprev_res[16], iprev_name[256], rdns[24], helo_class[40], helo_dns_res[24];
	char csa_res[16], dnsbl_res[256], spf_helo_res[16], spf_mail_res[16], spf_rdns_res[16];
	char mailfrom[ADDR_PATH_MAX + 1];
};

static int net_parse(const char *text, size_t len, struct trusted_net *out)
{
	char buf[80];
	const char *slash;
	int max;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		buf[slash - buf] = '\0';
	if (ipaddr_parse(buf, &out->net) < 0)
		return -1;
	max = out->net.family == AF_INET ? 32 : 128;
	out->prefix = max;
	if (slash) {
		char *end;
		long p = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || p < 0 || p > max)
			return -1;
		out->prefix = (int)p;
	}
	return 0;
}

static int net_contains(const struct trusted_net *n, const struct ipaddr *a)
{
	if (n->net.family != a->family)
		return 0;
	int full = n->prefix / 8, rest = n->prefix % 8;
	if (memcmp(n->net.b, a->b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xFF << (8 - rest));
	return (n->net.b[full] & mask) == (a->b[full] & mask);
}

struct checks_conf *checks_conf_new(const struct config *cfg, char *err, size_t errsize)
{
	struct checks_conf *cc = xcalloc(1, sizeof(*cc));
	const char *p = cfg->policy.trusted_networks;

	cc->cfg = cfg;
	while (*p) {
		size_t len = strcspn(p, ", ");
		if (len > 0) {
			cc->trusted =
			    xrealloc(cc->trusted, (cc->ntrusted + 1) * sizeof(*cc->trusted));
			if (net_parse(p, len, &cc->trusted[cc->ntrusted]) < 0) {
				snprintf(err, errsize,
				         "policy.trusted_networks: '%.*s' is not an "
				         "address or address/prefix",
				         (int)len, p);
				checks_conf_free(cc);
				return NULL;
			}
			cc->ntrusted++;
		}
		p += len;
		p += strspn(p, ", ");
	}
	struct buf errors;
	buf_init(&errors, 4096);
	if (policy_objects_build(cfg, &cc->objects, &errors) < 0) {
		snprintf(err, errsize, "%s", errors.data);
		buf_free(&errors);
		checks_conf_free(cc);
		return NULL;
	}
	buf_free(&errors);
	cc->local_domains = xcalloc(cfg->ndomains + 1, sizeof(char *));
	for (size_t i = 0; i < cfg->ndomains; i++)
		cc->local_domains[i] = cfg->domains[i].name;
	cc->our_addrs = xcalloc(cfg->nlisteners + 1, sizeof(char *));
	for (size_t i = 0; i < cfg->nlisteners; i++)
		cc->our_addrs[i] = cfg->listeners[i].host;
	return cc;
}

void checks_conf_free(struct checks_conf *cc)
{
	if (cc == NULL)
		return;
	free(cc->trusted);
	policy_objects_free(&cc->objects);
	free(cc->local_domains);
	free(cc->our_addrs);
	free(cc);
}

static void apply(struct checks *c, enum policy_result r, long extra, const char *detail,
                  int whole_session)
{
	const struct policy_conf *pc = &c->s->worker->cfg->policy;
	if (whole_session)
		verdict_apply(&c->session_v, pc, r, extra, detail);
	if (c->in_txn || !whole_session)
		verdict_apply(&c->txn_v, pc, r, extra, detail);
}

/* One running lookup finished; a command waiting for all of them runs. */
static void finished(struct checks *c)
{
	struct session *s = c->s;

	if (--c->pending > 0 || c->deferred == NULL || s->dead)
		return;
	char *line = c->deferred;
	size_t len = c->deferred_len;
	c->deferred = NULL;
	s->waiting = 0;
	commands_dispatch(s, line, len);
	free(line);
	if (!s->waiting && !s->dead)
		session_resume(s);
}

static void spf_apply(struct checks *c, enum spf_result res, enum policy_result fail,
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

static void spf_rdns_done(void *arg, const struct spf_outcome *out)
{
	struct checks *c = arg;
	c->spf_rdns = NULL;
	snprintf(c->spf_rdns_res, sizeof(c->spf_rdns_res), "%s", spf_result_name(out->result));
	if (out->result == SPF_FAIL)
		apply(c, PR_SPF_RDNS_FAIL, 0, c->iprev_name, 1);
	finished(c);
}

static struct spf_check *spf_start(struct checks *c, const char *sender, const char *domain,
                                   void (*done)(void *, const struct spf_outcome *))
{
	struct session *s = c->s;
	struct spf_request req = {.ip = s->ip,
	                          .sender = sender,
	                          .helo = s->helo[0] ? s->helo : "unknown",
	                          .domain = domain,
	                          .receiver = s->worker->cfg->hostname};
	c->pending++;
	return spf_check_start(s->worker->base, s->worker->dns, &req, done, c);
}

static void dnsbl_rdns_done(void *arg, const struct dnsbl_result *res);

static void iprev_done(void *arg, const struct iprev_result *res)
{
	struct checks *c = arg;
	struct session *s = c->s;
	char reason[128];

	c->iprev = NULL;
	snprintf(c->iprev_res, sizeof(c->iprev_res), "%s", iprev_code_name(res->code));
	if (res->code == IPREV_PASS) {
		snprintf(c->iprev_name, sizeof(c->iprev_name), "%s", res->name);
		snprintf(s->rdns, sizeof(s->rdns), "%s", res->name);
	}
	if (res->code == IPREV_FAIL || res->code == IPREV_PERMERROR)
		apply(c, PR_IPREV_FAIL, 0, s->ip, 1);
	else if (res->code == IPREV_TEMPERROR)
		apply(c, PR_IPREV_TEMPERROR, 0, s->ip, 1);
	/* The class is judged on the name the address claims, confirmed or not. */
	const char *name = res->name ? res->name : (res->nptr ? res->ptr[0] : "");
	enum rdns_class rc = rdns_classify(name, s->ip, s->worker->checks_conf->objects.rdns,
	                                   reason, sizeof(reason));
	snprintf(c->rdns, sizeof(c->rdns), "%s", rdns_class_name(rc));
	if (rc == RDNS_GENERIC || rc == RDNS_STATIC_GENERIC)
		apply(c, PR_RDNS_GENERIC, 0, name, 1);
	/* RHSBL for the domain the confirmed name belongs to. */
	const char *rdns_domain = res->code == IPREV_PASS ? suffix_registrable(res->name) : NULL;
	struct checks_conf *cc = s->worker->checks_conf;
	if (rdns_domain && cc->objects.nrhs) {
		c->pending++;
		c->dnsbl_rdns =
		    dnsbl_start(s->worker->dns, s->worker->base, cc->objects.rhs_lists,
		                cc->objects.nrhs, rdns_domain, DNSBL_RHS,
		                (int)s->worker->cfg->policy.dnsbl_budget_ms, dnsbl_rdns_done, c);
	}
	/* Unified SPF: may this address send as the name it claims? */
	if (res->code == IPREV_PASS) {
		char sender[300];
		snprintf(sender, sizeof(sender), "postmaster@%s", res->name);
		c->spf_rdns = spf_start(c, sender, res->name, spf_rdns_done);
	}
	finished(c);
}

static void dnsbl_note(struct checks *c, const struct dnsbl_result *res)
{
	size_t len = strlen(c->dnsbl_res);
	for (size_t i = 0; i < res->n; i++)
		if (res->hits[i].status == DNSBL_LISTED)
			len += (size_t)snprintf(c->dnsbl_res + len, sizeof(c->dnsbl_res) - len,
			                        "%s%s", len ? "," : "", res->hits[i].list->zone);
	if (res->listed)
		apply(c, PR_DNSBL_LISTED, res->score, res->subject, 1);
	if (res->tempfail)
		apply(c, PR_DNSBL_TEMPERROR, 0, res->subject, 1);
}

static void dnsbl_ip_done(void *arg, const struct dnsbl_result *res)
{
	struct checks *c = arg;
	c->dnsbl_ip = NULL;
	dnsbl_note(c, res);
	finished(c);
}

static void dnsbl_rdns_done(void *arg, const struct dnsbl_result *res)
{
	struct checks *c = arg;
	c->dnsbl_rdns = NULL;
	dnsbl_note(c, res);
	finished(c);
}

static void dnsbl_helo_done(void *arg, const struct dnsbl_result *res)
{
	struct checks *c = arg;
	c->dnsbl_helo = NULL;
	dnsbl_note(c, res);
	finished(c);
}

static void dnsbl_mail_done(void *arg, const struct dnsbl_result *res)
{
	struct checks *c = arg;
	c->dnsbl_mail = NULL;
	if (res->listed)
		apply(c, PR_DNSBL_LISTED, res->score, res->subject, 0);
	if (res->tempfail)
		apply(c, PR_DNSBL_TEMPERROR, 0, res->subject, 0);
	finished(c);
}

static int is_trusted(const struct checks_conf *cc, const char *ip)
{
	struct ipaddr a;
	if (ipaddr_parse(ip, &a) < 0)
		return 0;
	for (size_t i = 0; i < cc->ntrusted; i++)
		if (net_contains(&cc->trusted[i], &a))
			return 1;
	return 0;
}

void checks_connect(struct session *s)
{
	struct worker *w = s->worker;
	struct checks_conf *cc = w->checks_conf;
	struct checks *c;

	if (is_trusted(cc, s->ip)) {
		s->trusted = 1;
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->s = s;
	verdict_init(&c->session_v);
	verdict_init(&c->txn_v);
	s->checks = c;
	c->pending++;
	c->iprev = iprev_start(w->dns, s->ip, iprev_done, c);
	if (cc->objects.nip) {
		c->pending++;
		c->dnsbl_ip =
		    dnsbl_start(w->dns, w->base, cc->objects.ip_lists, cc->objects.nip, s->ip,
		                DNSBL_IP, (int)w->cfg->policy.dnsbl_budget_ms, dnsbl_ip_done, c);
	}
}

void checks_authenticated(struct session *s)
{
	if (s->checks && !s->worker->cfg->policy.check_submission)
		checks_free(s);
}

static void helo_dns_done(void *arg, enum helo_dns_result res)
{
	struct checks *c = arg;
	c->helo_dns = NULL;
	snprintf(c->helo_dns_res, sizeof(c->helo_dns_res), "%s", helo_dns_result_name(res));
	if (res == HELO_DNS_NXDOMAIN || res == HELO_DNS_NO_ADDRESS)
		apply(c, PR_HELO_NXDOMAIN, 0, c->s->helo, 1);
	else if (res == HELO_DNS_NO_MATCH)
		apply(c, PR_HELO_NO_MATCH, 0, c->s->helo, 1);
	else if (res == HELO_DNS_TEMPERROR)
		apply(c, PR_HELO_TEMPERROR, 0, c->s->helo, 1);
	finished(c);
}

static void csa_done(void *arg, enum csa_result res, enum csa_reason why)
{
	struct checks *c = arg;
	c->csa = NULL;
	snprintf(c->csa_res, sizeof(c->csa_res), "%s", csa_result_name(res));
	if (res == CSA_UNAUTHORIZED)
		apply(c, PR_CSA_UNAUTHORIZED, 0, c->s->helo, 1);
	else if (res == CSA_TEMPERROR)
		apply(c, PR_CSA_TEMPERROR, 0, c->s->helo, 1);
	finished(c);
}

static void spf_helo_done(void *arg, const struct spf_outcome *out)
{
	struct checks *c = arg;
	c->spf_helo = NULL;
	snprintf(c->spf_helo_res, sizeof(c->spf_helo_res), "%s", spf_result_name(out->result));
	spf_apply(c, out->result, PR_SPF_HELO_FAIL, PR_SPF_HELO_SOFTFAIL, PR_SPF_HELO_TEMPERROR,
	          PR_COUNT, c->s->helo, 1);
	finished(c);
}

void checks_helo(struct session *s)
{
	struct checks *c = s->checks;
	struct worker *w = s->worker;
	struct checks_conf *cc = w->checks_conf;

	/* The first greeting is judged; one repeated after STARTTLS names the
	 * same client and is not looked up again. */
	if (c == NULL || c->helo_started)
		return;
	c->helo_started = 1;
	struct helo_context ctx = {.client_ip = s->ip,
	                           .hostname = w->cfg->hostname,
	                           .local_domains = cc->local_domains,
	                           .our_addrs = cc->our_addrs};
	enum helo_class hc = helo_classify(s->helo, &ctx);
	snprintf(c->helo_class, sizeof(c->helo_class), "%s", helo_class_name(hc));
	switch (hc) {
	case HELO_SYNTAX:
	case HELO_BARE_WORD:
	case HELO_LOCALHOST:
	case HELO_LOCAL_TLD:
	case HELO_NOT_UNDER_PUBLIC_SUFFIX:
		apply(c, PR_HELO_INVALID, 0, s->helo, 1);
		return;
	case HELO_OUR_NAME:
	case HELO_OUR_ADDRESS:
		apply(c, PR_HELO_OURS, 0, s->helo, 1);
		return;
	case HELO_ADDRESS_LITERAL_MISMATCH:
		apply(c, PR_HELO_LITERAL_MISMATCH, 0, s->helo, 1);
		return;
	case HELO_ADDRESS_LITERAL_MATCH:
		return;
	case HELO_VALID_FQDN:
		break;
	}
	c->helo_dns = helo_dns_start(w->dns, s->helo, s->ip, helo_dns_done, c);
	if (c->helo_dns)
		c->pending++;
	c->csa = csa_start(w->dns, s->helo, s->ip, csa_done, c);
	if (c->csa)
		c->pending++;
	c->spf_helo = spf_start(c, "", s->helo, spf_helo_done);
	if (cc->objects.nrhs) {
		c->pending++;
		c->dnsbl_helo =
		    dnsbl_start(w->dns, w->base, cc->objects.rhs_lists, cc->objects.nrhs, s->helo,
		                DNSBL_RHS, (int)w->cfg->policy.dnsbl_budget_ms, dnsbl_helo_done, c);
	}
}

static void spf_mail_done(void *arg, const struct spf_outcome *out)
{
	struct checks *c = arg;
	c->spf_mail = NULL;
	snprintf(c->spf_mail_res, sizeof(c->spf_mail_res), "%s", spf_result_name(out->result));
	spf_apply(c, out->result, PR_SPF_FAIL, PR_SPF_SOFTFAIL, PR_SPF_TEMPERROR, PR_SPF_PERMERROR,
	          out->result == SPF_FAIL && out->explanation ? out->explanation : c->mailfrom, 0);
	finished(c);
}

void checks_mail(struct session *s)
{
	struct checks *c = s->checks;
	struct worker *w = s->worker;
	struct checks_conf *cc = w->checks_conf;

	if (c == NULL)
		return;
	c->in_txn = 1;
	c->txn_v = c->session_v;
	snprintf(c->mailfrom, sizeof(c->mailfrom), "%s", s->mail_from);
	/* RFC 7208 2.4: with a null reverse-path the HELO identity is checked. */
	if (s->mail_from[0])
		c->spf_mail = spf_start(c, s->mail_from, NULL, spf_mail_done);
	else
		snprintf(c->spf_mail_res, sizeof(c->spf_mail_res), "%s", c->spf_helo_res);
	const char *at = strrchr(s->mail_from, '@');
	if (cc->objects.nrhs && at) {
		c->pending++;
		c->dnsbl_mail =
		    dnsbl_start(w->dns, w->base, cc->objects.rhs_lists, cc->objects.nrhs, at + 1,
		                DNSBL_RHS, (int)w->cfg->policy.dnsbl_budget_ms, dnsbl_mail_done, c);
	}
}

void checks_reset_transaction(struct session *s)
{
	struct checks *c = s->checks;
	if (c == NULL)
		return;
	if (c->spf_mail) {
		spf_check_cancel(c->spf_mail);
		c->spf_mail = NULL;
		c->pending--;
	}
	if (c->dnsbl_mail) {
		dnsbl_cancel(c->dnsbl_mail);
		c->dnsbl_mail = NULL;
		c->pending--;
	}
	c->in_txn = 0;
	c->spf_mail_res[0] = '\0';
	c->mailfrom[0] = '\0';
}

int checks_defer(struct session *s, const char *line, size_t len)
{
	struct checks *c = s->checks;
	if (c == NULL || c->pending == 0)
		return 0;
	free(c->deferred);
	c->deferred = xstrndup(line, len);
	c->deferred_len = len;
	s->waiting = 1;
	return 1;
}

enum policy_action checks_decide(struct session *s, struct verdict_reply *reply)
{
	static const struct verdict none = {.action = PA_ACCEPT};
	struct checks *c = s->checks;
	return verdict_decide(c ? &c->txn_v : &none, &s->worker->cfg->policy, reply);
}

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

void checks_spf(const struct session *s, struct checks_spf *out)
{
	const struct checks *c = s->checks;
	const char *at = strrchr(s->mail_from, '@');

	out->result = "";
	out->domain = at ? at + 1 : s->helo;
	out->scope = at ? "mfrom" : "helo";
	if (c != NULL)
		out->result = c->spf_mail_res;
}

void checks_verdict(const struct session *s, struct verdict *out)
{
	if (s->checks)
		*out = s->checks->txn_v;
	else
		verdict_init(out);
}

int checks_authres(struct session *s, const struct verdict *v, const char *more, struct buf *out)
{
	struct checks *c = s->checks;
	struct verdict_reply rep;
	if (c == NULL)
		return 0;
	if (v == NULL)
		v = &c->txn_v;
	enum policy_action act = verdict_decide(v, &s->worker->cfg->policy, &rep);
	struct authres a = {.authserv_id = s->worker->cfg->hostname,
	                    .client_ip = s->ip,
	                    .iprev = or_null(c->iprev_res),
	                    .iprev_name = or_null(c->iprev_name),
	                    .spf_mailfrom = or_null(c->spf_mail_res),
	                    .mailfrom = c->mailfrom,
	                    .spf_helo = or_null(c->spf_helo_res),
	                    .helo = s->helo,
	                    .rdns = or_null(c->rdns),
	                    .helo_check = or_null(c->helo_class),
	                    .csa = or_null(c->csa_res),
	                    .dnsbl = c->dnsbl_res[0] ? c->dnsbl_res : "none",
	                    .more = more,
	                    .verdict =
	                        act == PA_ACCEPT && v->tags[0] ? "tag" : policy_action_name(act),
	                    .score = v->score};
	return authres_format(&a, out);
}

void checks_log(struct session *s)
{
	struct checks *c = s->checks;
	if (c == NULL)
		return;
	log_info("event=checks sid=%s queue_id=%s ip=%s iprev=%s rdns=%s helo=%s helo_dns=%s "
	         "csa=%s spf_helo=%s spf_mailfrom=%s spf_rdns=%s dnsbl=%s score=%ld tags=%s",
	         s->sid, s->queue_id, s->ip, c->iprev_res[0] ? c->iprev_res : "-",
	         c->rdns[0] ? c->rdns : "-", c->helo_class[0] ? c->helo_class : "-",
	         c->helo_dns_res[0] ? c->helo_dns_res : "-", c->csa_res[0] ? c->csa_res : "-",
	         c->spf_helo_res[0] ? c->spf_helo_res : "-",
	         c->spf_mail_res[0] ? c->spf_mail_res : "-",
	         c->spf_rdns_res[0] ? c->spf_rdns_res : "-",
	         c->dnsbl_res[0] ? c->dnsbl_res : "none", /* as Authentication-Results says */
	         c->txn_v.score, c->txn_v.tags[0] ? c->txn_v.tags : "-");
}

void checks_free(struct session *s)
{
	struct checks *c = s->checks;
	if (c == NULL)
		return;
	if (c->iprev)
		iprev_cancel(c->iprev);
	if (c->dnsbl_ip)
		dnsbl_cancel(c->dnsbl_ip);
	if (c->dnsbl_helo)
		dnsbl_cancel(c->dnsbl_helo);
	if (c->dnsbl_mail)
		dnsbl_cancel(c->dnsbl_mail);
	if (c->dnsbl_rdns)
		dnsbl_cancel(c->dnsbl_rdns);
	if (c->helo_dns)
		helo_dns_cancel(c->helo_dns);
	if (c->csa)
		csa_cancel(c->csa);
	if (c->spf_helo)
		spf_check_cancel(c->spf_helo);
	if (c->spf_mail)
		spf_check_cancel(c->spf_mail);
	if (c->spf_rdns)
		spf_check_cancel(c->spf_rdns);
	free(c->deferred);
	free(c);
	s->checks = NULL;
}
