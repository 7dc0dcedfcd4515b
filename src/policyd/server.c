/* The policy service's connections and checks: reads requests, answers
 * what needs no lookup at once, shares one check among every request of a
 * message, and writes the replies in order. */
#include "policyd/server.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "policy/sender.h"
#include "policyd/action.h"
#include "policyd/cache.h"
#include "policyd/request.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Input kept per connection: room for a few pipelined requests; reading
 * stops while it is full (a client that sends faster than it reads). */
#define CONN_IN_MAX (4 * POLICYD_REQUEST_MAX)
/* Bytes asked of one read(): a request from Postfix is about 600. */
#define CONN_READ 8192
/* Replies not yet taken by the client: past this no request is read. */
#define CONN_OUT_HIGH 65536
#define CONN_OUT_MAX (CONN_OUT_HIGH + 8192)
/* RFC 5321 4.5.3.1: a domain is at most 255 octets, a path (brackets
 * included) 256; the checks work on nothing longer. */
#define HELO_MAX 255
#define SENDER_MAX 254

struct policyd_conn {
	struct policyd_server *srv;
	int fd;
	unsigned long id;
	char peer[64];
	struct event *rev, *wev;
	int reading; /* rev is added */
	struct buf in, out;
	struct policyd_entry *waiting; /* the verdict awaited, or NULL */
	struct policyd_conn *wnext, *wprev;
	struct policyd_conn *next, *prev;
	int busy; /* inside conn_process: freed by it, not by a callee */
	int dead;
};

/* A check in progress, for one cache entry. */
struct policyd_job {
	struct policyd_server *srv;
	struct policyd_entry *entry;
	int detached; /* the entry is in no cache (a request without instance=) */
	struct sender_check *check;
	unsigned long conn_id;
	char *ip, *helo, *sender, *instance, *queue_id;
	struct policyd_job *next, *prev;
};

struct policyd_server {
	const struct config *cfg;
	struct event_base *base;
	struct sender_conf *sconf;
	struct sender_env env;
	struct policyd_cache *cache;
	struct policyd_conn *conns;
	size_t nconns;
	unsigned long next_id;
	struct policyd_job *jobs;
	struct buf scratch, field, logline;
	struct policyd_request req; /* the request being handled */
};

static void conn_process(struct policyd_conn *c);

/* ---- connections ------------------------------------------------------- */

static void conn_unwait(struct policyd_conn *c)
{
	struct policyd_entry *e = c->waiting;

	if (e == NULL)
		return;
	if (c->wprev)
		c->wprev->wnext = c->wnext;
	else
		e->waiters = c->wnext;
	if (c->wnext)
		c->wnext->wprev = c->wprev;
	c->wnext = c->wprev = NULL;
	c->waiting = NULL;
}

static void conn_wait(struct policyd_conn *c, struct policyd_entry *e)
{
	c->waiting = e;
	c->wprev = NULL;
	c->wnext = e->waiters;
	if (e->waiters)
		e->waiters->wprev = c;
	e->waiters = c;
}

static void conn_free(struct policyd_conn *c)
{
	struct policyd_server *srv = c->srv;

	conn_unwait(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

/* Sends what the replies so far add up to; the rest waits for EV_WRITE. */
static void conn_flush(struct policyd_conn *c)
{
	while (c->out.len > 0 && !c->dead) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(c->wev, NULL);
			return;
		}
		c->dead = 1; /* the client went away */
	}
}

static void conn_reply(struct policyd_conn *c, const char *line)
{
	/* Never over CONN_OUT_MAX: conn_process stops reading requests at
	 * CONN_OUT_HIGH, and a reply is shorter than the difference. */
	if (buf_append_str(&c->out, line) < 0 || buf_append(&c->out, "\n\n", 2) < 0) {
		log_err("event=policyd_error conn=%lu peer=%s reason=reply_too_large", c->id,
		        c->peer);
		c->dead = 1;
	}
}

/* The reply for one recipient from a finished verdict: a refusal for
 * every recipient, the PREPEND for the first one only.
 *
 * Why the first RCPT: Postfix asks once per recipient and nothing in a
 * request says which recipient is the last.  PREPEND cannot be given at
 * END-OF-MESSAGE (access(5): it must execute before the message content
 * is received), and answering at DATA would need a second
 * check_policy_service in smtpd_data_restrictions that administrators
 * forget.  A PREPEND given at RCPT belongs to the message, and Postfix
 * keeps it even when that recipient is refused later by another
 * restriction, so one PREPEND per instance= is one field per message. */
