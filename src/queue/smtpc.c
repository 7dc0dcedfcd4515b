/* The SMTP/LMTP client's connection: connecting, reading replies line by
 * line within bounds, step deadlines, the switch to TLS and its outcome,
 * and the lifetime of struct smtpc (callbacks may close it while ours are
 * on the stack, so freeing waits until they return). */
#include "queue/smtpc_priv.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* RFC 5321 4.5.3.1.5 allows 512 octets per reply line; servers that write
 * longer ones exist, so twice that is tolerated, and no more. */
#define SMTPC_LINE_MAX 1024
/* A reply of more lines than this is not a server we can talk to (an EHLO
 * reply has a dozen). */
#define SMTPC_REPLY_LINES 100
/* Input held unread: a few replies' worth; TCP holds back the rest. */
#define SMTPC_INPUT_MAX (16 * 1024)
#define SMTPC_QUIT_SECS 2

static void smtpc_free(struct smtpc *c);

/* Our callbacks bracket their work with hold/release, so that a user
 * callback that closes c frees it only once the stack has unwound. */
static void hold(struct smtpc *c)
{
	c->busy++;
}

static void release(struct smtpc *c)
{
	if (--c->busy == 0 && c->freeing)
		smtpc_free(c);
}

struct evbuffer *smtpc_out(struct smtpc *c)
{
	return bufferevent_get_output(c->bev);
}

void smtpc_printf(struct smtpc *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(smtpc_out(c), fmt, ap);
	va_end(ap);
}

void smtpc_arm(struct smtpc *c, long secs, const char *what)
{
	struct timeval tv = {.tv_sec = secs < 1 ? 1 : secs};

	c->wait_secs = tv.tv_sec;
	c->wait_what = what;
	evtimer_add(c->timer, &tv);
}

void smtpc_disarm(struct smtpc *c)
{
	evtimer_del(c->timer);
}

void smtpc_defer(struct smtpc *c)
{
	event_active(c->defer, EV_TIMEOUT, 1);
}

void smtpc_reply_text(const struct reply *r, char *out, size_t outsize)
{
	snprintf(out, outsize, "%d%s%s%s%s", r->code, r->enhanced[0] ? " " : "", r->enhanced,
	         r->text[0] ? " " : "", r->text);
}

void smtpc_make_reply(struct smtpc *c, char *out, size_t outsize, int code, const char *enh,
                      const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(out, outsize, "%d %s %s: ", code, enh, c->peer);

	if (n < 0 || (size_t)n >= outsize)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, outsize - (size_t)n, fmt, ap);
	va_end(ap);
	/* strerror and OpenSSL texts are ours, but a cut reply text is not
	 * re-checked: keep the promise of no control characters here. */
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* Drops the socket and the deadline; c stays until smtpc_close. */
static void teardown(struct smtpc *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	smtpc_disarm(c);
	reply_init(&c->r);
	c->r_lines = 0;
}

void smtpc_drop(struct smtpc *c)
{
	teardown(c);
	c->phase = PH_DEAD;
}

void smtpc_fail(struct smtpc *c, int code, const char *reply)
{
	switch (c->phase) {
	case PH_IDLE:
	case PH_DEAD:
		smtpc_drop(c);
		return;
	case PH_QUIT:
		teardown(c);
		c->freeing = 1;
		return;
	case PH_MSG:
		teardown(c);
		c->phase = PH_DEAD;
		smtpc_msg_fail(c, code, reply);
		return;
	default:
		/* Still connecting: the caller hears of it once, and c goes. */
		teardown(c);
		c->phase = PH_DEAD;
		c->freeing = 1;
		c->ready(c->ready_arg, NULL, code, reply);
		return;
	}
}

/* A failure of ours, with its reply made here. */
static void fail_with(struct smtpc *c, int code, const char *enh, const char *what,
                      const char *detail)
{
	char text[SMTPC_REPLY_MAX];

	smtpc_make_reply(c, text, sizeof(text), code, enh, "%s%s", what, detail);
	smtpc_fail(c, code, text);
}

void smtpc_ready_ok(struct smtpc *c, int code, const char *reply)
{
	c->phase = PH_IDLE;
	smtpc_disarm(c);
	c->ready(c->ready_arg, c, code, reply);
}

