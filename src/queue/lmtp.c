/* LMTP client (RFC 2033): connect, LHLO, MAIL, one RCPT per recipient,
 * DATA with dot-stuffing, then one reply per accepted recipient (RFC 2033
 * section 4.2).  Blocking with poll() timeouts: it runs in the queue
 * manager, never on an event loop. */
#include "queue/lmtp.h"
#include "smtp/data.h"
#include "smtp/reply.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LMTP_LINE_MAX 2048 /* RFC 5321 4.5.3.1.5 allows 512 per reply line */
#define LMTP_OUT_CHUNK (64 * 1024)

struct conn {
	int fd;
	int timeout_ms;
	int failed;                    /* an I/O or protocol error happened */
	char why[LMTP_REPLY_MAX - 16]; /* what it was; room left for "451 4.4.1 " */
	char in[LMTP_LINE_MAX];
	size_t inlen;
	char out[LMTP_OUT_CHUNK]; /* gathers the stuffed body */
	size_t outlen;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_fail(struct conn *c, const char *fmt, const char *detail)
{
	if (c->failed)
		return;
	c->failed = 1;
	snprintf(c->why, sizeof(c->why), fmt, detail);
}

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -1;
		int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* One connected, non-blocking socket to addr, or -1 with errno. */
static int connect_to(const struct sockaddr *addr, socklen_t alen, int timeout_ms)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int e = 0;
	socklen_t elen = sizeof(e);

	if (fd < 0)
		return -1;
	if (connect(fd, addr, alen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (wait_fd(fd, POLLOUT, now_ms() + timeout_ms) < 0) {
		close(fd);
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0 || e != 0) {
		close(fd);
		errno = e ? e : EIO;
		return -1;
	}
	return fd;
}

/* server: "unix:/path", "host:port" or "[v6addr]:port". */
static int conn_open(struct conn *c, const char *server)
{
	if (strncmp(server, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		if (strlen(server + 5) >= sizeof(sun.sun_path)) {
			conn_fail(c, "LMTP socket path too long: %s", server);
			return -1;
		}
		strcpy(sun.sun_path, server + 5);
		c->fd = connect_to((struct sockaddr *)&sun, sizeof(sun), c->timeout_ms);
		if (c->fd < 0)
			conn_fail(c, "cannot connect to LMTP server: %s", strerror(errno));
		return c->fd < 0 ? -1 : 0;
	}

	char host[256];
	const char *colon = strrchr(server, ':');
	const char *h = server;
	size_t hlen = colon ? (size_t)(colon - server) : 0;
	if (colon == NULL || colon[1] == '\0' || hlen == 0 || hlen >= sizeof(host)) {
		conn_fail(c, "bad LMTP server address: %s", server);
		return -1;
	}
	if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		conn_fail(c, "cannot resolve LMTP server: %s", gai_strerror(rc));
		return -1;
	}
	c->fd = -1;
	for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next)
		c->fd = connect_to(ai->ai_addr, ai->ai_addrlen, c->timeout_ms);
	if (c->fd < 0)
		conn_fail(c, "cannot connect to LMTP server: %s", strerror(errno));
	freeaddrinfo(res);
	return c->fd < 0 ? -1 : 0;
}

static void conn_write(struct conn *c, const char *p, size_t n)
{
	long long deadline = now_ms() + c->timeout_ms;

	while (n > 0 && !c->failed) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			/* Progress earns a fresh timeout: a 10 MiB body on a slow
			 * link is not a dead server. */
			deadline = now_ms() + c->timeout_ms;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(c->fd, POLLOUT, deadline) < 0)
				conn_fail(c, "%s", "timeout writing to LMTP server");
		} else {
			conn_fail(c, "write to LMTP server: %s", strerror(errno));
		}
	}
}

static void conn_flush(struct conn *c)
{
	conn_write(c, c->out, c->outlen);
	c->outlen = 0;
}

