/* Listening sockets: opened by the master before any child exists, one
 * socket per listener and worker (SO_REUSEPORT), kept open by the master so
 * that neither a crash nor a reload loses a queued connection. */
#ifndef POSTERN_LISTENER_H
#define POSTERN_LISTENER_H

#include "core/config.h"

#include <openssl/ssl.h>

struct listener {
	const struct listener_conf *conf;
	SSL_CTX *tls; /* NULL when the listener has no certificate */
	int *fds;     /* one per worker */
	int nfds;
};

/* Opens nworkers sockets for each configured listener.  On failure returns
 * -1 with a message in err. */
int listeners_open(const struct config *cfg, int nworkers, struct listener **out, size_t *nout,
                   char *err, size_t errsize);
/* Reuses the sockets of old for listeners with the same address; opens the
 * new ones, closes the ones no longer configured. */
int listeners_reopen(const struct config *cfg, int nworkers, struct listener *old, size_t nold,
                     struct listener **out, size_t *nout, char *err, size_t errsize);
void listeners_close(struct listener *l, size_t n);

#endif
