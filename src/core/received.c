/* Counting Received fields for mail loop detection: the fields are found
 * line by line (folded lines belong to the field above them), their
 * words read outside comments. */
#include "core/received.h"

#include <string.h>
#include <strings.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next word of v[*pos..len) outside comments (RFC 5322 3.2.2, nested,
 * with quoted pairs); 0 at the end of the value or at the ';' before the
 * date. */
static int next_word(const char *v, size_t len, size_t *pos, const char **word, size_t *wlen)
{
	size_t i = *pos;
	int depth = 0;

	while (i < len) {
		char c = v[i];
		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(') {
			depth = 1;
		} else if (!is_space(c)) {
			break;
		}
		i++;
	}
	if (i >= len || v[i] == ';')
		return 0;
	*word = v + i;
	while (i < len && !is_space(v[i]) && v[i] != '(' && v[i] != ';')
		i++;
	*wlen = (size_t)(v + i - *word);
	*pos = i;
	return 1;
}

static int word_is(const char *w, size_t wlen, const char *s)
{
	return wlen == strlen(s) && strncasecmp(w, s, wlen) == 0;
}

/* A name matches host whatever the ASCII case, with or without a final
 * dot on either. */
static int host_is(const char *w, size_t wlen, const char *host)
{
	size_t hlen = strlen(host);

	if (wlen > 0 && w[wlen - 1] == '.')
		wlen--;
	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	return wlen == hlen && hlen > 0 && strncasecmp(w, host, wlen) == 0;
}

/* RFC 5321 4.4: "from" Extended-Domain, then "by" Receiving-host. */
static int received_by(const char *v, size_t len, const char *host)
{
	size_t pos = 0;
	const char *w;
	size_t wlen;

	if (!next_word(v, len, &pos, &w, &wlen))
		return 0;
	if (word_is(w, wlen, "from") && !next_word(v, len, &pos, &w, &wlen))
		return 0;
	while (!word_is(w, wlen, "by"))
		if (!next_word(v, len, &pos, &w, &wlen))
			return 0;
	return next_word(v, len, &pos, &w, &wlen) && host_is(w, wlen, host);
}

/* The end of the line that starts at p: after its LF, or len. */
static size_t line_end(const char *head, size_t len, size_t p)
{
	const char *lf = memchr(head + p, '\n', len - p);
	return lf ? (size_t)(lf - head) + 1 : len;
}

void received_count(const char *head, size_t len, const char *host, struct received_count *out)
{
	size_t p = 0;

	out->total = out->by = 0;
	while (p < len && head[p] != '\r' && head[p] != '\n') {
		size_t start = p, end = line_end(head, len, p);
		/* Folded lines start with white space (RFC 5322 2.2.3). */
		while (end < len && (head[end] == ' ' || head[end] == '\t'))
			end = line_end(head, len, end);
		p = end;
		const char *colon = memchr(head + start, ':', end - start);
		if (colon == NULL)
			continue;
		size_t nlen = (size_t)(colon - head) - start;
		/* RFC 5322 4.5.2 (obsolete syntax): white space before the colon. */
		while (nlen > 0 &&
		       (head[start + nlen - 1] == ' ' || head[start + nlen - 1] == '\t'))
			nlen--;
		if (!word_is(head + start, nlen, "Received"))
			continue;
		out->total++;
		if (received_by(colon + 1, (size_t)(head + end - colon - 1), host))
			out->by++;
	}
}
