/* libFuzzer target for cmd_parse and the MAIL, RCPT and BDAT argument parsers. */
#include "smtp/cmd.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_mail(const char *arg, size_t len)
{
	struct mail_params mp;
	char text[ADDR_PATH_MAX + 1];

	/* Every combination of MAIL_OFFER_SMTPUTF8 and MAIL_OFFER_AUTH. */
	for (unsigned offered = 0; offered < 4; offered++) {
		enum param_status st = cmd_parse_mail(arg, len, offered, &mp);
		if (st != PARAM_ADDR && mp.addr_status != ADDR_OK)
			abort();
		if (st != PARAM_OK)
			continue;
		if (addr_format(&mp.from, text, sizeof(text)) < 0)
			abort();
		if (strlen(mp.auth) >= sizeof(mp.auth) ||
		    (mp.smtputf8 && !(offered & MAIL_OFFER_SMTPUTF8)) ||
		    (mp.auth[0] && !(offered & MAIL_OFFER_AUTH)))
			abort();
		if (mp.from.has_utf8 && !mp.smtputf8)
			abort();
	}
}

static void check_rcpt(const char *arg, size_t len)
{
	struct rcpt_params rp;
	char text[ADDR_PATH_MAX + 1];

	for (int utf8 = 0; utf8 < 2; utf8++) {
		enum param_status st = cmd_parse_rcpt(arg, len, utf8, &rp);
		if (st != PARAM_OK)
			continue;
		if (addr_format(&rp.to, text, sizeof(text)) < 0 || rp.to.is_null)
			abort();
		if (rp.to.has_utf8 && !utf8)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct smtp_cmd c;
	uint64_t bsize;
	int last;

	if (cmd_parse(line, size, &c) == 0) {
		/* The argument is a view into the line. */
		if (c.arg < line || c.arg + c.arglen > line + size)
			abort();
		switch (c.verb) {
		case CMD_MAIL:
			check_mail(c.arg, c.arglen);
			break;
		case CMD_RCPT:
			check_rcpt(c.arg, c.arglen);
			break;
		case CMD_BDAT:
			(void)cmd_parse_bdat(c.arg, c.arglen, &bsize, &last);
			break;
		case CMD_EHLO:
		case CMD_HELO:
		case CMD_LHLO:
			(void)addr_valid_domain(c.arg, c.arglen, 1);
			break;
		default:
			break;
		}
	}
	/* The argument parsers also see raw input, not only what cmd_parse
	 * lets through. */
	check_mail(line, size);
	check_rcpt(line, size);
	if (cmd_parse_bdat(line, size, &bsize, &last) == 0 && last != 0 && last != 1)
		abort();
	return 0;
}
