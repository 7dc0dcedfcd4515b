/* libFuzzer target for data_feed (whole versus split input) and the data_stuff round trip. */
#include "smtp/data.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	char *p;
	size_t len, cap;
};

static void out_sink(void *arg, const char *p, size_t n)
{
	struct out *o = arg;
	if (n == 0 || o->len + n > o->cap)
		abort();
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

struct run {
	struct data_reader r;
	struct out o;
	size_t consumed;
};

/* Feeds in with a cut every step bytes (0: at once), as a session does. */
static void run_feed(struct run *run, const char *in, size_t len, size_t step, size_t max_line,
                     uint64_t max_size)
{
	size_t off = 0;
	data_reader_init(&run->r, max_line, max_size);
	run->consumed = 0;
	while (off < len && !run->r.done) {
		size_t n = step == 0 || len - off < step ? len - off : step;
		size_t used = data_feed(&run->r, in + off, n, out_sink, &run->o);
		if (used > n || (used < n && !run->r.done))
			abort();
		run->consumed += used;
		off += n;
	}
}

static int has_bare_line_end(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			return 1;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return 1;
	}
	return 0;
}

/* Stuffing then reading gives the message back, with a CRLF added when it
 * lacked a last line end. */
static void check_round_trip(const char *msg, size_t len)
{
	struct data_stuffer s;
	struct run back = {0};
	struct out st = {malloc(2 * len + 5), 0, 2 * len + 5};
	int ends = len == 0 || (len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n');

	if (st.p == NULL)
		abort();
	data_stuffer_init(&s);
	data_stuff(&s, msg, len, out_sink, &st);
	data_stuff_end(&s, out_sink, &st);
	back.o.cap = len + 2;
	back.o.p = malloc(back.o.cap);
	if (back.o.p == NULL)
		abort();
	run_feed(&back, st.p, st.len, 0, SIZE_MAX, UINT64_MAX);
	if (!back.r.done || back.r.error != DATA_ERR_NONE || back.consumed != st.len ||
	    back.o.len != len + (ends ? 0 : 2) || memcmp(back.o.p, msg, len) != 0)
		abort();
	free(st.p);
	free(back.o.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = {0}, split = {0};
	size_t max_line, step;
	const char *in;

	if (size < 2)
		return 0;
	/* Two header bytes choose the line limit and the cut. */
	max_line = 3 + data[0];
	step = 1 + data[1] % 16;
	in = (const char *)data + 2;
	size -= 2;

	whole.o.cap = split.o.cap = size;
	whole.o.p = malloc(size + 1);
	split.o.p = malloc(size + 1);
	if (whole.o.p == NULL || split.o.p == NULL)
		abort();
	run_feed(&whole, in, size, 0, max_line, size / 2);
	run_feed(&split, in, size, step, max_line, size / 2);
	if (whole.r.done != split.r.done || whole.r.error != split.r.error ||
	    whole.consumed != split.consumed || whole.r.size != split.r.size)
		abort();
	/* Without an error the output is the same however the input was cut;
	 * after one, each run stopped emitting at its own chunk boundary, so
	 * the shorter output is only a prefix of the longer. */
	if (whole.r.error == DATA_ERR_NONE && whole.o.len != split.o.len)
		abort();
	if (memcmp(whole.o.p, split.o.p, whole.o.len < split.o.len ? whole.o.len : split.o.len) !=
	    0)
		abort();
	if (data_error_text(whole.r.error) == NULL)
		abort();
	/* Output is never more than the input, and a message read without
	 * error holds no bare CR or LF. */
	if (whole.o.len > whole.consumed)
		abort();
	if (whole.r.error == DATA_ERR_NONE && has_bare_line_end(whole.o.p, whole.o.len))
		abort();
	free(whole.o.p);
	free(split.o.p);

	if (!has_bare_line_end(in, size))
		check_round_trip(in, size);
	return 0;
}
