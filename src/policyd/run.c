/* postern policyd as a process: the listening socket (a unix socket or a
 * loopback TCP port), the privilege drop, the event loop with the
 * configuration's resolver, and the signals that end it. */
#include "core/log.h"
#include "dns/dns.h"
#include "dns/dns_conf.h"
#include "policyd/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int policyd_listen_parse(const char *spec, struct policyd_listen *out, char *err, size_t errsize)
{
	const char *colon, *host;
	size_t hostlen;
	char *end;
	unsigned char a[16];

	memset(out, 0, sizeof(*out));
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;
		if (path[0] == '\0' || strlen(path) >= sizeof(out->path)) {
			snprintf(err, errsize, "%s: a unix socket path of 1 to %zu bytes is needed",
			         spec, sizeof(out->path) - 1);
			return -1;
		}
		out->is_unix = 1;
		snprintf(out->path, sizeof(out->path), "%s", path);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) == 0) /* as Postfix writes it */
		spec += 5;
	colon = strrchr(spec, ':');
	if (colon == NULL) {
		snprintf(err, errsize, "%s: expected unix:PATH or ADDRESS:PORT", spec);
		return -1;
	}
	host = spec;
	hostlen = (size_t)(colon - spec);
	if (hostlen >= 2 && host[0] == '[' && host[hostlen - 1] == ']') {
		host++;
		hostlen -= 2;
	}
	if (hostlen == 0 || hostlen >= sizeof(out->host)) {
		snprintf(err, errsize, "%s: bad address", spec);
		return -1;
	}
	memcpy(out->host, host, hostlen);
	out->host[hostlen] = '\0';
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port == 0 || port > 65535) {
		snprintf(err, errsize, "%s: bad port", spec);
		return -1;
	}
	out->port = (unsigned)port;
	/* The protocol has no authentication: whoever reaches the port may
	 * ask, so only this machine may. */
	if (inet_pton(AF_INET, out->host, a) == 1) {
		if (a[0] != 127) {
			snprintf(err, errsize, "%s: only a loopback address (127.0.0.0/8, ::1)",
			         spec);
			return -1;
		}
		return 0;
	}
	if (inet_pton(AF_INET6, out->host, a) == 1) {
		static const unsigned char loop6[16] = {[15] = 1};
		if (memcmp(a, loop6, 16) != 0) {
			snprintf(err, errsize, "%s: only a loopback address (127.0.0.0/8, ::1)",
			         spec);
			return -1;
		}
		return 0;
	}
	snprintf(err, errsize, "%s: %s is not an IP address", spec, out->host);
	return -1;
}

/* The socket at sun's path, left by an earlier run, is removed; one that
 * a running service still listens on, or anything else at that path, is
 * not ours to remove.  Returns 0, or -1 with the reason in err. */
static int remove_stale_socket(const struct sockaddr_un *sun, char *err, size_t errsize)
{
	struct stat st;
	int fd, rc;

	if (lstat(sun->sun_path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errsize, "%s exists and is not a socket", sun->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsize, "cannot check %s: %s", sun->sun_path, strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == 0 || errno == EAGAIN) {
		/* Accepted, or queued for a listener whose backlog is full. */
		snprintf(err, errsize, "unix:%s: already running (another service listens there)",
		         sun->sun_path);
		close(fd);
		return -1;
	}
	if (errno == ECONNREFUSED) {
		/* Nobody listens: left by a run that ended. */
		close(fd);
		if (unlink(sun->sun_path) < 0 && errno != ENOENT) {
			snprintf(err, errsize, "cannot remove the stale socket %s: %s",
			         sun->sun_path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno == ENOENT) { /* removed meanwhile */
		close(fd);
		return 0;
	}
	snprintf(err, errsize, "cannot check %s: %s", sun->sun_path, strerror(errno));
	close(fd);
	return -1;
}

static int listen_socket(const struct policyd_listen *l, long backlog, char *err, size_t errsize)
{
	int fd, one = 1;

	if (l->is_unix) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", l->path);
		if (remove_stale_socket(&sun, err, errsize) < 0)
			return -1;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			goto fail;
		/* Postfix's smtpd runs as its own user. */
		if (chmod(l->path, 0666) < 0)
			goto fail;
	} else {
		struct sockaddr_storage ss;
		socklen_t len;
		memset(&ss, 0, sizeof(ss));
		if (strchr(l->host, ':') != NULL) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)l->port);
			inet_pton(AF_INET6, l->host, &s6->sin6_addr);
			len = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)l->port);
			inet_pton(AF_INET, l->host, &s4->sin_addr);
			len = sizeof(*s4);
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&ss, len) < 0)
			goto fail;
	}
	if (listen(fd, backlog > 0 ? (int)backlog : 128) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errsize, "cannot listen on %s%s: %s", l->is_unix ? "unix:" : l->host,
	         l->is_unix ? l->path : "", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

struct runner {
	struct event_base *base;
	struct policyd_server *srv;
	int lfd;
	int is_unix;
	struct event *accept_ev, *pause_ev;
};

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct runner *r = arg;
	event_add(r->accept_ev, NULL);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct runner *r = arg;

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char peer[64] = "unix", host[INET6_ADDRSTRLEN] = "?";
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors: the connections already
				 * served go on; accepting resumes in a second. */
				struct timeval sec = {1, 0};
				log_warn("event=policyd_accept_paused error=\"%s\" connections=%zu",
				         strerror(errno), policyd_server_connections(r->srv));
				event_del(r->accept_ev);
				evtimer_add(r->pause_ev, &sec);
			}
			return;
		}
		if (!r->is_unix) {
			int one = 1;
			unsigned port = 0;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			if (ss.ss_family == AF_INET) {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
				inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
				port = ntohs(s4->sin_port);
			} else if (ss.ss_family == AF_INET6) {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
				inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
				port = ntohs(s6->sin6_port);
			}
			snprintf(peer, sizeof(peer), "%s:%u", host, port);
		}
		policyd_server_attach(r->srv, fd, peer);
	}
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct runner *r = arg;
	log_info("event=policyd_stopping signal=%d connections=%zu", (int)sig,
	         policyd_server_connections(r->srv));
	event_base_loopbreak(r->base);
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("event=policyd_sighup note=\"restart the service to read the configuration\"");
}

