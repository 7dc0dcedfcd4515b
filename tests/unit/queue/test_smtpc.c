/* Tests of the asynchronous SMTP/LMTP client: the client runs on a real
 * event loop against a fake server in a thread (blocking sockets, TLS by
 * OpenSSL with a certificate made here) that records what it received,
 * answers by recipient name, and checks the client's pipelining: with
 * PIPELINING it holds MAIL and RCPT replies until DATA or BDAT (a client
 * that waited for them would time out), without it a command sent before
 * the previous reply is counted as a violation. */
#include "queue/smtpc.h"
#include "core/b64.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* --- a growable byte record --- */

struct rec {
	char *p;
	size_t len, cap;
};

static void rec_add(struct rec *r, const char *p, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->p = realloc(r->p, r->cap);
		assert_non_null(r->p);
	}
	memcpy(r->p + r->len, p, n);
	r->len += n;
	r->p[r->len] = '\0';
}

static void rec_printf(struct rec *r, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	rec_add(r, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* --- the fake server --- */

struct fake {
	/* behaviour, set before fake_start */
	const char *greeting; /* NULL: "220 fake.test ESMTP"; "": never greets */
	const char *ext;      /* EHLO extensions, '\n'-separated; NULL: none */
	const char *ehlo_raw; /* the whole EHLO reply, CRLF lines, instead */
	int ehlo_refused;     /* 502 to EHLO (HELO works) */
	const char *mail_reply;
	const char *hang_at; /* this verb ("DATA", ".") is never answered */
	const char *drop_at; /* at this verb the connection is closed */
	SSL_CTX *tls;        /* STARTTLS offered (with "STARTTLS" in ext) */
	int tls_break;       /* answers STARTTLS with 220, then garbage */
	int tls_refused;     /* answers STARTTLS with 454 */
	int nconn;           /* connections to serve (0: 1) */
	const char *unix_path;
	/* state */
	int lfd, port;
	struct sockaddr_in sin;
	pthread_t thread;
	/* what it saw */
	struct rec log;  /* command lines, each followed by "\n" */
	struct rec data; /* message bytes as they came: DATA stuffed, BDAT chunks */
	int nmsg, nbdat, nconns;
	int violations; /* a command before the reply to the previous one */
	int tls_conns;  /* connections that went through a handshake */
	char sni[256];
};

struct sconn {
	struct fake *f;
	int fd;
	SSL *ssl;
	char in[256 * 1024];
	size_t off, len; /* unread input: in[off, len) */
	struct rec out;  /* replies held back */
	int pipelining;
	int mail_ok;
	char acc[16][64]; /* accepted recipients */
	int nacc;
};

static int s_fill(struct sconn *s)
{
	ssize_t n;

	memmove(s->in, s->in + s->off, s->len - s->off);
	s->len -= s->off;
	s->off = 0;
	if (s->len == sizeof(s->in))
		return -1;
	if (s->ssl != NULL)
		n = SSL_read(s->ssl, s->in + s->len, (int)(sizeof(s->in) - s->len));
	else
		n = recv(s->fd, s->in + s->len, sizeof(s->in) - s->len, 0);
	if (n <= 0)
		return -1;
	s->len += (size_t)n;
	return 0;
}

/* One line without its CRLF into line; its length, or -1 at EOF. */
static long s_line(struct sconn *s, char *line, size_t size)
{
	for (;;) {
		char *p = s->in + s->off, *lf = memchr(p, '\n', s->len - s->off);
		if (lf != NULL) {
			size_t n = (size_t)(lf - p);
			size_t ln = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
			if (ln >= size)
				return -1;
			memcpy(line, p, ln);
			line[ln] = '\0';
			s->off += n + 1;
			return (long)ln;
		}
		if (s_fill(s) < 0)
			return -1;
	}
}

/* n bytes into rec; -1 at EOF. */
static int s_bytes(struct sconn *s, size_t n, struct rec *r)
{
	while (n > 0) {
		size_t k;
		if (s->off == s->len && s_fill(s) < 0)
			return -1;
		k = s->len - s->off < n ? s->len - s->off : n;
		rec_add(r, s->in + s->off, k);
		s->off += k;
		n -= k;
	}
	return 0;
}

static void s_flush(struct sconn *s)
{
	size_t off = 0;

	while (off < s->out.len) {
		ssize_t n = s->ssl != NULL
		                ? SSL_write(s->ssl, s->out.p + off, (int)(s->out.len - off))
		                : send(s->fd, s->out.p + off, s->out.len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	s->out.len = 0;
}

/* Input that came before our reply: pipelined (the end of the stream,
 * after QUIT, is not). */
static int s_pending(struct sconn *s)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	char c;

	if (s->off < s->len || (s->ssl != NULL && SSL_pending(s->ssl) > 0))
		return 1;
	return poll(&p, 1, 20) > 0 && recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* Held replies go out now, after the check that nothing was sent ahead
 * of them, unless PIPELINING lets MAIL and RCPT wait for the group's end
 * (RFC 2920 3.2). */
static void s_send(struct sconn *s, const char *verb)
{
	int hold = s->pipelining && (strcmp(verb, "MAIL") == 0 || strcmp(verb, "RCPT") == 0);
	int may_follow =
	    s->pipelining && (hold || strcmp(verb, "RSET") == 0 || strcmp(verb, "BDAT") == 0);

	if (hold)
		return;
	if (!may_follow && strcmp(verb, "QUIT") != 0 && s_pending(s))
		s->f->violations++;
	s_flush(s);
}

static void s_reply(struct sconn *s, const char *verb, const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	rec_printf(&s->out, "%s\r\n", line);
	s_send(s, verb);
}

/* Reads until the client goes away, answering nothing. */
static int s_hang(struct sconn *s)
{
	while (s_fill(s) == 0)
		s->off = s->len;
	return -1;
}

static void s_ehlo(struct sconn *s, const char *verb)
{
	const char *lines[32] = {"fake.test"};
	size_t lens[32] = {9};
	int n = 1;

	s->pipelining = 0;
	if (s->f->ehlo_raw != NULL) {
		rec_add(&s->out, s->f->ehlo_raw, strlen(s->f->ehlo_raw));
		s_send(s, verb);
		return;
	}
	for (const char *p = s->f->ext ? s->f->ext : ""; *p;) {
		const char *nl = strchr(p, '\n');
		size_t k = nl ? (size_t)(nl - p) : strlen(p);
		if (k == 10 && strncmp(p, "PIPELINING", 10) == 0)
			s->pipelining = 1;
		/* no STARTTLS inside TLS */
		if (!(s->ssl != NULL && k == 8 && strncmp(p, "STARTTLS", 8) == 0) && n < 32) {
			lines[n] = p;
			lens[n++] = k;
		}
		p += k + (nl != NULL);
	}
	for (int i = 0; i < n; i++)
		rec_printf(&s->out, "250%c%.*s\r\n", i + 1 < n ? '-' : ' ', (int)lens[i], lines[i]);
	s_send(s, verb);
}

static void rcpt_reply(struct sconn *s, const char *addr)
{
	if (!s->mail_ok)
		s_reply(s, "RCPT", "503 5.5.1 Error: need MAIL command");
	else if (strncmp(addr, "rej", 3) == 0)
		s_reply(s, "RCPT", "550 5.1.1 <%s>: Recipient address rejected", addr);
	else if (strncmp(addr, "tmp", 3) == 0)
		s_reply(s, "RCPT", "451 4.3.0 <%s>: try again later", addr);
	else {
		if (s->nacc < 16)
			snprintf(s->acc[s->nacc++], sizeof(s->acc[0]), "%s", addr);
		s_reply(s, "RCPT", "250 2.1.5 Ok");
	}
}

/* The replies at the end of a message: one, or one per recipient. */
static void final_replies(struct sconn *s, int lmtp)
{
	s->f->nmsg++;
	if (!lmtp)
		rec_printf(&s->out, "250 2.0.0 Ok: queued as ABC\r\n");
	for (int i = 0; lmtp && i < s->nacc; i++)
		rec_printf(&s->out, "%s\r\n",
		           strncmp(s->acc[i], "lq", 2) == 0 ? "452 4.2.2 <lq> Mailbox full"
		                                            : "250 2.1.5 Delivered");
	s_send(s, ".");
	s->mail_ok = 0;
	s->nacc = 0;
}

static int s_data(struct sconn *s, int lmtp)
{
	char line[8192];
	long n;

	if (!s->mail_ok) {
		s_reply(s, "DATA", "503 5.5.1 Error: need MAIL command");
		return 0;
	}
	if (s->nacc == 0) {
		s_reply(s, "DATA", "554 5.5.1 Error: no valid recipients");
		return 0;
	}
	s_reply(s, "DATA", "354 End data with <CR><LF>.<CR><LF>");
	while ((n = s_line(s, line, sizeof(line))) >= 0) {
		if (n == 1 && line[0] == '.')
			break;
		rec_add(&s->f->data, line, (size_t)n);
		rec_add(&s->f->data, "\r\n", 2);
	}
	if (n < 0)
		return -1;
	if (s->f->hang_at != NULL && strcmp(s->f->hang_at, ".") == 0)
		return s_hang(s);
	final_replies(s, lmtp);
	return 0;
}

static int s_bdat(struct sconn *s, const char *arg, int lmtp)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);
	int last = strcasecmp(end, " LAST") == 0;
	struct rec chunk = {0};

	s->f->nbdat++;
	if (s_bytes(s, n, &chunk) < 0) {
		free(chunk.p);
		return -1;
	}
	/* a refused chunk is not part of any message */
	if (s->mail_ok && s->nacc > 0 && n > 0)
		rec_add(&s->f->data, chunk.p, n);
	free(chunk.p);
	if (!s->mail_ok)
		s_reply(s, "BDAT", "503 5.5.1 Error: need MAIL command");
	else if (s->nacc == 0)
		s_reply(s, "BDAT", "554 5.5.1 Error: no valid recipients");
	else if (last)
		final_replies(s, lmtp);
	else
		s_reply(s, "BDAT", "250 2.0.0 %lu octets received", n);
	return 0;
}

static int s_auth(struct sconn *s, const char *arg)
{
	static const char want[] = "\0user\0secret";
	char line[1024];
	unsigned char raw[512];
	long n;

	if (strncasecmp(arg, "PLAIN ", 6) == 0) {
		n = b64_decode(arg + 6, strlen(arg + 6), raw, sizeof(raw));
		if (n == (long)sizeof(want) - 1 && memcmp(raw, want, (size_t)n) == 0)
			s_reply(s, "AUTH", "235 2.7.0 Authentication successful");
		else
			s_reply(s, "AUTH", "535 5.7.8 Error: authentication failed");
		return 0;
	}
	s_reply(s, "AUTH", "334 VXNlcm5hbWU6");
	if (s_line(s, line, sizeof(line)) < 0)
		return -1;
	rec_printf(&s->f->log, "%s\n", line);
	n = b64_decode(line, strlen(line), raw, sizeof(raw));
	if (n != 4 || memcmp(raw, "user", 4) != 0) {
		s_reply(s, "AUTH", "535 5.7.8 Error: authentication failed");
		return 0;
	}
	s_reply(s, "AUTH", "334 UGFzc3dvcmQ6");
	if (s_line(s, line, sizeof(line)) < 0)
		return -1;
	n = b64_decode(line, strlen(line), raw, sizeof(raw));
	if (n == 6 && memcmp(raw, "secret", 6) == 0)
		s_reply(s, "AUTH", "235 2.7.0 Authentication successful");
	else
		s_reply(s, "AUTH", "535 5.7.8 Error: authentication failed");
	return 0;
}

static int s_starttls(struct sconn *s)
{
	const char *name;

	if (s->f->tls_refused) {
		s_reply(s, "STARTTLS", "454 4.7.0 TLS not available due to local problem");
		return 0;
	}
	s_reply(s, "STARTTLS", "220 2.0.0 Ready to start TLS");
	if (s->f->tls_break) {
		(void)!write(s->fd, "garbage\r\n", 9);
		return -1;
	}
	s->ssl = SSL_new(s->f->tls);
	SSL_set_fd(s->ssl, s->fd);
	if (SSL_accept(s->ssl) != 1)
		return -1;
	s->f->tls_conns++;
	name = SSL_get_servername(s->ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(s->f->sni, sizeof(s->f->sni), "%s", name ? name : "");
	s->pipelining = 0;
	return 0;
}

/* One command; -1 ends the connection. */
static int s_command(struct sconn *s, char *line)
{
	struct fake *f = s->f;
	char verb[16];
	const char *arg = strchr(line, ' ');
	int lmtp = 0;

	snprintf(verb, sizeof(verb), "%.*s", arg ? (int)(arg - line) : (int)strlen(line), line);
	arg = arg ? arg + 1 : "";
	if (f->drop_at != NULL && strcasecmp(verb, f->drop_at) == 0)
		return -1;
	if (f->hang_at != NULL && strcasecmp(verb, f->hang_at) == 0)
		return s_hang(s);
	if (strcasecmp(verb, "EHLO") == 0 || strcasecmp(verb, "LHLO") == 0) {
		if (f->ehlo_refused)
			s_reply(s, verb, "502 5.5.2 Error: command not recognized");
		else
			s_ehlo(s, verb);
	} else if (strcasecmp(verb, "HELO") == 0) {
		s_reply(s, verb, "250 fake.test");
	} else if (strcasecmp(verb, "STARTTLS") == 0) {
		return s_starttls(s);
	} else if (strcasecmp(verb, "AUTH") == 0) {
		return s_auth(s, arg);
	} else if (strcasecmp(verb, "MAIL") == 0) {
		const char *r = f->mail_reply ? f->mail_reply : "250 2.1.0 Ok";
		s->mail_ok = r[0] == '2';
		s->nacc = 0;
		s_reply(s, "MAIL", "%s", r);
	} else if (strcasecmp(verb, "RCPT") == 0) {
		char addr[256] = "";
		sscanf(arg, "TO:<%255[^>]>", addr);
		rcpt_reply(s, addr);
	} else if (strcasecmp(verb, "DATA") == 0) {
		lmtp = f->log.p != NULL && strstr(f->log.p, "LHLO") != NULL;
		return s_data(s, lmtp);
	} else if (strcasecmp(verb, "BDAT") == 0) {
		lmtp = f->log.p != NULL && strstr(f->log.p, "LHLO") != NULL;
		return s_bdat(s, arg, lmtp);
	} else if (strcasecmp(verb, "RSET") == 0) {
		s->mail_ok = 0;
		s->nacc = 0;
		s_reply(s, "RSET", "250 2.0.0 Ok");
	} else if (strcasecmp(verb, "QUIT") == 0) {
		s_reply(s, "QUIT", "221 2.0.0 Bye");
		return -1;
	} else {
		s_reply(s, verb, "502 5.5.2 Error: command not recognized");
	}
	return 0;
}

static void serve_one(struct fake *f, int fd)
{
	struct sconn *s = calloc(1, sizeof(*s));
	char line[8192];

	assert_non_null(s);
	s->f = f;
	s->fd = fd;
	f->nconns++;
	if (f->greeting != NULL && f->greeting[0] == '\0') {
		s_hang(s);
	} else {
		s_reply(s, "", "%s", f->greeting ? f->greeting : "220 fake.test ESMTP");
		while (s_line(s, line, sizeof(line)) >= 0) {
			rec_printf(&f->log, "%s\n", line);
			if (s_command(s, line) < 0)
				break;
		}
	}
	if (s->ssl != NULL)
		SSL_free(s->ssl);
	close(fd);
	free(s->out.p);
	free(s);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < (f->nconn ? f->nconn : 1); i++) {
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			break;
		serve_one(f, fd);
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	if (f->unix_path != NULL) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->unix_path);
		unlink(f->unix_path);
		f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	} else {
		socklen_t len = sizeof(f->sin);
		f->sin.sin_family = AF_INET;
		f->sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		f->lfd = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(bind(f->lfd, (struct sockaddr *)&f->sin, sizeof(f->sin)), 0);
		assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&f->sin, &len), 0);
		f->port = ntohs(f->sin.sin_port);
	}
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_join(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
	if (f->unix_path != NULL)
		unlink(f->unix_path);
}

