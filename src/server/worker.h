/* An SMTP worker process: one libevent loop that accepts on its share of
 * the listening sockets and runs the sessions. */
#ifndef POSTERN_WORKER_H
#define POSTERN_WORKER_H

#include "core/config.h"
#include "server/listener.h"

struct conncount;
struct dkim_keyring;

#include <stddef.h>

/* Runs worker index (accepting on socket index of each listener, counting
 * its connections in row slot of conns) until it is told to stop; never
 * returns. */
_Noreturn void worker_main(const struct config *cfg, const struct dkim_keyring *keys, int index,
                           int slot, struct conncount *conns, struct listener *listeners,
                           size_t nlisteners, int notify_fd);

#endif
