/* Session I/O: reading command lines, DATA and BDAT input from the
 * bufferevent, TLS start, the reply funnel, and the session's lifetime. */
#include "server/session.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "policy/iprev.h"
#include "queue/spool.h"
#include "server/listener.h"
#include "server/txn.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* RFC 4954 4: a server must accept AUTH lines of up to 12288 octets. */
#define AUTH_LINE_MAX 12288
/* Seconds the last reply of a closing session may take to leave. */
#define CLOSE_FLUSH_TIMEOUT 10
/* Input buffered ahead of what the session has consumed: past it the
 * socket is not read (a client that streams while we wait, or whose
 * pipelined commands wait for their replies, is held back by TCP).  The
 * longest line accepted fits, with room for a read's worth after it. */
#define INPUT_AHEAD_MAX (65536 + 16384)
/* Unsent replies: past OUTPUT_HIGH no further command is read until the
 * client has taken them down to OUTPUT_LOW. */
#define OUTPUT_HIGH (64 * 1024)
#define OUTPUT_LOW (16 * 1024)

static void session_read_cb(struct bufferevent *bev, void *arg);
static void session_write_cb(struct bufferevent *bev, void *arg);
static void session_event_cb(struct bufferevent *bev, short what, void *arg);
static void session_process(struct session *s);
static void session_switch_to_tls(struct session *s);

static void session_setup_bev(struct session *s)
{
	const struct config *cfg = s->env->shared.cfg;
	/* Only writes time out in libevent's way (no progress for that
	 * long); what the client sends has a deadline of its own. */
	struct timeval wr = {.tv_sec = cfg->command_timeout};
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb, session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, INPUT_AHEAD_MAX);
	bufferevent_setwatermark(s->bev, EV_WRITE, OUTPUT_LOW, 0);
	bufferevent_set_timeouts(s->bev, NULL, &wr);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* A command, or a line of DATA, must be complete within its timeout
 * however slowly it trickles in: the deadline starts when the session
 * begins to wait for it, not at the last byte. */
static void session_arm_deadline(struct session *s)
{
	const struct config *cfg = s->env->shared.cfg;
	struct timeval tv = {.tv_sec = (s->state == ST_DATA || s->state == ST_BDAT)
	                                   ? cfg->data_timeout
	                                   : cfg->command_timeout};
	if (s->deadline)
		evtimer_add(s->deadline, &tv);
}

static void session_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	if (s->waiting || s->closing)
		return;
	session_reply(s, 421, "4.4.2", "%s Timeout exceeded, closing",
	              s->env->shared.cfg->hostname);
	session_close_after(s);
}

static void session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	session_reply(s, 421, "4.4.2", "%s Session time limit exceeded, closing",
	              s->env->shared.cfg->hostname);
	session_close_after(s);
}

/* What the filters see of the session. */
static void session_view(const struct session *s, struct filter_view *v)
{
	*v = (struct filter_view){
	    .sid = s->sid,
	    .ip = s->ip,
	    .rdns = s->rdns,
	    .helo = s->helo,
	    .tls = s->tls,
	    .auth_user = s->auth_user,
	    .submission = s->listener->conf->role != ROLE_MX,
	    .txn = s->txn,
	    .rcpt = s->rcpt,
	    .rcpt_mailbox = s->rcpt_mailbox,
	    .rcpt_local = s->rcpt_local,
	    .rcpt_exempt = s->rcpt_exempt,
	};
}

