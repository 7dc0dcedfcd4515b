/* The master: process supervision, privilege drop, reload and shutdown. */
#include "server/master.h"
#include "auth/dkim_keyring.h"
#include "core/config.h"
#include "core/fsutil.h"
#include "core/id.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "policy/policy_config.h"
#include "queue/qmgr.h"
#include "server/conncount.h"
#include "server/listener.h"
#include "server/tls.h"
#include "server/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define CRASH_WINDOW 2 /* seconds: a child that dies sooner counts as failing */
#define CRASH_LIMIT 5  /* consecutive quick failures before the master gives up */
/* Seconds children have to finish after SIGTERM when the master gives up;
 * then they are killed, so that none outlives it. */
#define GIVE_UP_GRACE 10

static volatile sig_atomic_t got_chld, got_hup, got_term;
static volatile sig_atomic_t qmgr_stop;

struct child {
	pid_t pid;
	time_t started;
	int slot; /* row in the shared connection counters */
};

struct master {
	pid_t pid;
	const char *config_path;
	struct config *cfg;
	struct listener *listeners;
	size_t nlisteners;
	int nworkers;
	struct child workers[MAX_WORKERS];
	struct child qmgr;
	struct child retiring[MAX_WORKERS * 8]; /* workers of older generations */
	size_t nretiring;
	struct conncount *conns;
	pid_t slot_owner[MAX_WORKERS * 9];
	int qmgr_replacing; /* the old qmgr was told to stop; start a new one when it exits */
	int notify[2];
	uid_t uid;
	gid_t gid;
	int drop;
	int quick_failures;
	struct dkim_keyring keys; /* read here, before privileges are dropped */
};

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void on_qmgr_signal(int sig)
{
	qmgr_stop = 1;
}

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw);
static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if ((st->st_uid != chown_uid || st->st_gid != chown_gid) &&
	    lchown(path, chown_uid, chown_gid) < 0)
		log_warn("event=chown_failed path=%s error=\"%s\"", path, strerror(errno));
	return 0;
}

static void drop_privileges(const struct master *m)
{
	if (!m->drop)
		return;
	if (setgroups(0, NULL) < 0 || setgid(m->gid) < 0 || setuid(m->uid) < 0)
		fatal("cannot drop privileges to user %s: %m", m->cfg->user);
	if (setuid(0) == 0)
		fatal("privileges were not dropped");
}

/* Before any child starts: can the unprivileged user reach the state
 * directory?  A private parent directory (such as /root) would make every
 * child fail at once. */
