/* The queue manager: one libevent loop that finds due recipients, hands
 * them to their destinations as jobs, and records the outcomes.  Every
 * SQLite call runs on one database thread (qstore), Maildir writes on a
 * file pool, network I/O on the loop: nothing blocks the loop.
 *
 * A message is in memory from its load until the outcomes of all its
 * picked recipients are committed; the scans skip it meanwhile, so no
 * recipient is delivered twice at once.  Delivery is at least once: an
 * outcome that is not committed (crash, failed transaction) leaves the
 * recipient due. */
#include "queue/qmgr.h"
#include "queue/bounce.h"
#include "queue/dest.h"
#include "queue/engine.h"
#include "queue/qstore.h"
#include "queue/queue_db.h"
#include "queue/smtpc.h"
#include "queue/spool.h"
#include "queue/sweep.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "dns/dns.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Due recipients read per scan. */
#define QMGR_SCAN_MAX 512
/* Messages in memory at once, and their bytes: bounds the engine's memory
 * whatever the queue holds. */
#define QMGR_MSGS_MAX 2000
#define QMGR_BYTES_MAX (256u * 1024 * 1024)
/* Recipients of one message sent in one SMTP transaction (Postfix's
 * smtp_destination_recipient_limit). */
#define QMGR_JOB_RCPTS 50
#define QMGR_INFLIGHT_BUCKETS 4096
/* Retries become due on their own: look for them this often. */
#define QMGR_TICK_MS 1000
/* How often orphaned body files and idle destinations are looked for. */
#define QMGR_SWEEP_INTERVAL 3600
#define QMGR_EXPIRE_INTERVAL 60
/* "<address>" as logged: a path (RFC 5321 4.5.3.1.3) with room to spare. */
#define QMGR_LOG_PATH_MAX 512

struct scan_job {
	struct qmgr *q;
	time_t now;
	char after[ID_LEN + 1];
	struct qstore_row *rows;
	long n;
};

struct load_job {
	struct qmgr *q;
	struct qstore_row *rows; /* owned: freed after dispatch */
	size_t nrows;
	char (*ids)[ID_LEN + 1];
	struct qstore_msg *msgs;
	int *rc;
	size_t nmsgs;
};

struct flush_job {
	struct qmgr *q;
	struct qstore_outcome *out;
	size_t nout;
	struct qmsg *msgs; /* to forget once recorded */
	int rc;
};

struct qmgr {
	struct engine e;
	volatile sig_atomic_t *stop;
	struct qstore *store;
	struct pool *db;     /* one thread: every SQLite call */
	struct spool *spool; /* DSNs we make */
	struct event *tick, *notify_ev, *kick_ev;
	int notify_fd;
	/* scanning */
	int scanning;
	int rescan; /* asked for while a scan ran */
	char after[ID_LEN + 1];
	/* in memory */
	struct qmsg *inflight[QMGR_INFLIGHT_BUCKETS];
	size_t nmsgs;
	size_t bytes;
	/* outcomes waiting for the database */
	struct qstore_outcome *out;
	size_t nout, outcap;
	struct qmsg *done_msgs; /* their messages */
	int flushing;
	long flush_pause_ms; /* after a failed record: the wait before the next try */
	struct event *flush_retry_ev;
	time_t last_sweep, last_expire;
};

static struct qmgr *engine_qmgr(struct engine *e)
{
	return (struct qmgr *)e;
}

static void kick(struct qmgr *q)
{
	event_active(q->kick_ev, 0, 0);
}

static void scan(struct qmgr *q);
static void flush(struct qmgr *q);

/* ---- in-flight messages ---- */

static size_t inflight_bucket(const char *id)
{
	return hash_fnv1a_str(HASH_FNV1A_SEED, id) % QMGR_INFLIGHT_BUCKETS;
}

