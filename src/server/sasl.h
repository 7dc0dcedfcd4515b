/* SMTP AUTH (RFC 4954): the SASL PLAIN (RFC 4616) and LOGIN exchanges. */
#ifndef POSTERN_SASL_H
#define POSTERN_SASL_H

#include <stddef.h>

struct session;

enum { SASL_PLAIN = 1, SASL_LOGIN = 2 };

/* AUTH mechanism [initial-response]: the preconditions (submission
 * listener, TLS, not yet authenticated) are the command table's. */
void sasl_start(struct session *s, const char *arg, size_t len);
/* A line of the exchange, while the session is in ST_AUTH. */
void sasl_continue(struct session *s, const char *line, size_t len);

#endif
