/* The c-ares backend: queries go out through c-ares, whose sockets and
 * timeouts are driven by the caller's libevent loop; answers are parsed
 * by dns_answer_from_packet and kept in the resolver's cache. */
#include "core/hash.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "dns/answer.h"
#include "dns/backend.h"
#include "dns/cache.h"

#include <ares.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DNS_CLASS_IN 1

struct sock_ev {
	struct sock_ev *next;
	ares_socket_t fd;
	struct event *ev;
};

struct cares_query;

/* Buckets of the queries c-ares holds, by name and type. */
#define INFLIGHT_BUCKETS 256

struct cares_resolver {
	struct dns_resolver base; /* first: dns.c sees only this */
	struct event_base *evbase;
	ares_channel channel;
	struct event *timer;
	struct sock_ev *socks;
	struct dns_cache *cache; /* NULL: no cache */
	uint32_t negative_ttl_max;
	struct cares_query *queries; /* every query not yet delivered or freed */
	/* The queries c-ares holds: a lookup of the same name and type while
	 * one is out waits for its answer instead of asking again. */
	struct cares_query *inflight[INFLIGHT_BUCKETS];
	/* Results waiting for the loop, oldest first, handed over by one event:
	 * a cache hit costs no event of its own. */
	struct cares_query *ready_head, *ready_tail;
	struct event *ready_ev;
	int delivering;   /* ready_cb is running */
	int free_pending; /* freed from inside a callback: ready_cb finishes it */
};

struct cares_query {
	struct dns_query base; /* first: dns.c sees only this */
	struct cares_query *prev, *next;
	enum dns_type type;
	dns_done_fn done;
	void *arg;
	int in_ares;   /* c-ares holds it: its callback is still to come */
	int cancelled; /* in_ares only: drop the answer when it comes */
	struct cares_query *ready_next, *ready_prev;
	int ready; /* in the resolver's ready list */
	struct dns_result res;
	int from_cache;
	/* in_ares only: its bucket chain, and the lookups waiting for it. */
	struct cares_query *bucket_next, *followers;
	/* A lookup waiting for another's answer: that query, and the chain of
	 * its followers. */
	struct cares_query *leader, *follow_next, *follow_prev;
	char name[]; /* as asked, without a final dot */
};

static time_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Names are matched with strcasecmp, so they hash without case. */
static size_t bucket_of(const char *name, enum dns_type type)
{
	return hash_fnv1a_str_lower(HASH_FNV1A_SEED ^ (uint32_t)type, name) % INFLIGHT_BUCKETS;
}

static struct cares_query *inflight_find(struct cares_resolver *r, const char *name,
                                         enum dns_type type)
{
	for (struct cares_query *q = r->inflight[bucket_of(name, type)]; q; q = q->bucket_next)
		if (q->type == type && strcasecmp(q->name, name) == 0)
			return q;
	return NULL;
}

static void inflight_remove(struct cares_resolver *r, struct cares_query *q)
{
	struct cares_query **pp = &r->inflight[bucket_of(q->name, q->type)];

	while (*pp && *pp != q)
		pp = &(*pp)->bucket_next;
	if (*pp)
		*pp = q->bucket_next;
	q->bucket_next = NULL;
}

static void follow(struct cares_query *leader, struct cares_query *q)
{
	q->leader = leader;
	q->follow_prev = NULL;
	q->follow_next = leader->followers;
	if (leader->followers)
		leader->followers->follow_prev = q;
	leader->followers = q;
}

static void unfollow(struct cares_query *q)
{
	if (q->follow_prev)
		q->follow_prev->follow_next = q->follow_next;
	else
		q->leader->followers = q->follow_next;
	if (q->follow_next)
		q->follow_next->follow_prev = q->follow_prev;
	q->leader = q->follow_next = q->follow_prev = NULL;
}

/* Takes q out of every list of the resolver. */
static void query_unlink(struct cares_query *q)
{
	struct cares_resolver *r = (struct cares_resolver *)q->base.resolver;

	if (q->leader)
		unfollow(q);
	/* Only when the resolver goes: its followers go with it. */
	while (q->followers)
		unfollow(q->followers);
	if (q->in_ares)
		inflight_remove(r, q);

	if (q->prev)
		q->prev->next = q->next;
	else
		r->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	if (q->ready) {
		if (q->ready_prev)
			q->ready_prev->ready_next = q->ready_next;
		else
			r->ready_head = q->ready_next;
		if (q->ready_next)
			q->ready_next->ready_prev = q->ready_prev;
		else
			r->ready_tail = q->ready_prev;
	}
}

static void query_free(struct cares_query *q)
{
	query_unlink(q);
	dns_result_free(&q->res);
	free(q);
}

