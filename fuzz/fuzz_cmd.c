/* libFuzzer target for cmd_parse, the MAIL, RCPT and BDAT argument parsers
 * and the xtext codecs of their DSN parameters. */
#include "smtp/cmd.h"
#include "smtp/xtext.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A decoded DSN value: printable, and for utf-8 no control character
 * (C1 ones are two bytes, 0xC2 0x80-0x9F). */
static void check_printable(const char *s, int utf8)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8) ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			abort();
}

static void check_mail(const char *arg, size_t len)
{
	struct mail_params mp;
	char text[ADDR_PATH_MAX + 1];

	/* Every combination of MAIL_OFFER_SMTPUTF8, _AUTH and _DSN. */
	for (unsigned offered = 0; offered < 8; offered++) {
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
		if (!(offered & MAIL_OFFER_DSN) && (mp.ret != DSN_RET_UNSET || mp.envid[0]))
			abort();
		if (strlen(mp.envid) > DSN_ENVID_MAX)
			abort();
		check_printable(mp.envid, 0);
	}
}

static void check_rcpt(const char *arg, size_t len)
{
	struct rcpt_params rp;
	char text[ADDR_PATH_MAX + 1];

	for (unsigned offered = 0; offered < 8; offered++) {
		unsigned utf8 = offered & MAIL_OFFER_SMTPUTF8, back;
		char notify[DSN_NOTIFY_TEXT_MAX];
		enum param_status st = cmd_parse_rcpt(arg, len, offered, &rp);
		if (st != PARAM_OK)
			continue;
		if (addr_format(&rp.to, text, sizeof(text)) < 0 || rp.to.is_null)
			abort();
		if (rp.to.has_utf8 && !utf8)
			abort();
		if (!(offered & MAIL_OFFER_DSN) && (rp.notify || rp.orcpt[0]))
			abort();
		/* NEVER alone; what is stored reads back the same. */
		if ((rp.notify & DSN_NOTIFY_NEVER) && rp.notify != DSN_NOTIFY_NEVER)
			abort();
		if (rp.notify) {
			cmd_notify_format(rp.notify, notify, sizeof(notify));
			if (cmd_parse_notify(notify, strlen(notify), &back) != 0 ||
			    back != rp.notify)
				abort();
		}
		if (rp.orcpt[0]) {
			int is_utf8 = strncmp(rp.orcpt, "utf-8;", 6) == 0;
			if (!is_utf8 && strncmp(rp.orcpt, "rfc822;", 7) != 0)
				abort();
			if (strchr(rp.orcpt, ';')[1] == '\0')
				abort();
			check_printable(rp.orcpt, is_utf8);
		}
	}
}

/* Decoding never yields what it refuses, and what is decoded is encoded
 * and decoded back to itself. */
static void check_xtext(const char *v, size_t len)
{
	char out[512], enc[1600], back[512];
	long n = xtext_decode(v, len, out, sizeof(out));

	if (n >= 0) {
		check_printable(out, 0);
		long e = xtext_encode(out, (size_t)n, enc, sizeof(enc));
		if (e < 0 || !xtext_valid(enc, (size_t)e) ||
		    xtext_decode(enc, (size_t)e, back, sizeof(back)) != n ||
		    memcmp(out, back, (size_t)n))
			abort();
	}
	for (int unitext = 0; unitext < 2; unitext++) {
		n = xtext_utf8_decode(v, len, unitext, out, sizeof(out));
		if (n < 0)
			continue;
		check_printable(out, 1);
		long e = xtext_utf8_encode(out, (size_t)n, enc, sizeof(enc));
		if (e < 0 || xtext_utf8_decode(enc, (size_t)e, 0, back, sizeof(back)) != n ||
		    memcmp(out, back, (size_t)n))
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
	check_xtext(line, size);
	if (cmd_parse_bdat(line, size, &bsize, &last) == 0 && last != 0 && last != 1)
		abort();
	return 0;
}