/* Before the service detaches: a failure is on stderr. */
static int drop_privileges(const struct config *cfg)
{
	struct passwd *pw;

	if (geteuid() != 0 || cfg->user[0] == '\0')
		return 0;
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		fprintf(stderr, "postern policyd: user %s: no such user\n", cfg->user);
		return -1;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "postern policyd: cannot become user %s: %s\n", cfg->user,
		        strerror(errno));
		return -1;
	}
	if (setuid(0) == 0)
		fatal("privileges were not dropped");
	return 0;
}

int policyd_run(const struct config *cfg, const struct policyd_listen *l, int foreground)
{
	struct runner r = {.is_unix = l->is_unix};
	struct event *sig_term, *sig_int, *sig_hup;
	struct dns_resolver *dns;
	char err[512], where[160];
	int rc = 0;

	if (l->is_unix)
		snprintf(where, sizeof(where), "unix:%s", l->path);
	else
		snprintf(where, sizeof(where), "%s%s%s:%u", strchr(l->host, ':') ? "[" : "",
		         l->host, strchr(l->host, ':') ? "]" : "", l->port);
	/* Everything the configuration can make fail is built first, while
	 * the reason still reaches the terminal and the exit code. */
	r.base = event_base_new();
	if (r.base == NULL)
		fatal("policyd: cannot create an event base");
	dns = dns_resolver_from_config(r.base, cfg, NULL, err, sizeof(err));
	if (dns == NULL) {
		fprintf(stderr, "postern policyd: dns: %s\n", err);
		goto fail_base;
	}
	r.srv = policyd_server_new(cfg, r.base, dns, err, sizeof(err));
	if (r.srv == NULL) {
		size_t n = strlen(err);
		while (n > 0 && err[n - 1] == '\n')
			err[--n] = '\0'; /* file:line lines, one per error */
		fprintf(stderr, "postern policyd: policy: %s\n", err);
		goto fail_dns;
	}
	r.lfd = listen_socket(l, cfg->listen_backlog, err, sizeof(err));
	if (r.lfd < 0) {
		fprintf(stderr, "postern policyd: %s\n", err);
		goto fail_srv;
	}
	if (drop_privileges(cfg) < 0)
		goto fail_listen;
	if (!foreground) {
		if (daemon(1, 0) < 0) {
			fprintf(stderr, "postern policyd: cannot become a daemon: %s\n",
			        strerror(errno));
			goto fail_listen;
		}
		/* The child goes on with the parent's event base. */
		if (event_reinit(r.base) < 0)
			fatal("policyd: cannot reinitialise the event base after fork");
	}
	log_init("policyd", !foreground, (int)cfg->verbose);
	signal(SIGPIPE, SIG_IGN);
	r.accept_ev = event_new(r.base, r.lfd, EV_READ | EV_PERSIST, accept_cb, &r);
	r.pause_ev = evtimer_new(r.base, accept_resume, &r);
	sig_term = evsignal_new(r.base, SIGTERM, stop_cb, &r);
	sig_int = evsignal_new(r.base, SIGINT, stop_cb, &r);
	sig_hup = evsignal_new(r.base, SIGHUP, hup_cb, &r);
	event_add(r.accept_ev, NULL);
	event_add(sig_term, NULL);
	event_add(sig_int, NULL);
	event_add(sig_hup, NULL);
	log_info("event=policyd_start listen=%s pid=%d", where, (int)getpid());

	if (event_base_dispatch(r.base) < 0)
		rc = 1;

	event_free(r.accept_ev);
	event_free(r.pause_ev);
	event_free(sig_term);
	event_free(sig_int);
	event_free(sig_hup);
	close(r.lfd);
	if (l->is_unix)
		unlink(l->path); /* may fail once privileges are dropped: harmless */
	policyd_server_free(r.srv);
	dns_resolver_free(dns);
	event_base_free(r.base);
	log_info("event=policyd_exit");
	return rc;

fail_listen:
	close(r.lfd);
	if (l->is_unix)
		unlink(l->path);
fail_srv:
	policyd_server_free(r.srv);
fail_dns:
	dns_resolver_free(dns);
fail_base:
	event_base_free(r.base);
	return 1;
}