static int inflight_has(struct qmgr *q, const char *id)
{
	for (struct qmsg *m = q->inflight[inflight_bucket(id)]; m; m = m->next)
		if (strcmp(m->id, id) == 0)
			return 1;
	return 0;
}

static void inflight_add(struct qmgr *q, struct qmsg *m)
{
	size_t b = inflight_bucket(m->id);
	m->next = q->inflight[b];
	q->inflight[b] = m;
	q->nmsgs++;
	q->bytes += m->len;
}

static void qmsg_free(struct qmsg *m)
{
	for (size_t i = 0; i < m->nrcpt; i++) {
		free(m->rcpts[i].addr);
		free(m->rcpts[i].orcpt);
		free(m->rcpts[i].notify);
		free(m->rcpts[i].dsn_orcpt);
	}
	free(m->rcpts);
	free(m->sender);
	free(m->envid);
	free(m->ret);
	free(m->auth_user);
	free(m->client_ip);
	free(m->data);
	free(m);
}

static void inflight_forget(struct qmgr *q, struct qmsg *m)
{
	struct qmsg **pp = &q->inflight[inflight_bucket(m->id)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			q->nmsgs--;
			q->bytes -= m->len;
			qmsg_free(m);
			return;
		}
}

/* ---- outcomes ---- */

/* retry_min doubled per attempt, at most retry_max. */
static long backoff(const struct config *cfg, int attempts)
{
	long d = cfg->retry_min;

	for (int i = 1; i < attempts && d < cfg->retry_max; i++)
		d *= 2;
	return d < cfg->retry_max ? d : cfg->retry_max;
}

static void outcome_add(struct qmgr *q, const struct qmsg *m, const struct qrcpt *r,
                        const char *state, long long next)
{
	struct qstore_outcome *o;

	if (q->nout == q->outcap) {
		q->outcap = q->outcap ? q->outcap * 2 : 256;
		q->out = xrealloc(q->out, q->outcap * sizeof(*q->out));
	}
	o = &q->out[q->nout++];
	memset(o, 0, sizeof(*o));
	snprintf(o->msg_id, sizeof(o->msg_id), "%s", m->id);
	o->idx = r->idx;
	o->state = state;
	o->attempts = r->attempts + 1;
	o->next_attempt = next;
	o->last_attempt = q->e.now;
	o->delay_warned = r->delay_warned;
	o->reply = r->reply[0] ? xstrdup(r->reply) : NULL;
	o->remote = r->remote[0] ? xstrdup(r->remote) : NULL;
	o->tls = r->tls;
	o->body_in_file = m->body_in_file;
}

static void outcomes_free(struct qstore_outcome *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].reply);
		free(o[i].remote);
	}
	free(o);
}

/* Logs and stores the outcome of each picked recipient of m, after its
 * DSN (if any) is safely queued. */
