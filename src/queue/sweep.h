/* Removes body files that no message names any more: left by a worker
 * that died between writing a large body and committing it, or by a crash
 * between deleting a delivered message and unlinking its file. */
#ifndef POSTERN_SWEEP_H
#define POSTERN_SWEEP_H

#include "core/config.h"

#include <sqlite3.h>
#include <time.h>

/* Files younger than min_age seconds are left alone: a session may still
 * be writing them.  Returns the number of files removed. */
int queue_sweep_bodies(const struct config *cfg, sqlite3 *db, time_t now, long min_age);

#endif