static void fake_free(struct fake *f)
{
	free(f->log.p);
	free(f->data.p);
}

/* --- the client side --- */

struct run {
	struct event_base *base;
	struct event *guard;
	struct smtpc *c;
	int ready_code;
	char ready_reply[SMTPC_REPLY_MAX];
	struct smtpc_msg **msgs;
	size_t nmsg, nsent;
	int usable[4];
	enum smtpc_tls_outcome tls;
	char tls_info[200];
	struct ehlo_ext ext;
	char peer[320];
	int close_after_ms; /* > 0: smtpc_close while the message is in flight */
	struct event *closer;
};

static void run_end(struct run *r)
{
	event_del(r->guard);
}

static void on_sent(void *arg, struct smtpc *c, struct smtpc_msg *m)
{
	struct run *r = arg;

	assert_ptr_equal(m, r->msgs[r->nsent]);
	r->usable[r->nsent++] = smtpc_usable(c);
	if (r->nsent < r->nmsg) {
		smtpc_send(c, r->msgs[r->nsent], on_sent, r);
		return;
	}
	smtpc_close(c);
	run_end(r);
}

static void on_ready(void *arg, struct smtpc *c, int code, const char *reply)
{
	struct run *r = arg;

	r->c = c;
	r->ready_code = code;
	snprintf(r->ready_reply, sizeof(r->ready_reply), "%s", reply);
	if (c == NULL) {
		run_end(r);
		return;
	}
	r->tls = smtpc_tls_outcome(c);
	snprintf(r->tls_info, sizeof(r->tls_info), "%s", smtpc_tls_info(c));
	snprintf(r->peer, sizeof(r->peer), "%s", smtpc_peer(c));
	r->ext = *smtpc_ext(c);
	if (r->nmsg == 0) {
		smtpc_close(c);
		run_end(r);
		return;
	}
	smtpc_send(c, r->msgs[0], on_sent, r);
	if (r->close_after_ms > 0) {
		struct timeval tv = {0, r->close_after_ms * 1000};
		evtimer_add(r->closer, &tv);
	}
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	fail_msg("the client never finished");
}