static void msg_record(struct qmgr *q, struct qmsg *m)
{
	const struct config *cfg = q->e.cfg;
	double delay = (double)(q->e.now - m->arrival);

	for (size_t i = 0; i < m->nrcpt; i++) {
		struct qrcpt *r = &m->rcpts[i];
		/* The recipient came from a client and the reply from a peer:
		 * both are logged through log_value, so neither can forge a
		 * field or a line. */
		char path[QMGR_LOG_PATH_MAX], rcpt[LOG_VALUE_SIZE(QMGR_LOG_PATH_MAX)];
		char qr[LOG_VALUE_SIZE(ENGINE_REPLY_MAX)], relay[LOG_VALUE_SIZE(300)];
		char extra[96] = "";

		snprintf(path, sizeof(path), "<%s>", r->addr);
		log_value(rcpt, sizeof(rcpt), path);
		log_value(qr, sizeof(qr), r->reply);
		log_value(relay, sizeof(relay), r->remote[0] ? r->remote : "none");
		snprintf(extra, sizeof(extra), "%s%s%s%s", r->tls ? " tls=" : "",
		         r->tls ? r->tls : "", r->dsn_note ? " dsn=" : "",
		         r->dsn_note ? r->dsn_note : "");
		if (r->result == RCPT_DELIVERED) {
			outcome_add(q, m, r, QUEUE_STATE_DELIVERED, q->e.now);
			log_info(
			    "event=delivered queue_id=%s rcpt=%s method=%s relay=%s delay=%.0f%s "
			    "reply=%s",
			    m->id, rcpt, r->method, relay, delay, extra, qr);
		} else if (r->result == RCPT_TEMP && !r->expired) {
			long long next = q->e.now + backoff(cfg, r->attempts + 1);
			outcome_add(q, m, r, QUEUE_STATE_DEFERRED, next);
			log_info("event=deferred queue_id=%s rcpt=%s method=%s relay=%s delay=%.0f "
			         "attempts=%d next_attempt=%lld%s reply=%s",
			         m->id, rcpt, r->method, relay, delay, r->attempts + 1, next, extra,
			         qr);
		} else {
			outcome_add(q, m, r, QUEUE_STATE_FAILED, q->e.now);
			log_info("event=failed queue_id=%s rcpt=%s method=%s relay=%s delay=%.0f "
			         "attempts=%d reason=%s%s reply=%s",
			         m->id, rcpt, r->method, relay, delay, r->attempts + 1,
			         r->result == RCPT_PERM ? "permanent" : "expired", extra, qr);
		}
	}
	m->done_next = q->done_msgs;
	q->done_msgs = m;
	flush(q);
}

static void bounce_queued(void *arg, struct qmsg *m)
{
	struct qmgr *q = arg;

	if (!q->e.closing)
		msg_record(q, m);
}

/* Every job of m is finished: DSNs, then the record. */
static void msg_done(struct qmgr *q, struct qmsg *m)
{
	if (q->e.closing)
		return; /* left in the table, freed with it */
	/* Expiry is judged once, here: the DSN and the record agree. */
	for (size_t i = 0; i < m->nrcpt; i++)
		m->rcpts[i].expired = m->rcpts[i].result == RCPT_TEMP && m->arrival > 0 &&
		                      q->e.now - m->arrival >= q->e.cfg->queue_lifetime;
	bounce_after_delivery(&q->e, q->spool, m, bounce_queued, q);
}

void engine_job_done(struct engine *e, struct job *j)
{
	struct qmgr *q = engine_qmgr(e);
	struct qmsg *m = j->m;

	free(j->r);
	free(j);
	if (--m->jobs == 0)
		msg_done(q, m);
	kick(q);
}

void job_fail_all(struct job *j, int code, const char *reply, const char *method)
{
	for (size_t i = 0; i < j->n; i++) {
		struct qrcpt *r = j->r[i];
		if (r->result != RCPT_PENDING)
			continue;
		r->result = code / 100 == 5 ? RCPT_PERM : RCPT_TEMP;
		r->code = code;
		r->method = method;
		snprintf(r->reply, sizeof(r->reply), "%s", reply);
	}
}

/* ---- recording ---- */

static void flush_work(void *arg)
{
	struct flush_job *f = arg;
	f->rc = qstore_record(f->q->store, f->out, f->nout);
}

