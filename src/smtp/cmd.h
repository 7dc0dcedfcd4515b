/* SMTP command lines (RFC 5321 4.1.1) and the parameters of MAIL and RCPT.
 * Pure functions: the caller owns the line buffer; returned pointers point
 * into it and live as long as it does. */
#ifndef POSTERN_CMD_H
#define POSTERN_CMD_H

#include "smtp/addr.h"

#include <stddef.h>
#include <stdint.h>

enum smtp_verb {
	CMD_UNKNOWN = 0,
	CMD_HELO,
	CMD_EHLO,
	CMD_LHLO, /* LMTP, RFC 2033; parsed so that the client shares this code */
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_BDAT,
	CMD_RSET,
	CMD_NOOP,
	CMD_QUIT,
	CMD_HELP,
	CMD_VRFY,
	CMD_EXPN,
	CMD_STARTTLS,
	CMD_AUTH,
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg; /* after the verb and one space; not NUL-terminated */
	size_t arglen;
};

/* line excludes the CRLF.  Verbs are case-insensitive.  Returns 0, or -1
 * for a line that is not a command at all (empty, NUL byte, control
 * characters): the caller answers 500.  An unknown verb gives 0 and
 * CMD_UNKNOWN. */
int cmd_parse(const char *line, size_t len, struct smtp_cmd *out);

/* BODY= values of the 8BITMIME extension (RFC 6152 2); BINARYMIME (RFC
 * 3030 3) is not offered, so its value is refused. */
enum body_type { BODY_7BIT, BODY_8BITMIME };

enum param_status {
	PARAM_OK = 0,
	PARAM_SYNTAX,    /* "MAIL FROM:" or "RCPT TO:" missing or malformed: 501 5.5.4 */
	PARAM_ADDR,      /* the path failed: see addr_status */
	PARAM_UNKNOWN,   /* unknown, duplicated or not offered parameter or value: 555 5.5.4 */
	PARAM_BAD_VALUE, /* SIZE=abc, BODY=xyz: 501 5.5.4 */
};

struct mail_params {
	struct mailbox from;
	enum addr_status addr_status;
	uint64_t size;                /* SIZE=, 0 when absent */
	enum body_type body;          /* BODY= */
	int smtputf8;                 /* SMTPUTF8 given */
	char auth[ADDR_PATH_MAX + 1]; /* AUTH= (RFC 4954 5), xtext as given, "" when absent */
};

struct rcpt_params {
	struct mailbox to;
	enum addr_status addr_status;
};

/* The extensions of the EHLO reply whose MAIL parameters cmd_parse_mail
 * accepts; the parameter of one not advertised is unknown (PARAM_UNKNOWN),
 * as RFC 5321 4.1.1.11 has it for parameters a server cannot implement. */
enum mail_offer {
	MAIL_OFFER_SMTPUTF8 = 1, /* SMTPUTF8 (RFC 6531 3.4) enables UTF-8 in the path */
	MAIL_OFFER_AUTH = 2,     /* AUTH=mailbox or AUTH=<> (RFC 4954 5) */
};

/* arg is the text after "MAIL" (starting with " FROM:"), as given by
 * cmd_parse.  RFC 5321 allows no space after the colon, but common
 * clients send one; one space is tolerated.  offered: MAIL_OFFER_* bits
 * of what the server advertised.  SIZE and BODY=7BIT|8BITMIME are always
 * accepted (SIZE and 8BITMIME are advertised on every port). */
enum param_status cmd_parse_mail(const char *arg, size_t len, unsigned offered,
                                 struct mail_params *out);
/* utf8_ok: the transaction's MAIL carried SMTPUTF8. */
enum param_status cmd_parse_rcpt(const char *arg, size_t len, int utf8_ok, struct rcpt_params *out);

/* BDAT <size> [LAST] (RFC 3030).  Returns 0, or -1 for a syntax error. */
int cmd_parse_bdat(const char *arg, size_t len, uint64_t *size, int *last);

#endif