static void on_closer(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	smtpc_close(r->c);
	run_end(r);
}

static void params_init(struct smtpc_params *p, struct fake *f)
{
	memset(p, 0, sizeof(*p));
	p->proto = SMTPC_SMTP;
	p->addr = (const struct sockaddr *)&f->sin;
	p->addrlen = sizeof(f->sin);
	p->helo = "client.test";
	p->peer_name = "mx.test";
	p->tls = SMTPC_TLS_NONE;
	p->t = (struct smtpc_timeouts){.connect = 5,
	                               .greeting = 5,
	                               .helo = 5,
	                               .mail = 3,
	                               .rcpt = 3,
	                               .data_init = 3,
	                               .data_block = 3,
	                               .data_done = 3};
}

/* Runs one connection carrying msgs in turn until the client is done. */
static void run_client(struct run *r, struct smtpc_params *p, struct smtpc_msg **msgs, size_t n)
{
	struct timeval guard = {20, 0};

	r->base = event_base_new();
	r->guard = evtimer_new(r->base, on_guard, r);
	r->closer = evtimer_new(r->base, on_closer, r);
	r->msgs = msgs;
	r->nmsg = n;
	p->base = r->base;
	evtimer_add(r->guard, &guard);
	assert_non_null(smtpc_open(p, on_ready, r));
	event_base_dispatch(r->base);
	event_free(r->guard);
	event_free(r->closer);
	event_base_free(r->base);
}