static void deliver(struct cares_query *q)
{
	struct dns_answer ans = {
	    .status = q->res.status,
	    .qname = q->name,
	    .qtype = q->type,
	    .canonical = q->res.canonical ? q->res.canonical : q->name,
	    .rrs = q->res.rrs,
	    .nrr = q->res.nrr,
	    .from_cache = q->from_cache,
	};

	/* The query leaves the resolver before the callback runs, so that the
	 * callback may start lookups or free the resolver; its memory, which
	 * ans points into, lives until the callback returns. */
	query_unlink(q);
	q->done(q->arg, &ans);
	dns_result_free(&q->res);
	free(q);
}

static void resolver_destroy(struct cares_resolver *r);

static void ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cares_resolver *r = arg;

	r->delivering = 1;
	while (r->ready_head && !r->free_pending)
		deliver(r->ready_head);
	r->delivering = 0;
	if (r->free_pending)
		resolver_destroy(r);
}

/* Hands the result to the loop: done never runs inside dns_lookup, nor
 * inside c-ares, where freeing the resolver would pull the channel from
 * under ares_process_fd. */
static void defer(struct cares_query *q)
{
	struct cares_resolver *r = (struct cares_resolver *)q->base.resolver;

	q->ready = 1;
	q->ready_next = NULL;
	q->ready_prev = r->ready_tail;
	if (r->ready_tail)
		r->ready_tail->ready_next = q;
	else
		r->ready_head = q;
	r->ready_tail = q;
	if (!r->delivering)
		event_active(r->ready_ev, EV_TIMEOUT, 0);
}

static void timer_reschedule(struct cares_resolver *r)
{
	struct timeval tv, *tvp = ares_timeout(r->channel, NULL, &tv);

	if (tvp)
		evtimer_add(r->timer, tvp);
	else
		evtimer_del(r->timer);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cares_resolver *r = arg;

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	timer_reschedule(r);
}

static void sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cares_resolver *r = arg;

	ares_process_fd(r->channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	                (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	timer_reschedule(r);
}

/* ARES_OPT_SOCK_STATE_CB: c-ares says which of its sockets it wants to
 * read or write; one persistent event per socket mirrors that. */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct cares_resolver *r = data;
	struct sock_ev **pp = &r->socks, *s;

	while (*pp && (*pp)->fd != fd)
		pp = &(*pp)->next;
	s = *pp;
	if (s) {
		event_free(s->ev);
		if (!readable && !writable) {
			*pp = s->next;
			free(s);
			return;
		}
	} else {
		if (!readable && !writable)
			return;
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		s->next = r->socks;
		r->socks = s;
	}
	s->ev = event_new(
	    r->evbase, fd,
	    (short)(EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0)), sock_cb, r);
	if (s->ev == NULL || event_add(s->ev, NULL) < 0)
		fatal("dns: cannot watch the c-ares socket %d", (int)fd);
}

static void ares_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct cares_query *q = arg;
	struct cares_resolver *r = (struct cares_resolver *)q->base.resolver;

	/* ares_destroy from dns_resolver_free: it frees the queries itself. */
	if (status == ARES_EDESTRUCTION)
		return;
	inflight_remove(r, q);
	q->in_ares = 0;
	/* c-ares hands over the response for NXDOMAIN and NODATA too; only
	 * timeouts and network errors come without one. */
	if (abuf == NULL || alen <= 0 ||
	    dns_answer_from_packet(abuf, (size_t)alen, q->type, r->negative_ttl_max, &q->res) < 0) {
		q->res = (struct dns_result){.status = DNS_TEMPFAIL};
		log_info("dns_tempfail name=%s type=%s error=\"%s\" timeouts=%d", q->name,
		         dns_type_name(q->type),
		         abuf ? "malformed response" : ares_strerror(status), timeouts);
	}
	if (r->cache)
		dns_cache_put(r->cache, q->name, q->type, &q->res, now_mono());
	/* The lookups that waited for this answer get it too, even when the
	 * one that asked has been cancelled. */
	while (q->followers) {
		struct cares_query *f = q->followers;
		unfollow(f);
		dns_result_copy(&f->res, &q->res);
		defer(f);
	}
	if (q->cancelled)
		query_free(q);
	else
		defer(q);
}

static struct dns_query *cares_lookup(struct dns_resolver *base, const char *name,
                                      enum dns_type type, dns_done_fn done, void *arg)
{
	struct cares_resolver *r = (struct cares_resolver *)base;
	size_t n = strlen(name);
	struct cares_query *q, *leader;

