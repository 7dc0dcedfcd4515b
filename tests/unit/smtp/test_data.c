/* Unit tests of the DATA reader, the BDAT checks and the dot-stuffer, fed
 * whole, byte by byte and split everywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/data.h"

struct out {
	char data[8192];
	size_t len;
	size_t calls;
};

static void out_sink(void *arg, const char *p, size_t n)
{
	struct out *o = arg;
	assert_true(n > 0);
	assert_true(o->len + n <= sizeof(o->data));
	memcpy(o->data + o->len, p, n);
	o->len += n;
	o->calls++;
}

struct data_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	size_t max_line;
	uint64_t max_size;
	enum data_error err;
	int done;
	size_t consumed; /* 0: all of it */
	const char *out; /* when err is DATA_ERR_NONE */
};

#define L 1000
#define M 100000

static const struct data_case cases[] = {
    /* the end and dot-unstuffing (RFC 5321 4.1.1.4, 4.5.2) */
    {".\r\n", 0, L, M, DATA_ERR_NONE, 1, 0, ""},
    {"Subject: x\r\n\r\nbody\r\n.\r\n", 0, L, M, DATA_ERR_NONE, 1, 0, "Subject: x\r\n\r\nbody\r\n"},
    {"a\r\n..\r\n.\r\n", 0, L, M, DATA_ERR_NONE, 1, 0, "a\r\n.\r\n"},
    {"..hidden\r\n...\r\n.x\r\n.\r\n", 0, L, M, DATA_ERR_NONE, 1, 0, ".hidden\r\n..\r\nx\r\n"},
    {"a.\r\n a\r\n.\r\n", 0, L, M, DATA_ERR_NONE, 1, 0, "a.\r\n a\r\n"},
    {"\r\n\r\n.\r\n", 0, L, M, DATA_ERR_NONE, 1, 0, "\r\n\r\n"},
    {"x\r\n.\r\nQUIT\r\n", 0, L, M, DATA_ERR_NONE, 1, 6, "x\r\n"},
    {".\r\n.\r\n", 0, L, M, DATA_ERR_NONE, 1, 3, ""},
    {"line\r\n", 0, L, M, DATA_ERR_NONE, 0, 0, "line\r\n"},
    {"line\r\n.", 0, L, M, DATA_ERR_NONE, 0, 0, "line\r\n"},
    {"line\r\n.\r", 0, L, M, DATA_ERR_NONE, 0, 0, "line\r\n"},
    {"partial", 0, L, M, DATA_ERR_NONE, 0, 0, "partial"},
    {"tab\there\r\n\x01\x7f\xff\r\n.\r\n", 0, L, M, DATA_ERR_NONE, 1, 0,
     "tab\there\r\n\x01\x7f\xff\r\n"},
    {"nul\0byte\r\n.\r\n", 13, L, M, DATA_ERR_NONE, 1, 0, "nul\0byte\r\n"},
    /* smuggling: none of these look-alikes ends the message */
    {"a\n.\nb\r\n.\r\n", 0, L, M, DATA_ERR_BARE_LF, 1, 0, NULL},
    {"a\n.\r\nb\r\n.\r\n", 0, L, M, DATA_ERR_BARE_LF, 1, 0, NULL},
    {"a\r\n.\nb\r\n.\r\n", 0, L, M, DATA_ERR_BARE_LF, 1, 0, NULL},
    {"a\r.\rb\r\n.\r\n", 0, L, M, DATA_ERR_BARE_CR, 1, 0, NULL},
    {"a\r.\r\nb\r\n.\r\n", 0, L, M, DATA_ERR_BARE_CR, 1, 0, NULL},
    {"a\r\n.\rb\r\n.\r\n", 0, L, M, DATA_ERR_BARE_CR, 1, 0, NULL},
    {"a\r\n.\r\r\nb\r\n.\r\n", 0, L, M, DATA_ERR_BARE_CR, 1, 0, NULL},
    {"a\n.\rb\r\n.\r\n", 0, L, M, DATA_ERR_BARE_LF, 1, 0, NULL},
    {"a\r.\nb\r\n.\r\n", 0, L, M, DATA_ERR_BARE_CR, 1, 0, NULL},
    {".\n", 0, L, M, DATA_ERR_BARE_LF, 0, 0, NULL},
    {"\n.\n", 0, L, M, DATA_ERR_BARE_LF, 0, 0, NULL},
    {"\n.\r\n", 0, L, M, DATA_ERR_BARE_LF, 0, 0, NULL},
    {"x\n.\r\nMAIL FROM:<a@b>\r\n.\r\n", 0, L, M, DATA_ERR_BARE_LF, 1, 0, NULL},
    {"bare lf\nin the body\r\n.\r\n", 0, L, M, DATA_ERR_BARE_LF, 1, 0, NULL},
    {"bare cr\rin the body\r\n.\r\n", 0, L, M, DATA_ERR_BARE_CR, 1, 0, NULL},
    {"crcrlf\r\r\nline\r\n.\r\n", 0, L, M, DATA_ERR_BARE_CR, 1, 0, NULL},
    {"lfcr\n\rline\r\n.\r\n", 0, L, M, DATA_ERR_BARE_LF, 1, 0, NULL},
    {"\r\r\n.\r\n", 0, L, M, DATA_ERR_BARE_CR, 1, 0, NULL},
    {"\n\n\n\r\n.\r\nNOOP\r\n", 0, L, M, DATA_ERR_BARE_LF, 1, 8, NULL},
    /* the first error is kept */
    {"a\nb\rc\r\n.\r\n", 0, L, M, DATA_ERR_BARE_LF, 1, 0, NULL},
    {"a\rb\nc\r\n.\r\n", 0, L, M, DATA_ERR_BARE_CR, 1, 0, NULL},
    /* line length: 10 octets with CRLF, the stuffed dot not counted
     * (RFC 5321 4.5.3.1.6) */
    {"12345678\r\n.\r\n", 0, 10, M, DATA_ERR_NONE, 1, 0, "12345678\r\n"},
    {"123456789\r\n.\r\n", 0, 10, M, DATA_ERR_LINE_TOO_LONG, 1, 0, NULL},
    {"..2345678\r\n.\r\n", 0, 10, M, DATA_ERR_NONE, 1, 0, ".2345678\r\n"},
    {"...3456789\r\n.\r\n", 0, 10, M, DATA_ERR_LINE_TOO_LONG, 1, 0, NULL},
    {"12345678\r\n12345678\r\n.\r\n", 0, 10, M, DATA_ERR_NONE, 1, 0, "12345678\r\n12345678\r\n"},
    {"12345678\r\n123456789\r\n1\r\n.\r\n", 0, 10, M, DATA_ERR_LINE_TOO_LONG, 1, 0, NULL},
    {"12345678901234567890", 0, 10, M, DATA_ERR_LINE_TOO_LONG, 0, 0, NULL},
    {"12345678\n\r\n.\r\n", 0, 10, M, DATA_ERR_BARE_LF, 1, 0, NULL},
    /* size: unstuffed octets with their CRLFs, without the final dot */
    {"1234\r\n.\r\n", 0, L, 6, DATA_ERR_NONE, 1, 0, "1234\r\n"},
    {"12345\r\n.\r\n", 0, L, 6, DATA_ERR_TOO_BIG, 1, 0, NULL},
    {"..34\r\n.\r\n", 0, L, 6, DATA_ERR_NONE, 1, 0, ".34\r\n"},
    {"\r\n\r\n\r\n.\r\n", 0, L, 6, DATA_ERR_NONE, 1, 0, "\r\n\r\n\r\n"},
    {"\r\n\r\n\r\n\r\n.\r\n", 0, L, 6, DATA_ERR_TOO_BIG, 1, 0, NULL},
    /* both limits crossed in one line: the one reached first, however cut */
    {"123456789\r\n.\r\n", 0, 10, 5, DATA_ERR_TOO_BIG, 1, 0, NULL},
    {"123456789\r\n.\r\n", 0, 10, 8, DATA_ERR_LINE_TOO_LONG, 1, 0, NULL},
    {"123456789\r\n.\r\n", 0, 10, 7, DATA_ERR_TOO_BIG, 1, 0, NULL},
    {".\r\n", 0, L, 0, DATA_ERR_NONE, 1, 0, ""},
    {"x\r\n.\r\n", 0, L, 0, DATA_ERR_TOO_BIG, 1, 0, NULL},
};

