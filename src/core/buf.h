/* The one growable byte buffer.  Every buffer has a hard maximum checked
 * before it grows; data is always followed by a NUL that is not counted in
 * len, so a buffer of text can be used as a C string. */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated when cap > 0 */
	size_t len;
	size_t cap;
	size_t max; /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Returns 0, or -1 without changing b when len would exceed max. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes room for n more bytes at once, for a caller that knows how much
 * will follow.  Returns 0, or -1 when len + n would exceed max. */
int buf_reserve(struct buf *b, size_t n);
/* Room for n more bytes after data[len], for a writer that knows only a
 * bound on what it writes: returns where they go, or NULL without changing
 * b when len + n would exceed max.  buf_advance(b, k) then adds the k <= n
 * bytes written. */
char *buf_space(struct buf *b, size_t n);
void buf_advance(struct buf *b, size_t k);
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);

#endif