/* data_sink for the stuffed body. */
static void body_sink(void *arg, const char *p, size_t n)
{
	struct conn *c = arg;

	if (c->outlen + n > sizeof(c->out))
		conn_flush(c);
	if (n > sizeof(c->out)) {
		conn_write(c, p, n);
		return;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

/* Reads one line into line (CRLF removed).  Returns its length or -1. */
static long conn_read_line(struct conn *c, char *line, size_t size)
{
	long long deadline = now_ms() + c->timeout_ms;

	while (!c->failed) {
		char *nl = memchr(c->in, '\n', c->inlen);
		if (nl) {
			size_t n = (size_t)(nl - c->in);
			size_t keep = c->inlen - n - 1;
			if (n > 0 && c->in[n - 1] == '\r')
				n--;
			if (n >= size) {
				conn_fail(c, "%s", "LMTP reply line too long");
				return -1;
			}
			memcpy(line, c->in, n);
			line[n] = '\0';
			memmove(c->in, nl + 1, keep);
			c->inlen = keep;
			return (long)n;
		}
		if (c->inlen == sizeof(c->in)) {
			conn_fail(c, "%s", "LMTP reply line too long");
			return -1;
		}
		ssize_t r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (r > 0) {
			c->inlen += (size_t)r;
		} else if (r == 0) {
			conn_fail(c, "%s", "LMTP server closed the connection");
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(c->fd, POLLIN, deadline) < 0)
				conn_fail(c, "%s", "timeout waiting for the LMTP server");
		} else if (errno != EINTR) {
			conn_fail(c, "read from LMTP server: %s", strerror(errno));
		}
	}
	return -1;
}

/* Reads one (possibly multi-line) reply.  Returns its code, or 0 after a
 * failure (c->why says what). */
static int conn_reply(struct conn *c, struct reply *r)
{
	char line[LMTP_LINE_MAX];

	reply_init(r);
	while (!r->done) {
		long n = conn_read_line(c, line, sizeof(line));
		if (n < 0)
			return 0;
		if (reply_feed_line(r, line, (size_t)n) < 0) {
			conn_fail(c, "%s", "malformed reply from the LMTP server");
			return 0;
		}
	}
	return r->code;
}

/* "code enhanced text", cut to outsize: it is for logs and last_reply. */
static void reply_text(const struct reply *r, char *out, size_t outsize)
{
	int n = snprintf(out, outsize, "%d %s%s", r->code, r->enhanced, r->enhanced[0] ? " " : "");

	if (n < 0 || (size_t)n >= outsize)
		return;
	size_t room = outsize - (size_t)n - 1;
	size_t len = strnlen(r->text, room);
	memcpy(out + n, r->text, len);
	out[(size_t)n + len] = '\0';
}

/* Sends one command line and reads the reply; 0 after a failure. */
static int command(struct conn *c, struct reply *r, const char *verb, const char *arg)
{
	char line[1100];
	int n = snprintf(line, sizeof(line), "%s%s\r\n", verb, arg);

	if (n < 0 || (size_t)n >= sizeof(line)) {
		conn_fail(c, "%s", "command too long for LMTP");
		return 0;
	}
	conn_write(c, line, (size_t)n);
	if (c->failed)
		return 0;
	return conn_reply(c, r);
}

/* Sets every recipient without an answer yet to code and text. */
static void answer_rest(struct lmtp_rcpt *rcpts, size_t n, int code, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (rcpts[i].code == 0) {
			rcpts[i].code = code;
			snprintf(rcpts[i].reply, sizeof(rcpts[i].reply), "%s", text);
		}
}

/* An address with a CR or LF would smuggle a command into the session. */
static int addr_ok(const char *a)
{
	for (; *a; a++)
		if ((unsigned char)*a < 0x20 || *a == 0x7f)
			return 0;
	return 1;
}

/* Everything after LHLO.  Leaves code 0 on recipients it could not settle. */
static void transaction(struct conn *c, const char *sender, struct lmtp_rcpt *rcpts, size_t n,
                        const char *body, size_t len)
{
	struct reply r;
	char arg[1100], text[LMTP_REPLY_MAX];
	size_t accepted = 0;
	int code;

	snprintf(arg, sizeof(arg), "<%s>", sender);
	code = command(c, &r, "MAIL FROM:", arg);
	if (code == 0)
		return;
	if (code / 100 != 2) {
		reply_text(&r, text, sizeof(text));
		answer_rest(rcpts, n, code, text);
		return;
	}
	for (size_t i = 0; i < n && !c->failed; i++) {
		if (rcpts[i].code != 0)
			continue;
		snprintf(arg, sizeof(arg), "<%s>", rcpts[i].addr);
		code = command(c, &r, "RCPT TO:", arg);
		if (code / 100 == 2) {
			accepted++;
		} else if (code != 0) {
			rcpts[i].code = code;
			reply_text(&r, rcpts[i].reply, sizeof(rcpts[i].reply));
		}
	}
	if (accepted == 0 || c->failed)
		return;
	code = command(c, &r, "DATA", "");
	if (code == 0)
		return;
	if (code != 354) {
		reply_text(&r, text, sizeof(text));
		answer_rest(rcpts, n, code / 100 == 2 ? 451 : code, text);
		return;
	}
	struct data_stuffer ds;
	data_stuffer_init(&ds);
	data_stuff(&ds, body, len, body_sink, c);
	data_stuff_end(&ds, body_sink, c);
	conn_flush(c);
	/* RFC 2033 4.2: one reply per accepted recipient, in RCPT order. */
	for (size_t i = 0; i < n && !c->failed; i++) {
		if (rcpts[i].code != 0)
			continue;
		code = conn_reply(c, &r);
		if (code == 0)
			return;
		rcpts[i].code = code;
		reply_text(&r, rcpts[i].reply, sizeof(rcpts[i].reply));
	}
}

void lmtp_deliver(const char *server, const char *helo, int timeout, const char *sender,
                  struct lmtp_rcpt *rcpts, size_t nrcpt, const char *body, size_t len)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	struct reply r;
	char text[LMTP_REPLY_MAX];
	int code;

	for (size_t i = 0; i < nrcpt; i++) {
		rcpts[i].code = 0;
		rcpts[i].reply[0] = '\0';
		if (!addr_ok(rcpts[i].addr)) {
			rcpts[i].code = 553;
			snprintf(rcpts[i].reply, sizeof(rcpts[i].reply),
			         "553 5.1.3 control character in address");
		}
	}
	size_t open_rcpts = 0;
	for (size_t i = 0; i < nrcpt; i++)
		open_rcpts += rcpts[i].code == 0;
	if (open_rcpts == 0) {
		free(c);
		return;
	}
	if (!addr_ok(sender)) {
		answer_rest(rcpts, nrcpt, 553, "553 5.1.7 control character in sender");
		free(c);
		return;
	}
	c->fd = -1;
	c->timeout_ms = (timeout > 0 ? timeout : 1) * 1000;
	if (conn_open(c, server) < 0)
		goto out;
	code = conn_reply(c, &r);
	if (code != 0 && code / 100 != 2) {
		/* A refusing greeting says nothing about the recipients. */
		reply_text(&r, text, sizeof(text));
		answer_rest(rcpts, nrcpt, 451, text);
		goto out;
	}
	if (code != 0)
		code = command(c, &r, "LHLO ", helo);
	if (code != 0 && code / 100 != 2) {
		reply_text(&r, text, sizeof(text));
		answer_rest(rcpts, nrcpt, 451, text);
		goto out;
	}
	if (code != 0)
		transaction(c, sender, rcpts, nrcpt, body, len);
	if (!c->failed)
		command(c, &r, "QUIT", "");
out:
	/* Whatever is still unanswered failed with the connection, and a
	 * connection failure is always temporary. */
	if (c->failed) {
		snprintf(text, sizeof(text), "451 4.4.1 %s", c->why);
		answer_rest(rcpts, nrcpt, 451, text);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
