/* RFC 6376 3.4 canonicalisation of header fields and of a streamed body. */
#include "auth/canon.h"

#include "core/log.h"

#include <string.h>

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* 3.4.2: name lower-cased, WSP before the colon dropped; value unfolded,
 * WSP runs become one SP, WSP at its start and end dropped. */
static int header_relaxed(const char *h, size_t len, struct buf *out)
{
	const char *colon = memchr(h, ':', len);
	size_t name_end;
	int sp = 0, started = 0;

	if (colon == NULL)
		return -1;
	name_end = (size_t)(colon - h);
	while (name_end > 0 && is_wsp(h[name_end - 1]))
		name_end--;
	for (size_t i = 0; i < name_end; i++) {
		char c = h[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (buf_append(out, &c, 1) != 0)
			return -1;
	}
	if (buf_append(out, ":", 1) != 0)
		return -1;
	for (size_t i = (size_t)(colon - h) + 1; i < len; i++) {
		char c = h[i];
		if (c == '\r' || c == '\n')
			continue; /* unfolding: CRLF removed, the WSP after it stays */
		if (is_wsp(c)) {
			sp = 1;
			continue;
		}
		if (sp && started && buf_append(out, " ", 1) != 0)
			return -1;
		sp = 0;
		started = 1;
		if (buf_append(out, &c, 1) != 0)
			return -1;
	}
	return 0;
}

int canon_header(enum canon_alg c, const char *h, size_t len, int crlf, struct buf *out)
{
	if (memchr(h, ':', len) == NULL)
		return -1;
	/* The caller's field may or may not carry its terminating CRLF. */
	if (len >= 2 && h[len - 2] == '\r' && h[len - 1] == '\n')
		len -= 2;
	if (c == CANON_RELAXED) {
		if (header_relaxed(h, len, out) != 0)
			return -1;
	} else if (buf_append(out, h, len) != 0) {
		return -1;
	}
	return crlf ? buf_append(out, "\r\n", 2) : 0;
}

void canon_body_init(struct canon_body *cb, enum canon_alg c, const EVP_MD *md, uint64_t limit)
{
	memset(cb, 0, sizeof(*cb));
	cb->alg = c;
	cb->limit = limit;
	cb->md = EVP_MD_CTX_new();
	if (cb->md == NULL || EVP_DigestInit_ex(cb->md, md, NULL) != 1)
		fatal("canon: OpenSSL digest failure");
}

static void flush(struct canon_body *cb)
{
	if (cb->staged > 0 && EVP_DigestUpdate(cb->md, cb->stage, cb->staged) != 1)
		fatal("canon: OpenSSL digest failure");
	cb->staged = 0;
}

/* One canonical byte: counted always, hashed only within l= (3.5). */
static void emit(struct canon_body *cb, unsigned char c)
{
	if (cb->total < cb->limit) {
		if (cb->staged == sizeof(cb->stage))
			flush(cb);
		cb->stage[cb->staged++] = c;
	}
	cb->total++;
	cb->any = 1;
}

/* Held-back empty lines are real once content follows them (3.4.3/3.4.4). */
static void flush_empty(struct canon_body *cb)
{
	for (; cb->empty > 0; cb->empty--) {
		emit(cb, '\r');
		emit(cb, '\n');
	}
}

static void content(struct canon_body *cb, unsigned char c)
{
	if (cb->alg == CANON_RELAXED && is_wsp((char)c)) {
		/* 3.4.4: WSP runs become one SP; WSP at the end of a line goes. */
		cb->wsp = 1;
		return;
	}
	flush_empty(cb);
	if (cb->wsp) {
		emit(cb, ' ');
		cb->wsp = 0;
	}
	emit(cb, c);
	cb->line_has_data = 1;
}

static void end_line(struct canon_body *cb)
{
	cb->wsp = 0;
	if (cb->line_has_data) {
		emit(cb, '\r');
		emit(cb, '\n');
	} else {
		cb->empty++;
	}
	cb->line_has_data = 0;
}

void canon_body_update(struct canon_body *cb, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (cb->cr) {
			cb->cr = 0;
			if (c == '\n') {
				end_line(cb);
				continue;
			}
			content(cb, '\r'); /* a bare CR is line content */
		}
		if (c == '\r')
			cb->cr = 1;
		else
			content(cb, c);
	}
}

unsigned canon_body_final(struct canon_body *cb, unsigned char *out)
{
	unsigned len = 0;

	if (cb->cr) {
		cb->cr = 0;
		content(cb, '\r');
	}
	/* A last line without CRLF gets one (3.4.3, 3.4.4). */
	if (cb->line_has_data)
		end_line(cb);
	/* 3.4.3: an empty body is one CRLF in simple; 3.4.4: nothing in relaxed. */
	if (cb->alg == CANON_SIMPLE && !cb->any) {
		emit(cb, '\r');
		emit(cb, '\n');
	}
	flush(cb);
	if (EVP_DigestFinal_ex(cb->md, out, &len) != 1)
		fatal("canon: OpenSSL digest failure");
	return len;
}

int canon_body_beyond_limit(const struct canon_body *cb)
{
	return cb->limit != CANON_NO_LIMIT && cb->total > cb->limit;
}

void canon_body_free(struct canon_body *cb)
{
	EVP_MD_CTX_free(cb->md);
	cb->md = NULL;
}
