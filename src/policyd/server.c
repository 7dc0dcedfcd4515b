/* The policy service's connections and checks: reads requests, answers
 * what needs no lookup at once, shares one check among every request of a
 * message (and, for policyd_cache_seconds, with the other messages of the
 * same client, HELO name and sender, whether they come while it runs or
 * after), and writes the replies in order. */
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
struct policyd_conn {
	struct policyd_server *srv;
	int fd;
	unsigned long id;
	char peer[64];
	struct event *rev, *wev;
	int reading; /* rev is added */
	struct buf in, out;
	struct policyd_verdict *waiting; /* the verdict awaited, or NULL */
	struct policyd_entry *message;   /* while waiting: the message's entry, or NULL */
	struct policyd_conn *wnext, *wprev;
	struct policyd_conn *next, *prev;
	int dead;
};

/* A message that came while another message's check of the same client,
 * HELO name and sender was running, and waits for that check instead of
 * making its own: its entry, and what its log line names. */
struct policyd_reuse {
	struct policyd_reuse *next;
	struct policyd_entry *message; /* in srv->messages, or NULL (no instance=) */
	unsigned long conn_id;
	const char *instance, *queue_id;
	char text[];
};

/* A check in progress.  Its entries cannot be evicted while the verdict
 * is pending. */
struct policyd_job {
	struct policyd_server *srv;
	struct policyd_verdict *verdict; /* one reference */
	struct policyd_entry *message;   /* in srv->messages, or NULL (no instance=) */
	struct policyd_entry *shared;    /* in srv->checks, or NULL */
	struct sender_check *check;
	unsigned long conn_id;
	/* The request's attributes the check and its log line use, in text. */
	const char *ip, *helo, *sender, *instance, *queue_id;
	/* The other messages waiting for it, in the order they came. */
	struct policyd_reuse *reuses, **reuses_tail;
	struct policyd_job *next, *prev;
	char text[];
};

struct policyd_server {
	const struct config *cfg;
	struct event_base *base;
	struct sender_conf *sconf;
	struct sender_env env;
	/* Verdicts by message (instance=, client, HELO name, sender), and by
	 * client, HELO name and sender for the next messages (NULL when
	 * policyd_cache_seconds is 0). */
	struct policyd_cache *messages, *checks;
	struct policyd_conn *conns;
	size_t nconns;
	unsigned long next_id;
	unsigned long nchecks;
	struct policyd_job *jobs;
	struct buf scratch, field, logline;
	struct policyd_request req; /* the request being handled */
};

static void conn_process(struct policyd_conn *c);

/* ---- connections ------------------------------------------------------- */

static void conn_unwait(struct policyd_conn *c)
{
	struct policyd_verdict *v = c->waiting;

	if (v == NULL)
		return;
	if (c->wprev)
		c->wprev->wnext = c->wnext;
	else
		v->waiters = c->wnext;
	if (c->wnext)
		c->wnext->wprev = c->wprev;
	c->wnext = c->wprev = NULL;
	c->waiting = NULL;
	c->message = NULL;
}

/* c's request waits for v, for the message of entry e (NULL: a request
 * without instance=, a message of its own). */