static void conn_answer(struct policyd_conn *c, struct policyd_entry *e, int detached)
{
	if (e->reply != NULL) {
		conn_reply(c, e->reply);
	} else if (e->prepend != NULL && (detached || !e->prepended)) {
		e->prepended = 1;
		conn_reply(c, e->prepend);
	} else {
		conn_reply(c, POLICYD_DUNNO);
	}
}

static void conn_update_read(struct policyd_conn *c)
{
	int want = !c->dead && c->in.len < c->in.max;

	if (want && !c->reading)
		event_add(c->rev, NULL);
	else if (!want && c->reading)
		event_del(c->rev);
	c->reading = want;
}

/* ---- checks ------------------------------------------------------------ */

static void job_free(struct policyd_job *j)
{
	struct policyd_server *srv = j->srv;

	if (j->prev)
		j->prev->next = j->next;
	else
		srv->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	free(j->ip);
	free(j->helo);
	free(j->sender);
	free(j->instance);
	free(j->queue_id);
	free(j);
}

/* The verdict of j's check, as the replies it leads to, and its log line. */
static void job_verdict(struct policyd_job *j)
{
	struct policyd_server *srv = j->srv;
	struct policyd_entry *e = j->entry;
	struct verdict_reply rep;
	enum policy_action a = sender_check_decide(j->check, &rep);
	const struct verdict *v = sender_check_verdict(j->check);
	const char *what = "dunno";
	char b1[LOG_VALUE_SIZE(64)], b2[LOG_VALUE_SIZE(64)], b3[LOG_VALUE_SIZE(64)];
	char b4[LOG_VALUE_SIZE(HELO_MAX)], b5[LOG_VALUE_SIZE(SENDER_MAX)];

	buf_reset(&srv->scratch);
	if (a == PA_REJECT || a == PA_TEMPFAIL) {
		if (policyd_action_refuse(a, &rep, &srv->scratch) == 0) {
			e->reply = xstrdup(srv->scratch.data);
			what = a == PA_REJECT ? "reject" : "tempfail";
		}
	} else if (v->tags[0] != '\0' || v->score > 0) {
		buf_reset(&srv->field);
		if (sender_check_authres(j->check, NULL, NULL, &srv->field) == 0 &&
		    policyd_action_prepend(srv->field.data, srv->field.len, &srv->scratch) == 0) {
			e->prepend = xstrdup(srv->scratch.data);
			what = "prepend";
		} else {
			log_warn("event=policyd_authres_full conn=%lu client=%s", j->conn_id,
			         j->ip);
		}
	}
	if (e->reply == NULL && e->prepend == NULL && (a == PA_REJECT || a == PA_TEMPFAIL)) {
		/* Never a silent acceptance of what the policy refuses. */
		e->reply = xstrdup("action=451 4.3.0 Temporary policy service problem");
		what = "tempfail";
	}
	buf_reset(&srv->logline);
	sender_check_log(j->check, &srv->logline);
	log_info("event=policyd_check conn=%lu instance=%s queue_id=%s client=%s helo_name=%s "
	         "sender=%s action=%s code=%d %s",
	         j->conn_id, log_value(b1, sizeof(b1), j->instance),
	         log_value(b2, sizeof(b2), j->queue_id), log_value(b3, sizeof(b3), j->ip),
	         log_value(b4, sizeof(b4), j->helo), log_value(b5, sizeof(b5), j->sender), what,
	         a == PA_REJECT || a == PA_TEMPFAIL ? rep.code : 0, srv->logline.data);
}

/* Every result is in: the waiting connections get their replies, then go
 * on with the requests they have read meanwhile. */
