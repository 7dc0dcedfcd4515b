/* Windowed counters in <state_dir>/state.db. */
#include "store/counters.h"
#include "store/statedb.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

struct counters {
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *get, *put;
};

struct counters *counters_open(const char *state_dir, char *err, size_t errsize)
{
	sqlite3 *db = statedb_open(state_dir, err, errsize);
	struct counters *c;

	if (db == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->db = db;
	if (sqlite3_exec(c->db,
	                 "CREATE TABLE IF NOT EXISTS counters(key TEXT PRIMARY KEY, count INTEGER "
	                 "NOT NULL, window_start INTEGER NOT NULL)",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "SELECT count, window_start FROM counters WHERE key = ?1", -1,
	                       &c->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db,
	                       "INSERT INTO counters(key, count, window_start) VALUES(?1, ?2, ?3) "
	                       "ON CONFLICT(key) DO UPDATE SET count = ?2, window_start = ?3",
	                       -1, &c->put, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "cannot open counters in %s/state.db: %s", state_dir,
		         sqlite3_errmsg(c->db));
		counters_close(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void counters_close(struct counters *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_close(c->db);
	free(c);
}

long counters_hit(struct counters *c, const char *key, long n, long window, time_t now)
{
	long count = 0;
	sqlite3_int64 start = now;
	int ok = 1;

	pthread_mutex_lock(&c->lock);
	/* IMMEDIATE: read and write under one lock, so that two processes
	 * adding at once both count. */
	if (n > 0 && sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&c->lock);
		log_warn("event=counters_error op=begin error=\"%s\"", sqlite3_errmsg(c->db));
		return -1;
	}
	sqlite3_bind_text(c->get, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(c->get);
	if (rc == SQLITE_ROW && now - sqlite3_column_int64(c->get, 1) <= window) {
		count = (long)sqlite3_column_int64(c->get, 0);
		start = sqlite3_column_int64(c->get, 1);
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ok = 0;
	}
	sqlite3_reset(c->get);
	if (ok && n > 0) {
		count += n;
		sqlite3_bind_text(c->put, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(c->put, 2, count);
		sqlite3_bind_int64(c->put, 3, start);
		ok = sqlite3_step(c->put) == SQLITE_DONE;
		sqlite3_reset(c->put);
	}
	if (n > 0)
		ok = sqlite3_exec(c->db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) ==
		         SQLITE_OK &&
		     ok;
	if (!ok)
		log_warn("event=counters_error key=%s error=\"%s\"", key, sqlite3_errmsg(c->db));
	pthread_mutex_unlock(&c->lock);
	return ok ? count : -1;
}
