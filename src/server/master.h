/* The master process: binds the listeners, loads the TLS keys, starts and
 * restarts the SMTP workers and the queue manager, reloads on SIGHUP and
 * drains on SIGTERM.  It never parses network input. */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

/* config_path NULL: the embedded default.  daemonize: detach and log to
 * syslog instead of stderr.  Returns the exit code. */
int master_run(const char *config_path, int daemonize);

#endif