struct result {
	struct out out;
	struct data_reader r;
	size_t consumed;
};

/* Feeds in[0..len) in pieces cut at cuts[0..ncuts) (ascending), stopping
 * at the end of data as a session would. */
static void feed_cut(const struct data_case *c, const char *in, size_t len, const size_t *cuts,
                     size_t ncuts, struct result *res)
{
	size_t from = 0;
	memset(res, 0, sizeof(*res));
	data_reader_init(&res->r, c->max_line, c->max_size);
	for (size_t k = 0; k <= ncuts && !res->r.done; k++) {
		size_t to = k < ncuts ? cuts[k] : len;
		size_t n = data_feed(&res->r, in + from, to - from, out_sink, &res->out);
		assert_true(n <= to - from);
		if (n < to - from)
			assert_true(res->r.done);
		res->consumed += n;
		from = to;
	}
}

static void check_result(const struct data_case *c, size_t idx, const char *how,
                         const struct result *res)
{
	size_t len = c->len ? c->len : strlen(c->in);
	size_t want_consumed = c->consumed ? c->consumed : len;
	if (res->r.error != c->err)
		fail_msg("data case %zu (%s): error %s", idx, how, data_error_text(res->r.error));
	if (res->r.done != c->done)
		fail_msg("data case %zu (%s): done %d", idx, how, res->r.done);
	if (res->consumed != want_consumed)
		fail_msg("data case %zu (%s): consumed %zu", idx, how, res->consumed);
	if (c->out != NULL) {
		/* A case with an embedded NUL (given len) is a whole message
		 * ending in ".\r\n" and without stuffing. */
		size_t olen = c->len ? c->len - 3 : strlen(c->out);
		if (res->out.len != olen || memcmp(res->out.data, c->out, olen) != 0)
			fail_msg("data case %zu (%s): output '%.*s'", idx, how, (int)res->out.len,
			         res->out.data);
		assert_true(res->r.size == olen);
	}
}

