/* The replies of the policy service (access(5) actions), made from
 * postern's verdicts.  Pure.  A reply is one "action=..." line: Postfix
 * reads it up to the newline, so nothing here ever contains CR or LF. */
#ifndef POSTERN_POLICYD_ACTION_H
#define POSTERN_POLICYD_ACTION_H

#include "core/buf.h"
#include "policy/verdict.h"

#include <stddef.h>

/* "action=DUNNO": no opinion, Postfix goes on with its restrictions. */
#define POLICYD_DUNNO "action=DUNNO"

/* "action=CODE ECODE TEXT" for a refusal with postern's reply (as
 * verdict_decide gives it for PA_REJECT or PA_TEMPFAIL: 550 or 451),
 * control characters in the text made spaces.  Returns 0, or -1 when out
 * is full. */
int policyd_action_refuse(const struct verdict_reply *r, struct buf *out);

/* "action=PREPEND FIELD" with the header field (as folded by the
 * Authentication-Results formatter, CRLF-terminated) unfolded into one
 * line: every CRLF and the white space after it become one space (RFC
 * 5322 2.2.3), the final CRLF goes.  Returns 0, or -1 when out is full or
 * field is not "Name: value". */
int policyd_action_prepend(const char *field, size_t len, struct buf *out);

#endif