static void msg_init(struct smtpc_msg *m, struct smtpc_rcpt *rc, const char *const *addrs, size_t n,
                     const char *data, size_t len)
{
	memset(m, 0, sizeof(*m));
	memset(rc, 0, n * sizeof(*rc));
	for (size_t i = 0; i < n; i++)
		rc[i].addr = addrs[i];
	m->sender = "sender@example.net";
	m->data = data;
	m->len = len;
	m->rcpts = rc;
	m->nrcpt = n;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* The default run: one message to addrs over a server set up by f. */
static void deliver(struct fake *f, struct smtpc_params *p, struct run *r, struct smtpc_msg *m)
{
	struct smtpc_msg *msgs[1] = {m};

	fake_start(f);
	if (p->addr != NULL && p->unix_path == NULL)
		p->addr = (const struct sockaddr *)&f->sin;
	run_client(r, p, msgs, m != NULL ? 1 : 0);
	fake_join(f);
}

static const char body[] = "Subject: test\r\n\r\nhello\r\n.leading dot\r\n.\r\nlast line";
static const char body_stuffed[] =
    "Subject: test\r\n\r\nhello\r\n..leading dot\r\n..\r\nlast line\r\n";

/* --- tests --- */

static void test_pipelined(void **state)
{
	struct fake f = {.ext = "PIPELINING\nSIZE 100000\n8BITMIME\nENHANCEDSTATUSCODES"};
	const char *addrs[] = {"a@example.org", "b@example.org"};
	struct smtpc_rcpt rc[2];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};
	char mail[128];

	msg_init(&m, rc, addrs, 2, body, sizeof(body) - 1);
	m.eightbit = 1;
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);

	assert_int_equal(r.ready_code, 250);
	assert_true(r.ext.flags & EHLO_PIPELINING);
	assert_int_equal(r.ext.size, 100000);
	assert_int_equal(r.nsent, 1);
	assert_int_equal(rc[0].code, 250);
	assert_int_equal(rc[1].code, 250);
	assert_string_equal(rc[0].reply, "250 2.0.0 Ok: queued as ABC");
	assert_int_equal(f.violations, 0);
	assert_non_null(strstr(f.log.p, "EHLO client.test\n"));
	snprintf(mail, sizeof(mail), "MAIL FROM:<sender@example.net> SIZE=%zu BODY=8BITMIME\n",
	         sizeof(body) - 1);
	assert_non_null(strstr(f.log.p, mail));
	assert_non_null(
	    strstr(f.log.p, "RCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\nDATA\n"));
	assert_non_null(strstr(f.log.p, "QUIT\n"));
	assert_string_equal(f.data.p, body_stuffed);
	assert_int_equal(strncmp(r.peer, "mx.test[127.0.0.1]:", 19), 0);
	fake_free(&f);
}

/* Without PIPELINING one command at a time; no SIZE= or BODY= when not
 * offered; dot-stuffing and the CRLF the last line lacks. */
static void test_unpipelined(void **state)
{
	struct fake f = {.ext = "ENHANCEDSTATUSCODES"};
	const char *addrs[] = {"a@example.org", "b@example.org", "c@example.org"};
	struct smtpc_rcpt rc[3];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 3, body, sizeof(body) - 1);
	m.eightbit = 1;
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);

	for (int i = 0; i < 3; i++)
		assert_int_equal(rc[i].code, 250);
	assert_int_equal(f.violations, 0);
	assert_non_null(strstr(f.log.p, "MAIL FROM:<sender@example.net>\n"));
	assert_string_equal(f.data.p, body_stuffed);
	assert_int_equal(r.usable[0], 1);
	fake_free(&f);
}

static char *big_body(size_t len)
{
	char *b = malloc(len);
	size_t i = 0;
	int n = 0;

	assert_non_null(b);
	while (i < len) {
		int k = snprintf(b + i, len - i, "%sline %d of the big message\r\n",
		                 n % 7 == 0 ? "." : "", n);
		if (k < 0 || (size_t)k >= len - i)
			break;
		i += (size_t)k;
		n++;
	}
	memset(b + i, 'x', len - i);
	if (len - i >= 2) {
		b[len - 2] = '\r';
		b[len - 1] = '\n';
	}
	return b;
}

static void bdat_case(const char *ext, size_t len, int *nbdat)
{
	struct fake f = {.ext = ext};
	const char *addrs[] = {"a@example.org"};
	struct smtpc_rcpt rc[1];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};
	char *b = big_body(len);

	msg_init(&m, rc, addrs, 1, b, len);
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);

	assert_int_equal(rc[0].code, 250);
	assert_int_equal(f.violations, 0);
	assert_null(strstr(f.log.p, "DATA"));
	assert_int_equal(count(f.log.p, " LAST\n"), 1);
	/* BDAT is not dot-stuffed */
	assert_int_equal(f.data.len, len);
	assert_memory_equal(f.data.p, b, len);
	*nbdat = f.nbdat;
	free(b);
	fake_free(&f);
}

static void test_bdat(void **state)
{
	int n;

	bdat_case("PIPELINING\nCHUNKING", 200 * 1024, &n);
	assert_int_equal(n, 4);
	bdat_case("CHUNKING", 150 * 1024, &n);
	assert_int_equal(n, 3);
	bdat_case("PIPELINING\nCHUNKING", 1000, &n);
	assert_int_equal(n, 1);
}

/* A large message through DATA, in slices. */
static void test_data_large(void **state)
{
	struct fake f = {.ext = "PIPELINING"};
	const char *addrs[] = {"a@example.org"};
	struct smtpc_rcpt rc[1];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};
	size_t len = 3 * 1024 * 1024;
	char *b = big_body(len);
	struct rec want = {0};

	for (size_t i = 0; i < len;) {
		const char *lf = memchr(b + i, '\n', len - i);
		size_t end = (size_t)(lf - b) + 1;
		if (b[i] == '.')
			rec_add(&want, ".", 1);
		rec_add(&want, b + i, end - i);
		i = end;
	}
	msg_init(&m, rc, addrs, 1, b, len);
	params_init(&p, &f);
	/* a slow reader (sanitizers) must not make this a timeout test */
	p.t.data_block = p.t.data_done = 20;
	deliver(&f, &p, &r, &m);
	assert_int_equal(rc[0].code, 250);
	assert_int_equal(f.data.len, want.len);
	assert_memory_equal(f.data.p, want.p, want.len);
	free(want.p);
	free(b);
	fake_free(&f);
}

static void one_of_three(const char *ext)
{
	struct fake f = {.ext = ext};
	const char *addrs[] = {"a@example.org", "rej@example.org", "b@example.org"};
	struct smtpc_rcpt rc[3];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 3, body, sizeof(body) - 1);
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	assert_int_equal(rc[0].code, 250);
	assert_int_equal(rc[1].code, 550);
	assert_string_equal(rc[1].reply, "550 5.1.1 <rej@example.org>: Recipient address rejected");
	assert_int_equal(rc[2].code, 250);
	assert_int_equal(f.violations, 0);
	assert_int_equal(f.nmsg, 1);
	assert_int_equal(r.usable[0], 1);
	fake_free(&f);
}

static void test_one_rejected(void **state)
{
	one_of_three("PIPELINING");
	one_of_three("");
	one_of_three("PIPELINING\nCHUNKING");
}

/* No recipient accepted: no data, RSET, and the connection goes on. */
static void none_accepted(const char *ext)
{
	struct fake f = {.ext = ext};
	const char *addrs[] = {"rej1@example.org", "tmp@example.org"};
	struct smtpc_rcpt rc[2];
	struct smtpc_msg m1, m2;
	struct smtpc_rcpt rc2[1];
	const char *addrs2[] = {"ok@example.org"};
	struct smtpc_msg *msgs[2] = {&m1, &m2};
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m1, rc, addrs, 2, body, sizeof(body) - 1);
	msg_init(&m2, rc2, addrs2, 1, "x\r\n", 3);
	params_init(&p, &f);
	fake_start(&f);
	p.addr = (const struct sockaddr *)&f.sin;
	run_client(&r, &p, msgs, 2);
	fake_join(&f);
	assert_int_equal(rc[0].code, 550);
	assert_int_equal(rc[1].code, 451);
	assert_non_null(strstr(f.log.p, "RSET\n"));
	assert_int_equal(f.violations, 0);
	assert_int_equal(r.nsent, 2);
	assert_int_equal(rc2[0].code, 250);
	assert_int_equal(f.nmsg, 1);
	assert_string_equal(f.data.p, "x\r\n");
	fake_free(&f);
}

