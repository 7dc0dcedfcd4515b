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
#include "queue/hmac_key.h"
#include "queue/rcpt_rewrite.h"
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
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define SHUTDOWN_GRACE 30 /* seconds a shutdown waits for transactions */
/* Parsed DKIM key records kept (a direct-mapped cache). */
#define WORKER_DKIM_KEYS 256

/* The worker's sessions and what they share (env: the configuration,
 * the loop, the resolver, the pool, the spool, the accounts...). */
struct worker {
	struct session_env env;
	int index;
	struct listener *listeners;
	size_t nlisteners;
	struct evconnlistener **accepting;
	struct session *sessions;
	size_t nsessions;
	struct conncount *conns; /* shared with the other workers */
	int slot;                /* this worker's row in conns */
	int stopping;            /* 1: retiring (reload), 2: shutting down */
	struct event *sig_term, *sig_hup, *sig_int, *stop_timer;
};

/* The keys of our BATV tags and SRS addresses, for the recipients that
 * carry them.  Every worker and the queue manager load them at start; the
 * first to find a key missing makes it, and the others read that one
 * (hmac_key_load).  The BATV key is needed only when tags are made or
 * checked. */
static void load_rcpt_keys(const struct config *cfg, struct rcpt_keys *keys,
                           unsigned char batv[HMAC_KEY_LEN], unsigned char srs[HMAC_KEY_LEN])
{
	char path[PATH_MAX], err[PATH_MAX + 256];

	*keys = (struct rcpt_keys){.batv_check = cfg->batv_check != 0,
	                           .batv_max_age_days = (int)cfg->batv_max_age_days,
	                           .srs_max_age_days = (int)cfg->srs_max_age_days};
	if (cfg->batv_sign || cfg->batv_check) {
		snprintf(path, sizeof(path), "%s/batv.key", cfg->state_dir);
		if (hmac_key_load(path, batv, err, sizeof(err)) < 0)
			fatal("worker: BATV key: %s", err);
		keys->batv = batv;
	}
	snprintf(path, sizeof(path), "%s/srs.key", cfg->state_dir);
	if (hmac_key_load(path, srs, err, sizeof(err)) < 0)
		fatal("worker: SRS key: %s", err);
	keys->srs = srs;
}

static void worker_maybe_exit(struct worker *w)
{
	if (w->stopping && w->nsessions == 0)
		event_base_loopbreak(w->env.shared.base);
}

static void worker_session_gone(struct session *s)
{
	struct worker *w = s->env->owner;
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
	s = session_new(&w->env, ax->l, fd, &ss, (socklen_t)len);
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
	event_base_loopbreak(w->env.shared.base);
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
		w->stop_timer = evtimer_new(w->env.shared.base, worker_grace_over, w);
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
	w.index = index;
	w.slot = slot;
	w.conns = conns;
	w.listeners = listeners;
	w.nlisteners = nlisteners;
	prctl(PR_SET_NAME, "postern-smtp");
	log_set_process("smtp");

	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	if (base == NULL)
		fatal("worker: cannot create an event base");
	static unsigned char batv_key[HMAC_KEY_LEN], srs_key[HMAC_KEY_LEN];
	struct rcpt_keys rcpt_keys;
	load_rcpt_keys(cfg, &rcpt_keys, batv_key, srs_key);
	struct pool *pool = pool_new(base, 2);
	struct accounts *accounts = accounts_open(cfg->state_dir, err, sizeof(err));
	if (accounts == NULL)
		fatal("worker: %s", err);
	struct sender_conf *sender = sender_conf_new(cfg, err, sizeof(err));
	if (sender == NULL)
		fatal("worker: %s", err);
	struct dns_resolver *dns = dns_resolver_from_config(base, cfg, NULL, err, sizeof(err));
	if (dns == NULL)
		fatal("worker: %s", err);
	struct counters *counters = counters_open(cfg->state_dir, err, sizeof(err));
	if (counters == NULL)
		fatal("worker: %s", err);
	struct dmarc_batch *dmarc = NULL;
	if (cfg->dmarc_reports &&
	    (dmarc = dmarc_batch_new(cfg, base, pool, err, sizeof(err))) == NULL)
		fatal("worker: %s", err);
	struct dkim_keycache *dkim_keys = dkim_keycache_new(WORKER_DKIM_KEYS);
	struct spool *spool = spool_open(cfg, base, notify_fd, err, sizeof(err));
	if (spool == NULL)
		fatal("worker: %s", err);
	w.env = (struct session_env){
	    .shared = {.cfg = cfg,
	               .base = base,
	               .dns = dns,
	               .pool = pool,
	               .accounts = accounts,
	               .sender = sender,
	               .keys = keys,
	               .dkim_keys = dkim_keys,
	               .dmarc = dmarc,
	               .rcpt_keys = &rcpt_keys},
	    .spool = spool,
	    .counters = counters,
	    .handlers = &worker_handlers,
	    .owner = &w,
	};
	w.accepting = xcalloc(nlisteners, sizeof(*w.accepting));
	ax = xcalloc(nlisteners, sizeof(*ax));
	for (size_t i = 0; i < nlisteners; i++) {
		ax[i].w = &w;
		ax[i].l = &listeners[i];
		w.accepting[i] = evconnlistener_new(
		    base, worker_accept_cb, &ax[i], LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
		    /* 0: the master already listened with listen_backlog */
		    0, listeners[i].fds[index]);
		if (w.accepting[i] == NULL)
			fatal("worker: cannot accept on listener %s", listeners[i].conf->name);
	}
	w.sig_term = evsignal_new(base, SIGTERM, worker_signal, &w);
	w.sig_int = evsignal_new(base, SIGINT, worker_signal, &w);
	w.sig_hup = evsignal_new(base, SIGHUP, worker_signal, &w);
	event_add(w.sig_term, NULL);
	event_add(w.sig_int, NULL);
	event_add(w.sig_hup, NULL);
	log_info("event=worker_start worker=%d listeners=%zu", index, nlisteners);

	event_base_dispatch(base);

	/* Sessions still open after a forced stop are closed; their messages
	 * were either acknowledged (and are durable) or not. */
	while (w.sessions)
		session_abort(w.sessions);
	for (size_t i = 0; i < nlisteners; i++)
		if (w.accepting[i])
			evconnlistener_free(w.accepting[i]);
	free(w.accepting);
	free(ax);
	spool_close(spool);
	pool_free(pool);
	dmarc_batch_free(dmarc);
	dkim_keycache_free(dkim_keys);
	accounts_close(accounts);
	dns_resolver_free(dns);
	sender_conf_free(sender);
	counters_close(counters);
	log_info("event=worker_exit worker=%d", index);
	exit(0);
}