static void test_cases_whole(void **state)
{
	struct result res;
	const size_t none[1] = {0};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct data_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		feed_cut(c, c->in, len, none, 0, &res);
		check_result(c, i, "whole", &res);
	}
}

static void test_cases_byte_by_byte(void **state)
{
	struct result res;
	size_t cuts[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct data_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		assert_true(len <= 256);
		for (size_t k = 1; k < len; k++)
			cuts[k - 1] = k;
		feed_cut(c, c->in, len, cuts, len > 0 ? len - 1 : 0, &res);
		check_result(c, i, "byte by byte", &res);
	}
}

/* Every split into two and into three pieces gives the same result. */
static void test_cases_every_split(void **state)
{
	struct result res;
	char how[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct data_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		for (size_t a = 0; a <= len; a++) {
			size_t cut1[1] = {a};
			feed_cut(c, c->in, len, cut1, 1, &res);
			snprintf(how, sizeof(how), "split at %zu", a);
			check_result(c, i, how, &res);
			for (size_t b = a; b <= len; b++) {
				size_t cut2[2] = {a, b};
				feed_cut(c, c->in, len, cut2, 2, &res);
				snprintf(how, sizeof(how), "split at %zu,%zu", a, b);
				check_result(c, i, how, &res);
			}
		}
	}
}

static void test_done_consumes_nothing_more(void **state)
{
	struct data_reader r;
	struct out o = {0};
	data_reader_init(&r, L, M);
	assert_int_equal(data_feed(&r, "a\r\n.\r\n", 6, out_sink, &o), 6);
	assert_true(r.done);
	assert_int_equal(data_feed(&r, "more\r\n", 6, out_sink, &o), 0);
	assert_int_equal(o.len, 3);
	assert_int_equal(data_feed(&r, "", 0, out_sink, &o), 0);
}