static void flush_done(void *arg)
{
	struct flush_job *f = arg;
	struct qmgr *q = f->q;

	q->flushing = 0;
	if (f->rc < 0 && !q->e.closing) {
		/* Nothing was recorded: the messages stay in memory and out of
		 * the scans, and the same outcomes are tried again after a
		 * pause, doubling up to a minute; forgetting them would deliver
		 * the recipients again at once, over and over. */
		struct qmsg *last = f->msgs;
		while (last && last->done_next)
			last = last->done_next;
		if (last) {
			last->done_next = q->done_msgs;
			q->done_msgs = f->msgs;
		}
		q->out = xrealloc(q->out, (f->nout + q->nout) * sizeof(*q->out));
		memmove(q->out + f->nout, q->out, q->nout * sizeof(*q->out));
		memcpy(q->out, f->out, f->nout * sizeof(*q->out));
		q->nout += f->nout;
		q->outcap = q->nout;
		free(f->out);
		free(f);
		q->flush_pause_ms = q->flush_pause_ms ? q->flush_pause_ms * 2 : 1000;
		if (q->flush_pause_ms > 60000)
			q->flush_pause_ms = 60000;
		struct timeval tv = {q->flush_pause_ms / 1000, (q->flush_pause_ms % 1000) * 1000};
		evtimer_add(q->flush_retry_ev, &tv);
		return;
	}
	q->flush_pause_ms = 0;
	while (f->msgs) {
		struct qmsg *m = f->msgs;
		f->msgs = m->done_next;
		inflight_forget(q, m);
	}
	outcomes_free(f->out, f->nout);
	free(f);
	flush(q);
	scan(q);
}

static void flush_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	flush(arg);
}

static void flush(struct qmgr *q)
{
	struct flush_job *f;

	if (q->flushing || q->nout == 0 || q->e.closing || evtimer_pending(q->flush_retry_ev, NULL))
		return;
	f = xcalloc(1, sizeof(*f));
	f->q = q;
	f->out = q->out;
	f->nout = q->nout;
	f->msgs = q->done_msgs;
	q->out = NULL;
	q->nout = q->outcap = 0;
	q->done_msgs = NULL;
	q->flushing = 1;
	pool_submit(q->db, flush_work, flush_done, f);
}

/* ---- dispatch ---- */

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

/* The destination of recipient r, or NULL when it is discarded. */
static struct dest *route_rcpt(struct qmgr *q, const struct qrcpt *r)
{
	const struct config *cfg = q->e.cfg;
	const char *domain = domain_of(r->addr);
	const struct domain_conf *dc = config_domain(cfg, domain);
	const char *relay;

	if (dc != NULL) {
		if (dc->method == DELIVER_DISCARD)
			return NULL;
		if (dc->method == DELIVER_MAILDIR)
			return dest_get(q->e.dests, DEST_MAILDIR, "");
		return dest_get(q->e.dests, DEST_LMTP,
		                dc->lmtp && dc->lmtp[0] ? dc->lmtp : cfg->delivery_lmtp);
	}
	relay = config_relay(cfg, domain);
	if (relay != NULL)
		return dest_get(q->e.dests, DEST_RELAY, relay);
	return dest_get(q->e.dests, DEST_SMTP, domain);
}

static void dispatch(struct qmgr *q, struct qmsg *m)
{
	struct dest **dests = xcalloc(m->nrcpt, sizeof(*dests));
	char *taken = xcalloc(m->nrcpt, 1);

	inflight_add(q, m);
	m->jobs = 1; /* held while the jobs are made */
	for (size_t i = 0; i < m->nrcpt; i++) {
		dests[i] = route_rcpt(q, &m->rcpts[i]);
		if (dests[i] == NULL) {
			m->rcpts[i].result = RCPT_DELIVERED;
			m->rcpts[i].method = "discard";
			taken[i] = 1;
		}
	}
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct job *j;
		if (taken[i])
			continue;
		j = xcalloc(1, sizeof(*j));
		j->m = m;
		j->r = xcalloc(QMGR_JOB_RCPTS, sizeof(*j->r));
		for (size_t k = i; k < m->nrcpt && j->n < QMGR_JOB_RCPTS; k++)
			if (!taken[k] && dests[k] == dests[i] &&
			    m->rcpts[k].forwarded == m->rcpts[i].forwarded) {
				taken[k] = 1;
				j->r[j->n++] = &m->rcpts[k];
			}
		m->jobs++;
		dest_enqueue(dests[i], j);
	}
	free(dests);
	free(taken);
	if (--m->jobs == 0)
		msg_done(q, m);
}

