/* Opening the listening sockets, one per listener and worker, with
 * SO_REUSEPORT so that the kernel spreads connections over the workers. */
#include "server/listener.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

static int listen_one(const struct listener_conf *lc, long backlog, char *err, size_t errsize)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai;
	int fd, one = 1, rc;

	rc = getaddrinfo(lc->host, lc->port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errsize, "listener %s: %s:%s: %s", lc->name, lc->host, lc->port,
		         gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsize, "listener %s: socket: %s", lc->name, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, (int)backlog) < 0) {
		snprintf(err, errsize, "listener %s: cannot listen on %s:%s: %s", lc->name,
		         lc->host, lc->port, strerror(errno));
		close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static struct listener *find_same(const struct listener_conf *lc, struct listener *old, size_t nold)
{
	for (size_t i = 0; i < nold; i++)
		if (old[i].fds && strcmp(old[i].conf->host, lc->host) == 0 &&
		    strcmp(old[i].conf->port, lc->port) == 0)
			return &old[i];
	return NULL;
}

/* Undoes a failed reopen: sockets taken from old go back to it, the new
 * ones are closed. */
static void listeners_giveback(struct listener *ls, size_t n, struct listener *old, size_t nold)
{
	for (size_t i = 0; i < n; i++) {
		struct listener *same = NULL;
		for (size_t k = 0; k < nold; k++)
			if (old[k].fds == NULL &&
			    strcmp(old[k].conf->host, ls[i].conf->host) == 0 &&
			    strcmp(old[k].conf->port, ls[i].conf->port) == 0)
				same = &old[k];
		if (same && ls[i].fds) {
			same->fds = ls[i].fds;
			same->nfds = ls[i].nfds;
			ls[i].fds = NULL;
			ls[i].nfds = 0;
		}
	}
	listeners_close(ls, n);
}

int listeners_reopen(const struct config *cfg, int nworkers, struct listener *old, size_t nold,
                     struct listener **out, size_t *nout, char *err, size_t errsize)
{
	struct listener *ls = xcalloc(cfg->nlisteners, sizeof(*ls));

	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *lc = &cfg->listeners[i];
		struct listener *same = find_same(lc, old, nold);
		ls[i].conf = lc;
		if (same && same->nfds == nworkers) {
			/* Keep the sockets: connections queued in them survive. */
			ls[i].fds = same->fds;
			ls[i].nfds = same->nfds;
			same->fds = NULL;
			same->nfds = 0;
			continue;
		}
		ls[i].fds = xcalloc((size_t)nworkers, sizeof(int));
		ls[i].nfds = nworkers;
		for (int w = 0; w < nworkers; w++)
			ls[i].fds[w] = -1;
		for (int w = 0; w < nworkers; w++) {
			ls[i].fds[w] = listen_one(lc, cfg->listen_backlog, err, errsize);
			if (ls[i].fds[w] < 0) {
				listeners_giveback(ls, i + 1, old, nold);
				return -1;
			}
		}
	}
	*out = ls;
	*nout = cfg->nlisteners;
	return 0;
}

int listeners_open(const struct config *cfg, int nworkers, struct listener **out, size_t *nout,
                   char *err, size_t errsize)
{
	return listeners_reopen(cfg, nworkers, NULL, 0, out, nout, err, errsize);
}

void listeners_close(struct listener *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (int w = 0; w < l[i].nfds; w++)
			if (l[i].fds[w] >= 0)
				close(l[i].fds[w]);
		free(l[i].fds);
		if (l[i].tls)
			SSL_CTX_free(l[i].tls);
	}
	free(l);
}
