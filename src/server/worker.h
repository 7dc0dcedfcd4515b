/* An SMTP worker process: one libevent loop that accepts on its share of
 * the listening sockets and runs the sessions. */
#ifndef POSTERN_WORKER_H
#define POSTERN_WORKER_H

#include "core/config.h"
#include "server/filter.h"
#include "server/listener.h"

#include <signal.h>
#include <stddef.h>
#include <time.h>

struct event_base;
struct evconnlistener;
struct pool;
struct spool;
struct accounts;
struct counters;
struct session;
struct conncount;
struct dns_resolver;
struct sender_conf;
struct dkim_keyring;
struct dmarc_batch;
struct dkim_keycache;
struct worker {
	const struct config *cfg;
	int index;
	struct event_base *base;
	struct listener *listeners;
	size_t nlisteners;
	struct evconnlistener **accepting;
	struct pool *pool;
	struct spool *spool;
	struct accounts *accounts;
	struct counters *counters;
	struct session *sessions;
	size_t nsessions;
	struct dns_resolver *dns;
	struct sender_conf *sender;
	const struct dkim_keyring *keys; /* DKIM signing keys, read by the master */
	struct dkim_keycache *dkim_keys; /* parsed DKIM key records */
	struct dmarc_batch *dmarc;       /* NULL: dmarc.reports is off */
	struct conncount *conns;         /* shared with the other workers */
	int slot;                        /* this worker's row in conns */
	int stopping;                    /* 1: retiring (reload), 2: shutting down */
	struct filter_env filter_env;    /* what the sessions' filters share */
	struct event *sig_term, *sig_hup, *sig_int, *stop_timer;
};

/* Runs worker index (accepting on socket index of each listener, counting
 * its connections in row slot of conns) until it is told to stop; never
 * returns. */
_Noreturn void worker_main(const struct config *cfg, const struct dkim_keyring *keys, int index,
                           int slot, struct conncount *conns, struct listener *listeners,
                           size_t nlisteners, int notify_fd);

#endif