static struct qmsg *qmsg_from(struct qstore_msg *sm, const struct qstore_row *rows, size_t n)
{
	struct qmsg *m = xcalloc(1, sizeof(*m));

	memcpy(m->id, sm->id, sizeof(m->id));
	m->sender = sm->sender;
	m->envid = sm->envid;
	m->ret = sm->ret;
	m->auth_user = sm->auth_user;
	m->client_ip = sm->client_ip;
	m->data = sm->data;
	memset(sm, 0, sizeof(*sm));
	m->rcpts = xcalloc(n, sizeof(*m->rcpts));
	for (size_t i = 0; i < n; i++) {
		struct qrcpt *r = &m->rcpts[m->nrcpt++];
		r->idx = rows[i].idx;
		r->addr = xstrdup(rows[i].addr);
		r->orcpt = rows[i].orcpt ? xstrdup(rows[i].orcpt) : NULL;
		r->notify = rows[i].notify ? xstrdup(rows[i].notify) : NULL;
		r->dsn_orcpt = rows[i].dsn_orcpt ? xstrdup(rows[i].dsn_orcpt) : NULL;
		r->attempts = rows[i].attempts;
		r->delay_warned = rows[i].delay_warned;
		r->forwarded = rows[i].forwarded;
		r->method = "none";
	}
	return m;
}

static void load_work(void *arg)
{
	struct load_job *l = arg;

	for (size_t i = 0; i < l->nmsgs; i++)
		l->rc[i] = qstore_load(l->q->store, l->ids[i], &l->msgs[i]);
}

static void load_done(void *arg)
{
	struct load_job *l = arg;
	struct qmgr *q = l->q;
	size_t r = 0;

	q->e.now = time(NULL);
	for (size_t i = 0; i < l->nmsgs && !q->e.closing; i++) {
		size_t from = r;
		while (r < l->nrows && strcmp(l->rows[r].msg_id, l->ids[i]) == 0)
			r++;
		if (l->rc[i] == 1)
			continue; /* deleted meanwhile */
		if (l->rc[i] < 0) {
			/* Unreadable (logged): deferred like any temporary
			 * failure, so it is tried again after a pause and
			 * expires with its real age. */
			struct qstore_msg empty = {0};
			struct qmsg *m;
			snprintf(empty.id, sizeof(empty.id), "%s", l->ids[i]);
			m = qmsg_from(&empty, l->rows + from, r - from);
			m->sender = xstrdup("");
			m->arrival = l->rows[from].arrival;
			for (size_t k = 0; k < m->nrcpt; k++) {
				m->rcpts[k].result = RCPT_TEMP;
				snprintf(m->rcpts[k].reply, sizeof(m->rcpts[k].reply),
				         "451 4.3.0 queued body unreadable");
			}
			inflight_add(q, m);
			/* A report would have no message to return: none is made
			 * (the log says why). */
			m->is_dsn = 1;
			msg_done(q, m);
			continue;
		}
		struct qstore_msg *sm = &l->msgs[i];
		int eightbit = sm->eightbit, smtputf8 = sm->smtputf8,
		    verified = sm->sender_verified, is_dsn = sm->is_dsn, in_file = sm->body_in_file;
		long long arrival = sm->arrival;
		size_t len = sm->len, hlen = sm->hlen;
		struct qmsg *m = qmsg_from(sm, l->rows + from, r - from);
		m->eightbit = eightbit;
		m->smtputf8 = smtputf8;
		m->sender_verified = verified;
		m->is_dsn = is_dsn;
		m->body_in_file = in_file;
		m->arrival = arrival;
		m->len = len;
		m->hlen = hlen;
		dispatch(q, m);
	}
	for (size_t i = 0; i < l->nrows; i++)
		qstore_row_clear(&l->rows[i]);
	for (size_t i = 0; i < l->nmsgs; i++)
		qstore_msg_clear(&l->msgs[i]);
	free(l->rows);
	free(l->ids);
	free(l->msgs);
	free(l->rc);
	free(l);
	dest_pump(q->e.dests);
	q->scanning = 0;
	if (q->rescan)
		scan(q);
}

