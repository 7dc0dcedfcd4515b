/* Session I/O: reading command lines, DATA and BDAT input from the
 * bufferevent, TLS start, the reply funnel, and the session's lifetime. */
#include "server/session.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "queue/spool.h"
#include "server/checks.h"
#include "server/msgauth.h"
#include "server/listener.h"
#include "server/worker.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* RFC 4954 4: a server must accept AUTH lines of up to 12288 octets. */
#define AUTH_LINE_MAX 12288
/* Seconds the last reply of a closing session may take to leave. */
#define CLOSE_FLUSH_TIMEOUT 10

static void session_read_cb(struct bufferevent *bev, void *arg);
static void session_write_cb(struct bufferevent *bev, void *arg);
static void session_event_cb(struct bufferevent *bev, short what, void *arg);
static void session_process(struct session *s);
static void session_switch_to_tls(struct session *s);

static void session_set_timeouts(struct session *s)
{
	const struct config *cfg = s->worker->cfg;
	struct timeval tv = {.tv_sec = (s->state == ST_DATA || s->state == ST_BDAT)
	                                   ? cfg->data_timeout
	                                   : cfg->command_timeout};
	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

static void session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	session_reply(s, 421, "4.4.2", "%s Session time limit exceeded, closing",
	              s->worker->cfg->hostname);
	session_close_after(s);
}

struct ptr_job {
	struct session *s;
	struct sockaddr_storage addr;
	char name[256];
};

static void ptr_lookup(void *arg)
{
	struct ptr_job *j = arg;
	socklen_t len = j->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                              : sizeof(struct sockaddr_in);
	if (getnameinfo((struct sockaddr *)&j->addr, len, j->name, sizeof(j->name), NULL, 0,
	                NI_NAMEREQD) != 0)
		j->name[0] = '\0';
}

