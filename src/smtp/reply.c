/* Parses the reply lines of a server we talk to into code, enhanced status code and text. */
#include "smtp/reply.h"

#include <stddef.h>
#include <string.h>

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Length of an RFC 3463 2 status-code at the start of s (class "." 1*3digit
 * "." 1*3digit, class 2, 4 or 5) followed by SP or the end of the text, or 0. */
static size_t enhanced_len(const char *s, size_t len)
{
	size_t i = 1;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		size_t start = ++i;
		while (i < len && i - start < 3 && is_digit((unsigned char)s[i]))
			i++;
		if (i == start)
			return 0;
		if (part == 0 && (i >= len || s[i] != '.'))
			return 0;
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

/* Appends text to r->text, bounded: control bytes become '?', and a cut
 * never splits a UTF-8 sequence. */
static void text_append(struct reply *r, const char *s, size_t n)
{
	size_t have = strlen(r->text), room = sizeof(r->text) - 1 - have;

	if (n == 0)
		return;
	if (have > 0) {
		if (room == 0)
			return;
		r->text[have++] = ' ';
		room--;
	}
	if (n > room) {
		n = room;
		/* Back off to a character boundary: drop trailing
		 * continuation bytes and the lead byte they belong to. */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		r->text[have + i] = c == '\t' ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	r->text[have + n] = '\0';
}

void reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
}

int reply_feed_line(struct reply *r, const char *line, size_t len)
{
	int code;
	const char *text;
	size_t tlen, elen;

	if (r->done)
		return -1;
	/* Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 4.2). */
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
	    !is_digit((unsigned char)line[2]))
		return -1;
	/* "-" marks a continuation, SP (or nothing) the last line. */
	if (len > 3 && line[3] != '-' && line[3] != ' ')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->code != 0 && code != r->code)
		return -1;
	text = len > 4 ? line + 4 : line + len;
	tlen = len > 4 ? len - 4 : 0;

	/* RFC 2034 3: the enhanced code opens every line, and its class is
	 * the reply's.  It is taken from the first line and removed from
	 * the lines after it that repeat it. */
	elen = enhanced_len(text, tlen);
	if (elen > 0 && text[0] == line[0] && elen < sizeof(r->enhanced)) {
		if (r->code == 0) {
			memcpy(r->enhanced, text, elen);
			r->enhanced[elen] = '\0';
		}
		if (strlen(r->enhanced) == elen && memcmp(r->enhanced, text, elen) == 0) {
			text += elen;
			tlen -= elen;
			if (tlen > 0) {
				text++;
				tlen--;
			}
		}
	}
	r->code = code;
	text_append(r, text, tlen);
	if (len == 3 || line[3] == ' ')
		r->done = 1;
	return 0;
}