static void job_done(void *arg)
{
	struct policyd_job *j = arg;
	struct policyd_server *srv = j->srv;
	struct policyd_entry *e = j->entry;
	struct policyd_conn *list, *c, *next;

	job_verdict(j);
	sender_check_free(j->check);
	j->check = NULL;
	/* Replies first, while the entry is still pending and so cannot be
	 * evicted by a request handled below. */
	list = e->waiters;
	e->waiters = NULL;
	for (c = list; c; c = c->wnext) {
		c->waiting = NULL;
		conn_answer(c, e, j->detached);
	}
	e->job = NULL;
	if (j->detached)
		policyd_entry_free(e);
	else
		policyd_cache_done(srv->cache, e, time(NULL));
	job_free(j);
	for (c = list; c; c = next) {
		next = c->wnext;
		c->wnext = c->wprev = NULL;
		if (!c->busy)
			conn_process(c);
	}
}

static void job_start(struct policyd_conn *c, struct policyd_entry *e, int detached,
                      const struct policyd_request *req)
{
	struct policyd_server *srv = c->srv;
	struct policyd_job *j = xcalloc(1, sizeof(*j));

	j->srv = srv;
	j->entry = e;
	j->detached = detached;
	j->conn_id = c->id;
	j->ip = xstrdup(req->client_address);
	j->helo = xstrdup(req->helo_name);
	j->sender = xstrdup(req->sender);
	j->instance = xstrdup(req->instance);
	j->queue_id = xstrdup(req->queue_id);
	j->next = srv->jobs;
	if (srv->jobs)
		srv->jobs->prev = j;
	srv->jobs = j;
	e->job = j;
	conn_wait(c, e);

	j->check = sender_check_new(&srv->env, j->ip);
	sender_check_helo(j->check, j->helo);
	/* "" is the null reverse-path (RFC 5321 4.5.5). */
	sender_check_mail(j->check, j->sender);
	if (sender_check_wait(j->check, job_done, j) == 0)
		job_done(j);
}

/* ---- requests ---------------------------------------------------------- */

/* The message's key: every request of one message carries the same
 * instance=, and the verdict depends on the client, HELO and sender. */
