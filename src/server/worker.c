/* The SMTP worker process: accepts connections on its share of the
 * listening sockets, keeps per-client accounting, and retires (SIGHUP:
 * finish every session) or shuts down (SIGTERM: finish transactions in
 * progress, then leave) when the master says so. */
#include "server/worker.h"
#include "server/dmarc_batch.h"
#include "auth/dkim_keycache.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "queue/spool.h"
#include "dns/dns_conf.h"
#include "policy/sender.h"
#include "server/commands.h"
#include "server/conncount.h"
#include "server/session.h"
#include "store/accounts.h"
#include "store/counters.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define SHUTDOWN_GRACE 30 /* seconds a shutdown waits for transactions */
/* Parsed DKIM key records kept (a direct-mapped cache). */
#define WORKER_DKIM_KEYS 256

static void worker_maybe_exit(struct worker *w)
{
	if (w->stopping && w->nsessions == 0)
		event_base_loopbreak(w->base);
}

static void worker_session_gone(struct session *s)
{
	struct worker *w = s->worker;
	unsigned total;

	if (s->prev)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	w->nsessions--;
	conncount_add(w->conns, w->slot, s->ip, -1, &total);
	worker_maybe_exit(w);
}

static const struct session_handlers worker_handlers = {
    .greet = commands_greet,
    .line = commands_line,
    .message_end = commands_message_end,
    .gone = worker_session_gone,
};

struct accept_ctx {
	struct worker *w;
	struct listener *l;
};

static void worker_accept_cb(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *addr,
                             int len, void *arg)
{
	struct accept_ctx *ax = arg;
	struct worker *w = ax->w;
	struct sockaddr_storage ss;
	struct session *s;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, addr, (size_t)len < sizeof(ss) ? (size_t)len : sizeof(ss));
	s = session_new(w, ax->l, fd, &ss, (socklen_t)len, &worker_handlers);
	s->next = w->sessions;
	if (w->sessions)
		w->sessions->prev = s;
	w->sessions = s;
	w->nsessions++;
	s->conns_ip = conncount_add(w->conns, w->slot, s->ip, 1, &s->conns_total);
	session_start(s);
}

static void worker_stop_accepting(struct worker *w)
{
	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->accepting[i]) {
			evconnlistener_free(w->accepting[i]);
			w->accepting[i] = NULL;
		}
}

static void worker_grace_over(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	log_warn("event=shutdown_forced sessions=%zu", w->nsessions);
	event_base_loopbreak(w->base);
}

static void worker_signal(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	if (sig == SIGHUP) {
		/* Retire: a newer worker has our sockets; let sessions finish. */
		if (!w->stopping)
			log_info("event=retiring worker=%d sessions=%zu", w->index, w->nsessions);
		w->stopping = 1;
		worker_stop_accepting(w);
	} else {
		log_info("event=stopping worker=%d sessions=%zu", w->index, w->nsessions);
		w->stopping = 2;
		worker_stop_accepting(w);
		for (struct session *s = w->sessions, *next; s; s = next) {
			next = s->next;
			session_drain(s);
		}
		struct timeval tv = {.tv_sec = SHUTDOWN_GRACE};
		w->stop_timer = evtimer_new(w->base, worker_grace_over, w);
		evtimer_add(w->stop_timer, &tv);
	}
	worker_maybe_exit(w);
}

_Noreturn void worker_main(const struct config *cfg, const struct dkim_keyring *keys, int index,
                           int slot, struct conncount *conns, struct listener *listeners,
                           size_t nlisteners, int notify_fd)
{
	struct worker w;
	char err[512];
	struct accept_ctx *ax;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.keys = keys;
	w.index = index;
	w.slot = slot;
	w.conns = conns;
	w.listeners = listeners;
	w.nlisteners = nlisteners;
	prctl(PR_SET_NAME, "postern-smtp");
	log_set_process("smtp");

	evthread_use_pthreads();
	w.base = event_base_new();
	if (w.base == NULL)
		fatal("worker: cannot create an event base");
	w.pool = pool_new(w.base, 2);
	w.accounts = accounts_open(cfg->state_dir, err, sizeof(err));
	if (w.accounts == NULL)
		fatal("worker: %s", err);
	w.sender = sender_conf_new(cfg, err, sizeof(err));
	if (w.sender == NULL)
		fatal("worker: %s", err);
	w.dns = dns_resolver_from_config(w.base, cfg, NULL, err, sizeof(err));
	if (w.dns == NULL)
		fatal("worker: %s", err);
	w.counters = counters_open(cfg->state_dir, err, sizeof(err));
	if (w.counters == NULL)
		fatal("worker: %s", err);
	if (cfg->dmarc_reports && (w.dmarc = dmarc_batch_new(&w, err, sizeof(err))) == NULL)
		fatal("worker: %s", err);
	w.dkim_keys = dkim_keycache_new(WORKER_DKIM_KEYS);
	w.spool = spool_open(cfg, w.base, notify_fd, err, sizeof(err));
	if (w.spool == NULL)
		fatal("worker: %s", err);
	w.filter_env = (struct filter_env){
	    .cfg = cfg,
	    .base = w.base,
	    .dns = w.dns,
	    .pool = w.pool,
	    .accounts = w.accounts,
	    .sender = w.sender,
	    .keys = w.keys,
	    .dkim_keys = w.dkim_keys,
	    .dmarc = w.dmarc,
	};
	w.accepting = xcalloc(nlisteners, sizeof(*w.accepting));
	ax = xcalloc(nlisteners, sizeof(*ax));
	for (size_t i = 0; i < nlisteners; i++) {
		ax[i].w = &w;
		ax[i].l = &listeners[i];
		w.accepting[i] = evconnlistener_new(
		    w.base, worker_accept_cb, &ax[i], LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
		    /* 0: the master already listened with listen_backlog */
		    0, listeners[i].fds[index]);
		if (w.accepting[i] == NULL)
			fatal("worker: cannot accept on listener %s", listeners[i].conf->name);
	}
	w.sig_term = evsignal_new(w.base, SIGTERM, worker_signal, &w);
	w.sig_int = evsignal_new(w.base, SIGINT, worker_signal, &w);
	w.sig_hup = evsignal_new(w.base, SIGHUP, worker_signal, &w);
	event_add(w.sig_term, NULL);
	event_add(w.sig_int, NULL);
	event_add(w.sig_hup, NULL);
	log_info("event=worker_start worker=%d listeners=%zu", index, nlisteners);

	event_base_dispatch(w.base);

	/* Sessions still open after a forced stop are closed; their messages
	 * were either acknowledged (and are durable) or not. */
	while (w.sessions)
		session_abort(w.sessions);
	for (size_t i = 0; i < nlisteners; i++)
		if (w.accepting[i])
			evconnlistener_free(w.accepting[i]);
	free(w.accepting);
	free(ax);
	spool_close(w.spool);
	pool_free(w.pool);
	dmarc_batch_free(w.dmarc);
	dkim_keycache_free(w.dkim_keys);
	accounts_close(w.accounts);
	dns_resolver_free(w.dns);
	sender_conf_free(w.sender);
	counters_close(w.counters);
	log_info("event=worker_exit worker=%d", index);
	exit(0);
}
