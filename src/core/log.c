/* Logging to stderr or syslog, one key=value line per event. */
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

static const char *log_process = "postern";
static int log_syslog;
static int log_verbose;

void log_init(const char *process, int use_syslog, int verbose)
{
	log_process = process;
	log_syslog = use_syslog;
	log_verbose = verbose;
	if (use_syslog)
		openlog("postern", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_process(const char *process)
{
	log_process = process;
}

static const char *level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG:
		return "debug";
	case LOG_LVL_INFO:
		return "info";
	case LOG_LVL_WARN:
		return "warn";
	case LOG_LVL_ERR:
		return "err";
	}
	return "info";
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[4096];
	int n;

	if (lvl == LOG_LVL_DEBUG && !log_verbose)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (log_syslog) {
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
		syslog(prio[lvl], "proc=%s level=%s %s", log_process, level_name(lvl), line);
		return;
	}
	struct timeval tv;
	struct tm tm;
	char ts[32];
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per line so that lines from several processes do not
	 * interleave inside a line (stderr is unbuffered, one write). */
	fprintf(stderr, "%s.%03dZ proc=%s pid=%d level=%s %s\n", ts, (int)(tv.tv_usec / 1000),
	        log_process, (int)getpid(), level_name(lvl), line);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	abort();
}