static void test_none_accepted(void **state)
{
	none_accepted("");
	none_accepted("PIPELINING");
	none_accepted("PIPELINING\nCHUNKING");
	none_accepted("CHUNKING");
}

static void mail_rejected(const char *ext)
{
	struct fake f = {.ext = ext,
	                 .mail_reply = "553 5.7.1 <sender@example.net>: Sender refused"};
	const char *addrs[] = {"a@example.org", "b@example.org"};
	struct smtpc_rcpt rc[2];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 2, body, sizeof(body) - 1);
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rc[i].code, 553);
		assert_string_equal(rc[i].reply, "553 5.7.1 <sender@example.net>: Sender refused");
	}
	assert_int_equal(f.nmsg, 0);
	assert_int_equal(f.data.len, 0);
	assert_int_equal(r.usable[0], 1);
	assert_int_equal(f.violations, 0);
	fake_free(&f);
}

static void test_mail_rejected(void **state)
{
	mail_rejected("PIPELINING");
	mail_rejected("");
	mail_rejected("PIPELINING\nCHUNKING");
}

static void test_size_too_big(void **state)
{
	struct fake f = {.ext = "PIPELINING\nSIZE 1000"};
	const char *addrs[] = {"a@example.org", "b@example.org"};
	struct smtpc_rcpt rc[2];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};
	char b[2000];

	memset(b, 'a', sizeof(b));
	msg_init(&m, rc, addrs, 2, b, sizeof(b));
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rc[i].code, 552);
		assert_non_null(strstr(rc[i].reply, "552 5.3.4 mx.test[127.0.0.1]:"));
		assert_non_null(strstr(rc[i].reply, "2000"));
	}
	assert_null(strstr(f.log.p, "MAIL"));
	assert_int_equal(r.usable[0], 1);
	fake_free(&f);
}

static void test_smtputf8_not_offered(void **state)
{
	struct fake f = {.ext = "PIPELINING\n8BITMIME"};
	const char *addrs[] = {"j\xc3\xb6rg@example.org"};
	struct smtpc_rcpt rc[1];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 1, body, sizeof(body) - 1);
	m.smtputf8 = 1;
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	assert_int_equal(rc[0].code, 553);
	assert_non_null(strstr(rc[0].reply, "553 5.6.7 "));
	assert_null(strstr(f.log.p, "MAIL"));
	fake_free(&f);
}

static void test_smtputf8_offered(void **state)
{
	struct fake f = {.ext = "PIPELINING\nSMTPUTF8\nDSN"};
	const char *addrs[] = {"j\xc3\xb6rg@example.org"};
	struct smtpc_rcpt rc[1];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 1, body, sizeof(body) - 1);
	m.smtputf8 = 1;
	m.dsn_ret = "HDRS";
	m.dsn_envid = "QQ314159";
	rc[0].dsn_notify = "SUCCESS,FAILURE";
	rc[0].dsn_orcpt = "utf-8;j\\x{00F6}rg@example.org";
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	assert_int_equal(rc[0].code, 250);
	assert_non_null(
	    strstr(f.log.p, "MAIL FROM:<sender@example.net> SMTPUTF8 RET=HDRS ENVID=QQ314159\n"));
	assert_non_null(strstr(f.log.p, "RCPT TO:<j\xc3\xb6rg@example.org> NOTIFY=SUCCESS,FAILURE "
	                                "ORCPT=utf-8;j\\x{00F6}rg@example.org\n"));
	fake_free(&f);
}

/* DSN parameters only where DSN is offered; values that would break the
 * command line are refused before MAIL. */
static void test_dsn(void **state)
{
	struct fake f = {.ext = "PIPELINING"};
	const char *addrs[] = {"a@example.org", "b@example.org\r\nRSET", "c@example.org"};
	struct smtpc_rcpt rc[3];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 3, body, sizeof(body) - 1);
	m.dsn_ret = "FULL";
	rc[0].dsn_notify = "NEVER";
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	assert_int_equal(rc[0].code, 250);
	assert_int_equal(rc[1].code, 553);
	assert_non_null(strstr(rc[1].reply, "553 5.1.3 "));
	assert_int_equal(rc[2].code, 250);
	assert_null(strstr(f.log.p, "RET="));
	assert_null(strstr(f.log.p, "NOTIFY="));
	assert_null(strstr(f.log.p, "RSET"));
	fake_free(&f);

	struct fake f2 = {.ext = "PIPELINING\nDSN"};
	struct run r2 = {0};
	msg_init(&m, rc, addrs, 1, body, sizeof(body) - 1);
	rc[0].dsn_notify = "SUCCESS FAILURE";
	params_init(&p, &f2);
	deliver(&f2, &p, &r2, &m);
	assert_int_equal(rc[0].code, 501);
	assert_null(strstr(f2.log.p, "MAIL"));
	fake_free(&f2);
}

static void test_no_greeting(void **state)
{
	struct fake f = {.greeting = ""};
	struct smtpc_params p;
	struct run r = {0};
	struct timespec t0, t1;

	params_init(&p, &f);
	p.t.greeting = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	deliver(&f, &p, &r, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_null(r.c);
	assert_int_equal(r.ready_code, 421);
	assert_non_null(strstr(r.ready_reply, "421 4.4.2 mx.test[127.0.0.1]:"));
	assert_non_null(strstr(r.ready_reply, "timed out after 1s while waiting for the greeting"));
	assert_true(t1.tv_sec - t0.tv_sec <= 3);
	fake_free(&f);
}

static void test_greeting_554(void **state)
{
	struct fake f = {.greeting = "554 5.7.1 No SMTP service here"};
	struct smtpc_params p;
	struct run r = {0};

	params_init(&p, &f);
	deliver(&f, &p, &r, NULL);
	assert_int_equal(r.ready_code, 554);
	assert_string_equal(r.ready_reply, "554 5.7.1 No SMTP service here");
	assert_null(strstr(f.log.p ? f.log.p : "", "EHLO"));
	fake_free(&f);
}

static void test_ehlo_refused(void **state)
{
	struct fake f = {.ehlo_refused = 1, .ext = "PIPELINING"};
	const char *addrs[] = {"a@example.org"};
	struct smtpc_rcpt rc[1];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 1, body, sizeof(body) - 1);
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	assert_int_equal(r.ready_code, 250);
	assert_int_equal(r.ext.flags, 0);
	assert_non_null(strstr(f.log.p, "EHLO client.test\nHELO client.test\nMAIL"));
	assert_int_equal(rc[0].code, 250);
	assert_int_equal(f.violations, 0);
	fake_free(&f);
}

