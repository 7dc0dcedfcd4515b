/* The DSN decision and its queueing: which recipients of a finished
 * message are reported (RFC 3461 NOTIFY), whether the sender may be told
 * at all (no backscatter), and the report as a new message from the null
 * sender, committed through the engine's own spool. */
#include "queue/bounce.h"
#include "queue/dsn.h"
#include "queue/spool.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest report we make: a FULL return of a bigger message falls
 * back to its header section. */
#define BOUNCE_MAX (64u * 1024 * 1024)

struct pending_dsn {
	struct engine *e;
	struct qmsg *m;
	bounce_done_fn done;
	void *arg;
	char id[ID_LEN + 1];
	size_t nreported;
};

static int notify_has(const char *notify, const char *what)
{
	return notify != NULL && strstr(notify, what) != NULL;
}

/* NOTIFY absent means failures only (RFC 3461 4.1 leaves delays to the
 * implementation; delay reports are still opt-in by delivery.delay_warning). */
static enum dsn_action *decide(struct engine *e, struct qmsg *m, size_t *n)
{
	const struct config *cfg = e->cfg;
	enum dsn_action *act = xcalloc(m->nrcpt, sizeof(*act));
	int delay_due = cfg->delay_warning > 0 && e->now - m->arrival >= cfg->delay_warning * 3600;

	*n = 0;
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct qrcpt *r = &m->rcpts[i];
		const char *nt = r->notify;
		int failed = r->result == RCPT_PERM || r->expired;

		act[i] = (enum dsn_action) - 1;
		if (notify_has(nt, "NEVER"))
			continue;
		if (failed && (nt == NULL || notify_has(nt, "FAILURE")))
			act[i] = DSN_ACTION_FAILED;
		else if (r->result == RCPT_TEMP && !failed && delay_due && !r->delay_warned &&
		         (nt == NULL || notify_has(nt, "DELAY")))
			act[i] = DSN_ACTION_DELAYED;
		else if (r->result == RCPT_DELIVERED && notify_has(nt, "SUCCESS") &&
		         !r->relayed_dsn)
			act[i] = strcmp(r->method, "smtp") == 0 ? DSN_ACTION_RELAYED
			                                        : DSN_ACTION_DELIVERED;
		if ((int)act[i] >= 0)
			(*n)++;
	}
	return act;
}

static void note_all(struct qmsg *m, const enum dsn_action *act, const char *note)
{
	for (size_t i = 0; i < m->nrcpt; i++)
		if ((int)act[i] >= 0)
			m->rcpts[i].dsn_note = note;
}

/* "5.1.1" from "550 5.1.1 text", or NULL. */
static void status_of(const struct qrcpt *r, enum dsn_action a, char *out, size_t outsize)
{
	const char *p = r->reply;
	size_t len;

	if (r->expired) {
		/* RFC 3463 4.4.7: delivery time expired. */
		snprintf(out, outsize, "5.4.7");
		return;
	}
	if (strlen(p) > 4 && p[3] == ' ' && (p[4] == '2' || p[4] == '4' || p[4] == '5') &&
	    p[5] == '.') {
		len = strcspn(p + 4, " ");
		if (len < outsize) {
			memcpy(out, p + 4, len);
			out[len] = '\0';
			/* The class follows the action, whatever the server
			 * said ("451 5.x.x" is still a delay). */
			out[0] = a == DSN_ACTION_FAILED ? '5' : a == DSN_ACTION_DELAYED ? '4' : '2';
			return;
		}
	}
	snprintf(out, outsize, "%s",
	         a == DSN_ACTION_FAILED    ? "5.0.0"
	         : a == DSN_ACTION_DELAYED ? "4.0.0"
	                                   : "2.0.0");
}

/* Remote-MTA (RFC 3464 2.3.5) is the server's name: "mx.example" of
 * "mx.example[192.0.2.1]:25", or "[192.0.2.1]" when it has none.  NULL
 * when no server was reached. */
static const char *remote_host(const char *peer, char *out, size_t outsize)
{
	size_t name = strcspn(peer, "[");

	if (peer[0] == '\0')
		return NULL;
	if (name == 0)
		name = strcspn(peer, "]") + (peer[strcspn(peer, "]")] == ']');
	snprintf(out, outsize, "%.*s", (int)name, peer);
	return out;
}

/* What a server said is an smtp diagnostic; when none was reached (DNS,
 * connection failures, our own checks) the text is ours, and goes without
 * its reply code so that the report does not present it as a server's. */
static const char *diagnostic(const struct qrcpt *r)
{
	const char *p = r->reply;

	if (p[0] == '\0')
		return NULL;
	if (r->remote[0] != '\0')
		return p;
	if (strlen(p) > 4 && p[3] == ' ') {
		p += 4;
		if ((p[0] == '2' || p[0] == '4' || p[0] == '5') && p[1] == '.')
			p += strcspn(p, " ") + (p[strcspn(p, " ")] == ' ');
	}
	return p;
}

