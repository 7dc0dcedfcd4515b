/* Jobs over SMTP and LMTP connections.  A new connection first routes its
 * destination (MX or relay), then tries every address in order until a
 * server greets it; a connection that has delivered a job takes the next
 * job of its destination, or waits idle for one, so a busy destination
 * reuses its connections.  When no address of a destination answers, the
 * destination is down (dest_down) and its waiting jobs are deferred. */
#include "queue/dest.h"
#include "queue/batv.h"
#include "queue/route.h"
#include "queue/srs.h"
#include "queue/smtpc.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "smtp/xtext.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

/* LMTP has no well-known port; 24 is what Dovecot and most servers use. */
#define LMTP_DEFAULT_PORT 24

struct sconn {
	struct engine *e;
	struct dest *d;
	struct smtpc *c;
	struct job *job;
	struct route_query *rq;
	struct route_result *route;
	size_t ai; /* the address being tried */
	char last_err[ENGINE_REPLY_MAX];
	int messages;
	struct smtpc_msg msg;
	struct smtpc_rcpt *rc;
	char (*orcpt)[ENGINE_REPLY_MAX]; /* ORCPT= of each recipient, xtext again */
	char sender[300];                /* MAIL FROM, BATV-tagged */
	char envid[ENGINE_REPLY_MAX];    /* ENVID=, xtext again */
	struct event *idle_timer;
	struct sconn *next_idle;
	struct sconn *prev_all, *next_all; /* every connection, for shutdown */
};

static void conn_link(struct sconn *c)
{
	c->next_all = c->e->conns;
	if (c->e->conns)
		c->e->conns->prev_all = c;
	c->e->conns = c;
}

static void conn_free(struct sconn *c)
{
	if (c->prev_all)
		c->prev_all->next_all = c->next_all;
	else
		c->e->conns = c->next_all;
	if (c->next_all)
		c->next_all->prev_all = c->prev_all;
	if (c->rq)
		route_cancel(c->rq);
	if (c->route)
		route_result_free(c->route);
	if (c->c)
		smtpc_close(c->c);
	if (c->idle_timer)
		event_free(c->idle_timer);
	free(c->rc);
	free(c->orcpt);
	free(c);
}

/* The connection is done with its work and closes: its slot is free. */
static void conn_finish(struct sconn *c)
{
	struct dest *d = c->d;

	conn_free(c);
	dest_release(d);
}

static const char *method_of(const struct dest *d)
{
	return d->kind == DEST_LMTP ? "lmtp" : "smtp";
}

/* The job ends without reaching a server: every recipient gets reply. */
static void job_abort(struct sconn *c, int code, const char *reply)
{
	struct job *j = c->job;

	c->job = NULL;
	job_fail_all(j, code, reply, method_of(c->d));
	engine_job_done(c->e, j);
}

static int reply_code(const char *reply)
{
	int code = atoi(reply);
	return code >= 200 && code <= 599 ? code : 451;
}

/* ---- sending a job ---- */

static void send_job(struct sconn *c, struct job *j);

static void idle_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn *c = arg;
	struct sconn **pp = &c->d->idle;

	while (*pp && *pp != c)
		pp = &(*pp)->next_idle;
	if (*pp)
		*pp = c->next_idle;
	conn_free(c);
}

/* After a job: the next one of the destination, else idle, else close. */
static void conn_next(struct sconn *c)
{
	struct dest *d = c->d;
	const struct config *cfg = c->e->cfg;
	struct job *j;

	if (!smtpc_usable(c->c) || c->messages >= cfg->connection_max_messages || c->e->closing) {
		conn_finish(c);
		return;
	}
	/* At the global limit, another destination's waiting job gets this
	 * slot first: a busy destination must not starve the others. */
	j = c->e->active >= (size_t)cfg->delivery_concurrency && dest_others_waiting(d)
	        ? NULL
	        : dest_next_job(d);
	if (j != NULL) {
		send_job(c, j);
		return;
	}
	if (cfg->connection_cache_time == 0) {
		conn_finish(c);
		return;
	}
	struct timeval tv = {cfg->connection_cache_time, 0};
	if (c->idle_timer == NULL)
		c->idle_timer = evtimer_new(c->e->base, idle_timeout_cb, c);
	evtimer_add(c->idle_timer, &tv);
	c->next_idle = d->idle;
	d->idle = c;
	dest_release(d);
}