static size_t make_key(const struct policyd_request *req, char *key, size_t size)
{
	int n = snprintf(key, size, "%s%c%s%c%s%c%s", req->instance, 0, req->client_address, 0,
	                 req->helo_name, 0, req->sender);
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

static void handle_request(struct policyd_conn *c, const struct policyd_request *req)
{
	struct policyd_server *srv = c->srv;
	char key[4 * POLICYD_VALUE_MAX + 4];
	struct policyd_entry *e;
	size_t keylen;
	time_t now;

	/* Verdicts are given at RCPT, where postmaster and abuse can still be
	 * let through (RFC 5321 4.5.1, RFC 2142); every other state (CONNECT,
	 * HELO, MAIL with smtpd_delay_reject=no, DATA, END-OF-MESSAGE, VRFY,
	 * ETRN) gets no opinion. */
	if (strcmp(req->protocol_state, "RCPT") != 0 || req->client_address[0] == '\0' ||
	    sender_recipient_exempt(srv->cfg, req->recipient, 1) ||
	    sender_exempt(&srv->env, req->client_address, req->sasl_username[0] != '\0') !=
	        SENDER_CHECKED) {
		conn_reply(c, POLICYD_DUNNO);
		return;
	}
	/* Longer than any valid one: the checks would see a truncated name. */
	if (strlen(req->helo_name) > HELO_MAX) {
		conn_reply(c, "action=550 5.5.2 HELO name too long");
		return;
	}
	if (strlen(req->sender) > SENDER_MAX) {
		conn_reply(c, "action=550 5.1.7 Sender address too long");
		return;
	}
	if (req->instance[0] == '\0') {
		/* Nothing tells this message's requests apart from the next
		 * message's: checked every time. */
		job_start(c, policyd_entry_new(), 1, req);
		return;
	}
	keylen = make_key(req, key, sizeof(key));
	now = time(NULL);
	e = policyd_cache_get(srv->cache, key, keylen, now);
	if (e != NULL && e->pending) {
		conn_wait(c, e);
		return;
	}
	if (e != NULL) {
		conn_answer(c, e, 0);
		return;
	}
	job_start(c, policyd_cache_put(srv->cache, key, keylen, now), 0, req);
}

/* Handles every whole request read so far, in order, one at a time: a
 * request that waits for its check holds back the ones behind it. */
static void conn_process(struct policyd_conn *c)
{
	struct policyd_server *srv = c->srv;

	size_t off = 0;

	c->busy++;
	while (!c->dead && c->waiting == NULL && c->out.len < CONN_OUT_HIGH && off < c->in.len) {
		size_t used;
		enum policyd_status st =
		    policyd_request_parse(c->in.data + off, c->in.len - off, &srv->req, &used);
		if (st == POLICYD_INCOMPLETE)
			break;
		if (st != POLICYD_OK) {
			/* SMTPD_POLICY_README: "In case of trouble the policy
			 * server must not send a reply. Instead the server must
			 * log a warning and disconnect." */
			log_err("event=policyd_error conn=%lu peer=%s reason=%s", c->id, c->peer,
			        policyd_status_name(st));
			c->dead = 1;
			break;
		}
		/* The request is a copy: its bytes can go. */
		off += used;
		handle_request(c, &srv->req);
	}
	buf_consume(&c->in, off);
	conn_flush(c);
	c->busy--;
	if (c->dead && c->busy == 0) {
		conn_free(c);
		return;
	}
	conn_update_read(c);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_conn *c = arg;
	size_t room = c->in.max - c->in.len;
	char *p;
	ssize_t n;

	if (room == 0) {
		conn_update_read(c);
		return;
	}
	if (room > CONN_READ)
		room = CONN_READ;
	p = buf_space(&c->in, room);
	n = read(c->fd, p, room);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* Postfix closes idle connections (smtpd_policy_service_max_idle). */
		if (n < 0)
			log_warn("event=policyd_read_error conn=%lu peer=%s error=\"%s\"", c->id,
			         c->peer, strerror(errno));
		c->dead = 1;
		if (c->busy == 0)
			conn_free(c);
		return;
	}
	buf_advance(&c->in, (size_t)n);
	if (!c->busy)
		conn_process(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_conn *c = arg;
	size_t before = c->out.len;

	conn_flush(c);
	if (c->dead) {
		if (c->busy == 0)
			conn_free(c);
		return;
	}
	/* Room again for replies: go on with the requests held back. */
	if (before >= CONN_OUT_HIGH && c->out.len < CONN_OUT_HIGH && !c->busy)
		conn_process(c);
}

void policyd_server_attach(struct policyd_server *srv, int fd, const char *peer)
{
	struct policyd_conn *c = xcalloc(1, sizeof(*c));
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	c->srv = srv;
	c->fd = fd;
	c->id = ++srv->next_id;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	buf_init(&c->in, CONN_IN_MAX);
	buf_init(&c->out, CONN_OUT_MAX);
	c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(srv->base, fd, EV_WRITE, conn_write_cb, c);
	if (c->rev == NULL || c->wev == NULL)
		fatal("policyd: cannot create events");
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	conn_update_read(c);
}

size_t policyd_server_connections(const struct policyd_server *srv)
{
	return srv->nconns;
}

struct policyd_server *policyd_server_new(const struct config *cfg, struct event_base *base,
                                          struct dns_resolver *dns, char *err, size_t errsize)
{
	struct policyd_server *srv = xcalloc(1, sizeof(*srv));

	srv->sconf = sender_conf_new(cfg, err, errsize);
	if (srv->sconf == NULL) {
		free(srv);
		return NULL;
	}
	srv->cfg = cfg;
	srv->base = base;
	srv->env = (struct sender_env){.cfg = cfg, .conf = srv->sconf, .base = base, .dns = dns};
	srv->cache = policyd_cache_new(POLICYD_CACHE_ENTRIES, POLICYD_CACHE_TTL);
	buf_init(&srv->scratch, 16384);
	buf_init(&srv->field, 16384);
	buf_init(&srv->logline, 16384);
	return srv;
}

void policyd_server_free(struct policyd_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->conns)
		conn_free(srv->conns);
	while (srv->jobs) {
		struct policyd_job *j = srv->jobs;
		sender_check_free(j->check);
		if (j->detached)
			policyd_entry_free(j->entry);
		else
			j->entry->job = NULL;
		job_free(j);
	}
	policyd_cache_free(srv->cache);
	sender_conf_free(srv->sconf);
	buf_free(&srv->scratch);
	buf_free(&srv->field);
	buf_free(&srv->logline);
	free(srv);
}