static void test_two_messages(void **state)
{
	struct fake f = {.ext = "PIPELINING\nENHANCEDSTATUSCODES"};
	const char *a1[] = {"a@example.org", "rej@example.org"}, *a2[] = {"b@example.org"};
	struct smtpc_rcpt rc1[2], rc2[1];
	struct smtpc_msg m1, m2;
	struct smtpc_msg *msgs[2] = {&m1, &m2};
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m1, rc1, a1, 2, "first\r\n", 7);
	msg_init(&m2, rc2, a2, 1, "second\r\n", 8);
	params_init(&p, &f);
	fake_start(&f);
	p.addr = (const struct sockaddr *)&f.sin;
	run_client(&r, &p, msgs, 2);
	fake_join(&f);
	assert_int_equal(r.nsent, 2);
	assert_int_equal(rc1[0].code, 250);
	assert_int_equal(rc1[1].code, 550);
	assert_int_equal(rc2[0].code, 250);
	assert_int_equal(f.nconns, 1);
	assert_int_equal(f.nmsg, 2);
	assert_int_equal(count(f.log.p, "EHLO"), 1);
	assert_int_equal(count(f.log.p, "MAIL FROM"), 2);
	assert_null(strstr(f.log.p, "RSET"));
	assert_string_equal(f.data.p, "first\r\nsecond\r\n");
	assert_int_equal(r.usable[0], 1);
	assert_int_equal(r.usable[1], 1);
	fake_free(&f);
}

static void lmtp_case(const char *ext, const char *unix_path)
{
	struct fake f = {.ext = ext, .unix_path = unix_path};
	const char *addrs[] = {"a@example.org", "rej@example.org", "lq@example.org",
	                       "b@example.org"};
	struct smtpc_rcpt rc[4];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 4, body, sizeof(body) - 1);
	params_init(&p, &f);
	p.proto = SMTPC_LMTP;
	p.unix_path = unix_path;
	deliver(&f, &p, &r, &m);
	assert_int_equal(r.ready_code, 250);
	assert_non_null(strstr(f.log.p, "LHLO client.test\n"));
	assert_int_equal(rc[0].code, 250);
	assert_string_equal(rc[0].reply, "250 2.1.5 Delivered");
	assert_int_equal(rc[1].code, 550);
	assert_int_equal(rc[2].code, 452);
	assert_string_equal(rc[2].reply, "452 4.2.2 <lq> Mailbox full");
	assert_int_equal(rc[3].code, 250);
	assert_int_equal(r.usable[0], 1);
	assert_int_equal(f.violations, 0);
	if (unix_path != NULL) {
		char want[128];
		snprintf(want, sizeof(want), "mx.test[unix:%s]", unix_path);
		assert_string_equal(r.peer, want);
	}
	fake_free(&f);
}

static void test_lmtp(void **state)
{
	char path[64];

	lmtp_case("PIPELINING\nENHANCEDSTATUSCODES", NULL);
	lmtp_case("ENHANCEDSTATUSCODES", NULL);
	lmtp_case("PIPELINING\nCHUNKING", NULL);
	snprintf(path, sizeof(path), "/tmp/postern-smtpc-%d.sock", (int)getpid());
	lmtp_case("PIPELINING", path);
}

/* Lines over 998 octets are folded with "\r\n "; shorter ones pass. */
static void long_lines(const char *ext)
{
	struct fake f = {.ext = ext};
	const char *addrs[] = {"a@example.org"};
	struct smtpc_rcpt rc[1];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};
	struct rec b = {0}, want = {0};
	char l600[600], l1500[1500], l2500[2500], l998[998];

	memset(l600, 'a', sizeof(l600));
	memset(l1500, 'b', sizeof(l1500));
	memset(l2500, 'c', sizeof(l2500));
	memset(l998, 'd', sizeof(l998));
	l1500[0] = '.';
	rec_add(&b, l600, sizeof(l600));
	rec_add(&b, "\r\n", 2);
	rec_add(&b, l1500, sizeof(l1500));
	rec_add(&b, "\r\n", 2);
	rec_add(&b, l998, sizeof(l998));
	rec_add(&b, "\r\n", 2);
	rec_add(&b, l2500, sizeof(l2500)); /* the last line, without CRLF */

	rec_add(&want, l600, sizeof(l600));
	rec_add(&want, "\r\n", 2);
	if (strstr(ext, "CHUNKING") == NULL)
		rec_add(&want, ".", 1);
	rec_add(&want, l1500, 998);
	rec_add(&want, "\r\n ", 3);
	rec_add(&want, l1500 + 998, 502);
	rec_add(&want, "\r\n", 2);
	rec_add(&want, l998, sizeof(l998));
	rec_add(&want, "\r\n", 2);
	rec_add(&want, l2500, 998);
	rec_add(&want, "\r\n ", 3);
	rec_add(&want, l2500 + 998, 997);
	rec_add(&want, "\r\n ", 3);
	rec_add(&want, l2500 + 1995, 505);
	rec_add(&want, "\r\n", 2);

	msg_init(&m, rc, addrs, 1, b.p, b.len);
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	assert_int_equal(rc[0].code, 250);
	assert_int_equal(f.data.len, want.len);
	assert_memory_equal(f.data.p, want.p, want.len);
	free(b.p);
	free(want.p);
	fake_free(&f);
}

static void test_long_lines(void **state)
{
	long_lines("PIPELINING");
	long_lines("PIPELINING\nCHUNKING");
}

static void bad_ehlo_reply(const char *raw)
{
	struct fake f = {.ehlo_raw = raw};
	struct smtpc_params p;
	struct run r = {0};

	params_init(&p, &f);
	deliver(&f, &p, &r, NULL);
	assert_null(r.c);
	assert_int_equal(r.ready_code, 451);
	assert_non_null(strstr(r.ready_reply, "451 4.5.0 mx.test[127.0.0.1]:"));
	assert_non_null(strstr(r.ready_reply, "protocol error"));
	fake_free(&f);
}

static void test_reply_bounds(void **state)
{
	struct rec raw = {0};
	char line[3000];

	/* one 3000-octet line */
	memset(line, 'x', sizeof(line));
	rec_add(&raw, "250-", 4);
	rec_add(&raw, line, sizeof(line));
	rec_add(&raw, "\r\n250 OK\r\n", 10);
	bad_ehlo_reply(raw.p);
	/* 150 lines */
	raw.len = 0;
	for (int i = 0; i < 150; i++)
		rec_printf(&raw, "250-X-EXT%d\r\n", i);
	rec_printf(&raw, "250 OK\r\n");
	bad_ehlo_reply(raw.p);
	/* a line that is not a reply */
	bad_ehlo_reply("250-fake.test\r\nhello\r\n");
	/* codes that change in the middle */
	bad_ehlo_reply("250-fake.test\r\n251 PIPELINING\r\n");
	free(raw.p);
}

