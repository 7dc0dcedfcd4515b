/* The queue manager process: picks recipients that are due, delivers them
 * (Maildir, LMTP, discard), records the outcome, retries temporary
 * failures with backoff and gives up permanent ones with a log line. */
#ifndef POSTERN_QMGR_H
#define POSTERN_QMGR_H

#include "core/config.h"

#include <signal.h>

/* Runs until *stop becomes non-zero (set by a signal handler).  notify_fd
 * becomes readable when a worker committed new mail. */
int qmgr_run(const struct config *cfg, int notify_fd, volatile sig_atomic_t *stop);

#endif
