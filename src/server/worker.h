/* An SMTP worker process: one libevent loop that accepts on its share of
 * the listening sockets and runs the sessions. */
#ifndef POSTERN_WORKER_H
#define POSTERN_WORKER_H

#include "core/config.h"
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
struct client;

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
	struct client **clients; /* hash table by address */
	size_t nbuckets;
	int stopping; /* 1: retiring (reload), 2: shutting down */
	struct event *sig_term, *sig_hup, *sig_int, *stop_timer;
};

/* Runs worker index until it is told to stop; never returns. */
_Noreturn void worker_main(const struct config *cfg, int index, struct listener *listeners,
                           size_t nlisteners, int notify_fd);

/* Connections per client address in this worker. */
struct client {
	char ip[64];
	unsigned conns;
	struct client *next;
};
struct client *worker_client(struct worker *w, const char *ip, int create);
void worker_client_release(struct worker *w, struct client *c);
void worker_session_gone(struct worker *w, struct session *s);

#endif
