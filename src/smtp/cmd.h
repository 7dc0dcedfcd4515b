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

/* The DSN extension's parameters (RFC 3461 4): RET= of MAIL (4.3) and
 * NOTIFY= of RCPT as bits (4.1; 0: not given).  NEVER comes alone. */
enum dsn_ret { DSN_RET_UNSET, DSN_RET_FULL, DSN_RET_HDRS };
enum dsn_notify {
	DSN_NOTIFY_SUCCESS = 1,
	DSN_NOTIFY_FAILURE = 2,
	DSN_NOTIFY_DELAY = 4,
	DSN_NOTIFY_NEVER = 8,
};
/* RFC 3461 4.4: an ENVID of at most 100 characters (as xtext); 4.2: an
 * ORCPT value of at most 500. */
#define DSN_ENVID_MAX 100
#define DSN_ORCPT_MAX 500
/* The longest NOTIFY list cmd_notify_format writes, NUL included. */
#define DSN_NOTIFY_TEXT_MAX sizeof("SUCCESS,FAILURE,DELAY")

enum param_status {
	PARAM_OK = 0,
	PARAM_SYNTAX,    /* "MAIL FROM:" or "RCPT TO:" missing or malformed: 501 5.5.4 */
	PARAM_ADDR,      /* the path failed: see addr_status */
	PARAM_UNKNOWN,   /* unknown, duplicated or not offered parameter or value: 555 5.5.4 */
	PARAM_BAD_VALUE, /* SIZE=abc, BODY=xyz, NOTIFY=NEVER,DELAY: 501 5.5.4 */
};

struct mail_params {
	struct mailbox from;
	enum addr_status addr_status;
	uint64_t size;                 /* SIZE=, 0 when absent */
	enum body_type body;           /* BODY= */
	int smtputf8;                  /* SMTPUTF8 given */
	char auth[ADDR_PATH_MAX + 1];  /* AUTH= (RFC 4954 5), xtext as given, "" when absent */
	enum dsn_ret ret;              /* RET= */
	char envid[DSN_ENVID_MAX + 1]; /* ENVID=, decoded from xtext; "" when absent */
};

struct rcpt_params {
	struct mailbox to;
	enum addr_status addr_status;
	unsigned notify; /* NOTIFY=, DSN_NOTIFY_* bits; 0 when absent */
	/* ORCPT= as "rfc822;address" or "utf-8;address" (RFC 6533 3), the
	 * address decoded, the type in lower case; "" when absent. */
	char orcpt[DSN_ORCPT_MAX + 1];
};

/* The extensions of the EHLO reply whose MAIL and RCPT parameters
 * cmd_parse_mail and cmd_parse_rcpt accept; the parameter of one not
 * advertised is unknown (PARAM_UNKNOWN), as RFC 5321 4.1.1.11 has it for
 * parameters a server cannot implement. */
enum mail_offer {
	MAIL_OFFER_SMTPUTF8 = 1, /* SMTPUTF8 (RFC 6531 3.4) enables UTF-8 in the path */
	MAIL_OFFER_AUTH = 2,     /* AUTH=mailbox or AUTH=<> (RFC 4954 5) */
	MAIL_OFFER_DSN = 4,      /* RET, ENVID; NOTIFY, ORCPT (RFC 3461 4) */
};

/* arg is the text after "MAIL" (starting with " FROM:"), as given by
 * cmd_parse.  RFC 5321 allows no space after the colon, but common
 * clients send one; one space is tolerated.  offered: MAIL_OFFER_* bits
 * of what the server advertised.  SIZE and BODY=7BIT|8BITMIME are always
 * accepted (SIZE and 8BITMIME are advertised on every port). */
enum param_status cmd_parse_mail(const char *arg, size_t len, unsigned offered,
                                 struct mail_params *out);
/* offered: MAIL_OFFER_DSN when DSN was advertised, and MAIL_OFFER_SMTPUTF8
 * when the transaction's MAIL carried SMTPUTF8 (RFC 6531 3.4: only then
 * may the path, and an ORCPT of type utf-8, hold UTF-8 as is). */
enum param_status cmd_parse_rcpt(const char *arg, size_t len, unsigned offered,
                                 struct rcpt_params *out);

/* A NOTIFY value, as given or as cmd_notify_format wrote it (the queue
 * reads back what it stored): "NEVER" or a comma-separated list of
 * SUCCESS, FAILURE and DELAY, case-insensitive.  Returns 0 with the bits
 * in *notify, or -1. */
int cmd_parse_notify(const char *v, size_t n, unsigned *notify);
/* The normalised list of notify: "NEVER", or the ones given of SUCCESS,
 * FAILURE, DELAY in that order ("FAILURE,DELAY"); "" for 0. */
void cmd_notify_format(unsigned notify, char *out, size_t outsize);

/* BDAT <size> [LAST] (RFC 3030).  Returns 0, or -1 for a syntax error. */
int cmd_parse_bdat(const char *arg, size_t len, uint64_t *size, int *last);

#endif