/* A 600-octet reply line is taken, its text cut to fit. */
static void test_long_reply_line_ok(void **state)
{
	struct rec raw = {0};
	char line[600];
	struct fake f;
	struct smtpc_params p;
	struct run r = {0};

	memset(line, 'y', sizeof(line));
	rec_add(&raw, "250-fake.test ", 14);
	rec_add(&raw, line, sizeof(line));
	rec_add(&raw, "\r\n250 PIPELINING\r\n", 18);
	memset(&f, 0, sizeof(f));
	f.ehlo_raw = raw.p;
	params_init(&p, &f);
	deliver(&f, &p, &r, NULL);
	assert_int_equal(r.ready_code, 250);
	assert_true(strlen(r.ready_reply) < SMTPC_REPLY_MAX);
	assert_true(r.ext.flags & EHLO_PIPELINING);
	free(raw.p);
	fake_free(&f);
}

static void test_dropped(void **state)
{
	struct fake f = {.ext = "ENHANCEDSTATUSCODES", .drop_at = "DATA"};
	const char *addrs[] = {"a@example.org", "rej@example.org"};
	struct smtpc_rcpt rc[2];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 2, body, sizeof(body) - 1);
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	assert_int_equal(rc[0].code, 421);
	assert_non_null(strstr(rc[0].reply, "421 4.4.2 mx.test[127.0.0.1]:"));
	assert_non_null(strstr(rc[0].reply, "lost connection while waiting for the reply to DATA"));
	assert_int_equal(rc[1].code, 550);
	assert_int_equal(r.usable[0], 0);
	fake_free(&f);
}

static void test_final_timeout(void **state)
{
	struct fake f = {.ext = "PIPELINING", .hang_at = "."};
	const char *addrs[] = {"a@example.org"};
	struct smtpc_rcpt rc[1];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m, rc, addrs, 1, body, sizeof(body) - 1);
	params_init(&p, &f);
	p.t.data_done = 1;
	deliver(&f, &p, &r, &m);
	assert_int_equal(rc[0].code, 421);
	assert_non_null(strstr(rc[0].reply, "timed out after 1s while waiting for the reply to "
	                                    "the end of the message"));
	assert_int_equal(r.usable[0], 0);
	fake_free(&f);
}

/* smtpc_close with a message in flight: no callback afterwards. */
static void test_close_in_flight(void **state)
{
	struct fake f = {.ext = "PIPELINING", .hang_at = "DATA"};
	const char *addrs[] = {"a@example.org"};
	struct smtpc_rcpt rc[1];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {.close_after_ms = 200};

	msg_init(&m, rc, addrs, 1, body, sizeof(body) - 1);
	params_init(&p, &f);
	deliver(&f, &p, &r, &m);
	assert_int_equal(r.nsent, 0);
	assert_int_equal(rc[0].code, 0);
	fake_free(&f);
}

static void test_connect_refused(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t slen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct smtpc_params p;
	struct fake f = {0};
	struct run r = {0};

	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	close(fd);
	params_init(&p, &f);
	p.addr = (const struct sockaddr *)&sin;
	p.peer_name = NULL;
	run_client(&r, &p, NULL, 0);
	assert_null(r.c);
	assert_int_equal(r.ready_code, 451);
	assert_non_null(strstr(r.ready_reply, "451 4.4.1 [127.0.0.1]:"));
	assert_non_null(strstr(r.ready_reply, "connect: Connection refused"));

	memset(&r, 0, sizeof(r));
	p.addr = NULL;
	p.unix_path = "/nonexistent/lmtp.sock";
	p.proto = SMTPC_LMTP;
	run_client(&r, &p, NULL, 0);
	assert_int_equal(r.ready_code, 451);
	assert_non_null(strstr(r.ready_reply, "[unix:/nonexistent/lmtp.sock]"));
}

/* --- TLS --- */

static char cert_path[64];
static SSL_CTX *server_ctx;

/* A self-signed certificate for mx.test, the server's context, and the
 * certificate in a file to be the client's trust anchor. */