static void committed(void *arg, int err)
{
	struct pending_dsn *p = arg;
	struct qmsg *m = p->m;

	if (err) {
		/* Not queued: the failures stay deferred so the report is made
		 * again on the next attempt, not lost. */
		log_err("event=dsn_error queue_id=%s error=\"the DSN could not be queued\"", m->id);
		for (size_t i = 0; i < m->nrcpt; i++)
			if (m->rcpts[i].dsn_note != NULL) {
				m->rcpts[i].dsn_note = "error";
				if (m->rcpts[i].result == RCPT_PERM)
					m->rcpts[i].result = RCPT_TEMP;
				m->rcpts[i].expired = 0;
			}
	} else {
		log_info("event=dsn_queued queue_id=%s dsn_id=%s rcpts=%zu", m->id, p->id,
		         p->nreported);
		for (size_t i = 0; i < m->nrcpt; i++)
			if (m->rcpts[i].dsn_note != NULL && m->rcpts[i].dsn_note[0] == 'q') {
				m->rcpts[i].dsn_note = "sent";
				if (m->rcpts[i].result == RCPT_TEMP)
					m->rcpts[i].delay_warned = 1;
			}
	}
	p->done(p->arg, m);
	free(p);
}

static struct spool_msg *report_msg(struct engine *e, struct spool *sp, struct qmsg *m,
                                    const char *id, const struct buf *body)
{
	struct spool_msg *sm = xcalloc(1, sizeof(*sm));

	memcpy(sm->id, id, sizeof(sm->id));
	sm->sender = xstrdup("");
	sm->rcpts = xcalloc(1, sizeof(*sm->rcpts));
	sm->rcpts[0].addr = xstrdup(m->sender);
	sm->rcpts[0].orcpt = xstrdup(m->sender);
	sm->nrcpt = 1;
	sm->client_ip = xstrdup("");
	sm->helo = xstrdup(e->cfg->hostname);
	sm->arrival = e->now;
	sm->smtputf8 = m->smtputf8;
	sm->is_dsn = 1;
	sm->body = spool_body_new(sp, id);
	if (spool_body_write(sm->body, body->data, body->len) < 0) {
		spool_msg_free(sm);
		return NULL;
	}
	return sm;
}

void bounce_after_delivery(struct engine *e, struct spool *sp, struct qmsg *m, bounce_done_fn done,
                           void *arg)
{
	const struct config *cfg = e->cfg;
	size_t n;
	enum dsn_action *act = decide(e, m, &n);
	struct dsn_rcpt *dr;
	struct dsn_report rep = {0};
	struct pending_dsn *p;
	struct spool_msg *sm;
	struct buf body;
	char from[300], msgid[300], (*status)[16], (*remotes)[300];
	size_t k = 0;

	if (n == 0 || m->sender[0] == '\0' || m->is_dsn || !m->sender_verified) {
		/* A null sender or our own report has nobody to tell; an
		 * unverified sender may be forged, and a bounce to it would be
		 * backscatter. */
		note_all(m, act, m->sender[0] == '\0' || m->is_dsn ? "none" : "suppressed");
		if (n > 0 && m->sender[0] != '\0' && !m->is_dsn)
			log_info("event=dsn queue_id=%s dsn=suppressed reason=unverified-sender "
			         "rcpts=%zu",
			         m->id, n);
		free(act);
		done(arg, m);
		return;
	}
	dr = xcalloc(n, sizeof(*dr));
	status = xcalloc(n, sizeof(*status));
	remotes = xcalloc(n, sizeof(*remotes));
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct qrcpt *r = &m->rcpts[i];
		if ((int)act[i] < 0)
			continue;
		status_of(r, act[i], status[k], sizeof(status[k]));
		dr[k].final_rcpt = r->addr;
		dr[k].orcpt = r->dsn_orcpt;
		dr[k].action = act[i];
		dr[k].status = status[k];
		dr[k].remote_mta = remote_host(r->remote, remotes[k], sizeof(remotes[k]));
		dr[k].diagnostic = diagnostic(r);
		dr[k].last_attempt = e->now;
		dr[k].retry_until =
		    act[i] == DSN_ACTION_DELAYED ? (time_t)(m->arrival + cfg->queue_lifetime) : 0;
		r->dsn_note = "queued";
		k++;
	}
	p = xcalloc(1, sizeof(*p));
	p->e = e;
	p->m = m;
	p->done = done;
	p->arg = arg;
	p->nreported = n;
	id_new(p->id);
	snprintf(from, sizeof(from), "MAILER-DAEMON@%s", cfg->hostname);
	snprintf(msgid, sizeof(msgid), "<%s.dsn@%s>", p->id, cfg->hostname);
	rep.reporting_mta = cfg->hostname;
	rep.from = from;
	rep.to = m->sender;
	rep.envid = m->envid;
	rep.arrival = (time_t)m->arrival;
	rep.queue_id = m->id;
	rep.message_id = msgid;
	rep.date = e->now;
	rep.ret = m->ret && strcmp(m->ret, "FULL") == 0 ? DSN_RET_FULL : DSN_RET_HDRS;
	rep.fields = m->data;
	rep.fields_len = m->hlen;
	rep.message = m->data + m->hlen;
	rep.message_len = m->len - m->hlen;
	rep.rcpts = dr;
	rep.nrcpt = n;
	buf_init(&body, BOUNCE_MAX);
	if (dsn_compose(&rep, &body) < 0 && rep.ret == DSN_RET_FULL) {
		rep.ret = DSN_RET_HDRS;
		dsn_compose(&rep, &body);
	}
	sm = body.len ? report_msg(e, sp, m, p->id, &body) : NULL;
	buf_free(&body);
	free(dr);
	free(status);
	free(remotes);
	free(act);
	if (sm == NULL) {
		committed(p, 1);
		return;
	}
	spool_commit(sp, sm, committed, p);
}
