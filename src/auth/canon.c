/* RFC 6376 3.4 canonicalisation of header fields and of a streamed body. */
#include "auth/canon.h"

#include "core/log.h"
#include "core/scan.h"
#include "core/xmalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Runs at least this long are hashed in place, not staged. */
#define CANON_DIRECT 1024

static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256 == NULL)
		fatal("canon: OpenSSL has no SHA-256");
}

const EVP_MD *canon_sha256(void)
{
	pthread_once(&sha256_once, fetch_sha256);
	return sha256;
}

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* 3.4.2: name lower-cased, WSP before the colon dropped; value unfolded,
 * WSP runs become one SP, WSP at its start and end dropped.  The result is
 * never longer than the field. */
static int header_relaxed(const char *h, size_t len, struct buf *out)
{
	const char *colon = memchr(h, ':', len);
	char *o = buf_space(out, len), *start = o;
	size_t name_end;
	int sp = 0, started = 0;

	if (colon == NULL || o == NULL)
		return -1;
	name_end = (size_t)(colon - h);
	while (name_end > 0 && is_wsp(h[name_end - 1]))
		name_end--;
	for (size_t i = 0; i < name_end; i++) {
		char c = h[i];
		*o++ = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	*o++ = ':';
	for (size_t i = (size_t)(colon - h) + 1; i < len;) {
		char c = h[i];
		if (c == '\r' || c == '\n' || is_wsp(c)) {
			/* Unfolding drops CRLF; the WSP after it stays a WSP. */
			sp |= is_wsp(c);
			i++;
			continue;
		}
		if (sp && started)
			*o++ = ' ';
		sp = 0;
		started = 1;
		/* A run of other characters is copied as it is. */
		size_t j = i;
		while (j < len && h[j] != '\r' && h[j] != '\n' && !is_wsp(h[j])) {
			j++;
			j += scan_visible(h + j, len - j, ' ');
		}
		memcpy(o, h + i, j - i);
		o += j - i;
		i = j;
	}
	buf_advance(out, (size_t)(o - start));
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
/* Canonical bytes p[0..n), the same as n calls of emit. */
static void emit_run(struct canon_body *cb, const unsigned char *p, size_t n)
{
	uint64_t room = cb->total < cb->limit ? cb->limit - cb->total : 0;
	size_t h = (uint64_t)n < room ? n : (size_t)room;

	/* A long run is hashed where it lies rather than copied first. */
	if (h >= CANON_DIRECT || h > sizeof(cb->stage) - cb->staged)
		flush(cb);
	if (h >= CANON_DIRECT) {
		if (EVP_DigestUpdate(cb->md, p, h) != 1)
			fatal("canon: OpenSSL digest failure");
	} else {
		memcpy(cb->stage + cb->staged, p, h);
		cb->staged += h;
	}
	cb->total += n;
	cb->any = 1;
}

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

/* A CRLF at s[j], inside a run that began with line content, stays as it
 * is when the next line begins with content too: not an empty line (held
 * back in case the body ends there), nor in relaxed a WSP that could
 * belong to a run to shorten. */
static int crlf_passes(const struct canon_body *cb, const unsigned char *s, size_t j, size_t n)
{
	if (j == 0 || j + 2 >= n || s[j + 1] != '\n' || s[j + 2] == '\r')
		return 0;
	return cb->alg == CANON_SIMPLE || (s[j + 2] != ' ' && s[j + 2] != '\t');
}

/* Marks (0xff) the bytes of s[0..16) that may end a relaxed run; reads
 * s[16] and s[17] too.  Such a byte is a tab; an SP followed by a byte up
 * to SP (which covers SP, tab and CR); or a CR unless it starts CR LF and
 * a line that begins with a byte above SP (a CRLF that crlf_passes lets
 * through, as the run does not start there). */
static scan_vec relaxed_stops(const unsigned char *s)
{
	scan_vec a, b, c;

	memcpy(&a, s, 16);
	memcpy(&b, s + 1, 16);
	memcpy(&c, s + 2, 16);
	scan_vec line_goes_on = (scan_vec)(b == '\n') & (scan_vec)(c > ' ');
	return ((scan_vec)(a == '\r') & ~line_goes_on) | (scan_vec)(a == '\t') |
	       ((scan_vec)(a == ' ') & (scan_vec)(b <= ' '));
}

/* The offset in s[0..32) of the first byte that may end a relaxed run, or
 * 32 when there is none; reads s[32] and s[33] too.  Most of a text body
 * is content and single SPs, which relaxed leaves as they are: one test
 * for 32 bytes. */
static size_t relaxed_stop32(const unsigned char *s)
{
	scan_vec lo = relaxed_stops(s), hi = relaxed_stops(s + 16);
	uint64_t any[2];
	scan_vec either = lo | hi;

	memcpy(any, &either, 16);
	if ((any[0] | any[1]) == 0)
		return 32;
	size_t k = scan_first_marked(lo);
	return k < 16 ? k : 16 + scan_first_marked(hi);
}

/* How many bytes at s pass through canonicalisation unchanged as line
 * content: anything but CR in simple; in relaxed, also no WSP other than
 * a single SP between two such bytes. */
static size_t plain_run(const struct canon_body *cb, const unsigned char *s, size_t n)
{
	size_t j = 0;

	if (cb->alg == CANON_SIMPLE) {
		for (;;) {
			const unsigned char *cr = memchr(s + j, '\r', n - j);
			if (cr == NULL)
				return n;
			j = (size_t)(cr - s);
			if (!crlf_passes(cb, s, j, n))
				return j;
			j += 2;
		}
	}
	while (j < n) {
		/* An SP first is left to the caller, which may hold a WSP run,
		 * and a CR first may end an empty line. */
		if (j + 34 <= n && (j > 0 || (s[0] != ' ' && s[0] != '\r'))) {
			size_t k = relaxed_stop32(s + j);
			j += k;
			if (k == 32)
				continue;
		}
		unsigned char c = s[j];
		if (c == '\r' && crlf_passes(cb, s, j, n)) {
			j += 2;
			continue;
		}
		if (c == '\r' || c == '\t')
			break;
		if (c == ' ' && (j == 0 || j + 1 == n || s[j + 1] == ' ' || s[j + 1] == '\t' ||
		                 s[j + 1] == '\r'))
			break;
		j++;
	}
	return j;
}

void canon_body_update(struct canon_body *cb, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		size_t run = cb->cr ? 0 : plain_run(cb, s + i, n - i);
		if (run > 0) {
			/* What content() does for each byte, once for the run. */
			flush_empty(cb);
			if (cb->wsp) {
				emit(cb, ' ');
				cb->wsp = 0;
			}
			emit_run(cb, s + i, run);
			cb->line_has_data = 1;
			i += run - 1;
			continue;
		}
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

void canon_hashers_init(struct canon_hashers *s, size_t max)
{
	s->h = xcalloc(max > 0 ? max : 1, sizeof(*s->h));
	s->n = 0;
	s->max = max;
}

struct canon_hasher *canon_hashers_get(struct canon_hashers *s, enum canon_alg c, uint64_t limit)
{
	for (size_t k = 0; k < s->n; k++)
		if (s->h[k].c == c && s->h[k].limit == limit)
			return &s->h[k];
	if (s->n == s->max)
		return NULL;
	struct canon_hasher *h = &s->h[s->n++];
	h->c = c;
	h->limit = limit;
	canon_body_init(&h->cb, c, canon_sha256(), limit);
	return h;
}

void canon_hashers_update(struct canon_hashers *s, const void *p, size_t n)
{
	for (size_t k = 0; k < s->n; k++)
		canon_body_update(&s->h[k].cb, p, n);
}

void canon_hashers_final(struct canon_hashers *s)
{
	for (size_t k = 0; k < s->n; k++)
		s->h[k].dlen = canon_body_final(&s->h[k].cb, s->h[k].digest);
}

void canon_hashers_free(struct canon_hashers *s)
{
	for (size_t k = 0; k < s->n; k++)
		canon_body_free(&s->h[k].cb);
	free(s->h);
	s->h = NULL;
	s->n = s->max = 0;
}