/* After an error nothing more reaches the sink, though scanning goes on. */
static void test_no_output_after_error(void **state)
{
	struct data_reader r;
	struct out o = {0};
	data_reader_init(&r, L, M);
	assert_int_equal(data_feed(&r, "good\r\n", 6, out_sink, &o), 6);
	assert_int_equal(o.len, 6);
	assert_int_equal(data_feed(&r, "bad\nline\r\nmore text\r\n", 21, out_sink, &o), 21);
	assert_int_equal(r.error, DATA_ERR_BARE_LF);
	assert_int_equal(o.len, 6);
	assert_false(r.done);
	assert_int_equal(data_feed(&r, ".\r\nQUIT\r\n", 9, out_sink, &o), 3);
	assert_true(r.done);
	assert_int_equal(o.len, 6);
}

/* The sink gets large chunks, not bytes: a 100-line message in one buffer
 * is emitted in about one call (one per stuffed line more). */
static void test_chunked_output(void **state)
{
	static char msg[8000];
	struct data_reader r;
	struct out o = {0};
	size_t len = 0;
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "line %d of the body\r\n", i);
	memcpy(msg + len, ".\r\n", 3);
	data_reader_init(&r, L, M);
	assert_int_equal(data_feed(&r, msg, len + 3, out_sink, &o), len + 3);
	assert_true(r.done);
	assert_int_equal(o.len, len);
	assert_memory_equal(o.data, msg, len);
	assert_int_equal(o.calls, 1);
	assert_true(r.size == len);
}

/* Long runs of bare LFs or CRs are scanned in linear time and stay in step. */
static void test_many_bare_line_ends(void **state)
{
	size_t n = 1 << 20;
	char *buf = malloc(n + 5);
	struct data_reader r;
	struct out o = {0};
	assert_non_null(buf);
	for (int pass = 0; pass < 2; pass++) {
		memset(buf, pass == 0 ? '\n' : '\r', n);
		memcpy(buf + n, "\r\n.\r\n", 5);
		data_reader_init(&r, L, (uint64_t)n * 4);
		assert_int_equal(data_feed(&r, buf, n + 5, out_sink, &o), n + 5);
		assert_true(r.done);
		assert_int_equal(r.error, pass == 0 ? DATA_ERR_BARE_LF : DATA_ERR_BARE_CR);
		assert_int_equal(o.len, 0);
	}
	free(buf);
}

static void stuff_all(const char *in, size_t len, struct out *o)
{
	struct data_stuffer s;
	memset(o, 0, sizeof(*o));
	data_stuffer_init(&s);
	data_stuff(&s, in, len, out_sink, o);
	data_stuff_end(&s, out_sink, o);
}

struct stuff_case {
	const char *in, *out;
};

static const struct stuff_case stuffs[] = {
    {"", ".\r\n"},
    {"a\r\n", "a\r\n.\r\n"},
    {"a", "a\r\n.\r\n"},
    {".\r\n", "..\r\n.\r\n"},
    {"a\r\n.b\r\n..c\r\nd.\r\n", "a\r\n..b\r\n...c\r\nd.\r\n.\r\n"},
    {".", "..\r\n.\r\n"},
    {"x\r\n.", "x\r\n..\r\n.\r\n"},
};

static void test_stuff_table(void **state)
{
	struct out o;
	for (size_t i = 0; i < sizeof(stuffs) / sizeof(stuffs[0]); i++) {
		stuff_all(stuffs[i].in, strlen(stuffs[i].in), &o);
		if (o.len != strlen(stuffs[i].out) || memcmp(o.data, stuffs[i].out, o.len) != 0)
			fail_msg("stuff case %zu: got '%.*s'", i, (int)o.len, o.data);
	}
}