static struct ptr_cache_entry *ptr_slot(struct worker *w, const char *ip)
{
	unsigned h = 2166136261u;
	for (const char *c = ip; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return &w->ptr_cache[h % PTR_CACHE_SLOTS];
}

static void ptr_done(void *arg)
{
	struct ptr_job *j = arg;
	struct session *s = j->s;
	struct ptr_cache_entry *e = ptr_slot(s->worker, s->ip);

	snprintf(e->ip, sizeof(e->ip), "%s", s->ip);
	snprintf(e->name, sizeof(e->name), "%s", j->name);
	e->expires = time(NULL) + PTR_CACHE_TTL;
	snprintf(s->rdns, sizeof(s->rdns), "%s", j->name);
	free(j);
	if (session_release(s))
		return;
	s->waiting = 0;
	if (s->state == ST_GREETING && !s->dead)
		commands_greet(s);
}

struct session *session_new(struct worker *w, const struct listener *l, int fd,
                            const struct sockaddr_storage *peer, socklen_t peerlen)
{
	struct session *s = xcalloc(1, sizeof(*s));
	const struct config *cfg = w->cfg;
	int one = 1;

	id_new(s->sid);
	s->worker = w;
	s->listener = l;
	s->fd = fd;
	memcpy(&s->peer, peer, peerlen < sizeof(s->peer) ? peerlen : sizeof(s->peer));
	if (getnameinfo((struct sockaddr *)peer, peerlen, s->ip, sizeof(s->ip), NULL, 0,
	                NI_NUMERICHOST) != 0)
		snprintf(s->ip, sizeof(s->ip), "unknown");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->state = ST_GREETING;

	if (l->conf->role == ROLE_SUBMISSIONS) {
		SSL *ssl = SSL_new(l->tls);
		s->bev = bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		                                        BEV_OPT_CLOSE_ON_FREE);
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
		s->state = ST_TLS;
	} else {
		s->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb, session_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	session_set_timeouts(s);

	struct timeval life = {.tv_sec = cfg->session_timeout};
	s->session_timer = evtimer_new(w->base, session_timer_cb, s);
	evtimer_add(s->session_timer, &life);

	log_info("event=connect sid=%s ip=%s listener=%s", s->sid, s->ip, l->conf->name);
	return s;
}

void session_start(struct session *s)
{
	checks_connect(s);
	struct ptr_cache_entry *e = ptr_slot(s->worker, s->ip);
	if (s->checks == NULL && strcmp(e->ip, s->ip) == 0 && e->expires > time(NULL)) {
		snprintf(s->rdns, sizeof(s->rdns), "%s", e->name);
	} else if (s->checks == NULL) {
		/* Clients that are not checked still get their PTR name looked up
		 * (through the system resolver, /etc/hosts first) for the
		 * Received header; the banner waits for it. */
		struct ptr_job *j = xcalloc(1, sizeof(*j));
		j->s = s;
		memcpy(&j->addr, &s->peer, sizeof(j->addr));
		session_hold(s);
		s->waiting = 1;
		pool_submit(s->worker->pool, ptr_lookup, ptr_done, j);
	}
	if (s->state == ST_GREETING && !s->waiting)
		commands_greet(s);
}

void session_hold(struct session *s)
{
	s->pending++;
}

int session_release(struct session *s)
{
	s->pending--;
	if (s->dead && s->pending == 0) {
		session_free(s);
		return 1;
	}
	return s->dead;
}

void session_reset_transaction(struct session *s)
{
	for (size_t i = 0; i < s->nrcpt; i++) {
		free(s->rcpts[i].addr);
		free(s->rcpts[i].orcpt);
	}
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpt = 0;
	if (s->body) {
		spool_body_discard(s->body);
		s->body = NULL;
	}
	s->queue_id[0] = '\0';
	s->mail_from[0] = '\0';
	memset(&s->mail, 0, sizeof(s->mail));
	s->body_error = 0;
	s->bdat_left = 0;
	s->bdat_last = 0;
	s->bdat_failed = 0;
	s->bdat_prev_cr = 0;
	s->bdat_error = DATA_ERR_NONE;
	s->bdat_size = 0;
	s->nrcpt_exempt = 0;
	msgauth_free(s);
	checks_reset_transaction(s);
}

/* Frees the session now, or marks it dead when a job still holds it. */
static void session_end(struct session *s, const char *why)
{
	if (s->dead)
		return;
	log_info("event=disconnect sid=%s ip=%s reason=%s messages=%lu errors=%d", s->sid, s->ip,
	         why, s->messages, s->errors);
	s->dead = 1;
	/* No check may call back into a session that has gone. */
	msgauth_free(s);
	checks_free(s);
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	worker_session_gone(s->worker, s);
	if (s->pending == 0)
		session_free(s);
}

void session_free(struct session *s)
{
	session_reset_transaction(s);
	checks_free(s);
	if (s->session_timer)
		event_free(s->session_timer);
	if (s->bev)
		bufferevent_free(s->bev);
	free(s);
}

void session_reply(struct session *s, int code, const char *ecode, const char *fmt, ...)
{
	char text[1024];
	char out[1200];
	va_list ap;
	const char *line;
	size_t off = 0;

	if (s->dead || s->bev == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	/* RFC 5321 4.2.1: all lines but the last use "code-"; RFC 2034 puts
	 * the enhanced code on every line. */
	line = text;
	for (;;) {
		const char *nl = strchr(line, '\n');
		int n = snprintf(out + off, sizeof(out) - off, "%d%c%s%s%.*s\r\n", code,
		                 nl ? '-' : ' ', ecode ? ecode : "", ecode ? " " : "",
		                 nl ? (int)(nl - line) : (int)strlen(line), line);
		if (n < 0 || (size_t)n >= sizeof(out) - off)
			break;
		off += (size_t)n;
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	bufferevent_write(s->bev, out, off);

	if (code >= 400) {
		/* One fixed shape for every reject, for grep and fail2ban. */
		log_info("event=reject sid=%s ip=%s helo=%s from=<%s> state=%d code=%d ecode=%s "
		         "text=\"%s\"",
		         s->sid, s->ip, s->helo[0] ? s->helo : "-", s->mail_from, s->state, code,
		         ecode ? ecode : "-", text);
		if (code != 421 && ++s->errors >= s->worker->cfg->max_errors) {
			s->errors = -1000000; /* the 421 below must not recurse */
			session_reply(s, 421, "4.7.0", "%s Too many errors, closing connection",
			              s->worker->cfg->hostname);
			session_close_after(s);
		}
	}
}

void session_close_after(struct session *s)
{
	if (s->dead)
		return;
	s->closing = 1;
	s->state = ST_CLOSING;
	if (s->bev == NULL)
		return;
	bufferevent_disable(s->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
		session_end(s, "closed");
		return;
	}
	struct timeval flush = {.tv_sec = CLOSE_FLUSH_TIMEOUT};
	bufferevent_set_timeouts(s->bev, NULL, &flush);
	bufferevent_enable(s->bev, EV_WRITE);
}

void session_drain(struct session *s)
{
	s->draining = 1;
	/* Idle sessions are told at once; a session in a transaction is told
	 * when it ends (commands_dispatch checks draining). */
	if ((s->state == ST_READY || s->state == ST_HELO) && !s->waiting) {
		session_reply(s, 421, "4.3.2", "%s Service shutting down",
		              s->worker->cfg->hostname);
		session_close_after(s);
	}
}

void session_resume(struct session *s)
{
	if (s->dead)
		return;
	s->waiting = 0;
	session_set_timeouts(s);
	session_process(s);
}

static void session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	if (s->closing)
		session_end(s, "closed");
	else if (s->tls_pending)
		session_switch_to_tls(s);
}

static void session_tls_ready(struct session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	s->tls = 1;
	snprintf(s->tls_version, sizeof(s->tls_version), "%s", SSL_get_version(ssl));
	snprintf(s->tls_cipher, sizeof(s->tls_cipher), "%s", SSL_get_cipher_name(ssl));
	log_info("event=tls sid=%s ip=%s version=%s cipher=%s", s->sid, s->ip, s->tls_version,
	         s->tls_cipher);
	if (s->listener->conf->role == ROLE_SUBMISSIONS) {
		/* Implicit TLS: the banner follows the handshake (and the PTR
		 * lookup, which may still be running). */
		s->state = ST_GREETING;
		if (!s->waiting)
			commands_greet(s);
		return;
	}
	/* RFC 3207 4.2: after TLS the session starts over. */
	s->helo[0] = '\0';
	s->esmtp = 0;
	session_reset_transaction(s);
	s->state = ST_HELO;
	session_resume(s);
}

static void session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_CONNECTED) {
		session_tls_ready(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		/* A client that does not even read our last reply is dropped. */
		if (s->closing) {
			session_end(s, "timeout");
			return;
		}
		session_reply(s, 421, "4.4.2", "%s Timeout exceeded, closing",
		              s->worker->cfg->hostname);
		session_close_after(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		if (e) {
			char msg[256];
			ERR_error_string_n(e, msg, sizeof(msg));
			log_info("event=tls_error sid=%s ip=%s error=\"%s\"", s->sid, s->ip, msg);
		}
		session_end(s, s->state == ST_TLS ? "tls_failed" : "error");
		return;
	}
	if (what & BEV_EVENT_EOF)
		session_end(s, s->state == ST_DATA || s->state == ST_BDAT ? "eof_in_data" : "eof");
}

/* Called once the "220 Ready to start TLS" has left: the socket changes
 * hands from the plain bufferevent to a TLS one. */
static void session_switch_to_tls(struct session *s)
{
	struct bufferevent *plain = s->bev;
	SSL *ssl = SSL_new(s->listener->tls);

	s->tls_pending = 0;
	bufferevent_setfd(plain, -1);
	bufferevent_free(plain);
	s->bev = bufferevent_openssl_socket_new(s->worker->base, s->fd, ssl,
	                                        BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb, session_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	session_set_timeouts(s);
}

void session_start_tls(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	/* RFC 3207 4.2 and CVE-2011-0411: commands pipelined behind STARTTLS
	 * arrived in clear text and must not be executed after the handshake;
	 * neither may anything that arrives before the switch. */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(s->bev, EV_READ);
	s->state = ST_TLS;
	s->tls_pending = 1;
}

static void data_sink_body(void *arg, const char *p, size_t n)
{
	struct session *s = arg;
	if (!s->body_error && spool_body_write(s->body, p, n) < 0)
		s->body_error = 1;
	msgauth_feed(s, p, n);
}

/* Feeds buffered DATA input to the reader; returns 1 when DATA ended. */
static int session_read_data(struct session *s, struct evbuffer *in)
{
	struct evbuffer_iovec vec[16];
	int n = evbuffer_peek(in, -1, NULL, vec, 16);
	size_t used = 0;

	for (int i = 0; i < n && i < 16 && !s->data.done; i++)
		used += data_feed(&s->data, vec[i].iov_base, vec[i].iov_len, data_sink_body, s);
	evbuffer_drain(in, used);
	if (!s->data.done)
		return 0;
	commands_message_end(s, s->data.error);
	return 1;
}

/* Reads the current BDAT chunk (RFC 3030): exact byte counts, no dot
 * handling; bare CR and LF are still refused as in DATA. */
static int session_read_bdat(struct session *s, struct evbuffer *in)
{
	const struct config *cfg = s->worker->cfg;
	struct evbuffer_iovec vec[16];
	int n = evbuffer_peek(in, -1, NULL, vec, 16);
	size_t used = 0;

	for (int i = 0; i < n && i < 16 && s->bdat_left > 0; i++) {
		const unsigned char *p = vec[i].iov_base;
		size_t len = vec[i].iov_len;
		if (len > s->bdat_left)
			len = (size_t)s->bdat_left;
		for (size_t k = 0; k < len && s->bdat_error == DATA_ERR_NONE; k++) {
			if (s->bdat_prev_cr && p[k] != '\n')
				s->bdat_error = DATA_ERR_BARE_CR;
			else if (!s->bdat_prev_cr && p[k] == '\n')
				s->bdat_error = DATA_ERR_BARE_LF;
			s->bdat_prev_cr = p[k] == '\r';
		}
		s->bdat_size += len;
		if (s->bdat_size > (uint64_t)cfg->max_message_size &&
		    s->bdat_error == DATA_ERR_NONE)
			s->bdat_error = DATA_ERR_TOO_BIG;
		if (!s->bdat_failed && s->bdat_error == DATA_ERR_NONE)
			data_sink_body(s, (const char *)p, len);
		s->bdat_left -= len;
		used += len;
	}
	evbuffer_drain(in, used);
	if (s->bdat_left > 0)
		return 0;
	s->state = ST_RCPT;
	session_set_timeouts(s);
	if (s->bdat_last) {
		if (s->bdat_prev_cr && s->bdat_error == DATA_ERR_NONE)
			s->bdat_error = DATA_ERR_BARE_CR;
		commands_message_end(s, s->bdat_failed ? DATA_ERR_NONE : s->bdat_error);
	} else if (s->bdat_failed) {
		session_reply(s, 554, "5.5.0", "Transaction already failed, send RSET");
	} else {
		session_reply(s, 250, "2.0.0", "%llu octets received",
		              (unsigned long long)s->bdat_size);
	}
	return 1;
}

/* Returns 0 when no complete line is buffered yet. */
static int session_read_line(struct session *s, struct evbuffer *in)
{
	const struct config *cfg = s->worker->cfg;
	size_t limit = (size_t)cfg->max_command_length > AUTH_LINE_MAX
	                   ? (size_t)cfg->max_command_length
	                   : AUTH_LINE_MAX;
	struct evbuffer_ptr eol = evbuffer_search(in, "\n", 1, NULL);
	size_t avail = evbuffer_get_length(in);
	static char line[65536 + 2];

	if (eol.pos < 0) {
		/* Limit before growth: a line longer than any we accept is
		 * refused now, not when its end finally arrives. */
		if (avail > limit) {
			evbuffer_drain(in, avail);
			if (!s->skip_line)
				session_reply(s, 500, "5.5.2", "Line too long");
			s->skip_line = 1;
		}
		return 0;
	}
	size_t len = (size_t)eol.pos + 1;
	if (s->skip_line) {
		evbuffer_drain(in, len);
		s->skip_line = 0;
		return 1;
	}
	if (len > limit) {
		evbuffer_drain(in, len);
		session_reply(s, 500, "5.5.2", "Line too long");
		return 1;
	}
	evbuffer_remove(in, line, len);
	len--; /* the LF */
	if (len == 0 || line[len - 1] != '\r') {
		/* RFC 5321 2.3.8: lines end with CRLF; a bare LF is refused
		 * rather than guessed at. */
		session_reply(s, 500, "5.5.2", "Command line must end with CRLF");
		return 1;
	}
	len--;
	line[len] = '\0';
	if (s->state == ST_AUTH) {
		auth_continue(s, line, len);
		return 1;
	}
	if (len + 2 > (size_t)cfg->max_command_length &&
	    !(len >= 5 && strncasecmp(line, "AUTH ", 5) == 0)) {
		session_reply(s, 500, "5.5.2", "Line too long");
		return 1;
	}
	commands_dispatch(s, line, len);
	return 1;
}

static void session_process(struct session *s)
{
	while (!s->dead && !s->closing && s->bev) {
		struct evbuffer *in = bufferevent_get_input(s->bev);
		if (evbuffer_get_length(in) == 0)
			break;
		if (s->waiting || s->state == ST_GREETING || s->state == ST_TLS)
			break;
		if (s->state == ST_DATA) {
			if (!session_read_data(s, in))
				break;
		} else if (s->state == ST_BDAT) {
			if (!session_read_bdat(s, in))
				break;
		} else {
			if (!session_read_line(s, in))
				break;
		}
	}
}

static void session_read_cb(struct bufferevent *bev, void *arg)
{
	session_process(arg);
}