static void sent_cb(void *arg, struct smtpc *sc, struct smtpc_msg *m)
{
	struct sconn *c = arg;
	struct job *j = c->job;
	const char *tls = smtpc_tls_outcome_name(smtpc_tls_outcome(sc));
	int relays_dsn = (smtpc_ext(sc)->flags & EHLO_DSN) != 0;

	for (size_t i = 0; i < j->n; i++) {
		struct qrcpt *r = j->r[i];
		int cls = c->rc[i].code / 100;
		r->code = c->rc[i].code;
		r->result = cls == 2 ? RCPT_DELIVERED : cls == 5 ? RCPT_PERM : RCPT_TEMP;
		r->method = method_of(c->d);
		r->tls = tls;
		r->relayed_dsn = c->d->kind != DEST_LMTP && relays_dsn;
		snprintf(r->reply, sizeof(r->reply), "%s", c->rc[i].reply);
		snprintf(r->remote, sizeof(r->remote), "%s", smtpc_peer(sc));
	}
	c->job = NULL;
	c->messages++;
	engine_job_done(c->e, j);
	conn_next(c);
}

/* The ORCPT we stored ("rfc822;address", decoded) as the next hop takes
 * it: the address xtext-encoded again (RFC 3461 4.2; utf-8-addr-xtext for
 * an RFC 6533 "utf-8" type).  NULL when there is none or it cannot be
 * written. */
static const char *orcpt_param(const char *stored, char *out, size_t outsize)
{
	const char *semi = stored ? strchr(stored, ';') : NULL;
	size_t tlen;
	long n;

	if (semi == NULL || (tlen = (size_t)(semi - stored)) + 2 > outsize)
		return NULL;
	memcpy(out, stored, tlen + 1);
	if (tlen == 5 && strncasecmp(stored, "utf-8", 5) == 0)
		n = xtext_utf8_encode(semi + 1, strlen(semi + 1), out + tlen + 1,
		                      outsize - tlen - 1);
	else
		n = xtext_encode(semi + 1, strlen(semi + 1), out + tlen + 1, outsize - tlen - 1);
	return n < 0 ? NULL : out;
}

/* The local domain mail for r was forwarded from: its original
 * recipient's, so that a bounce to the SRS address comes back to us. */
static const char *forwarder_domain(const struct config *cfg, const struct qrcpt *r)
{
	const char *at = r->orcpt ? strrchr(r->orcpt, '@') : NULL;

	if (at && config_domain(cfg, at + 1))
		return at + 1;
	return cfg->domains[0].name;
}

/* The return path: for mail forwarded to another domain, the sender
 * rewritten by SRS so that the next hop's SPF check sees our domain;
 * local users' own mail BATV-tagged, so that only bounces of mail we
 * really sent come back through batv.check. */
static const char *sender_of(struct sconn *c, const struct job *j)
{
	const struct qmsg *m = j->m;
	const struct qrcpt *r = j->r[0];

	if (r->forwarded && m->sender[0]) {
		if (srs_forward(c->e->srs_key, m->sender, forwarder_domain(c->e->cfg, r), c->e->now,
		                c->sender, sizeof(c->sender)) >= 0)
			return c->sender;
		/* Too long to rewrite: sent as it is; SPF may fail at the next
		 * hop, but the mail is not lost. */
		log_warn("event=srs_error queue_id=%s error=\"the sender cannot be rewritten\"",
		         m->id);
		return m->sender;
	}
	if (c->e->batv_sign && m->auth_user && m->sender[0] && !m->is_dsn &&
	    batv_sign(c->e->batv_key, m->sender, c->e->now, c->sender, sizeof(c->sender)) == 0)
		return c->sender;
	return m->sender;
}

static void send_job(struct sconn *c, struct job *j)
{
	const struct qmsg *m = j->m;

	c->job = j;
	free(c->rc);
	free(c->orcpt);
	c->rc = xcalloc(j->n, sizeof(*c->rc));
	c->orcpt = xcalloc(j->n, sizeof(*c->orcpt));
	for (size_t i = 0; i < j->n; i++) {
		c->rc[i].addr = j->r[i]->addr;
		c->rc[i].dsn_notify = j->r[i]->notify;
		c->rc[i].dsn_orcpt =
		    orcpt_param(j->r[i]->dsn_orcpt, c->orcpt[i], sizeof(c->orcpt[i]));
	}
	memset(&c->msg, 0, sizeof(c->msg));
	c->msg.sender = sender_of(c, j);
	c->msg.dsn_envid =
	    m->envid && xtext_encode(m->envid, strlen(m->envid), c->envid, sizeof(c->envid)) >= 0
	        ? c->envid
	        : NULL;
	c->msg.dsn_ret = m->ret;
	c->msg.eightbit = m->eightbit;
	c->msg.smtputf8 = m->smtputf8;
	c->msg.data = m->data;
	c->msg.len = m->len;
	c->msg.rcpts = c->rc;
	c->msg.nrcpt = j->n;
	smtpc_send(c->c, &c->msg, sent_cb, c);
}