/* Stuffing in pieces is the same as stuffing at once. */
static void test_stuff_split(void **state)
{
	const char *msg = "a\r\n.b\r\n..c\r\n.\r\n";
	size_t len = strlen(msg);
	struct out whole, part;
	stuff_all(msg, len, &whole);
	for (size_t a = 0; a <= len; a++) {
		struct data_stuffer s;
		memset(&part, 0, sizeof(part));
		data_stuffer_init(&s);
		data_stuff(&s, msg, a, out_sink, &part);
		data_stuff(&s, msg + a, len - a, out_sink, &part);
		data_stuff_end(&s, out_sink, &part);
		assert_int_equal(part.len, whole.len);
		assert_memory_equal(part.data, whole.data, whole.len);
	}
}

/* Stuffing then reading gives back a CRLF-only message. */
static void test_stuff_round_trip(void **state)
{
	static const char *msgs[] = {
	    "",         "Subject: t\r\n\r\nbody\r\n",
	    ".\r\n",    "..\r\n.\r\n.x\r\n",
	    "\r\n\r\n", "a\r\n.\r\nb\r\n",
	};
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct out stuffed, back = {0};
		struct data_reader r;
		size_t len = strlen(msgs[i]);
		stuff_all(msgs[i], len, &stuffed);
		data_reader_init(&r, L, M);
		assert_int_equal(data_feed(&r, stuffed.data, stuffed.len, out_sink, &back),
		                 stuffed.len);
		assert_true(r.done);
		assert_int_equal(r.error, DATA_ERR_NONE);
		assert_int_equal(back.len, len);
		assert_memory_equal(back.data, msgs[i], len);
	}
}

/* BDAT: a message cut into chunks (or pieces of chunks) by '|'. */
struct bdat_case {
	const char *chunks;
	uint64_t max_size;
	enum data_error err; /* after data_bdat_finish */
	uint64_t size;
};

static const struct bdat_case bdat_cases[] = {
    {"a\r\nb\r\n", 100, DATA_ERR_NONE, 6},
    {"", 100, DATA_ERR_NONE, 0},
    /* CRLF split across pieces or chunks is one line end. */
    {"a\r|\nb\r\n", 100, DATA_ERR_NONE, 6},
    {"a\r|\n|b|\r|\n", 100, DATA_ERR_NONE, 6},
    /* A CR at a chunk boundary followed by anything but LF is bare. */
    {"a\r|b\r\n", 100, DATA_ERR_BARE_CR, 5},
    {"a\r|\r\n", 100, DATA_ERR_BARE_CR, 4},
    /* A CR that ends the last chunk is bare too. */
    {"a\r\nb\r", 100, DATA_ERR_BARE_CR, 5},
    {"a\r\nb|\r", 100, DATA_ERR_BARE_CR, 5},
    /* Bare LF anywhere, at a piece's start included. */
    {"a\nb\r\n", 100, DATA_ERR_BARE_LF, 5},
    {"a|\nb\r\n", 100, DATA_ERR_BARE_LF, 5},
    {"\n", 100, DATA_ERR_BARE_LF, 1},
    {"a\r\n\n", 100, DATA_ERR_BARE_LF, 4},
    /* Size: the limit itself is allowed; one byte more is not. */
    {"abcd\r\n", 6, DATA_ERR_NONE, 6},
    {"abcd\r\nx", 6, DATA_ERR_TOO_BIG, 7},
    {"abc|d\r|\nx", 6, DATA_ERR_TOO_BIG, 7},
    {"abcdefgh", 6, DATA_ERR_TOO_BIG, 8},
    /* The first error in the byte stream wins. */
    {"a\nbcdefgh", 6, DATA_ERR_BARE_LF, 9},
    {"abcdefg\n", 6, DATA_ERR_TOO_BIG, 8},
    {"abcdef\r", 6, DATA_ERR_TOO_BIG, 7},
    {"abcd\r|x", 6, DATA_ERR_BARE_CR, 6},
    /* The byte that shows this CR bare is already over the limit. */
    {"abcde\r|x", 6, DATA_ERR_TOO_BIG, 7},
    {"abcdef|\r\n", 6, DATA_ERR_TOO_BIG, 8},
    /* After an error the size still counts every byte. */
    {"\n|abc|def", 100, DATA_ERR_BARE_LF, 7},
};