static void check_state_access(struct master *m)
{
	pid_t pid;
	int status;

	if (!m->drop)
		return;
	pid = fork();
	if (pid == 0) {
		drop_privileges(m);
		_exit(access(m->cfg->state_dir, R_OK | W_OK | X_OK) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fatal("user %s cannot use state_dir %s: a parent directory may not be searchable "
		      "by that user; move state_dir, or set user = \"\" to run as the current user",
		      m->cfg->user, m->cfg->state_dir);
}

/* The fixed part of a Maildir template ("/srv/mail" of "/srv/mail/%d/%u")
 * must exist and belong to the delivering user; below it, the queue
 * manager creates what it needs. */
static void prepare_maildir_root(const struct master *m, const char *tmpl)
{
	char root[4096];
	const char *pct = strchr(tmpl, '%');
	size_t len = pct ? (size_t)(pct - tmpl) : strlen(tmpl);

	if (len >= sizeof(root))
		return;
	memcpy(root, tmpl, len);
	root[len] = '\0';
	char *slash = strrchr(root, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	struct stat st;
	/* An existing directory is the administrator's: left as it is. */
	if (root[0] == '\0' || stat(root, &st) == 0)
		return;
	if (fs_mkdir_p(root, 0755) < 0) {
		log_warn("event=maildir_root_failed path=%s error=\"%s\"", root, strerror(errno));
		return;
	}
	if (m->drop && chown(root, m->uid, m->gid) < 0)
		log_warn("event=chown_failed path=%s error=\"%s\"", root, strerror(errno));
}

static int prepare(struct master *m, struct config *cfg, char *err, size_t errsize)
{
	struct passwd *pw;

	m->drop = 0;
	if (geteuid() == 0 && cfg->user[0]) {
		pw = getpwnam(cfg->user);
		if (pw == NULL) {
			snprintf(err, errsize,
			         "user '%s' does not exist: create it (useradd --system %s) or set "
			         "user in the configuration",
			         cfg->user, cfg->user);
			return -1;
		}
		m->uid = pw->pw_uid;
		m->gid = pw->pw_gid;
		m->drop = 1;
	}
	if (fs_mkdir_p(cfg->state_dir, 0755) < 0) {
		snprintf(err, errsize, "cannot create state_dir %s: %s", cfg->state_dir,
		         strerror(errno));
		return -1;
	}
	if (!cfg->tls_cert[0] &&
	    tls_ensure_selfsigned(cfg->state_dir, cfg->hostname, err, errsize) < 0)
		return -1;
	prepare_maildir_root(m, cfg->delivery_maildir);
	for (size_t i = 0; i < cfg->ndomains; i++)
		if (cfg->domains[i].method == DELIVER_MAILDIR && cfg->domains[i].maildir)
			prepare_maildir_root(m, cfg->domains[i].maildir);
	if (m->drop) {
		chown_uid = m->uid;
		chown_gid = m->gid;
		nftw(cfg->state_dir, chown_one, 16, FTW_PHYS);
	}
	return 0;
}

/* What core/config.c cannot judge (DNSBL codes, rDNS patterns, DKIM keys)
 * is checked before anything is started or replaced. */
static int check_policy(const struct config *cfg, struct dkim_keyring *keys, struct buf *errors)
{
	struct policy_objects objects;
	if (policy_objects_build(cfg, &objects, errors) < 0)
		return -1;
	policy_objects_free(&objects);
	return dkim_keyring_load(cfg, keys, errors);
}

/* Makes one TLS context per configured listener, in cfg's order. */
static SSL_CTX **make_tls(const struct config *cfg, char *err, size_t errsize)
{
	char cert[4200], key[4200];
	SSL_CTX **ctx = xcalloc(cfg->nlisteners + 1, sizeof(*ctx));

	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct listener_conf *lc = &cfg->listeners[i];
		if (lc->tls_cert)
			snprintf(cert, sizeof(cert), "%s", lc->tls_cert);
		else if (cfg->tls_cert[0])
			snprintf(cert, sizeof(cert), "%s", cfg->tls_cert);
		else
			snprintf(cert, sizeof(cert), "%s/tls/cert.pem", cfg->state_dir);
		if (lc->tls_key)
			snprintf(key, sizeof(key), "%s", lc->tls_key);
		else if (cfg->tls_key[0])
			snprintf(key, sizeof(key), "%s", cfg->tls_key);
		else
			snprintf(key, sizeof(key), "%s/tls/key.pem", cfg->state_dir);
		/* Keys are read here, before any privilege is dropped. */
		ctx[i] = tls_server_ctx(cert, key, cfg->tls_min_version, err, errsize);
		if (ctx[i] == NULL) {
			for (size_t k = 0; k < i; k++)
				SSL_CTX_free(ctx[k]);
			free(ctx);
			return NULL;
		}
	}
	return ctx;
}

static void attach_tls(struct listener *ls, size_t n, SSL_CTX **ctx)
{
	for (size_t i = 0; i < n; i++)
		ls[i].tls = ctx[i];
	free(ctx);
}

static void child_signals(void)
{
	sigset_t none;
	struct sigaction sa = {.sa_handler = SIG_DFL};
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A child ends with the master, however the master ends.  Asked after the
 * privilege drop, which clears the parent-death signal (prctl(2)); a
 * master that died before the request is seen by getppid(). */
static void die_with_master(const struct master *m)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != m->pid)
		_exit(1);
}

/* A free row of the connection counters; retiring workers keep theirs
 * until they exit. */
static int take_slot(struct master *m)
{
	for (int i = 0; i < conncount_slots(m->conns); i++)
		if (m->slot_owner[i] == 0)
			return i;
	return -1;
}

static void free_slot(struct master *m, int slot)
{
	conncount_clear_slot(m->conns, slot);
	m->slot_owner[slot] = 0;
}

static pid_t start_worker(struct master *m, int index)
{
	int slot = take_slot(m);
	if (slot < 0) {
		log_err("event=fork_failed error=\"no free connection counter slot\"");
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_err("event=fork_failed error=\"%s\"", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		child_signals();
		close(m->notify[0]);
		drop_privileges(m);
		die_with_master(m);
		id_init((uint32_t)index);
		worker_main(m->cfg, &m->keys, index, slot, m->conns, m->listeners, m->nlisteners,
		            m->notify[1]);
	}
	m->slot_owner[slot] = pid;
	m->workers[index].pid = pid;
	m->workers[index].started = time(NULL);
	m->workers[index].slot = slot;
	return pid;
}

static pid_t start_qmgr(struct master *m)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_err("event=fork_failed error=\"%s\"", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		struct sigaction sa = {.sa_handler = on_qmgr_signal};
		child_signals();
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		close(m->notify[1]);
		listeners_close(m->listeners, m->nlisteners);
		drop_privileges(m);
		die_with_master(m);
		prctl(PR_SET_NAME, "postern-qmgr");
		log_set_process("qmgr");
		_exit(qmgr_run(m->cfg, m->notify[0], &qmgr_stop) == 0 ? 0 : 1);
	}
	m->qmgr.pid = pid;
	m->qmgr.started = time(NULL);
	return pid;
}

/* Forgets pid, which has been waited for, wherever it is recorded. */
static void forget(struct master *m, pid_t pid)
{
	for (int i = 0; i < m->nworkers; i++)
		if (m->workers[i].pid == pid)
			m->workers[i].pid = 0;
	for (size_t i = 0; i < m->nretiring; i++)
		if (m->retiring[i].pid == pid) {
			m->retiring[i] = m->retiring[--m->nretiring];
			break;
		}
	if (m->qmgr.pid == pid)
		m->qmgr.pid = 0;
}

static void signal_children(const struct master *m, int sig)
{
	for (int i = 0; i < m->nworkers; i++)
		if (m->workers[i].pid > 0)
			kill(m->workers[i].pid, sig);
	for (size_t i = 0; i < m->nretiring; i++)
		kill(m->retiring[i].pid, sig);
	if (m->qmgr.pid > 0)
		kill(m->qmgr.pid, sig);
}

/* SIGTERM to every child, then waits for them all: without a limit when
 * grace is 0 (a shutdown lets transactions in progress finish), else
 * those left after grace seconds are killed. */
static void shutdown_children(struct master *m, int grace)
{
	struct timespec tick = {0, 50 * 1000 * 1000};
	time_t deadline = time(NULL) + grace;
	int status;

	signal_children(m, SIGTERM);
	for (;;) {
		pid_t pid = waitpid(-1, &status, grace > 0 ? WNOHANG : 0);
		if (pid > 0) {
			forget(m, pid);
		} else if (pid == 0) {
			if (time(NULL) >= deadline) {
				log_err("event=children_killed reason=\"still running %d s after "
				        "SIGTERM\"",
				        grace);
				signal_children(m, SIGKILL);
				grace = 0;
			} else {
				nanosleep(&tick, NULL);
			}
		} else if (errno != EINTR) {
			return; /* ECHILD: none left */
		}
	}
}

/* The children fail as soon as they start, so the server cannot run: it
 * stops as a whole rather than leave some children serving. */
static _Noreturn void give_up(struct master *m)
{
	log_err("event=giving_up reason=\"children fail right after start; see the lines above\"");
	shutdown_children(m, GIVE_UP_GRACE);
	log_err("event=stopped");
	exit(1);
}

static void note_exit(struct master *m, struct child *c, pid_t pid, int status, const char *what)
{
	int quick = time(NULL) - c->started < CRASH_WINDOW;
	if (WIFSIGNALED(status))
		log_err("event=child_died proc=%s pid=%d signal=%d", what, (int)pid,
		        WTERMSIG(status));
	else
		log_err("event=child_died proc=%s pid=%d status=%d", what, (int)pid,
		        WEXITSTATUS(status));
	m->quick_failures = quick ? m->quick_failures + 1 : 0;
	if (m->quick_failures >= CRASH_LIMIT)
		give_up(m);
	if (quick)
		sleep(1);
}

static void reap(struct master *m)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int found = 0;
		for (size_t i = 0; i < m->nretiring; i++)
			if (m->retiring[i].pid == pid) {
				free_slot(m, m->retiring[i].slot);
				m->retiring[i] = m->retiring[--m->nretiring];
				log_info("event=worker_retired pid=%d", (int)pid);
				found = 1;
				break;
			}
		if (found)
			continue;
		if (pid == m->qmgr.pid) {
			m->qmgr.pid = 0;
			if (m->qmgr_replacing) {
				m->qmgr_replacing = 0;
			} else if (!got_term) {
				note_exit(m, &m->qmgr, pid, status, "qmgr");
			}
			if (!got_term)
				start_qmgr(m);
			continue;
		}
		for (int i = 0; i < m->nworkers; i++)
			if (m->workers[i].pid == pid) {
				m->workers[i].pid = 0;
				free_slot(m, m->workers[i].slot);
				if (got_term)
					break;
				note_exit(m, &m->workers[i], pid, status, "smtp");
				start_worker(m, i);
				break;
			}
	}
}

