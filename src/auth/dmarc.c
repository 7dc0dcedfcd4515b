/* DMARC policy discovery and evaluation (see dmarc.h). */
#include "auth/dmarc.h"

#include "auth/dmarc_align.h"
#include "dns/dns.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dmarc_check {
	struct dns_resolver *r;
	struct dns_query *q;
	void (*done)(void *arg, const struct dmarc_outcome *out);
	void *arg;
	char *from;
	const char *org; /* into from, or NULL */
	char *spf;       /* or NULL */
	char **dkim;
	size_t ndkim;
	unsigned sample;
	int at_org; /* the lookup in flight is the one at the Organizational Domain */
	char problem[256];
};

const char *dmarc_result_name(enum dmarc_result res)
{
	switch (res) {
	case DMARC_NONE:
		return "none";
	case DMARC_PASS:
		return "pass";
	case DMARC_FAIL:
		return "fail";
	case DMARC_TEMPERROR:
		return "temperror";
	case DMARC_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

static void check_free(struct dmarc_check *c)
{
	for (size_t i = 0; i < c->ndkim; i++)
		free(c->dkim[i]);
	free(c->dkim);
	free(c->spf);
	free(c->from);
	free(c);
}

static void finish(struct dmarc_check *c, struct dmarc_outcome *out)
{
	out->from_domain = c->from;
	out->org_domain = c->org;
	c->done(c->arg, out);
	check_free(c);
}

static void finish_without(struct dmarc_check *c, enum dmarc_result res, const char *fmt,
                           const char *name)
{
	struct dmarc_outcome out = {.result = res, .problem = c->problem};

	snprintf(c->problem, sizeof(c->problem), fmt, name);
	finish(c, &out);
}

/* 6.6.4: pct selects the messages the policy applies to; the others get
 * the next lower policy. */
static enum dmarc_policy lower(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

/* 6.6.2 and 6.6.4 with the record found at name. */
static void evaluate(struct dmarc_check *c, const struct dmarc_record *rec, const char *name)
{
	struct dmarc_outcome out = {.record = rec, .record_domain = name};

	/* 6.3 sp: the policy for subdomains of the domain queried. */
	out.policy = c->at_org ? rec->sp : rec->p;
	/* 6.6.2: SPF counts when the domain it authenticated is aligned. */
	out.spf_aligned = c->spf != NULL && dmarc_aligned(c->spf, c->from, rec->aspf);
	for (size_t i = 0; i < c->ndkim && !out.dkim_aligned; i++) {
		if (dmarc_aligned(c->dkim[i], c->from, rec->adkim)) {
			out.dkim_aligned = 1;
			out.dkim_domain = c->dkim[i];
		}
	}
	/* 11.2: pass when any aligned identifier passed. */
	if (out.spf_aligned || out.dkim_aligned) {
		out.result = DMARC_PASS;
		out.disposition = DMARC_POLICY_NONE;
	} else {
		out.result = DMARC_FAIL;
		out.disposition = out.policy;
		if (c->sample % 100 >= rec->pct) {
			out.sampled_out = 1;
			out.disposition = lower(out.policy);
		}
	}
	finish(c, &out);
}

static void lookup(struct dmarc_check *c, const char *domain);

static void on_answer(void *arg, const struct dns_answer *ans)
{
	struct dmarc_check *c = arg;
	const char *domain = ans->qname + strlen("_dmarc.");
	const struct dns_rr *found = NULL;
	size_t nfound = 0;

	c->q = NULL;
	if (ans->status == DNS_TEMPFAIL) {
		finish_without(c, DMARC_TEMPERROR, "temporary DNS failure at %s", ans->qname);
		return;
	}
	if (ans->status == DNS_BADNAME) {
		finish_without(c, DMARC_PERMERROR, "%s is not a valid DNS name", ans->qname);
		return;
	}
	/* 6.6.3 steps 2 and 4: records that do not begin with v=DMARC1 are
	 * discarded. */
	for (size_t i = 0; ans->status == DNS_OK && i < ans->nrr; i++) {
		if (dmarc_record_is_dmarc(ans->rrs[i].u.txt.data, ans->rrs[i].u.txt.len)) {
			found = &ans->rrs[i];
			nfound++;
		}
	}
	if (nfound == 0) {
		/* Step 3: then the Organizational Domain, if it is different. */
		if (!c->at_org && c->org != NULL && strcasecmp(c->org, c->from) != 0) {
			c->at_org = 1;
			lookup(c, c->org);
			return;
		}
		finish_without(c, DMARC_NONE, "no DMARC record for %s", c->from);
		return;
	}
	/* Step 5: several records, no DMARC processing. */
	if (nfound > 1) {
		finish_without(c, DMARC_NONE, "several DMARC records at %s", ans->qname);
		return;
	}

	struct dmarc_record rec;
	char err[160];
	if (dmarc_record_parse(found->u.txt.data, found->u.txt.len, &rec, err, sizeof(err)) ==
	    DMARC_RECORD_OK) {
		evaluate(c, &rec, domain);
	} else {
		/* Step 6.2 applies no DMARC processing; 11.2 names the outcome
		 * of a syntactically incorrect record permerror. */
		snprintf(c->problem, sizeof(c->problem), "unusable DMARC record at %s: %s",
		         ans->qname, err);
		struct dmarc_outcome out = {.result = DMARC_PERMERROR, .problem = c->problem};
		finish(c, &out);
	}
	dmarc_record_free(&rec);
}

static void lookup(struct dmarc_check *c, const char *domain)
{
	char name[DMARC_DOMAIN_MAX + 16];

	/* A name too long for DNS comes back as DNS_BADNAME, and so does the
	 * empty label that stands for a domain too long for name. */
	if (snprintf(name, sizeof(name), "_dmarc.%s", domain) >= (int)sizeof(name))
		snprintf(name, sizeof(name), "_dmarc..");
	c->q = dns_lookup(c->r, name, DNS_T_TXT, on_answer, c);
}

struct dmarc_check *dmarc_check_start(struct dns_resolver *r, const struct dmarc_request *req,
                                      void (*done)(void *arg, const struct dmarc_outcome *out),
                                      void *arg)
{
	struct dmarc_check *c = xcalloc(1, sizeof(*c));

	c->r = r;
	c->done = done;
	c->arg = arg;
	c->from = xstrdup(req->from_domain);
	for (char *p = c->from; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 'a' - 'A');
	}
	c->org = dmarc_org_domain(c->from);
	c->spf = req->spf_domain != NULL ? xstrdup(req->spf_domain) : NULL;
	c->dkim = xcalloc(req->ndkim > 0 ? req->ndkim : 1, sizeof(*c->dkim));
	for (size_t i = 0; i < req->ndkim; i++)
		c->dkim[c->ndkim++] = xstrdup(req->dkim_domains[i]);
	c->sample = req->sample;
	/* 6.6.3 step 1: the From domain first. */
	lookup(c, c->from);
	return c;
}

void dmarc_check_cancel(struct dmarc_check *c)
{
	if (c->q != NULL)
		dns_cancel(c->q);
	check_free(c);
}

int dmarc_authres(const struct dmarc_outcome *o, struct buf *out)
{
	size_t mark = out->len;
	int rc = buf_printf(out, "dmarc=%s", dmarc_result_name(o->result));

	if (rc == 0 && o->record != NULL)
		rc =
		    buf_printf(out, " (p=%s sp=%s dis=%s)", dmarc_policy_name(o->record->p),
		               dmarc_policy_name(o->record->sp), dmarc_policy_name(o->disposition));
	/* RFC 7489 11.1 registers ptype "header", property "from" for the
	 * method; policy.dmarc (the published policy) is not registered there
	 * but is what filters downstream commonly read. */
	if (rc == 0 && o->from_domain != NULL)
		rc = buf_printf(out, " header.from=%s", o->from_domain);
	if (rc == 0 && o->record != NULL)
		rc = buf_printf(out, " policy.dmarc=%s", dmarc_policy_name(o->policy));
	if (rc != 0) {
		out->len = mark;
		if (out->cap > 0)
			out->data[mark] = '\0';
		return -1;
	}
	return 0;
}