static void scan_work(void *arg)
{
	struct scan_job *s = arg;
	s->n = qstore_due(s->q->store, s->now, s->after, s->rows, QMGR_SCAN_MAX);
}

static void scan_done(void *arg)
{
	struct scan_job *s = arg;
	struct qmgr *q = s->q;
	struct load_job *l;
	size_t n = s->n > 0 ? (size_t)s->n : 0, keep = n;

	if (q->e.closing) {
		for (size_t k = 0; k < n; k++)
			qstore_row_clear(&s->rows[k]);
		free(s->rows);
		free(s);
		return;
	}
	/* A full page may end inside a message: leave its recipients to the
	 * next page, unless the page holds nothing else. */
	if (n == QMGR_SCAN_MAX) {
		while (keep > 0 && strcmp(s->rows[keep - 1].msg_id, s->rows[n - 1].msg_id) == 0)
			keep--;
		if (keep == 0)
			keep = n;
	}
	l = xcalloc(1, sizeof(*l));
	l->q = q;
	l->rows = xcalloc(keep ? keep : 1, sizeof(*l->rows));
	l->ids = xcalloc(keep ? keep : 1, sizeof(*l->ids));
	size_t room = q->nmsgs < QMGR_MSGS_MAX ? QMGR_MSGS_MAX - q->nmsgs : 0;
	size_t bytes = q->bytes, i = 0;
	char last[ID_LEN + 1] = ""; /* the last row looked at */
	for (; i < keep; i++) {
		const char *id = s->rows[i].msg_id;
		int new_msg = l->nrows == 0 || strcmp(l->rows[l->nrows - 1].msg_id, id) != 0;
		if (inflight_has(q, id)) {
			memcpy(last, id, sizeof(last));
			continue;
		}
		if (new_msg) {
			/* Memory is bounded by message count and body bytes; one
			 * message always fits when none is in memory. */
			if (l->nmsgs == room || (bytes + (size_t)s->rows[i].size > QMGR_BYTES_MAX &&
			                         q->nmsgs + l->nmsgs > 0))
				break;
			bytes += (size_t)s->rows[i].size;
			memcpy(l->ids[l->nmsgs++], id, ID_LEN + 1);
		}
		memcpy(last, id, sizeof(last));
		l->rows[l->nrows++] = s->rows[i];
		memset(&s->rows[i], 0, sizeof(s->rows[i]));
	}
	/* Where the next scan starts: after what was taken or skipped, or
	 * from the start when this one reached the end. */
	if (i < keep || n == QMGR_SCAN_MAX)
		memcpy(q->after, last[0] ? last : s->after, ID_LEN + 1);
	else
		q->after[0] = '\0';
	q->rescan = q->rescan || n == QMGR_SCAN_MAX || i < keep;
	for (size_t k = 0; k < n; k++)
		qstore_row_clear(&s->rows[k]);
	free(s->rows);
	free(s);
	if (l->nmsgs == 0) {
		free(l->rows);
		free(l->ids);
		free(l);
		q->scanning = 0;
		/* A full page of messages already in flight: go on past them;
		 * memory full: wait until some are finished. */
		if (q->rescan && q->nmsgs < QMGR_MSGS_MAX && q->bytes <= QMGR_BYTES_MAX)
			scan(q);
		return;
	}
	l->msgs = xcalloc(l->nmsgs, sizeof(*l->msgs));
	l->rc = xcalloc(l->nmsgs, sizeof(*l->rc));
	pool_submit(q->db, load_work, load_done, l);
}

