/* access(5) actions for the policy service's replies. */
#include "policyd/action.h"

#include <stdio.h>
#include <string.h>

/* Appends s[0..len) to out on one line: runs of printable bytes as they
 * are, a tab as a space, any other control byte (or DEL) as a space when
 * controls_as_space, else not at all. */
static int append_line(struct buf *out, const char *s, size_t len, int controls_as_space)
{
	int rc = 0;

	for (size_t i = 0; i < len;) {
		size_t n = 0;
		while (i + n < len && (unsigned char)s[i + n] >= 32 &&
		       (unsigned char)s[i + n] != 127)
			n++;
		rc |= buf_append(out, s + i, n);
		i += n;
		if (i < len) {
			if (controls_as_space || s[i] == '\t')
				rc |= buf_append(out, " ", 1);
			i++;
		}
	}
	return rc;
}

int policyd_action_refuse(const struct verdict_reply *r, struct buf *out)
{
	/* Postfix takes "4NN text" and "5NN text"; an enhanced status code
	 * at the start of the text is sent as the reply's own. */
	int rc = buf_printf(out, "action=%d", r->code);

	if (r->ecode != NULL && r->ecode[0] != '\0') {
		rc |= buf_append(out, " ", 1);
		rc |= buf_append_str(out, r->ecode);
	}
	if (r->text[0] != '\0') {
		rc |= buf_append(out, " ", 1);
		rc |= append_line(out, r->text, strlen(r->text), 1);
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
		size_t n = 0;
		while (i + n < len && field[i + n] != '\r' && field[i + n] != '\n')
			n++;
		rc |= append_line(out, field + i, n, 0);
		i += n;
		/* A line break and the white space that follows it: one space,
		 * or nothing at the end of the field. */
		while (i < len && (field[i] == '\r' || field[i] == '\n' || field[i] == ' ' ||
		                   field[i] == '\t'))
			i++;
		if (i < len)
			rc |= buf_append(out, " ", 1);
	}
	if (rc != 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}
