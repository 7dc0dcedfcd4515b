/* The Received trace header field (RFC 5321 4.4). */
#ifndef POSTERN_TRACE_H
#define POSTERN_TRACE_H

#include "core/buf.h"

struct session;

/* Appends the Received field for the session's transaction. */
int trace_received(const struct session *s, struct buf *out);

#endif