static void scan(struct qmgr *q)
{
	struct scan_job *s;

	if (q->scanning || q->e.closing || q->nmsgs >= QMGR_MSGS_MAX || q->bytes > QMGR_BYTES_MAX) {
		q->rescan = 1;
		return;
	}
	q->scanning = 1;
	q->rescan = 0;
	s = xcalloc(1, sizeof(*s));
	s->q = q;
	s->now = time(NULL);
	memcpy(s->after, q->after, sizeof(s->after));
	s->rows = xcalloc(QMGR_SCAN_MAX, sizeof(*s->rows));
	pool_submit(q->db, scan_work, scan_done, s);
}

/* ---- the loop ---- */

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;

	if (q->e.closing)
		return;
	q->e.now = time(NULL);
	dest_pump(q->e.dests);
	if (q->rescan)
		scan(q);
}

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;
	char sink[256];

	while (read(fd, sink, sizeof(sink)) > 0)
		;
	scan(q);
}

static void sweep_work(void *arg)
{
	struct qmgr *q = arg;
	/* A body younger than the longest session may still be on its way
	 * into the queue. */
	qstore_sweep(q->store, time(NULL), q->e.cfg->session_timeout + 60);
}

static void sweep_done(void *arg)
{
	(void)arg;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;
	time_t now = time(NULL);

	q->e.now = now;
	if (*q->stop) {
		event_base_loopexit(q->e.base, NULL);
		return;
	}
	if (now - q->last_sweep >= QMGR_SWEEP_INTERVAL) {
		q->last_sweep = now;
		pool_submit(q->db, sweep_work, sweep_done, q);
		deliver_maildir_sweep(&q->e);
	}
	if (now - q->last_expire >= QMGR_EXPIRE_INTERVAL) {
		q->last_expire = now;
		dest_expire(q->e.dests);
	}
	dest_pump(q->e.dests);
	scan(q);
}

static int engine_open(struct qmgr *q, const struct config *cfg, char *err, size_t errsize)
{
	struct dns_options opt = {0};
	const char *servers[CONFIG_DNS_MAX_SERVERS + 1] = {0};
	char *list = xstrdup(cfg->dns_servers);
	size_t ns = 0;

	for (char *tok = strtok(list, ", "); tok && ns < CONFIG_DNS_MAX_SERVERS;
	     tok = strtok(NULL, ", "))
		servers[ns++] = tok;
	opt.servers = ns ? servers : NULL;
	opt.timeout_ms = (int)cfg->dns_timeout_ms;
	opt.tries = (int)cfg->dns_tries;
	opt.cache_entries = (size_t)cfg->dns_cache_entries;
	opt.negative_ttl_max = 3600;
	q->e.cfg = cfg;
	q->e.base = event_base_new();
	q->e.dns = dns_resolver_new(q->e.base, &opt, err, errsize);
	free(list);
	if (q->e.dns == NULL)
		return -1;
	q->e.tls_ctx = smtpc_tls_ctx_new(
	    cfg->delivery_tls_ca_file[0] ? cfg->delivery_tls_ca_file : NULL, err, errsize);
	if (q->e.tls_ctx == NULL)
		return -1;
	if (cfg->batv_sign) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/batv.key", cfg->state_dir);
		if (hmac_key_load(path, q->e.batv_key, err, errsize) < 0)
			return -1;
		q->e.batv_sign = 1;
	}
	{
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/srs.key", cfg->state_dir);
		if (hmac_key_load(path, q->e.srs_key, err, errsize) < 0)
			return -1;
	}
	q->store = qstore_open(cfg, err, errsize);
	if (q->store == NULL)
		return -1;
	q->spool = spool_open(cfg, q->e.base, -1, err, errsize);
	if (q->spool == NULL)
		return -1;
	q->db = pool_new(q->e.base, 1);
	q->e.files = pool_new(q->e.base, 2);
	q->e.dests = dest_table_new(&q->e);
	return 0;
}

