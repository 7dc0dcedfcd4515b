/* The policy service for Postfix (SMTPD_POLICY_README): connections from
 * Postfix's smtpd processes, each sending request after request, answered
 * from postern's sender checks on one event loop and one resolver.  A
 * request at RCPT is checked (client address, HELO name, sender) unless
 * the client is trusted or authenticated or the recipient is postmaster
 * or abuse; the verdict of a message is computed once and reused for its
 * other recipients, for the messages of the same client, HELO name and
 * sender that come while it is computed, and for the next ones for
 * policyd_cache_seconds unless a lookup failed.  Bad input is logged and
 * closes its connection. */
#ifndef POSTERN_POLICYD_SERVER_H
#define POSTERN_POLICYD_SERVER_H

#include "core/config.h"

#include <stddef.h>

struct event_base;
struct dns_resolver;
struct policyd_server;

/* Verdicts kept per message, and for how long: long enough for every RCPT
 * of one message (each is one SMTP command of at most smtpd_timeout).  As
 * many are kept by client, HELO name and sender, for
 * policyd_cache_seconds. */
#define POLICYD_CACHE_ENTRIES 16384
#define POLICYD_CACHE_TTL 600

/* A server on base, checking through dns (both stay the caller's).
 * NULL with a reason in err when the policy section cannot be built. */
struct policyd_server *policyd_server_new(const struct config *cfg, struct event_base *base,
                                          struct dns_resolver *dns, char *err, size_t errsize);
/* Serves the connected socket fd (made non-blocking here; closed by the
 * server).  peer names it in the log ("unix", "127.0.0.1:40000"). */
void policyd_server_attach(struct policyd_server *srv, int fd, const char *peer);
size_t policyd_server_connections(const struct policyd_server *srv);
/* Checks started so far (a message answered from another's check starts
 * none). */
unsigned long policyd_server_checks(const struct policyd_server *srv);
/* Closes every connection and cancels every check. */
void policyd_server_free(struct policyd_server *srv);

/* Where the service listens: "unix:/path" or "IP:PORT" ("[IPv6]:PORT"),
 * loopback addresses only: the protocol has no authentication. */
struct policyd_listen {
	int is_unix;
	char path[108]; /* sun_path */
	char host[64];
	unsigned port;
};
int policyd_listen_parse(const char *spec, struct policyd_listen *out, char *err, size_t errsize);

/* postern policyd: builds the resolver and the checks, listens (a unix
 * socket left by an earlier run is replaced, one a running service
 * answers on is not), drops privileges to cfg->user when started as root,
 * detaches unless foreground, serves until SIGTERM or SIGINT.  Returns
 * the exit code: 1, with the reason on stderr, when any step before
 * detaching fails. */
int policyd_run(const struct config *cfg, const struct policyd_listen *listen, int foreground);

#endif