/* ---- connecting ---- */

static void try_address(struct sconn *c);

static void ready_cb(void *arg, struct smtpc *sc, int code, const char *reply)
{
	struct sconn *c = arg;

	if (code / 100 == 2) {
		c->c = sc;
		dest_reached(c->d);
		send_job(c, c->job);
		return;
	}
	/* sc is already freed. */
	c->c = NULL;
	snprintf(c->last_err, sizeof(c->last_err), "%s", reply);
	c->ai++;
	try_address(c);
}

static void fill_timeouts(const struct config *cfg, struct smtpc_timeouts *t, int lmtp)
{
	t->connect = cfg->connect_timeout;
	t->greeting = lmtp ? cfg->delivery_timeout : cfg->greeting_timeout;
	t->helo = lmtp ? cfg->delivery_timeout : cfg->smtp_command_timeout;
	t->mail = t->helo;
	t->rcpt = t->helo;
	t->data_init = lmtp ? cfg->delivery_timeout : cfg->smtp_data_timeout;
	t->data_block = t->data_init;
	t->data_done = lmtp ? cfg->delivery_timeout : cfg->smtp_data_done_timeout;
}

static enum smtpc_tls_mode tls_mode(const struct config *cfg, const struct dest *d)
{
	if (d->kind == DEST_LMTP || strcmp(cfg->delivery_tls, "none") == 0)
		return SMTPC_TLS_NONE;
	if (strcmp(cfg->delivery_tls, "encrypt") == 0)
		return SMTPC_TLS_ENCRYPT;
	if (strcmp(cfg->delivery_tls, "verify") == 0)
		return SMTPC_TLS_VERIFY;
	return SMTPC_TLS_MAY;
}

static void open_params(struct sconn *c, struct smtpc_params *p)
{
	const struct config *cfg = c->e->cfg;

	memset(p, 0, sizeof(*p));
	p->base = c->e->base;
	p->proto = c->d->kind == DEST_LMTP ? SMTPC_LMTP : SMTPC_SMTP;
	p->helo = cfg->hostname;
	p->tls = tls_mode(cfg, c->d);
	p->tls_ctx = c->e->tls_ctx;
	if (c->d->kind == DEST_RELAY && cfg->smarthost_user[0] &&
	    strcmp(c->d->target, cfg->smarthost) == 0) {
		p->auth_user = cfg->smarthost_user;
		p->auth_pass = cfg->smarthost_password;
	}
	fill_timeouts(cfg, &p->t, c->d->kind == DEST_LMTP);
}

static void try_address(struct sconn *c)
{
	struct smtpc_params p;
	struct sockaddr_storage ss;
	const struct route_addr *a;

	if (c->e->closing) {
		/* Its recipients stay due: the job just goes. */
		free(c->job->r);
		free(c->job);
		c->job = NULL;
		conn_finish(c);
		return;
	}
	if (c->ai >= c->route->naddr) {
		/* No server answered: the destination is down, and this job
		 * waits like the others. */
		char reply[ENGINE_REPLY_MAX];
		snprintf(reply, sizeof(reply), "%s",
		         c->last_err[0] ? c->last_err : "451 4.4.1 no server answered");
		dest_down(c->d, reply);
		job_abort(c, 451, reply);
		conn_finish(c);
		return;
	}
	a = &c->route->addrs[c->ai];
	open_params(c, &p);
	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->addr, 16);
		s6->sin6_port = htons(a->port);
		p.addrlen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a->addr, 4);
		s4->sin_port = htons(a->port);
		p.addrlen = sizeof(*s4);
	}
	p.addr = (const struct sockaddr *)&ss;
	p.peer_name = a->host;
	smtpc_open(&p, ready_cb, c);
}

/* 1 when a listener of ours takes connections at a, port: sending there
 * would loop back to ourselves (an MX or relay naming this host). */
