/* Reads a DATA stream up to CRLF.CRLF, undoing dot-stuffing, checks BDAT
 * chunks, and dot-stuffs outgoing messages. */
#include "smtp/data.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Reader states.  The CR of a line end is held (not emitted) until its LF
 * is seen, so the sink never receives a CR that turns out to be bare. */
enum {
	ST_BOL,    /* at the start of a line (also the start of the message) */
	ST_DOT,    /* a '.' opened the line; it was removed */
	ST_DOT_CR, /* "." CR at line start: CRLF.CRLF if an LF follows */
	ST_TEXT,   /* inside a line */
	ST_CR,     /* CR inside a line or ending one */
};

/* One call's view of its input: the pending chunk [cs, i) of input bytes
 * to emit in one sink call. */
struct feed {
	struct data_reader *r;
	const char *in;
	size_t cs;
	data_sink sink;
	void *arg;
};

/* Keeps the first error of a message. */
static void data_fail(enum data_error *error, enum data_error e)
{
	if (*error == DATA_ERR_NONE)
		*error = e;
}

static void feed_flush(struct feed *f, size_t end)
{
	if (f->r->error == DATA_ERR_NONE && end > f->cs)
		f->sink(f->arg, f->in + f->cs, end - f->cs);
	f->cs = end;
}

/* Counts n bytes of line content.  RFC 5321 4.5.3.1.6: a text line is at
 * most max_line octets including CRLF, not counting a stuffed dot; since
 * every line must end in CRLF, a line is too long as soon as its content
 * leaves no room for those two octets (limit before growth).  When a run
 * crosses both limits, the error is the one its bytes reach first, so that
 * the result does not depend on how the input was cut. */
static void data_count(struct data_reader *r, size_t n)
{
	size_t line_room =
	    r->max_line >= 2 && r->line_len <= r->max_line - 2 ? r->max_line - 2 - r->line_len : 0;
	uint64_t size_room = r->size <= r->max_size ? r->max_size - r->size : 0;

	if (n > line_room && (n <= size_room || line_room <= size_room))
		data_fail(&r->error, DATA_ERR_LINE_TOO_LONG);
	else if (n > size_room)
		data_fail(&r->error, DATA_ERR_TOO_BIG);
	r->line_len = n > SIZE_MAX - r->line_len ? SIZE_MAX : r->line_len + n;
	r->size += n;
}

void data_reader_init(struct data_reader *r, size_t max_line, uint64_t max_size)
{
	memset(r, 0, sizeof(*r));
	r->state = ST_BOL;
	r->max_line = max_line;
	r->max_size = max_size;
}

size_t data_feed(struct data_reader *r, const char *in, size_t len, data_sink sink, void *arg)
{
	struct feed f = {r, in, 0, sink, arg};
	size_t i = 0;
	/* Position of the first CR at or after i (len: none), kept across
	 * runs so that input full of bare LFs is not rescanned per LF;
	 * SIZE_MAX until first looked for. */
	size_t next_cr = SIZE_MAX;

	if (r->done || len == 0)
		return 0;
	while (i < len) {
		switch (r->state) {
		case ST_TEXT: {
			/* The hot path: a run of ordinary bytes up to the next
			 * CR, found with memchr and emitted with its neighbours
			 * in one sink call.  An LF inside the run is bare. */
			const char *lf;
			size_t end;
			if (next_cr == SIZE_MAX || next_cr < i) {
				const char *cr = memchr(in + i, '\r', len - i);
				next_cr = cr != NULL ? (size_t)(cr - in) : len;
			}
			end = next_cr;
			lf = memchr(in + i, '\n', end - i);
			if (lf != NULL) {
				/* RFC 5321 2.3.8: no bare LF.  The line does not
				 * end here, so "\n.\n" cannot end the message. */
				data_count(r, (size_t)(lf - in) - i);
				data_fail(&r->error, DATA_ERR_BARE_LF);
				i = (size_t)(lf - in) + 1;
				break;
			}
			data_count(r, end - i);
			i = end;
			if (end < len) {
				r->state = ST_CR;
				i++;
			}
			break;
		}
		case ST_CR:
			if (in[i] != '\n') {
				/* A bare CR; the byte after it is read as text. */
				data_fail(&r->error, DATA_ERR_BARE_CR);
				r->state = ST_TEXT;
				break;
			}
			if (i == 0 && r->error == DATA_ERR_NONE)
				sink(arg, "\r", 1); /* held over from the last call */
			r->size += 2;
			if (r->size > r->max_size)
				data_fail(&r->error, DATA_ERR_TOO_BIG);
			r->line_len = 0;
			r->state = ST_BOL;
			i++;
			break;
		case ST_BOL:
			if (in[i] == '.') {
				/* RFC 5321 4.5.2: the first dot of a line is
				 * removed; the rest of the chunk starts after it. */
				feed_flush(&f, i);
				f.cs = i + 1;
				r->state = ST_DOT;
				i++;
			} else if (in[i] == '\r') {
				r->state = ST_CR;
				i++;
			} else {
				r->state = ST_TEXT;
			}
			break;
		case ST_DOT:
			if (in[i] == '\r') {
				r->state = ST_DOT_CR;
				i++;
			} else {
				r->state = ST_TEXT;
			}
			break;
		case ST_DOT_CR:
			if (in[i] != '\n') {
				data_fail(&r->error, DATA_ERR_BARE_CR);
				r->state = ST_TEXT;
				break;
			}
			/* CRLF.CRLF (RFC 5321 4.1.1.4): everything before the
			 * dot was flushed when the dot was removed. */
			r->done = 1;
			return i + 1;
		}
	}
	/* A CR that ends the input is held until its LF arrives. */
	feed_flush(&f, r->state == ST_CR || r->state == ST_DOT_CR ? len - 1 : len);
	return len;
}

