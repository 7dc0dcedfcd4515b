/* Counters with windows in the SQLite state database, shared by every
 * process of the server (a limit counted per worker would multiply by the
 * number of workers).  Every call blocks: from an SMTP worker, call it
 * only on a pool thread.  Safe to share between threads. */
#ifndef POSTERN_COUNTERS_H
#define POSTERN_COUNTERS_H

#include <time.h>

struct counters;

struct counters *counters_open(const char *state_dir, char *err, size_t errsize);
void counters_close(struct counters *c);

/* Adds n (0: only reads) to the counter named key.  A window starts at
 * the first hit and lasts window seconds; a hit after it starts a new one.
 * Returns the count in the current window, or -1 on a database error. */
long counters_hit(struct counters *c, const char *key, long n, long window, time_t now);

#endif