/* Feeds c's chunks as given; also checks that feed returns the error so
 * far, which only ever goes from none to one value. */
static enum data_error bdat_run(const struct bdat_case *c, struct data_bdat *b)
{
	const char *p = c->chunks;
	enum data_error seen = DATA_ERR_NONE;

	data_bdat_init(b, c->max_size);
	for (;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		enum data_error e = data_bdat_feed(b, p, n);
		assert_int_equal(e, b->error);
		if (seen != DATA_ERR_NONE)
			assert_int_equal(e, seen);
		seen = e;
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return data_bdat_finish(b);
}

static void test_bdat_cases(void **state)
{
	for (size_t i = 0; i < sizeof(bdat_cases) / sizeof(bdat_cases[0]); i++) {
		struct data_bdat b;
		assert_int_equal(bdat_run(&bdat_cases[i], &b), bdat_cases[i].err);
		assert_int_equal(b.size, bdat_cases[i].size);
	}
}

/* Whole, byte by byte and cut at every point, each case gives the same
 * result. */
static void test_bdat_every_split(void **state)
{
	for (size_t i = 0; i < sizeof(bdat_cases) / sizeof(bdat_cases[0]); i++) {
		const struct bdat_case *c = &bdat_cases[i];
		char whole[64];
		size_t len = 0;
		struct data_bdat b;

		for (const char *p = c->chunks; *p; p++)
			if (*p != '|')
				whole[len++] = *p;
		for (size_t cut = 0; cut <= len; cut++) {
			data_bdat_init(&b, c->max_size);
			data_bdat_feed(&b, whole, cut);
			data_bdat_feed(&b, whole + cut, len - cut);
			assert_int_equal(data_bdat_finish(&b), c->err);
			assert_int_equal(b.size, c->size);
		}
		data_bdat_init(&b, c->max_size);
		for (size_t k = 0; k < len; k++)
			data_bdat_feed(&b, whole + k, 1);
		assert_int_equal(data_bdat_finish(&b), c->err);
	}
}

/* finish is only for the LAST chunk: between chunks a trailing CR waits
 * for the next one. */
static void test_bdat_between_chunks(void **state)
{
	struct data_bdat b;

	data_bdat_init(&b, 100);
	assert_int_equal(data_bdat_feed(&b, "a\r", 2), DATA_ERR_NONE);
	assert_int_equal(data_bdat_feed(&b, "", 0), DATA_ERR_NONE);
	assert_int_equal(data_bdat_feed(&b, "\n", 1), DATA_ERR_NONE);
	assert_int_equal(data_bdat_finish(&b), DATA_ERR_NONE);
	assert_int_equal(b.size, 3);
}

static void test_error_text(void **state)
{
	assert_string_equal(data_error_text(DATA_ERR_NONE), "ok");
	assert_string_equal(data_error_text(DATA_ERR_BARE_LF), "bare LF in message text");
	assert_string_equal(data_error_text(DATA_ERR_BARE_CR), "bare CR in message text");
	assert_string_equal(data_error_text(DATA_ERR_LINE_TOO_LONG), "line too long");
	assert_string_equal(data_error_text(DATA_ERR_TOO_BIG), "message too big");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases_whole),
	    cmocka_unit_test(test_cases_byte_by_byte),
	    cmocka_unit_test(test_cases_every_split),
	    cmocka_unit_test(test_done_consumes_nothing_more),
	    cmocka_unit_test(test_no_output_after_error),
	    cmocka_unit_test(test_chunked_output),
	    cmocka_unit_test(test_many_bare_line_ends),
	    cmocka_unit_test(test_stuff_table),
	    cmocka_unit_test(test_stuff_split),
	    cmocka_unit_test(test_stuff_round_trip),
	    cmocka_unit_test(test_bdat_cases),
	    cmocka_unit_test(test_bdat_every_split),
	    cmocka_unit_test(test_bdat_between_chunks),
	    cmocka_unit_test(test_error_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