/* One complete reply line (without its line end). */
static void on_line(struct smtpc *c, const char *line, size_t len)
{
	struct reply r;

	if (reply_feed_line(&c->r, line, len) < 0) {
		fail_with(c, 451, "4.5.0", "protocol error: malformed reply", "");
		return;
	}
	if (++c->r_lines > SMTPC_REPLY_LINES) {
		fail_with(c, 451, "4.5.0", "protocol error: reply of too many lines", "");
		return;
	}
	if (c->phase == PH_EHLO && c->r_lines > 1 && len > 4)
		smtpc_sess_ehlo_line(c, line + 4, len - 4);
	if (!c->r.done)
		return;
	r = c->r;
	reply_init(&c->r);
	c->r_lines = 0;
	/* RFC 5321 3.8: 421 means the server is closing the channel. */
	if (r.code == 421)
		c->broken = 1;
	switch (c->phase) {
	case PH_MSG:
		smtpc_msg_reply(c, &r);
		return;
	case PH_IDLE:
		/* Nothing was asked: a 421 before the server hangs up, or a
		 * server out of step.  Either way the connection is done. */
		smtpc_drop(c);
		return;
	default:
		smtpc_sess_reply(c, &r);
		return;
	}
}

static int reading(const struct smtpc *c)
{
	return !c->freeing && c->bev != NULL && c->phase != PH_HANDSHAKE && c->phase != PH_DEAD &&
	       c->phase != PH_CONNECT;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct smtpc *c = arg;

	hold(c);
	/* c->bev is looked up each time: a reply may switch it to TLS. */
	while (reading(c)) {
		struct evbuffer *in = bufferevent_get_input(c->bev);
		size_t eol = 0;
		struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_CRLF);
		char line[SMTPC_LINE_MAX];

		if (c->phase == PH_QUIT) {
			evbuffer_drain(in, evbuffer_get_length(in));
			break;
		}
		if (p.pos < 0 && evbuffer_get_length(in) < SMTPC_LINE_MAX)
			break;
		if (p.pos < 0 || (size_t)p.pos + eol > SMTPC_LINE_MAX) {
			fail_with(c, 451, "4.5.0", "protocol error: reply line too long", "");
			break;
		}
		evbuffer_remove(in, line, (size_t)p.pos);
		evbuffer_drain(in, eol);
		on_line(c, line, (size_t)p.pos);
	}
	release(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct smtpc *c = arg;

	hold(c);
	if (c->phase == PH_QUIT)
		c->freeing = 1;
	else if (c->phase == PH_MSG)
		smtpc_msg_writable(c);
	release(c);
}

/* The TLS session is up: what it is, for the outcome and the logs. */
static void tls_record(struct smtpc *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *cert = SSL_get0_peer_certificate(ssl);
	long v = SSL_get_verify_result(ssl);
	int ok = cert != NULL && v == X509_V_OK && c->peer_name != NULL;

	c->tls = ok ? SMTPC_TLSO_VERIFIED : SMTPC_TLSO_OPPORTUNISTIC;
	snprintf(c->tls_info, sizeof(c->tls_info), "version=%s cipher=%s verify=%s",
	         SSL_get_version(ssl), SSL_get_cipher_name(ssl),
	         ok               ? "ok"
	         : cert == NULL   ? "no certificate"
	         : v != X509_V_OK ? X509_verify_cert_error_string(v)
	                          : "no name to check");
}

/* OpenSSL's reason for the last TLS error of c, or a generic one. */
static void tls_error_text(struct smtpc *c, char *out, size_t outsize)
{
	unsigned long e = c->bev != NULL ? bufferevent_get_openssl_error(c->bev) : 0;

	if (e == 0)
		e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, out, outsize);
	else
		snprintf(out, outsize, "connection closed");
	ERR_clear_error();
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtpc *c = arg;
	char why[256];

	hold(c);
	if (what & BEV_EVENT_CONNECTED) {
		if (c->phase == PH_CONNECT) {
			smtpc_sess_connected(c);
		} else if (c->phase == PH_HANDSHAKE) {
			tls_record(c);
			smtpc_sess_tls_done(c);
		}
	} else if (c->phase == PH_CONNECT) {
		/* libevent has just set errno from SO_ERROR. */
		int e = EVUTIL_SOCKET_ERROR();
		fail_with(c, 451, "4.4.1", "connect: ", e != 0 ? strerror(e) : "failed");
	} else if (c->phase == PH_HANDSHAKE) {
		tls_error_text(c, why, sizeof(why));
		smtpc_sess_tls_failed(c, why);
	} else {
		char lost[160];
		snprintf(lost, sizeof(lost), "lost connection %s", c->wait_what);
		fail_with(c, 421, "4.4.2", lost, "");
	}
	release(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;
	char text[SMTPC_REPLY_MAX];

	hold(c);
	smtpc_make_reply(c, text, sizeof(text), 421, "4.4.2", "timed out after %lds %s",
	                 c->wait_secs, c->wait_what);
	smtpc_fail(c, 421, text);
	release(c);
}

