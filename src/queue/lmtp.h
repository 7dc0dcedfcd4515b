/* A blocking LMTP client (RFC 2033) for the queue manager: one transaction
 * delivers one message to several recipients of one server, and the server
 * answers for each recipient separately after the final dot. */
#ifndef POSTERN_LMTP_H
#define POSTERN_LMTP_H

#include <stddef.h>

#define LMTP_REPLY_MAX 256

struct lmtp_rcpt {
	const char *addr;           /* in: "local@domain" */
	int code;                   /* out: 2xx delivered, 4xx temporary, 5xx permanent */
	char reply[LMTP_REPLY_MAX]; /* out: the server's reply, or what went wrong */
};

/* Delivers body (unstuffed, CRLF lines) from sender to every recipient
 * through the LMTP server at "host:port", "[v6addr]:port" or
 * "unix:/path".  helo: our name for LHLO.  timeout: seconds allowed for
 * each step.  A connection or protocol failure gives every recipient not
 * yet answered a 4xx code. */
void lmtp_deliver(const char *server, const char *helo, int timeout, const char *sender,
                  struct lmtp_rcpt *rcpts, size_t nrcpt, const char *body, size_t len);

#endif