/* One reload_failed line per error ("file:line: message"), so that each
 * reads on its own and names where to look. */
static void log_reload_failed(const struct master *m, const char *errors)
{
	char cfg[LOG_VALUE_SIZE(256)], line[1024], err[LOG_VALUE_SIZE(sizeof(line))];

	log_value(cfg, sizeof(cfg), m->config_path ? m->config_path : "<embedded>");
	for (const char *p = errors; *p != '\0';) {
		size_t n = strcspn(p, "\n");
		if (n > 0) {
			snprintf(line, sizeof(line), "%.*s", (int)n, p);
			log_err("event=reload_failed config=%s error=%s", cfg,
			        log_value(err, sizeof(err), line));
		}
		p += n + (p[n] == '\n');
	}
	log_info("event=reload_kept config=%s reason=\"the running configuration stays\"",
	         log_value(cfg, sizeof(cfg), m->cfg->source));
}

static void reload(struct master *m)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct buf errors;
	struct listener *ls;
	size_t nls;
	char err[512];

	struct dkim_keyring keys = {0};
	buf_init(&errors, 65536);
	int loaded = config_load(m->config_path, cfg, &errors) == 0;
	if (!loaded || check_policy(cfg, &keys, &errors) < 0) {
		log_reload_failed(m, errors.data ? errors.data : "");
		if (loaded)
			config_free(cfg);
		buf_free(&errors);
		free(cfg);
		return;
	}
	buf_free(&errors);
	SSL_CTX **ctx = NULL;
	if (prepare(m, cfg, err, sizeof(err)) < 0 ||
	    (ctx = make_tls(cfg, err, sizeof(err))) == NULL ||
	    listeners_reopen(cfg, m->nworkers, m->listeners, m->nlisteners, &ls, &nls, err,
	                     sizeof(err)) < 0) {
		log_reload_failed(m, err);
		dkim_keyring_free(&keys);
		if (ctx)
			for (size_t i = 0; ctx[i]; i++)
				SSL_CTX_free(ctx[i]);
		free(ctx);
		config_free(cfg);
		free(cfg);
		return;
	}
	attach_tls(ls, nls, ctx);
	listeners_close(m->listeners, m->nlisteners);
	m->listeners = ls;
	m->nlisteners = nls;
	config_free(m->cfg);
	free(m->cfg);
	m->cfg = cfg;
	dkim_keyring_free(&m->keys);
	m->keys = keys;

	/* A new generation takes over the sockets; the old one finishes its
	 * sessions and leaves. */
	for (int i = 0; i < m->nworkers; i++) {
		if (m->workers[i].pid > 0 &&
		    m->nretiring < sizeof(m->retiring) / sizeof(m->retiring[0])) {
			kill(m->workers[i].pid, SIGHUP);
			m->retiring[m->nretiring++] = m->workers[i];
		}
		start_worker(m, i);
	}
	/* Two queue managers must never run at once: the new one starts when
	 * the old one has gone. */
	if (m->qmgr.pid > 0) {
		m->qmgr_replacing = 1;
		kill(m->qmgr.pid, SIGTERM);
	} else {
		start_qmgr(m);
	}
	log_info("event=reloaded config=%s", m->cfg->source);
}