static void conn_wait(struct policyd_conn *c, struct policyd_verdict *v, struct policyd_entry *e)
{
	c->waiting = v;
	c->message = e;
	c->wprev = NULL;
	c->wnext = v->waiters;
	if (v->waiters)
		v->waiters->wprev = c;
	v->waiters = c;
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

/* The reply for one recipient from a finished verdict, for the message of
 * entry e (NULL: a request without instance=, a message of its own): a
 * refusal for every recipient, the PREPEND for the first one only.
 *
 * Why the first RCPT: Postfix asks once per recipient and nothing in a
 * request says which recipient is the last.  PREPEND cannot be given at
 * END-OF-MESSAGE (access(5): it must execute before the message content
 * is received), and answering at DATA would need a second
 * check_policy_service in smtpd_data_restrictions that administrators
 * forget.  A PREPEND given at RCPT belongs to the message, and Postfix
 * keeps it even when that recipient is refused later by another
 * restriction, so one PREPEND per instance= is one field per message. */
static void conn_answer(struct policyd_conn *c, const struct policyd_verdict *v,
                        struct policyd_entry *e)
{
	if (v->reply != NULL) {
		conn_reply(c, v->reply);
	} else if (v->prepend != NULL && (e == NULL || !e->prepended)) {
		if (e != NULL)
			e->prepended = 1;
		conn_reply(c, v->prepend);
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
	while (j->reuses != NULL) {
		struct policyd_reuse *r = j->reuses;
		j->reuses = r->next;
		free(r);
	}
	policyd_verdict_drop(j->verdict);
	free(j);
}

/* The log line of a message: its own check's (event=policyd_check), or
 * one that reuses another message's (event=policyd_reuse). */
static void log_message(const char *event, unsigned long conn_id, const char *instance,
                        const char *queue_id, const char *ip, const char *helo, const char *sender,
                        const struct policyd_verdict *v, const char *fields)
{
	char b1[LOG_VALUE_SIZE(64)], b2[LOG_VALUE_SIZE(64)], b3[LOG_VALUE_SIZE(64)];
	char b4[LOG_VALUE_SIZE(SENDER_HELO_MAX)], b5[LOG_VALUE_SIZE(SENDER_ADDR_MAX)];

	log_info("event=%s conn=%lu instance=%s queue_id=%s client=%s helo_name=%s "
	         "sender=%s action=%s code=%d %s",
	         event, conn_id, log_value(b1, sizeof(b1), instance),
	         log_value(b2, sizeof(b2), queue_id), log_value(b3, sizeof(b3), ip),
	         log_value(b4, sizeof(b4), helo), log_value(b5, sizeof(b5), sender), v->what,
	         v->code, fields);
}

/* The verdict of j's check, as the replies it leads to, and its log line. */
static void job_verdict(struct policyd_job *j)
{
	struct policyd_server *srv = j->srv;
	struct policyd_verdict *v = j->verdict;
	struct verdict_reply rep;
	enum policy_action a = sender_check_decide(j->check, &rep);
	const struct verdict *sv = sender_check_verdict(j->check);

	v->what = "dunno";
	buf_reset(&srv->scratch);
	if (a == PA_REJECT || a == PA_TEMPFAIL) {
		/* verdict_decide's 550 or 451, an enhanced code and at most 640
		 * bytes of text: scratch has room. */
		policyd_action_refuse(&rep, &srv->scratch);
		v->reply = xstrdup(srv->scratch.data);
		v->what = a == PA_REJECT ? "reject" : "tempfail";
		v->code = rep.code;
	} else if (sv->tags[0] != '\0' || sv->score > 0) {
		buf_reset(&srv->field);
		if (sender_check_authres(j->check, &srv->field) == 0 &&
		    policyd_action_prepend(srv->field.data, srv->field.len, &srv->scratch) == 0) {
			v->prepend = xstrdup(srv->scratch.data);
			v->what = "prepend";
		} else {
			log_warn("event=policyd_authres_full conn=%lu client=%s", j->conn_id,
			         j->ip);
		}
	}
	v->reusable = a != PA_TEMPFAIL && !sender_check_temporary(j->check);
	buf_reset(&srv->logline);
	sender_check_log(j->check, &srv->logline);
	if (v->reusable && j->shared != NULL)
		v->log = xstrdup(srv->logline.data);
	log_message("policyd_check", j->conn_id, j->instance, j->queue_id, j->ip, j->helo,
	            j->sender, v, srv->logline.data);
	/* The messages that waited for it have it too, even a verdict no
	 * message after them may have. */
	for (const struct policyd_reuse *r = j->reuses; r; r = r->next)
		log_message("policyd_reuse", r->conn_id, r->instance, r->queue_id, j->ip, j->helo,
		            j->sender, v, srv->logline.data);
}

/* Every result is in: the waiting connections get their replies, then go
 * on with the requests they have read meanwhile. */
static void job_done(void *arg)
{
	struct policyd_job *j = arg;
	struct policyd_server *srv = j->srv;
	struct policyd_verdict *v = j->verdict;
	struct policyd_conn *list, *c, *next;
	time_t now = time(NULL);

	job_verdict(j);
	sender_check_free(j->check);
	j->check = NULL;
	/* Replies first, while the verdict is still pending and so its
	 * entries cannot be evicted by a request handled below. */
	list = v->waiters;
	v->waiters = NULL;
	for (c = list; c; c = c->wnext) {
		c->waiting = NULL;
		conn_answer(c, v, c->message);
		c->message = NULL;
	}
	v->job = NULL;
	v->pending = 0;
	if (j->message != NULL)
		policyd_cache_done(srv->messages, j->message, now);
	for (const struct policyd_reuse *r = j->reuses; r; r = r->next)
		if (r->message != NULL)
			policyd_cache_done(srv->messages, r->message, now);
	if (j->shared != NULL && v->reusable)
		policyd_cache_done(srv->checks, j->shared, now);
	else if (j->shared != NULL)
		policyd_cache_remove(srv->checks, j->shared); /* to be checked again */
	job_free(j);
	for (c = list; c; c = next) {
		next = c->wnext;
		c->wnext = c->wprev = NULL;
		conn_process(c);
	}
}

static void job_checked(void *arg, struct sender_check *c)
{
	job_done(arg);
}

/* Copies s to *p and moves *p past its NUL. */
static const char *copy_string(char **p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = memcpy(*p, s, n);

	*p += n;
	return copy;
}

/* Checks the client, HELO name and sender of req for v (pending), the
 * verdict of message entry e (NULL: a request without instance=) and of
 * shared, its entry in srv->checks (or NULL); c waits for it. */
static void job_start(struct policyd_conn *c, struct policyd_verdict *v, struct policyd_entry *e,
                      struct policyd_entry *shared, const struct policyd_request *req)
{
	struct policyd_server *srv = c->srv;
	size_t size = strlen(req->client_address) + strlen(req->helo_name) + strlen(req->sender) +
	              strlen(req->instance) + strlen(req->queue_id) + 5;
	/* One allocation: the job and its strings. */
	struct policyd_job *j = xcalloc(1, sizeof(*j) + size);
	char *p = j->text;

	j->ip = copy_string(&p, req->client_address);
	j->helo = copy_string(&p, req->helo_name);
	j->sender = copy_string(&p, req->sender);
	j->instance = copy_string(&p, req->instance);
	j->queue_id = copy_string(&p, req->queue_id);
	j->srv = srv;
	j->verdict = v;
	policyd_verdict_hold(v);
	j->message = e;
	j->shared = shared;
	j->conn_id = c->id;
	j->reuses_tail = &j->reuses;
	j->next = srv->jobs;
	if (srv->jobs)
		srv->jobs->prev = j;
	srv->jobs = j;
	v->job = j;
	srv->nchecks++;
	conn_wait(c, v, e);

	/* "" is the null reverse-path (RFC 5321 4.5.5).  The answer always
	 * comes from the event loop, never from inside this call. */
	const struct sender_input in = {.ip = j->ip, .helo = j->helo, .mail_from = j->sender};
	j->check = sender_check_run(&srv->env, &in, job_checked, j);
}

/* c's request starts a message (of entry e, or NULL without instance=)
 * with the client, HELO name and sender of j's check, still running: the
 * message waits for it, and is logged as a reuse when it ends. */
static void job_reuse(struct policyd_conn *c, struct policyd_job *j, struct policyd_entry *e,
                      const struct policyd_request *req)
{
	struct policyd_reuse *r =
	    xcalloc(1, sizeof(*r) + strlen(req->instance) + strlen(req->queue_id) + 2);
	char *p = r->text;

	r->instance = copy_string(&p, req->instance);
	r->queue_id = copy_string(&p, req->queue_id);
	r->message = e;
	r->conn_id = c->id;
	*j->reuses_tail = r;
	j->reuses_tail = &r->next;
	conn_wait(c, j->verdict, e);
}

/* ---- requests ---------------------------------------------------------- */

/* The keys of the verdicts at key (room for four values of at most
 * POLICYD_VALUE_MAX bytes and their NULs): instance=, which every request
 * of one message carries, then the client, HELO name and sender, on which
 * the checks depend.  The key by message is the whole, of the length
 * returned; the key by client, HELO name and sender starts at
 * *shared_off. */
static size_t make_key(const struct policyd_request *req, char *key, size_t *shared_off)
{
	const char *const parts[] = {req->instance, req->client_address, req->helo_name,
	                             req->sender};
	size_t len = 0;

	for (size_t i = 0; i < 4; i++) {
		size_t n = strlen(parts[i]) + 1;
		memcpy(key + len, parts[i], n);
		len += n;
		if (i == 0)
			*shared_off = len;
	}
	/* The last NUL is not part of the key. */
	return len - 1;
}

static void handle_request(struct policyd_conn *c, const struct policyd_request *req)
{
	struct policyd_server *srv = c->srv;
	char key[4 * (POLICYD_VALUE_MAX + 1)];
	struct policyd_entry *e = NULL, *shared = NULL;
	struct policyd_verdict *v;
	size_t keylen, off = 0;
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
	if (strlen(req->helo_name) > SENDER_HELO_MAX) {
		conn_reply(c, "action=550 5.5.2 HELO name too long");
		return;
	}
	if (strlen(req->sender) > SENDER_ADDR_MAX) {
		conn_reply(c, "action=550 5.1.7 Sender address too long");
		return;
	}
	keylen = make_key(req, key, &off);
	now = time(NULL);
	/* Another request of a message already seen.  Without instance=
	 * nothing tells this message's requests apart from the next
	 * message's: each is a message of its own. */
	if (req->instance[0] != '\0') {
		e = policyd_cache_get(srv->messages, key, keylen, now);
		if (e != NULL && e->verdict->pending) {
			conn_wait(c, e->verdict, e);
			return;
		}
		if (e != NULL) {
			conn_answer(c, e->verdict, e);
			return;
		}
	}
	/* A new message: the check of another message of the same client,
	 * HELO name and sender (finished, or still running: then this one
	 * waits for it), or a check of its own. */
	if (srv->checks != NULL) {
		shared = policyd_cache_get(srv->checks, key + off, keylen - off, now);
		if (shared != NULL) {
			v = shared->verdict; /* held by shared, which no put below evicts */
			if (req->instance[0] != '\0')
				e = policyd_cache_put(srv->messages, key, keylen, v, now);
			if (v->pending) {
				job_reuse(c, v->job, e, req);
				return;
			}
			conn_answer(c, v, e);
			log_message("policyd_reuse", c->id, req->instance, req->queue_id,
			            req->client_address, req->helo_name, req->sender, v, v->log);
			return;
		}
	}
	v = policyd_verdict_new();
	if (req->instance[0] != '\0')
		e = policyd_cache_put(srv->messages, key, keylen, v, now);
	if (srv->checks != NULL)
		shared = policyd_cache_put(srv->checks, key + off, keylen - off, v, now);
	job_start(c, v, e, shared, req);
	policyd_verdict_drop(v);
}

/* Handles every whole request read so far, in order, one at a time: a
 * request that waits for its check holds back the ones behind it. */
static void conn_process(struct policyd_conn *c)
{
	struct policyd_server *srv = c->srv;

	size_t off = 0;

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
	if (c->dead) {
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
		conn_free(c);
		return;
	}
	buf_advance(&c->in, (size_t)n);
	conn_process(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_conn *c = arg;
	size_t before = c->out.len;

	conn_flush(c);
	if (c->dead) {
		conn_free(c);
		return;
	}
	/* Room again for replies: go on with the requests held back. */
	if (before >= CONN_OUT_HIGH && c->out.len < CONN_OUT_HIGH)
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

unsigned long policyd_server_checks(const struct policyd_server *srv)
{
	return srv->nchecks;
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
	srv->messages = policyd_cache_new(POLICYD_CACHE_ENTRIES, POLICYD_CACHE_TTL);
	if (cfg->policyd_cache_seconds > 0)
		srv->checks =
		    policyd_cache_new(POLICYD_CACHE_ENTRIES, (unsigned)cfg->policyd_cache_seconds);
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
		j->verdict->job = NULL;
		job_free(j);
	}
	policyd_cache_free(srv->messages);
	policyd_cache_free(srv->checks);
	sender_conf_free(srv->sconf);
	buf_free(&srv->scratch);
	buf_free(&srv->field);
	buf_free(&srv->logline);
	free(srv);
}