static void engine_close(struct qmgr *q)
{
	/* Work still under way is abandoned and its recipients stay due;
	 * the outcomes gathered so far are recorded before leaving.  The
	 * pools and the spool finish their jobs, whose completions then run
	 * once, finding the engine closing. */
	q->e.closing = 1;
	if (q->kick_ev)
		event_del(q->kick_ev);
	if (q->flush_retry_ev)
		event_del(q->flush_retry_ev);
	if (q->tick)
		event_del(q->tick);
	if (q->notify_ev)
		event_del(q->notify_ev);
	if (q->db)
		pool_free(q->db);
	if (q->e.files)
		pool_free(q->e.files);
	if (q->spool)
		spool_close(q->spool);
	if (q->e.base)
		event_base_loop(q->e.base, EVLOOP_NONBLOCK);
	if (q->store && q->nout)
		qstore_record(q->store, q->out, q->nout);
	outcomes_free(q->out, q->nout);
	if (q->e.dests) {
		/* Idle connections say QUIT: give the loop a moment to write it. */
		struct timeval quit = {0, 200000};
		deliver_smtp_shutdown(&q->e);
		dest_table_free(q->e.dests);
		event_base_loopexit(q->e.base, &quit);
		event_base_dispatch(q->e.base);
	}
	for (size_t i = 0; i < q->e.nmaildirs; i++)
		free(q->e.maildirs[i]);
	free(q->e.maildirs);
	for (size_t b = 0; b < QMGR_INFLIGHT_BUCKETS; b++)
		while (q->inflight[b]) {
			struct qmsg *m = q->inflight[b];
			q->inflight[b] = m->next;
			qmsg_free(m);
		}
	qstore_close(q->store);
	if (q->e.tls_ctx)
		SSL_CTX_free(q->e.tls_ctx);
	if (q->e.dns)
		dns_resolver_free(q->e.dns);
	if (q->tick)
		event_free(q->tick);
	if (q->notify_ev)
		event_free(q->notify_ev);
	if (q->kick_ev)
		event_free(q->kick_ev);
	if (q->flush_retry_ev)
		event_free(q->flush_retry_ev);
	if (q->e.base)
		event_base_free(q->e.base);
}

int qmgr_run(const struct config *cfg, int notify_fd, volatile sig_atomic_t *stop)
{
	struct qmgr *q = xcalloc(1, sizeof(*q));
	struct timeval tv = {QMGR_TICK_MS / 1000, (QMGR_TICK_MS % 1000) * 1000};
	char err[512];
	int rc = 0;

	q->stop = stop;
	q->notify_fd = notify_fd;
	if (engine_open(q, cfg, err, sizeof(err)) < 0) {
		log_err("event=qmgr_error error=\"%s\"", err);
		engine_close(q);
		free(q);
		return 1;
	}
	q->e.now = time(NULL);
	q->tick = event_new(q->e.base, -1, EV_PERSIST, tick_cb, q);
	event_add(q->tick, &tv);
	q->kick_ev = event_new(q->e.base, -1, 0, kick_cb, q);
	q->flush_retry_ev = evtimer_new(q->e.base, flush_retry_cb, q);
	if (notify_fd >= 0) {
		fcntl(notify_fd, F_SETFL, fcntl(notify_fd, F_GETFL) | O_NONBLOCK);
		q->notify_ev = event_new(q->e.base, notify_fd, EV_READ | EV_PERSIST, notify_cb, q);
		event_add(q->notify_ev, NULL);
	}
	pool_submit(q->db, sweep_work, sweep_done, q);
	q->last_sweep = q->last_expire = q->e.now;
	log_info("event=qmgr_start");
	scan(q);
	if (event_base_dispatch(q->e.base) < 0)
		rc = 1;
	log_info("event=qmgr_stop");
	engine_close(q);
	free(q);
	return rc;
}