int master_run(const char *config_path, int daemonize)
{
	struct master m;
	struct buf errors;
	char err[512];
	sigset_t block, old;
	struct sigaction sa = {.sa_handler = on_signal};

	memset(&m, 0, sizeof(m));
	m.config_path = config_path;
	m.cfg = xcalloc(1, sizeof(*m.cfg));
	buf_init(&errors, 65536);
	int loaded = config_load(config_path, m.cfg, &errors) == 0;
	if (!loaded || check_policy(m.cfg, &m.keys, &errors) < 0) {
		if (loaded)
			config_free(m.cfg);
		fprintf(stderr, "%s", errors.data);
		buf_free(&errors);
		free(m.cfg);
		return 1;
	}
	buf_free(&errors);
	/* Detaching keeps the working directory: relative paths in the
	 * configuration mean what they meant on the command line. */
	if (daemonize && daemon(1, 0) < 0) {
		fprintf(stderr, "postern: cannot become a daemon: %s\n", strerror(errno));
		return 1;
	}
	log_init("master", daemonize, (int)m.cfg->verbose);
	m.pid = getpid();
	/* Signals wait (blocked, handled in the loop below) from the start: a
	 * SIGHUP or SIGTERM that arrives while the sockets and keys are being
	 * set up must not kill the master. */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "postern");
	id_init(0);

	if (prepare(&m, m.cfg, err, sizeof(err)) < 0)
		fatal("%s", err);
	check_state_access(&m);
	m.nworkers = m.cfg->workers ? (int)m.cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (m.nworkers < 1)
		m.nworkers = 1;
	if (m.nworkers > MAX_WORKERS)
		m.nworkers = MAX_WORKERS;
	if (listeners_open(m.cfg, m.nworkers, &m.listeners, &m.nlisteners, err, sizeof(err)) < 0)
		fatal("%s", err);
	SSL_CTX **ctx = make_tls(m.cfg, err, sizeof(err));
	if (ctx == NULL)
		fatal("%s", err);
	attach_tls(m.listeners, m.nlisteners, ctx);
	if (pipe2(m.notify, O_NONBLOCK | O_CLOEXEC) < 0)
		fatal("pipe: %m");
	/* Rows for the current generation and for those still retiring. */
	m.conns = conncount_new(m.nworkers * 9);

	for (int i = 0; i < m.nworkers; i++)
		start_worker(&m, i);
	start_qmgr(&m);
	for (size_t i = 0; i < m.nlisteners; i++)
		log_info("event=listening listener=%s role=%s address=%s:%s",
		         m.listeners[i].conf->name, config_role_name(m.listeners[i].conf->role),
		         m.listeners[i].conf->host, m.listeners[i].conf->port);
	log_info("event=started workers=%d config=%s", m.nworkers, m.cfg->source);

	while (!got_term) {
		sigsuspend(&old);
		if (got_chld) {
			got_chld = 0;
			reap(&m);
		}
		if (got_hup) {
			got_hup = 0;
			log_info("event=reload_requested");
			reload(&m);
		}
	}
	log_info("event=shutdown");
	shutdown_children(&m, 0);
	listeners_close(m.listeners, m.nlisteners);
	dkim_keyring_free(&m.keys);
	config_free(m.cfg);
	free(m.cfg);
	log_info("event=stopped");
	return 0;
}
