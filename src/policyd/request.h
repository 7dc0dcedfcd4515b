/* One request of Postfix's policy delegation protocol (SMTPD_POLICY_README):
 * "name=value" lines, each ending in LF, and an empty line after the last.
 * Pure: the parser copies what it keeps into the request, so the caller's
 * input buffer may be drained as soon as the parser returns.  Every limit
 * is checked before the end of a line or of the request is seen, so a
 * client that never sends LF is refused once it has sent too much. */
#ifndef POSTERN_POLICYD_REQUEST_H
#define POSTERN_POLICYD_REQUEST_H

#include <stddef.h>

/* Postfix's names are short lowercase words (the longest it sends today,
 * "ccert_pubkey_fingerprint", has 24 characters).  Values: a sender
 * address is at most 256 octets (RFC 5321 4.5.3.1.3), a certificate
 * subject a few hundred. */
#define POLICYD_NAME_MAX 64
#define POLICYD_VALUE_MAX 2048
#define POLICYD_LINE_MAX (POLICYD_NAME_MAX + 1 + POLICYD_VALUE_MAX)
/* Postfix 3.7 sends 31 attributes. */
#define POLICYD_ATTRS_MAX 100
/* The whole request, its empty line included. */
#define POLICYD_REQUEST_MAX 16384

enum policyd_status {
	POLICYD_OK,         /* a whole request; *used bytes of the input */
	POLICYD_INCOMPLETE, /* no empty line yet and nothing over a limit */
	POLICYD_GARBLED,    /* a line without '=', with an empty name, or a NUL byte */
	POLICYD_LINE_LONG,  /* a line over POLICYD_LINE_MAX, ended or not */
	POLICYD_NAME_LONG,
	POLICYD_VALUE_LONG,
	POLICYD_TOO_MANY,    /* over POLICYD_ATTRS_MAX attributes */
	POLICYD_TOO_LARGE,   /* no empty line within POLICYD_REQUEST_MAX bytes */
	POLICYD_NO_REQUEST,  /* the request has no request= attribute */
	POLICYD_BAD_REQUEST, /* request= is not smtpd_access_policy */
};

struct policyd_attr {
	const char *name;
	const char *value;
};

struct policyd_request {
	/* The attributes in the order sent, each name and value NUL-terminated
	 * in text. */
	struct policyd_attr attrs[POLICYD_ATTRS_MAX];
	size_t nattrs;
	/* The attributes the service uses: "" when absent; the last one when
	 * an attribute is repeated. */
	const char *request, *protocol_state, *client_address, *client_name, *helo_name, *sender,
	    *recipient, *instance, *sasl_username, *encryption_protocol, *queue_id;
	char text[POLICYD_REQUEST_MAX];
};

/* Parses the request at the start of data[0..len).  A line may end in CR
 * LF as well (a hand-written client); the CR is not part of the value.
 * On POLICYD_OK, *used is the length of the request with its empty line;
 * on an error, nothing in req is meaningful and the connection cannot be
 * resynchronised (SMTPD_POLICY_README: the server logs and disconnects). */
enum policyd_status policyd_request_parse(const char *data, size_t len, struct policyd_request *req,
                                          size_t *used);

/* The value of the last attribute called name, or NULL. */
const char *policyd_request_get(const struct policyd_request *req, const char *name);

/* A word for logs: "garbled_line", "line_too_long", ... */
const char *policyd_status_name(enum policyd_status st);

#endif