static int tls_setup(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	FILE *fp;
	int fd;

	assert_non_null(key);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mx.test", -1,
	                           -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:mx.test");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);

	snprintf(cert_path, sizeof(cert_path), "/tmp/postern-smtpc-cert.XXXXXX");
	fd = mkstemp(cert_path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	PEM_write_X509(fp, x);
	fclose(fp);

	server_ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(server_ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(server_ctx, key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	return 0;
}

static int tls_teardown(void **state)
{
	SSL_CTX_free(server_ctx);
	unlink(cert_path);
	return 0;
}

enum { QUIRK_BREAK = 1, QUIRK_REFUSE = 2 };

struct tls_case {
	const char *ext;
	enum smtpc_tls_mode mode;
	const char *ca;        /* NULL: the system store */
	const char *peer_name; /* NULL: "mx.test" */
	int quirk;             /* QUIRK_* of the server's STARTTLS */
	const char *user;
	int ready_code;
	enum smtpc_tls_outcome outcome;
	int tls_conns, nconn;
	const char *reply_has;
};

static void tls_case(const struct tls_case *tc)
{
	struct fake f = {.ext = tc->ext,
	                 .tls = server_ctx,
	                 .tls_break = tc->quirk == QUIRK_BREAK,
	                 .tls_refused = tc->quirk == QUIRK_REFUSE,
	                 .nconn = tc->nconn};
	const char *addrs[] = {"a@example.org"};
	struct smtpc_rcpt rc[1];
	struct smtpc_msg m;
	struct smtpc_params p;
	struct run r = {0};
	char err[256];
	SSL_CTX *ctx = smtpc_tls_ctx_new(tc->ca, err, sizeof(err));

	assert_non_null(ctx);
	msg_init(&m, rc, addrs, 1, body, sizeof(body) - 1);
	params_init(&p, &f);
	p.tls = tc->mode;
	p.tls_ctx = ctx;
	if (tc->peer_name != NULL)
		p.peer_name = tc->peer_name;
	p.auth_user = tc->user;
	p.auth_pass = tc->user ? "secret" : NULL;
	deliver(&f, &p, &r, &m);
	SSL_CTX_free(ctx);
	if (r.ready_code != tc->ready_code ||
	    (tc->reply_has && !strstr(r.ready_reply, tc->reply_has)))
		fail_msg("ready %d %s", r.ready_code, r.ready_reply);
	assert_int_equal(f.tls_conns, tc->tls_conns);
	if (tc->ready_code == 250) {
		assert_int_equal(r.tls, tc->outcome);
		assert_int_equal(rc[0].code, 250);
		assert_string_equal(f.data.p, body_stuffed);
	}
	if (tc->tls_conns > 0 && tc->ready_code == 250) {
		/* RFC 3207 4.2: EHLO again inside TLS, which offers no STARTTLS */
		assert_non_null(strstr(f.log.p, "STARTTLS\nEHLO client.test\n"));
		assert_false(r.ext.flags & EHLO_STARTTLS);
		assert_non_null(strstr(r.tls_info, "version=TLSv1."));
		assert_string_equal(f.sni, tc->peer_name ? tc->peer_name : "mx.test");
	}
	fake_free(&f);
}

static void test_tls(void **state)
{
	const struct tls_case cases[] = {
	    /* MAY, not offered: cleartext */
	    {"PIPELINING", SMTPC_TLS_MAY, NULL, NULL, 0, NULL, 250, SMTPC_TLSO_NONE, 0, 1, NULL},
	    /* MAY, offered, certificate not trusted: encrypted anyway */
	    {"PIPELINING\nSTARTTLS", SMTPC_TLS_MAY, NULL, NULL, 0, NULL, 250,
	     SMTPC_TLSO_OPPORTUNISTIC, 1, 1, NULL},
	    /* MAY, trusted and matching: verified */
	    {"STARTTLS", SMTPC_TLS_MAY, cert_path, NULL, 0, NULL, 250, SMTPC_TLSO_VERIFIED, 1, 1,
	     NULL},
	    /* VERIFY */
	    {"PIPELINING\nSTARTTLS", SMTPC_TLS_VERIFY, cert_path, NULL, 0, NULL, 250,
	     SMTPC_TLSO_VERIFIED, 1, 1, NULL},
	    {"STARTTLS", SMTPC_TLS_VERIFY, cert_path, "other.test", 0, NULL, 451, 0, 1, 1,
	     "451 4.7.5 other.test[127.0.0.1]:"},
	    {"STARTTLS", SMTPC_TLS_VERIFY, NULL, NULL, 0, NULL, 451, 0, 1, 1,
	     "TLS certificate verification failed"},
	    {"PIPELINING", SMTPC_TLS_VERIFY, cert_path, NULL, 0, NULL, 451, 0, 0, 1,
	     "TLS is required, but was not offered"},
	    /* ENCRYPT: any certificate, but TLS it must be */
	    {"STARTTLS", SMTPC_TLS_ENCRYPT, NULL, "other.test", 0, NULL, 250,
	     SMTPC_TLSO_OPPORTUNISTIC, 1, 1, NULL},
	    {"PIPELINING", SMTPC_TLS_ENCRYPT, NULL, NULL, 0, NULL, 451, 0, 0, 1,
	     "TLS is required, but was not offered"},
	    /* a broken handshake: MAY connects again in cleartext, ENCRYPT fails */
	    {"PIPELINING\nSTARTTLS", SMTPC_TLS_MAY, NULL, NULL, QUIRK_BREAK, NULL, 250,
	     SMTPC_TLSO_NONE, 0, 2, NULL},
	    {"STARTTLS", SMTPC_TLS_ENCRYPT, NULL, NULL, QUIRK_BREAK, NULL, 451, 0, 0, 1,
	     "TLS handshake failed"},
	    /* STARTTLS refused: MAY goes on in cleartext on the same connection */
	    {"PIPELINING\nSTARTTLS", SMTPC_TLS_MAY, NULL, NULL, QUIRK_REFUSE, NULL, 250,
	     SMTPC_TLSO_NONE, 0, 1, NULL},
	    {"STARTTLS", SMTPC_TLS_VERIFY, cert_path, NULL, QUIRK_REFUSE, NULL, 451, 0, 0, 1,
	     "TLS is required, but STARTTLS was refused: 454 4.7.0"},
	    /* AUTH: PLAIN when offered, else LOGIN; only over TLS */
	    {"STARTTLS\nAUTH LOGIN PLAIN", SMTPC_TLS_ENCRYPT, NULL, NULL, 0, "user", 250,
	     SMTPC_TLSO_OPPORTUNISTIC, 1, 1, NULL},
	    {"STARTTLS\nAUTH LOGIN", SMTPC_TLS_MAY, NULL, NULL, 0, "user", 250,
	     SMTPC_TLSO_OPPORTUNISTIC, 1, 1, NULL},
	    {"STARTTLS\nAUTH PLAIN", SMTPC_TLS_MAY, NULL, NULL, 0, "wrong", 451, 0, 1, 1,
	     "authentication failed: 535 5.7.8"},
	    {"STARTTLS\nAUTH LOGIN", SMTPC_TLS_MAY, NULL, NULL, 0, "wrong", 451, 0, 1, 1,
	     "authentication failed: 535 5.7.8"},
	    {"STARTTLS\nAUTH CRAM-MD5", SMTPC_TLS_MAY, NULL, NULL, 0, "user", 451, 0, 1, 1,
	     "no AUTH PLAIN or LOGIN"},
	    {"AUTH PLAIN", SMTPC_TLS_MAY, NULL, NULL, 0, "user", 451, 0, 0, 1, "without TLS"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tls_case(&cases[i]);
}

/* A connection closed by the server while idle is no longer usable, and a
 * message given to it gets a 4xx. */
static void test_unusable(void **state)
{
	struct fake f = {.ext = "PIPELINING", .drop_at = "MAIL"};
	const char *a1[] = {"a@example.org"}, *a2[] = {"b@example.org"};
	struct smtpc_rcpt rc1[1], rc2[1];
	struct smtpc_msg m1, m2;
	struct smtpc_msg *msgs[2] = {&m1, &m2};
	struct smtpc_params p;
	struct run r = {0};

	msg_init(&m1, rc1, a1, 1, "x\r\n", 3);
	msg_init(&m2, rc2, a2, 1, "x\r\n", 3);
	params_init(&p, &f);
	fake_start(&f);
	p.addr = (const struct sockaddr *)&f.sin;
	run_client(&r, &p, msgs, 2);
	fake_join(&f);
	assert_int_equal(r.nsent, 2);
	assert_int_equal(rc1[0].code, 421);
	assert_int_equal(r.usable[0], 0);
	assert_int_equal(rc2[0].code, 451);
	assert_non_null(strstr(rc2[0].reply, "no longer usable"));
	fake_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_unpipelined),
	    cmocka_unit_test(test_bdat),
	    cmocka_unit_test(test_data_large),
	    cmocka_unit_test(test_one_rejected),
	    cmocka_unit_test(test_none_accepted),
	    cmocka_unit_test(test_mail_rejected),
	    cmocka_unit_test(test_size_too_big),
	    cmocka_unit_test(test_smtputf8_not_offered),
	    cmocka_unit_test(test_smtputf8_offered),
	    cmocka_unit_test(test_dsn),
	    cmocka_unit_test(test_no_greeting),
	    cmocka_unit_test(test_greeting_554),
	    cmocka_unit_test(test_ehlo_refused),
	    cmocka_unit_test(test_two_messages),
	    cmocka_unit_test(test_lmtp),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_reply_bounds),
	    cmocka_unit_test(test_long_reply_line_ok),
	    cmocka_unit_test(test_dropped),
	    cmocka_unit_test(test_final_timeout),
	    cmocka_unit_test(test_close_in_flight),
	    cmocka_unit_test(test_connect_refused),
	    cmocka_unit_test(test_unusable),
	    cmocka_unit_test_setup_teardown(test_tls, tls_setup, tls_teardown),
	};

	/* Both ends write to sockets the other may have closed. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