static void defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;

	hold(c);
	if (c->deferred_fail) {
		c->deferred_fail = 0;
		smtpc_fail(c, c->deferred_code, c->deferred_reply);
	} else {
		smtpc_msg_deferred(c);
	}
	release(c);
}

static void setup_bev(struct smtpc *c)
{
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SMTPC_INPUT_MAX);
}

/* Starts a non-blocking connect.  Returns 0, or an errno for a failure
 * known at once. */
static int connect_start(struct smtpc *c)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->addr;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int e;

	if (fd < 0)
		return errno;
	if (connect(fd, sa, c->p.addrlen) < 0 && errno != EINPROGRESS) {
		e = errno;
		close(fd);
		return e;
	}
	c->phase = PH_CONNECT;
	c->bev = bufferevent_socket_new(c->p.base, fd, BEV_OPT_CLOSE_ON_FREE);
	setup_bev(c);
	/* With no address, libevent waits for the connect under way and
	 * reports BEV_EVENT_CONNECTED, or the error with errno set. */
	if (bufferevent_socket_connect(c->bev, NULL, 0) < 0)
		return EIO;
	smtpc_arm(c, c->p.t.connect, "while connecting");
	return 0;
}

void smtpc_reconnect(struct smtpc *c)
{
	int e;

	teardown(c);
	c->tls_retried = 1;
	c->no_starttls = 1;
	c->tls = SMTPC_TLSO_NONE;
	c->tls_info[0] = '\0';
	e = connect_start(c);
	if (e != 0)
		fail_with(c, 451, "4.4.1", "connect: ", strerror(e));
}

/* peer_name names the server in logs and replies, but may come from DNS:
 * a name with a byte that cannot be shown is shown with '?' for it. */
static void make_peer(struct smtpc *c)
{
	char host[NI_MAXHOST] = "", port[NI_MAXSERV] = "";
	size_t n;

	if (c->unix_path != NULL) {
		snprintf(c->peer, sizeof(c->peer), "%.255s[unix:%.107s]",
		         c->peer_name ? c->peer_name : "", c->unix_path);
	} else {
		getnameinfo((const struct sockaddr *)&c->addr, c->p.addrlen, host, sizeof(host),
		            port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(c->peer, sizeof(c->peer), "%.255s[%s]:%s",
		         c->peer_name ? c->peer_name : "", host, port);
	}
	n = strlen(c->peer);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c->peer[i] < 0x20 || c->peer[i] == 0x7f)
			c->peer[i] = '?';
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void copy_params(struct smtpc *c, const struct smtpc_params *p)
{
	c->p = *p;
	c->helo = xstrdup(p->helo);
	c->peer_name = dup_or_null(p->peer_name);
	c->unix_path = dup_or_null(p->unix_path);
	c->auth_user = dup_or_null(p->auth_user);
	c->auth_pass = dup_or_null(p->auth_pass);
	if (c->unix_path != NULL) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&c->addr;
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", c->unix_path);
		c->p.addrlen = sizeof(*sun);
	} else {
		memcpy(&c->addr, p->addr, p->addrlen);
	}
	if (p->tls_ctx != NULL)
		SSL_CTX_up_ref(p->tls_ctx);
	/* Nothing of the caller's is kept. */
	c->p.addr = (const struct sockaddr *)&c->addr;
	c->p.helo = c->helo;
	c->p.peer_name = c->peer_name;
	c->p.unix_path = c->unix_path;
	c->p.auth_user = c->auth_user;
	c->p.auth_pass = c->auth_pass;
}