static int is_own_listener(const struct config *cfg, const struct route_addr *a)
{
	char text[INET6_ADDRSTRLEN];
	int loopback = a->family == AF_INET ? a->addr[0] == 127
	                                    : memcmp(a->addr, in6addr_loopback.s6_addr, 16) == 0;

	if (inet_ntop(a->family, a->addr, text, sizeof(text)) == NULL)
		return 0;
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *l = &cfg->listeners[i];
		int wildcard = strcmp(l->host, "0.0.0.0") == 0 || strcmp(l->host, "::") == 0;
		if (atoi(l->port) == a->port &&
		    (strcmp(l->host, text) == 0 || (wildcard && loopback)))
			return 1;
	}
	return 0;
}

/* Drops the addresses of r that are ours; when that leaves none, r
 * becomes the permanent failure Postfix gives ("loops back to myself"). */
static void drop_own_addresses(const struct config *cfg, const char *target, struct route_result *r)
{
	size_t k = 0, n = r->naddr;

	for (size_t i = 0; i < n; i++)
		if (!is_own_listener(cfg, &r->addrs[i]))
			r->addrs[k++] = r->addrs[i];
	r->naddr = k;
	if (k == 0 && n > 0) {
		r->status = ROUTE_PERM;
		snprintf(r->reply, sizeof(r->reply), "554 5.4.6 %.300s: mail loops back to myself",
		         target);
	}
}

static void routed_cb(void *arg, struct route_result *r)
{
	struct sconn *c = arg;

	c->rq = NULL;
	if (r->status == ROUTE_OK)
		drop_own_addresses(c->e->cfg, c->d->target, r);
	if (r->status != ROUTE_OK) {
		int code = reply_code(r->reply);
		if (code / 100 == 4)
			/* DNS trouble: every job of the destination waits. */
			dest_down(c->d, r->reply);
		job_abort(c, code, r->reply);
		route_result_free(r);
		conn_finish(c);
		return;
	}
	c->route = r;
	c->ai = 0;
	try_address(c);
}

/* A connection of no route: an LMTP server on a unix socket fails once. */
static void unix_ready_cb(void *arg, struct smtpc *sc, int code, const char *reply)
{
	struct sconn *c = arg;

	if (code / 100 == 2) {
		ready_cb(arg, sc, code, reply);
		return;
	}
	dest_down(c->d, reply);
	job_abort(c, code / 100 == 5 ? 451 : code, reply);
	conn_finish(c);
}

void deliver_smtp_start(struct dest *d, struct job *j)
{
	struct engine *e = d->e;
	struct sconn *c;

	/* An idle connection the server has closed meanwhile is dropped. */
	while ((c = d->idle) != NULL) {
		d->idle = c->next_idle;
		evtimer_del(c->idle_timer);
		if (smtpc_usable(c->c)) {
			send_job(c, j);
			return;
		}
		/* This one held no slot while idle: conn_free, not finish. */
		conn_free(c);
	}
	c = xcalloc(1, sizeof(*c));
	c->e = e;
	c->d = d;
	c->job = j;
	conn_link(c);
	if (d->kind == DEST_LMTP && strncmp(d->target, "unix:", 5) == 0) {
		struct smtpc_params p;
		open_params(c, &p);
		p.unix_path = d->target + 5;
		p.peer_name = d->target;
		smtpc_open(&p, unix_ready_cb, c);
		return;
	}
	if (d->kind == DEST_LMTP && d->target[0] != '[') {
		/* An LMTP server is never looked up by MX: "host:port" is
		 * "[host]:port" to the router. */
		char spec[300];
		const char *colon = strrchr(d->target, ':');
		if (colon)
			snprintf(spec, sizeof(spec), "[%.*s]%s", (int)(colon - d->target),
			         d->target, colon);
		else
			snprintf(spec, sizeof(spec), "[%s]", d->target);
		c->rq = route_lookup(e->base, e->dns, spec, 1, LMTP_DEFAULT_PORT, ROUTE_IPV4_IPV6,
		                     routed_cb, c);
		return;
	}
	c->rq = route_lookup(e->base, e->dns, d->target, d->kind == DEST_RELAY,
	                     (uint16_t)e->cfg->smtp_port, ROUTE_IPV4_IPV6, routed_cb, c);
}

void deliver_smtp_close_idle(struct dest *d)
{
	while (d->idle) {
		struct sconn *c = d->idle;
		d->idle = c->next_idle;
		conn_free(c);
	}
}

void deliver_smtp_shutdown(struct engine *e)
{
	struct sconn *c = e->conns;

	while (c) {
		struct sconn *next = c->next_all;
		if (c->job) {
			/* Not idle: its job goes with it. */
			free(c->job->r);
			free(c->job);
			c->job = NULL;
			conn_free(c);
		}
		c = next;
	}
}
