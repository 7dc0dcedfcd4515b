/* access(5) actions for the policy service's replies. */
#include "policyd/action.h"

#include <stdio.h>
#include <string.h>

int policyd_action_refuse(enum policy_action a, const struct verdict_reply *r, struct buf *out)
{
	int code = r->code;
	const char *ecode = r->ecode;
	int rc;

	if (a == PA_REJECT && (code < 500 || code > 599)) {
		code = 550;
		ecode = "5.7.1";
	} else if (a != PA_REJECT && (code < 400 || code > 499)) {
		code = 451;
		ecode = "4.7.1";
	}
	/* Postfix takes "4NN text" and "5NN text"; an enhanced status code
	 * at the start of the text is sent as the reply's own. */
	rc = buf_printf(out, "action=%d", code);
	if (ecode != NULL && ecode[0] != '\0') {
		rc |= buf_append(out, " ", 1);
		rc |= buf_append_str(out, ecode);
	}
	if (r->text[0] != '\0')
		rc |= buf_append(out, " ", 1);
	for (const unsigned char *p = (const unsigned char *)r->text; *p;) {
		/* A run of bytes kept as they are, then a control byte as a space. */
		size_t n = 0;
		while (p[n] >= 32 && p[n] != 127)
			n++;
		rc |= buf_append(out, p, n);
		p += n;
		if (*p) {
			rc |= buf_append(out, " ", 1);
			p++;
		}
	}
	return rc != 0 ? -1 : 0;
}

int policyd_action_prepend(const char *field, size_t len, struct buf *out)
{
	size_t start = out->len, i = 0;
	const char *colon = memchr(field, ':', len);
	int rc;

	if (colon == NULL || colon == field)
		return -1;
	rc = buf_append_str(out, "action=PREPEND ");
	while (i < len) {
		unsigned char c = (unsigned char)field[i];
		if (c == '\r' || c == '\n') {
			/* A line break and the white space that follows it: one
			 * space, or nothing at the end of the field. */
			while (i < len && (field[i] == '\r' || field[i] == '\n' ||
			                   field[i] == ' ' || field[i] == '\t'))
				i++;
			if (i < len)
				rc |= buf_append(out, " ", 1);
			continue;
		}
		/* A run of bytes kept as they are. */
		size_t n = 0;
		while (i + n < len && (unsigned char)field[i + n] >= 32 &&
		       (unsigned char)field[i + n] != 127)
			n++;
		if (n > 0) {
			rc |= buf_append(out, field + i, n);
			i += n;
			continue;
		}
		/* A tab is a space; other control bytes go. */
		if (c == '\t')
			rc |= buf_append(out, " ", 1);
		i++;
	}
	if (rc != 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}