static void check_params(const struct smtpc_params *p)
{
	if (p->base == NULL || p->helo == NULL)
		panic("smtpc_open: no event base or HELO name");
	if (p->unix_path == NULL &&
	    (p->addr == NULL || p->addrlen == 0 || p->addrlen > sizeof(struct sockaddr_storage)))
		panic("smtpc_open: no address");
	if (p->unix_path != NULL &&
	    strlen(p->unix_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		panic("smtpc_open: unix socket path too long");
	if (p->tls != SMTPC_TLS_NONE && p->tls_ctx == NULL)
		panic("smtpc_open: TLS without a context");
	if (p->tls == SMTPC_TLS_VERIFY && p->peer_name == NULL)
		panic("smtpc_open: TLS verification without a peer name");
	if (p->auth_user != NULL && p->auth_pass == NULL)
		panic("smtpc_open: AUTH without a password");
}

struct smtpc *smtpc_open(const struct smtpc_params *p, smtpc_ready_fn ready, void *arg)
{
	struct smtpc *c = xcalloc(1, sizeof(*c));
	int e;

	check_params(p);
	copy_params(c, p);
	make_peer(c);
	c->ready = ready;
	c->ready_arg = arg;
	c->timer = evtimer_new(p->base, timer_cb, c);
	c->defer = event_new(p->base, -1, 0, defer_cb, c);
	reply_init(&c->r);
	ehlo_ext_init(&c->ext);
	e = connect_start(c);
	if (e != 0) {
		/* The caller hears of it from the loop, never from here. */
		teardown(c);
		c->phase = PH_CONNECT;
		c->deferred_fail = 1;
		c->deferred_code = 451;
		smtpc_make_reply(c, c->deferred_reply, sizeof(c->deferred_reply), 451, "4.4.1",
		                 "connect: %s", strerror(e));
		smtpc_defer(c);
	}
	return c;
}

/* The host name or address peer_name as the certificate must show it. */
static int tls_set_peer(struct smtpc *c, SSL *ssl)
{
	char name[256];
	unsigned char ip[16];
	size_t n;

	if (c->peer_name == NULL)
		return 0;
	snprintf(name, sizeof(name), "%s", c->peer_name);
	n = strlen(name);
	/* An MX name may come with the root's dot; certificates omit it. */
	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = '\0';
	if (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1)
		/* RFC 6066 3: no literal addresses in SNI. */
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 ? 0 : -1;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, name) != 1 || SSL_set_tlsext_host_name(ssl, name) != 1)
		return -1;
	return 0;
}

int smtpc_start_tls(struct smtpc *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	SSL *ssl = SSL_new(c->p.tls_ctx);

	if (ssl == NULL || tls_set_peer(c, ssl) < 0) {
		SSL_free(ssl);
		return -1;
	}
	/* The handshake decides nothing: the outcome is judged after it,
	 * so that MAY can encrypt with any certificate. */
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	/* RFC 3207 5 (and CVE-2011-0411 seen from the client): whatever
	 * came after the 220 came in cleartext and must not be taken for a
	 * reply inside TLS. */
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setfd(c->bev, -1);
	bufferevent_free(c->bev);
	c->bev = bufferevent_openssl_socket_new(c->p.base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	setup_bev(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->phase = PH_HANDSHAKE;
	smtpc_arm(c, c->p.t.helo, "during the TLS handshake");
	return 0;
}

static void wipe_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void smtpc_free(struct smtpc *c)
{
	teardown(c);
	smtpc_msg_free(c);
	event_free(c->timer);
	event_free(c->defer);
	if (c->p.tls_ctx != NULL)
		SSL_CTX_free(c->p.tls_ctx);
	free(c->helo);
	free(c->peer_name);
	free(c->unix_path);
	wipe_free(c->auth_user);
	wipe_free(c->auth_pass);
	free(c);
}

void smtpc_close(struct smtpc *c)
{
	if (c == NULL)
		return;
	if (smtpc_usable(c)) {
		/* RFC 5321 4.1.1.10.  Freed by write_cb once it has left. */
		c->phase = PH_QUIT;
		smtpc_printf(c, "QUIT\r\n");
		smtpc_arm(c, SMTPC_QUIT_SECS, "after QUIT");
		return;
	}
	teardown(c);
	c->phase = PH_DEAD;
	c->freeing = 1;
	if (c->busy == 0)
		smtpc_free(c);
}

int smtpc_usable(const struct smtpc *c)
{
	return c->phase == PH_IDLE && !c->broken && c->bev != NULL;
}

SSL_CTX *smtpc_tls_ctx_new(const char *ca_file, char *err, size_t errsize)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok;

	if (ctx == NULL) {
		snprintf(err, errsize, "cannot create a TLS client context");
		return NULL;
	}
	/* RFC 8996: nothing older than TLS 1.2. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ok = ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
	                     : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		unsigned long e = ERR_get_error();
		char msg[256] = "";
		if (e != 0)
			ERR_error_string_n(e, msg, sizeof(msg));
		ERR_clear_error();
		snprintf(err, errsize, "cannot load the trust anchors %s: %s",
		         ca_file ? ca_file : "of the system", msg[0] ? msg : "unknown error");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

enum smtpc_tls_outcome smtpc_tls_outcome(const struct smtpc *c)
{
	return c->tls;
}

const char *smtpc_tls_outcome_name(enum smtpc_tls_outcome o)
{
	switch (o) {
	case SMTPC_TLSO_OPPORTUNISTIC:
		return "opportunistic";
	case SMTPC_TLSO_VERIFIED:
		return "verified";
	default:
		return "none";
	}
}

const char *smtpc_tls_info(const struct smtpc *c)
{
	return c->tls_info;
}

const char *smtpc_peer(const struct smtpc *c)
{
	return c->peer;
}

const struct ehlo_ext *smtpc_ext(const struct smtpc *c)
{
	return &c->ext;
}
