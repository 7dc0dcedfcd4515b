/* Delivery status notifications: the report the delivery engine sends
 * back to a sender (RFC 3464 fields in a multipart/report, RFC 6522,
 * which replaced RFC 3462; RFC 6533 when addresses are UTF-8).  A pure
 * composer: every value that varies (dates, ids, names) comes from the
 * caller, so the same input always gives the same bytes. */
#ifndef POSTERN_DSN_H
#define POSTERN_DSN_H

#include "core/buf.h"
#include "smtp/cmd.h"

#include <stddef.h>
#include <time.h>

/* RFC 3464 2.3.3 */
enum dsn_action {
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_RELAYED, /* to a server that does not take DSN duties over */
};

struct dsn_rcpt {
	const char *final_rcpt; /* the address tried: "user@example.org" */
	const char *orcpt;      /* ORCPT as stored ("rfc822;address"), or NULL */
	enum dsn_action action;
	const char *status;     /* RFC 3463 code ("5.1.1"); anything else becomes
	                           the action's generic x.0.0 */
	const char *remote_mta; /* the host name (or [address]) that answered, or NULL */
	/* Its reply ("550 5.1.1 No such user"), or what we found ("connect to
	 * mx.example.org[192.0.2.1]:25: Connection timed out"), or NULL. */
	const char *diagnostic;
	time_t last_attempt; /* 0: none made */
	time_t retry_until;  /* DSN_ACTION_DELAYED: when we give up; 0: not said */
};

struct dsn_report {
	const char *reporting_mta; /* our host name */
	const char *from;          /* "MAILER-DAEMON@" our host name */
	const char *to;            /* the original envelope sender */
	const char *envid;         /* ENVID, decoded; NULL: not given */
	time_t arrival;
	const char *queue_id;
	const char *message_id; /* of the report: "<id@host>" */
	time_t date;            /* of the report */
	/* RFC 3461 4.3: RET=FULL returns the whole message with a report of
	 * failures; RET=HDRS, and for us also no RET at all, its header
	 * section only, as does every report without a failure (delays,
	 * deliveries). */
	enum dsn_ret ret;
	/* The original: our fields (messages.headers), then the message as
	 * received (CRLF lines).  When only the header section is returned,
	 * the message may be cut anywhere after its header section, or even
	 * within it (the last whole line is kept). */
	const char *fields;
	size_t fields_len;
	const char *message;
	size_t message_len;
	const struct dsn_rcpt *rcpts;
	size_t nrcpt; /* at least one */
};

/* Appends the whole report, an RFC 5322 message with CRLF line ends, to
 * out.  Every value is written on one line, control characters and
 * ill-formed UTF-8 replaced, long fields folded, so that no line exceeds
 * 998 octets (the original is copied as it is).  When an address or a
 * diagnostic is UTF-8, the report is message/global-delivery-status (RFC
 * 6533 3) and a returned header section with UTF-8 is message/global or
 * message/global-headers; only a sender that used SMTPUTF8 can have such
 * values.  Returns 0, or -1 when out would exceed its maximum (out is
 * then as it was: a caller may try again with DSN_RET_HDRS). */
int dsn_compose(const struct dsn_report *r, struct buf *out);

#endif