struct session *session_new(const struct session_env *env, const struct listener *l, int fd,
                            const struct sockaddr_storage *peer, socklen_t peerlen)
{
	struct session *s = xcalloc(1, sizeof(*s));
	const struct config *cfg = env->shared.cfg;
	int one = 1;

	id_new(s->sid);
	s->env = env;
	s->listener = l;
	stages_init(&s->stages, &env->shared, s, session_view);
	s->fd = fd;
	memcpy(&s->peer, peer, peerlen < sizeof(s->peer) ? peerlen : sizeof(s->peer));
	if (getnameinfo((struct sockaddr *)peer, peerlen, s->ip, sizeof(s->ip), NULL, 0,
	                NI_NUMERICHOST) != 0)
		snprintf(s->ip, sizeof(s->ip), "unknown");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->state = ST_GREETING;

	if (l->conf->role == ROLE_SUBMISSIONS) {
		SSL *ssl = SSL_new(l->tls);
		s->bev = bufferevent_openssl_socket_new(
		    env->shared.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
		s->state = ST_TLS;
	} else {
		s->bev = bufferevent_socket_new(env->shared.base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	session_setup_bev(s);
	s->deadline = evtimer_new(env->shared.base, session_deadline_cb, s);
	session_arm_deadline(s);

	struct timeval life = {.tv_sec = cfg->session_timeout};
	s->session_timer = evtimer_new(env->shared.base, session_timer_cb, s);
	evtimer_add(s->session_timer, &life);

	log_info("event=connect sid=%s ip=%s listener=%s", s->sid, s->ip, l->conf->name);
	return s;
}

static void session_connected(struct session *s, const struct filter_reply *r)
{
	/* Under implicit TLS the banner waits for the handshake. */
	if (s->state == ST_GREETING)
		s->env->handlers->greet(s);
}

static void rdns_done(void *arg, const struct iprev_result *res)
{
	struct session *s = arg;
	s->rdns_lookup = NULL;
	if (res->code == IPREV_PASS)
		snprintf(s->rdns, sizeof(s->rdns), "%s", res->name);
	if (s->rdns_then) {
		void (*then)(struct session *) = s->rdns_then;
		s->rdns_then = NULL;
		then(s);
	}
}

void session_after_rdns(struct session *s, void (*then)(struct session *s))
{
	if (s->rdns_lookup == NULL)
		then(s);
	else
		s->rdns_then = then;
}

void session_start(struct session *s)
{
	/* The Received field names the client by its forward-confirmed
	 * name (RFC 5321 4.4, RFC 8601 3 iprev), looked up on the worker's
	 * resolver, which merges and caches lookups (the sender checks ask
	 * the same).  Nothing waits for it before the end of a message.
	 * This host's own address is localhost, as /etc/hosts says; no
	 * resolver is asked about it. */
	if (strcmp(s->ip, "127.0.0.1") == 0 || strcmp(s->ip, "::1") == 0)
		snprintf(s->rdns, sizeof(s->rdns), "localhost");
	else
		s->rdns_lookup = iprev_start(s->env->shared.dns, s->ip, rdns_done, s);
	stages_attach(&s->stages);
	stages_run(&s->stages, FS_CONNECT, session_connected);
}

void session_hold(struct session *s)
{
	s->pending++;
}

static void session_free(struct session *s)
{
	txn_free(s->txn);
	if (s->session_timer)
		event_free(s->session_timer);
	if (s->deadline)
		event_free(s->deadline);
	if (s->bev)
		bufferevent_free(s->bev);
	free(s);
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

static void txn_reset_done(struct session *s, const struct filter_reply *r)
{
}

void session_end_txn(struct session *s)
{
	if (s->txn == NULL)
		return;
	stages_run(&s->stages, FS_RESET, txn_reset_done);
	txn_free(s->txn);
	s->txn = NULL;
}

/* Frees the session now, or marks it dead when a job still holds it. */
static void session_end(struct session *s, const char *why)
{
	if (s->dead)
		return;
	log_info("event=disconnect sid=%s ip=%s reason=%s messages=%lu errors=%d", s->sid, s->ip,
	         why, s->messages, s->errors);
	s->dead = 1;
	/* No filter or lookup may call back into a session that has gone. */
	if (s->rdns_lookup) {
		iprev_cancel(s->rdns_lookup);
		s->rdns_lookup = NULL;
	}
	stages_detach(&s->stages);
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	s->env->handlers->gone(s);
	if (s->pending == 0)
		session_free(s);
}

void session_abort(struct session *s)
{
	session_end(s, "shutdown");
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
		/* One fixed shape for every reject, for grep and fail2ban; what
		 * the client chose is escaped so that it cannot forge a key. */
		char helo[LOG_VALUE_SIZE(64)], from[LOG_VALUE_SIZE(64)], txt[LOG_VALUE_SIZE(200)];
		log_info("event=reject sid=%s ip=%s helo=%s from=%s state=%d code=%d ecode=%s "
		         "text=%s",
		         s->sid, s->ip, s->helo[0] ? log_value(helo, sizeof(helo), s->helo) : "-",
		         log_value(from, sizeof(from), s->txn ? s->txn->mail_from : ""), s->state,
		         code, ecode ? ecode : "-", log_value(txt, sizeof(txt), text));
		/* Only permanent errors count: a temporary refusal (too many
		 * recipients, a full disk, a DNS timeout) is one the client is
		 * entitled to retry, and it must not cost the session. */
		if (code >= 500 && ++s->errors >= s->env->shared.cfg->max_errors) {
			s->errors = -1000000; /* the 421 below must not recurse */
			session_reply(s, 421, "4.7.0", "%s Too many errors, closing connection",
			              s->env->shared.cfg->hostname);
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
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(s->bev, NULL, &flush);
	bufferevent_enable(s->bev, EV_WRITE);
}

void session_drain(struct session *s)
{
	s->draining = 1;
	/* Idle sessions are told at once; a session in a transaction is told
	 * when it ends (the command dispatcher checks draining). */
	if ((s->state == ST_READY || s->state == ST_HELO) && !s->waiting) {
		session_reply(s, 421, "4.3.2", "%s Service shutting down",
		              s->env->shared.cfg->hostname);
		session_close_after(s);
	}
}

void session_wait(struct session *s)
{
	s->waiting = 1;
	if (s->deadline)
		evtimer_del(s->deadline);
}

void session_resume(struct session *s)
{
	if (s->dead)
		return;
	s->waiting = 0;
	session_arm_deadline(s);
	/* Called from within a command, the loop below goes on by itself;
	 * processing here too would nest once per pipelined command. */
	if (!s->in_process)
		session_process(s);
}

static void session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	if (s->closing) {
		if (left == 0)
			session_end(s, "closed");
	} else if (s->tls_pending) {
		if (left == 0)
			session_switch_to_tls(s);
	} else {
		/* The client took its replies: commands held back go on. */
		session_process(s);
	}
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
		/* Implicit TLS: the banner follows the handshake (and the
		 * connect stage, which may still be running). */
		s->state = ST_GREETING;
		if (!stages_busy(&s->stages))
			s->env->handlers->greet(s);
		return;
	}
	/* RFC 3207 4.2: after TLS the session starts over. */
	s->helo[0] = '\0';
	s->esmtp = 0;
	session_end_txn(s);
	s->state = ST_HELO;
	stages_run(&s->stages, FS_TLS, NULL);
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
		/* A client that does not read our replies is dropped. */
		if (s->closing) {
			session_end(s, "timeout");
			return;
		}
		session_reply(s, 421, "4.4.2", "%s Timeout exceeded, closing",
		              s->env->shared.cfg->hostname);
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
	s->bev = bufferevent_openssl_socket_new(s->env->shared.base, s->fd, ssl,
	                                        BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	session_setup_bev(s);
}

void session_start_tls(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	/* RFC 3207 4.2 and CVE-2011-0411: commands pipelined behind STARTTLS
	 * arrived in clear text and must not be executed after the handshake;
	 * neither may anything that arrives before the switch. */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	s->state = ST_TLS;
	s->tls_pending = 1;
}

/* The message's bytes as stored: the spool, the one header collector and
 * the filters; a complete line moves the deadline on. */
static void session_store(struct session *s, const char *p, size_t n)
{
	struct txn *t = s->txn;

	if (!t->body_error && spool_body_write(t->body, p, n) < 0)
		t->body_error = errno ? errno : EIO;
	if (t->head.state == MSGHEAD_OPEN) {
		msghead_feed(&t->head, p, n);
		if (t->head.state != MSGHEAD_OPEN)
			stages_run(&s->stages, FS_HEADER, NULL);
	}
	stages_body(&s->stages, p, n);
}

static void data_sink_body(void *arg, const char *p, size_t n)
{
	session_store(arg, p, n);
}

/* Feeds buffered DATA input to the reader; returns 1 when DATA ended. */
static int session_read_data(struct session *s, struct evbuffer *in)
{
	struct evbuffer_iovec vec[16];
	int n = evbuffer_peek(in, -1, NULL, vec, 16);
	size_t used = 0;
	struct txn *t = s->txn;

	for (int i = 0; i < n && i < 16 && !t->data.done; i++) {
		size_t k = data_feed(&t->data, vec[i].iov_base, vec[i].iov_len, data_sink_body, s);
		if (memchr(vec[i].iov_base, '\n', k))
			session_arm_deadline(s);
		used += k;
	}
	evbuffer_drain(in, used);
	if (!t->data.done)
		return 0;
	s->env->handlers->message_end(s, t->data.error);
	return 1;
}

/* Reads the current BDAT chunk (RFC 3030): exact byte counts, no dot
 * handling; bare CR and LF are still refused as in DATA. */
static int session_read_bdat(struct session *s, struct evbuffer *in)
{
	struct evbuffer_iovec vec[16];
	int n = evbuffer_peek(in, -1, NULL, vec, 16);
	size_t used = 0;
	struct txn *t = s->txn;

	for (int i = 0; i < n && i < 16 && t->bdat_left > 0; i++) {
		const char *p = vec[i].iov_base;
		size_t len = vec[i].iov_len;
		if (len > t->bdat_left)
			len = (size_t)t->bdat_left;
		if (data_bdat_feed(&t->bdat, p, len) == DATA_ERR_NONE && !t->bdat_failed)
			session_store(s, p, len);
		if (memchr(p, '\n', len))
			session_arm_deadline(s);
		t->bdat_left -= len;
		used += len;
	}
	evbuffer_drain(in, used);
	if (t->bdat_left > 0)
		return 0;
	s->state = ST_RCPT;
	session_arm_deadline(s);
	if (t->bdat_last) {
		enum data_error err = data_bdat_finish(&t->bdat);
		s->env->handlers->message_end(s, t->bdat_failed ? DATA_ERR_NONE : err);
	} else if (t->bdat_failed) {
		session_reply(s, 554, "5.5.0", "Transaction already failed, send RSET");
	} else {
		session_reply(s, 250, "2.0.0", "%llu octets received",
		              (unsigned long long)t->bdat.size);
	}
	return 1;
}

/* Returns 0 when no complete line is buffered yet. */
static int session_read_line(struct session *s, struct evbuffer *in)
{
	const struct config *cfg = s->env->shared.cfg;
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
	session_arm_deadline(s);
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
	if (s->state != ST_AUTH && len + 2 > (size_t)cfg->max_command_length &&
	    !(len >= 5 && strncasecmp(line, "AUTH ", 5) == 0)) {
		session_reply(s, 500, "5.5.2", "Line too long");
		return 1;
	}
	s->env->handlers->line(s, line, len);
	return 1;
}

static void session_process(struct session *s)
{
	s->in_process = 1;
	session_hold(s);
	while (!s->dead && !s->closing && s->bev) {
		struct evbuffer *in = bufferevent_get_input(s->bev);
		if (evbuffer_get_length(in) == 0)
			break;
		if (s->waiting || s->state == ST_GREETING || s->state == ST_TLS)
			break;
		if (s->state == ST_DATA) {
			if (!session_read_data(s, in))
				break;
			continue;
		}
		if (s->state == ST_BDAT) {
			if (!session_read_bdat(s, in))
				break;
			continue;
		}
		/* Replies the client has not read yet: no further command is
		 * taken until it reads them (the write callback resumes). */
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > OUTPUT_HIGH)
			break;
		if (!session_read_line(s, in))
			break;
	}
	s->in_process = 0;
	session_release(s);
}

static void session_read_cb(struct bufferevent *bev, void *arg)
{
	session_process(arg);
}