	if (n > 1 && name[n - 1] == '.')
		n--;
	q = xcalloc(1, sizeof(*q) + n + 1);
	memcpy(q->name, name, n);
	q->base.resolver = base;
	q->type = type;
	q->done = done;
	q->arg = arg;
	q->next = r->queries;
	if (r->queries)
		r->queries->prev = q;
	r->queries = q;
	if (!dns_name_valid(name)) {
		q->res.status = DNS_BADNAME;
		defer(q);
	} else if (r->cache && dns_cache_get(r->cache, q->name, type, now_mono(), &q->res)) {
		q->from_cache = 1;
		defer(q);
	} else if ((leader = inflight_find(r, q->name, type)) != NULL) {
		follow(leader, q);
	} else {
		/* ares_query, not ares_search: the name is absolute, no search list.
		 * c-ares may answer at once (no server reachable); ares_done
		 * defers that answer like any other. */
		size_t b = bucket_of(q->name, type);
		q->in_ares = 1;
		q->bucket_next = r->inflight[b];
		r->inflight[b] = q;
		ares_query(r->channel, q->name, DNS_CLASS_IN, (int)type, ares_done, q);
		timer_reschedule(r);
	}
	return &q->base;
}

static void cares_cancel(struct dns_query *base)
{
	struct cares_query *q = (struct cares_query *)base;

	/* c-ares cannot forget one query: its answer is dropped when it comes
	 * (after the lookups that wait for it have theirs). */
	if (q->in_ares)
		q->cancelled = 1;
	else
		query_free(q);
}

static void cares_free(struct dns_resolver *base)
{
	struct cares_resolver *r = (struct cares_resolver *)base;

	if (r->delivering) {
		r->free_pending = 1;
		return;
	}
	resolver_destroy(r);
}

static void resolver_destroy(struct cares_resolver *r)
{
	ares_destroy(r->channel);
	while (r->queries)
		query_free(r->queries);
	while (r->socks) {
		struct sock_ev *s = r->socks;
		r->socks = s->next;
		event_free(s->ev);
		free(s);
	}
	event_free(r->timer);
	if (r->ready_ev)
		event_free(r->ready_ev);
	dns_cache_free(r->cache);
	ares_library_cleanup();
	free(r);
}

static const struct dns_resolver_ops cares_ops = {
    .lookup = cares_lookup,
    .cancel = cares_cancel,
    .free = cares_free,
};

/* "host" and "host:port" as ares_set_servers_ports_csv reads them. */
static int set_servers(ares_channel channel, const char *const *servers, char *err, size_t errsize)
{
	size_t len = 1;
	char *csv;
	int rc;

	for (size_t i = 0; servers[i]; i++)
		len += strlen(servers[i]) + 1;
	csv = xmalloc(len);
	csv[0] = '\0';
	for (size_t i = 0; servers[i]; i++) {
		if (i > 0)
			strcat(csv, ",");
		strcat(csv, servers[i]);
	}
	rc = ares_set_servers_ports_csv(channel, csv);
	if (rc != ARES_SUCCESS)
		snprintf(err, errsize, "bad DNS server list \"%s\": %s", csv, ares_strerror(rc));
	free(csv);
	return rc == ARES_SUCCESS ? 0 : -1;
}

struct dns_resolver *dns_resolver_new(struct event_base *base, const struct dns_options *opt,
                                      char *err, size_t errsize)
{
	struct cares_resolver *r;
	struct ares_options ao;
	int rc;

	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errsize, "c-ares: %s", ares_strerror(rc));
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->base.ops = &cares_ops;
	r->evbase = base;
	r->negative_ttl_max = opt->negative_ttl_max;
	memset(&ao, 0, sizeof(ao));
	ao.timeout = opt->timeout_ms;
	ao.tries = opt->tries;
	ao.sock_state_cb = sock_state_cb;
	ao.sock_state_cb_data = r;
	/* EDNS0 with the 1232-octet buffer of DNS flag day 2020 keeps most
	 * TXT answers on UDP; c-ares retries over TCP when one is truncated. */
	ao.flags = ARES_FLAG_EDNS;
	ao.ednspsz = 1232;
	rc = ares_init_options(&r->channel, &ao,
	                       ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
	                           ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errsize, "c-ares: %s", ares_strerror(rc));
		free(r);
		ares_library_cleanup();
		return NULL;
	}
	r->timer = evtimer_new(base, timer_cb, r);
	r->ready_ev = event_new(base, -1, 0, ready_cb, r);
	if (r->timer == NULL || r->ready_ev == NULL)
		fatal("dns: event_new failed");
	if (opt->servers && set_servers(r->channel, opt->servers, err, errsize) < 0) {
		cares_free(&r->base);
		return NULL;
	}
	if (opt->cache_entries > 0)
		r->cache = dns_cache_new(opt->cache_entries);
	return &r->base;
}
