/* The sweep of orphaned body files in <state_dir>/queue/body. */
#include "queue/sweep.h"
#include "core/log.h"
#include "queue/queue_db.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int queue_sweep_bodies(const struct config *cfg, sqlite3 *db, time_t now, long min_age)
{
	char dir[4096], path[4352];
	sqlite3_stmt *st;
	struct dirent *e;
	int removed = 0;
	DIR *d;

	if (queue_db_body_dir(cfg, dir, sizeof(dir)) < 0 || (d = opendir(dir)) == NULL)
		return 0;
	st = queue_db_prepare(db, "SELECT 1 FROM messages WHERE id = ?1");
	while ((e = readdir(d)) != NULL) {
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || now - sb.st_mtime < min_age)
			continue;
		sqlite3_bind_text(st, 1, e->d_name, -1, SQLITE_STATIC);
		int rc = queue_db_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_ROW)
			continue;
		if (rc != SQLITE_DONE) {
			log_warn("event=sweep_error error=\"%s\"", sqlite3_errmsg(db));
			break;
		}
		if (unlink(path) == 0) {
			removed++;
			log_info("event=swept file=%s age=%lld", path,
			         (long long)(now - sb.st_mtime));
		} else if (errno != ENOENT) {
			log_warn("event=sweep_error file=%s error=\"%s\"", path, strerror(errno));
		}
	}
	sqlite3_finalize(st);
	closedir(d);
	return removed;
}
