/* The DNS blocklist check: every list of the subject's kind asked in
 * parallel, A for the listing and optionally TXT for its reason, under
 * one timer that ends the check whatever is still outstanding (see
 * dnsbl.h). */
#include "policy/dnsbl.h"

#include "core/log.h"
#include "core/xmalloc.h"
#include "dns/dns.h"

#include <event2/event.h>
#include <stdlib.h>
#include <sys/socket.h>

/* RFC 1035 2.3.4 plus the NUL. */
#define QNAME_SIZE 254

struct entry {
	struct dnsbl_check *check;
	struct dnsbl_hit *hit;
	struct dns_query *qa, *qtxt; /* NULL once answered or cancelled */
};

struct dnsbl_check {
	char *subject;
	struct dnsbl_hit *hits;
	struct entry *entries;
	size_t n, pending;
	struct event *timer;
	dnsbl_fn done;
	void *arg;
};

static void cancel_queries(struct dnsbl_check *c)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->entries[i].qa != NULL)
			dns_cancel(c->entries[i].qa);
		if (c->entries[i].qtxt != NULL)
			dns_cancel(c->entries[i].qtxt);
		c->entries[i].qa = c->entries[i].qtxt = NULL;
	}
}

static void release(struct dnsbl_check *c)
{
	cancel_queries(c);
	event_free(c->timer);
	free(c->entries);
	free(c->hits);
	free(c->subject);
	free(c);
}

/* Every list has answered, or the budget is spent: a list whose A query
 * is still out stays a temperror, as it was set when asked. */
static void finish(struct dnsbl_check *c)
{
	struct dnsbl_result res = {.subject = c->subject, .hits = c->hits, .n = c->n};

	cancel_queries(c);
	for (size_t i = 0; i < c->n; i++) {
		struct dnsbl_hit *h = &c->hits[i];
		if (h->status == DNSBL_LISTED) {
			res.score += h->weight;
			res.listed++;
		} else {
			/* A reason without a listing explains nothing. */
			h->txt[0] = '\0';
			if (h->status == DNSBL_TEMPERROR)
				res.tempfail++;
		}
	}
	c->done(c->arg, &res);
	release(c);
}

static void settle(struct dnsbl_check *c)
{
	if (--c->pending == 0)
		finish(c);
}

static void a_done(void *arg, const struct dns_answer *ans)
{
	struct entry *e = arg;
	struct dnsbl_hit *h = e->hit;

	e->qa = NULL;
	h->status = DNSBL_NOT_LISTED;
	if (ans->status == DNS_OK) {
		for (size_t i = 0; i < ans->nrr && h->ncodes < DNSBL_MAX_CODES; i++) {
			const unsigned char *b = ans->rrs[i].u.ip.addr;
			/* Listings answer in 127.0.0.0/8 (RFC 5782 2.1, 2.3); any
			 * other address is a parked or hijacked zone's wildcard,
			 * not a listing. */
			if (ans->rrs[i].u.ip.family == AF_INET && b[0] == 127)
				h->codes[h->ncodes++] = (uint32_t)b[0] << 24 |
				                        (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
				                        b[3];
		}
		if (h->ncodes > 0) {
			h->status = DNSBL_LISTED;
			h->weight = dnsbl_weigh(h->list, h->codes, h->ncodes, &h->meaning);
		}
	} else if (ans->status == DNS_TEMPFAIL) {
		h->status = DNSBL_TEMPERROR;
	}
	/* The reason is only wanted for a listing. */
	if (h->status != DNSBL_LISTED && e->qtxt != NULL) {
		dns_cancel(e->qtxt);
		e->qtxt = NULL;
		e->check->pending--;
	}
	settle(e->check);
}

static void txt_done(void *arg, const struct dns_answer *ans)
{
	struct entry *e = arg;

	e->qtxt = NULL;
	if (ans->status == DNS_OK && ans->nrr > 0)
		dnsbl_txt_clean(ans->rrs[0].u.txt.data, ans->rrs[0].u.txt.len, e->hit->txt,
		                sizeof(e->hit->txt));
	settle(e->check);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	finish(arg);
}

struct dnsbl_check *dnsbl_start(struct dns_resolver *r, struct event_base *base,
                                const struct dnsbl_list *lists, size_t n, const char *subject,
                                enum dnsbl_kind kind, int budget_ms, dnsbl_fn done, void *arg)
{
	struct dnsbl_check *c = xcalloc(1, sizeof(*c));
	struct timeval tv = {0, 0};

	c->subject = xstrdup(subject);
	c->hits = xcalloc(n > 0 ? n : 1, sizeof(*c->hits));
	c->entries = xcalloc(n > 0 ? n : 1, sizeof(*c->entries));
	c->n = n;
	c->done = done;
	c->arg = arg;
	c->timer = evtimer_new(base, on_timer, c);
	if (c->timer == NULL)
		fatal("dnsbl: cannot create a timer");
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &c->entries[i];
		char qname[QNAME_SIZE];

		e->check = c;
		e->hit = &c->hits[i];
		e->hit->list = &lists[i];
		e->hit->status = DNSBL_SKIPPED;
		if (lists[i].kind != kind ||
		    dnsbl_query_name(subject, kind, lists[i].zone, qname, sizeof(qname)) != 0)
			continue;
		e->hit->status = DNSBL_TEMPERROR;
		/* dns_lookup never answers from inside the call, so pending is
		 * complete before the first answer arrives. */
		e->qa = dns_lookup(r, qname, DNS_T_A, a_done, e);
		c->pending++;
		if (lists[i].want_txt) {
			e->qtxt = dns_lookup(r, qname, DNS_T_TXT, txt_done, e);
			c->pending++;
		}
	}
	/* With nothing to ask, the zero timer still answers from the loop. */
	if (c->pending > 0 && budget_ms > 0) {
		tv.tv_sec = budget_ms / 1000;
		tv.tv_usec = (budget_ms % 1000) * 1000;
	}
	evtimer_add(c->timer, &tv);
	return c;
}

void dnsbl_cancel(struct dnsbl_check *c)
{
	release(c);
}

const char *dnsbl_status_name(enum dnsbl_status st)
{
	switch (st) {
	case DNSBL_NOT_LISTED:
		return "not_listed";
	case DNSBL_LISTED:
		return "listed";
	case DNSBL_TEMPERROR:
		return "temperror";
	case DNSBL_SKIPPED:
		return "skipped";
	}
	return "invalid";
}
