/* The DATA byte state machine (RFC 5321 4.1.1.4, 4.5.2): finds CRLF.CRLF,
 * undoes dot-stuffing, refuses a bare CR or bare LF anywhere (SMTP
 * smuggling), enforces line length and message size while reading.  After
 * an error it keeps scanning for the end so that the session stays in step
 * with the client and can answer with a precise 5xx. */
#ifndef POSTERN_DATA_H
#define POSTERN_DATA_H

#include <stddef.h>
#include <stdint.h>

enum data_error {
	DATA_ERR_NONE = 0,
	DATA_ERR_BARE_LF,
	DATA_ERR_BARE_CR,
	DATA_ERR_LINE_TOO_LONG,
	DATA_ERR_TOO_BIG,
};

struct data_reader {
	int state;             /* private */
	size_t line_len;       /* private */
	size_t max_line;       /* CRLF included */
	uint64_t max_size;     /* bytes of message after unstuffing */
	uint64_t size;         /* bytes of message seen so far */
	enum data_error error; /* the first error seen */
	int done;              /* CRLF.CRLF seen */
};

void data_reader_init(struct data_reader *r, size_t max_line, uint64_t max_size);

/* Output callback: receives unstuffed message bytes in order, CRLF line
 * ends kept, the final ".\r\n" not included.  Not called after an error. */
typedef void (*data_sink)(void *arg, const char *p, size_t n);

/* Consumes input up to and including the terminating CRLF.CRLF; returns
 * the number of bytes consumed (less than len only when done is set: the
 * rest belongs to the next command, e.g. pipelined QUIT). */
size_t data_feed(struct data_reader *r, const char *in, size_t len, data_sink sink, void *arg);

/* The checks of BDAT chunks (RFC 3030): the bytes are the message as is
 * (no dot-stuffing, no end marker), but a bare CR or bare LF is refused as
 * in DATA, also when a CR ends one chunk and the next does not start with
 * LF, and the size is enforced while reading.  The caller stores the bytes
 * itself while the error is DATA_ERR_NONE.  The result does not depend on
 * how the input is cut into chunks or pieces. */
struct data_bdat {
	uint64_t max_size;
	uint64_t size;         /* bytes seen so far, over all chunks */
	int prev_cr;           /* private: the last byte seen was CR */
	enum data_error error; /* the first error seen */
};

void data_bdat_init(struct data_bdat *b, uint64_t max_size);
/* Checks the next n bytes of the message; returns the first error so far.
 * size counts every byte, also after an error. */
enum data_error data_bdat_feed(struct data_bdat *b, const char *p, size_t n);
/* At the end of the LAST chunk: a CR that ends the message is bare.
 * Returns the first error of the message. */
enum data_error data_bdat_finish(struct data_bdat *b);

/* Dot-stuffs a message for sending over SMTP or LMTP: sink receives the
 * stuffed bytes; data_stuff_end appends ".\r\n", preceded by "\r\n" when
 * the message does not already end with a line end. */
struct data_stuffer {
	int at_line_start;
};
void data_stuffer_init(struct data_stuffer *s);
void data_stuff(struct data_stuffer *s, const char *in, size_t len, data_sink sink, void *arg);
void data_stuff_end(struct data_stuffer *s, data_sink sink, void *arg);

const char *data_error_text(enum data_error e);

#endif