void data_bdat_init(struct data_bdat *b, uint64_t max_size)
{
	memset(b, 0, sizeof(*b));
	b->max_size = max_size;
}

/* Checks p[0..n) for bare CR and LF, all of it within the size limit. */
static void bdat_scan(struct data_bdat *b, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (b->prev_cr) {
			if (p[i] != '\n') {
				data_fail(&b->error, DATA_ERR_BARE_CR);
				return;
			}
			b->prev_cr = 0;
			i++;
			continue;
		}
		/* A run up to the next CR: any LF in it is bare. */
		const char *cr = memchr(p + i, '\r', n - i);
		size_t end = cr != NULL ? (size_t)(cr - p) : n;
		if (memchr(p + i, '\n', end - i) != NULL) {
			data_fail(&b->error, DATA_ERR_BARE_LF);
			return;
		}
		if (cr == NULL)
			return;
		b->prev_cr = 1;
		i = end + 1;
	}
}

enum data_error data_bdat_feed(struct data_bdat *b, const char *p, size_t n)
{
	uint64_t room = b->size < b->max_size ? b->max_size - b->size : 0;

	/* Bytes past the limit are too big whatever they are; those before
	 * it are checked first, so that an earlier bare CR or LF wins. */
	if (b->error == DATA_ERR_NONE)
		bdat_scan(b, p, n < room ? n : (size_t)room);
	if (n > room)
		data_fail(&b->error, DATA_ERR_TOO_BIG);
	b->size = n > UINT64_MAX - b->size ? UINT64_MAX : b->size + n;
	return b->error;
}

enum data_error data_bdat_finish(struct data_bdat *b)
{
	if (b->prev_cr)
		data_fail(&b->error, DATA_ERR_BARE_CR);
	return b->error;
}

const char *data_error_text(enum data_error e)
{
	switch (e) {
	case DATA_ERR_NONE:
		return "ok";
	case DATA_ERR_BARE_LF:
		return "bare LF in message text";
	case DATA_ERR_BARE_CR:
		return "bare CR in message text";
	case DATA_ERR_LINE_TOO_LONG:
		return "line too long";
	case DATA_ERR_TOO_BIG:
		return "message too big";
	}
	return "unknown data error";
}

void data_stuffer_init(struct data_stuffer *s)
{
	s->at_line_start = 1;
}

void data_stuff(struct data_stuffer *s, const char *in, size_t len, data_sink sink, void *arg)
{
	size_t i = 0;

	while (i < len) {
		const char *lf;
		size_t end;
		/* RFC 5321 4.5.2: a line that starts with a dot gets another. */
		if (s->at_line_start && in[i] == '.')
			sink(arg, ".", 1);
		lf = memchr(in + i, '\n', len - i);
		end = lf != NULL ? (size_t)(lf - in) + 1 : len;
		sink(arg, in + i, end - i);
		s->at_line_start = lf != NULL;
		i = end;
	}
}

void data_stuff_end(struct data_stuffer *s, data_sink sink, void *arg)
{
	/* The message's last line needs its CRLF before the final dot. */
	if (s->at_line_start)
		sink(arg, ".\r\n", 3);
	else
		sink(arg, "\r\n.\r\n", 5);
	s->at_line_start = 1;
}
