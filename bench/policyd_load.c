/* Load generator for bench/policyd.sh: keeps CONNS connections open to a
 * Postfix policy service and, like Postfix's smtpd, sends one request on
 * each and waits for its reply before sending the next, until REQUESTS
 * replies have come back.  Each message (instance=) has RCPTS recipients;
 * the clients, HELO names and senders cycle through a few fixed ones, so
 * that after the warm-up every DNS answer is cached (and, when the service
 * reuses a finished check for the next messages of the same client, HELO
 * name and sender, every verdict).  Loopback or a unix
 * socket only; libc only (built by bench/policyd.sh with cc).
 *
 *   policyd_load -c CONNS -n REQUESTS [-r RCPTS] [-w WARMUP] unix:PATH|127.0.0.1:PORT
 *
 * Prints one line: requests, seconds, rate, and the replies by action. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct client {
	const char *ip, *helo, *sender;
};

/* Names from the benchmark's zones (bench/lib.sh, bench_zones_write). */
static const struct client clients[] = {
    {"127.0.0.1", "mail.bench-sender.net", "a@bench-sender.net"},
    {"127.0.0.1", "mail.bench-sender.net", "b@bench-shop.net"},
    {"127.0.0.1", "mail.bench-sender.net", "n@bench-news.net"},
    {"127.0.0.1", "mail.bench-sender.net", "c@bench-sender.net"},
};
#define NCLIENTS (sizeof(clients) / sizeof(clients[0]))

struct conn {
	int fd;
	char in[8192];
	size_t inlen;
	unsigned long msg; /* message number of this connection */
	int rcpt;          /* recipient within the message */
};

static long rcpts = 1;
static long target, sent, done;
static long dunno, reject, defer, prepend, other;
static const char *tag = "w";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(const char *spec)
{
	int fd;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", spec + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return -1;
		return fd;
	}
	char host[64];
	const char *colon = strrchr(spec, ':');
	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    (ntohl(sin.sin_addr.s_addr) >> 24) != 127)
		return -1; /* loopback only */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* One request as Postfix 3.7 writes it at RCPT. */
static int send_request(struct conn *c, int idx)
{
	const struct client *cl = &clients[c->msg % NCLIENTS];
	char buf[2048];
	int n =
	    snprintf(buf, sizeof(buf),
	             "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
	             "helo_name=%s\nqueue_id=\nsender=%s\nrecipient=r%d@test.example\n"
	             "recipient_count=0\nclient_address=%s\nclient_name=%s\n"
	             "reverse_client_name=%s\ninstance=%s.%d.%lu\nsasl_method=\n"
	             "sasl_username=\nsasl_sender=\nsize=0\nccert_subject=\nccert_issuer=\n"
	             "ccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=\n"
	             "encryption_cipher=\nencryption_keysize=0\netrn_domain=\nstress=\n"
	             "server_address=127.0.0.1\nserver_port=25\ncompatibility_level=3.6\n"
	             "mail_version=3.7.11\n\n",
	             cl->helo, cl->sender, c->rcpt, cl->ip, cl->helo, cl->helo, tag, idx, c->msg);
	sent++;
	if (++c->rcpt >= rcpts) {
		c->rcpt = 0;
		c->msg++;
	}
	return write(c->fd, buf, (size_t)n) == n ? 0 : -1;
}

static void count(const char *reply)
{
	if (strncmp(reply, "action=DUNNO", 12) == 0)
		dunno++;
	else if (strncmp(reply, "action=PREPEND ", 15) == 0)
		prepend++;
	else if (strncmp(reply, "action=5", 8) == 0)
		reject++;
	else if (strncmp(reply, "action=4", 8) == 0)
		defer++;
	else
		other++;
}

static int run(const char *spec, int nconns, long n)
{
	int ep = epoll_create1(0);
	struct conn *conns = calloc((size_t)nconns, sizeof(*conns));

	target = n;
	sent = done = 0;
	for (int i = 0; i < nconns; i++) {
		conns[i].fd = dial(spec);
		if (conns[i].fd < 0) {
			fprintf(stderr, "policyd_load: cannot connect to %s: %s\n", spec,
			        strerror(errno));
			return -1;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
	}
	for (int i = 0; i < nconns && sent < target; i++)
		if (send_request(&conns[i], i) < 0)
			return -1;
	while (done < target) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 30000);
		if (k <= 0) {
			fprintf(stderr, "policyd_load: no reply within 30 s (%ld of %ld)\n", done,
			        target);
			return -1;
		}
		for (int e = 0; e < k; e++) {
			struct conn *c = evs[e].data.ptr;
			ssize_t r = read(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
			if (r <= 0) {
				fprintf(stderr, "policyd_load: the service closed a connection\n");
				return -1;
			}
			c->inlen += (size_t)r;
			c->in[c->inlen] = '\0';
			char *end;
			while ((end = strstr(c->in, "\n\n")) != NULL) {
				*end = '\0';
				count(c->in);
				done++;
				size_t used = (size_t)(end + 2 - c->in);
				memmove(c->in, c->in + used, c->inlen - used + 1);
				c->inlen -= used;
				if (sent < target && send_request(c, (int)(c - conns)) < 0)
					return -1;
			}
		}
	}
	for (int i = 0; i < nconns; i++)
		close(conns[i].fd);
	free(conns);
	close(ep);
	return 0;
}

int main(int argc, char **argv)
{
	int nconns = 20, opt;
	long n = 100000, warmup = 1000;

	while ((opt = getopt(argc, argv, "c:n:r:w:")) != -1) {
		switch (opt) {
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'r':
			rcpts = atol(optarg);
			break;
		case 'w':
			warmup = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || nconns < 1 || n < 1 || rcpts < 1 || n > 100000000)
		goto usage;
	if (warmup > 0 && run(argv[optind], nconns, warmup) < 0)
		return 1;
	dunno = reject = defer = prepend = other = 0;
	tag = "m";
	double t0 = now();
	if (run(argv[optind], nconns, n) < 0)
		return 1;
	double el = now() - t0;
	printf("requests=%ld seconds=%.3f rate=%.0f dunno=%ld prepend=%ld reject=%ld defer=%ld "
	       "other=%ld\n",
	       n, el, (double)n / el, dunno, prepend, reject, defer, other);
	return other > 0 ? 1 : 0;
usage:
	fprintf(stderr, "usage: policyd_load -c CONNS -n REQUESTS [-r RCPTS] [-w WARMUP] "
	                "unix:PATH|127.0.0.1:PORT\n");
	return 2;
}
