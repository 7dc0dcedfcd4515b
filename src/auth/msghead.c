/* Header section collector: finds the empty line across chunk borders. */
#include "auth/msghead.h"

#include <string.h>

void msghead_init(struct msghead *h, size_t max)
{
	buf_init(&h->head, max);
	h->hlen = 0;
	h->state = MSGHEAD_OPEN;
}

void msghead_free(struct msghead *h)
{
	buf_free(&h->head);
}

/* The header section ends at the first empty line; a message may also
 * begin with one (no fields at all). */
static long header_end(const struct buf *b, size_t from, size_t *body)
{
	if (b->len >= 2 && b->data[0] == '\r' && b->data[1] == '\n') {
		*body = 2;
		return 0;
	}
	/* Every LF is a candidate for the LF of CR LF CR LF. */
	for (size_t k = from; k + 4 <= b->len;) {
		const char *lf = memchr(b->data + k + 1, '\n', b->len - k - 1);
		if (lf == NULL)
			break;
		k = (size_t)(lf - b->data) - 1;
		if (k + 4 <= b->len && b->data[k] == '\r' && b->data[k + 2] == '\r' &&
		    b->data[k + 3] == '\n') {
			*body = k + 4;
			return (long)k + 2;
		}
		k += 2;
	}
	return -1;
}

size_t msghead_feed(struct msghead *h, const void *p, size_t n)
{
	if (h->state == MSGHEAD_DONE)
		return 0;
	if (h->state == MSGHEAD_TOO_BIG)
		return n;
	/* The empty line may straddle the previous chunk: look 3 bytes back. */
	size_t from = h->head.len >= 3 ? h->head.len - 3 : 0;
	size_t room = h->head.max - h->head.len;
	size_t take = n < room ? n : room;
	size_t body;

	buf_append(&h->head, p, take);
	long end = header_end(&h->head, from, &body);
	if (end >= 0) {
		size_t extra = h->head.len - body;
		h->state = MSGHEAD_DONE;
		h->hlen = (size_t)end;
		h->head.len = body;
		h->head.data[body] = '\0';
		return take - extra;
	}
	if (take < n) {
		h->state = MSGHEAD_TOO_BIG;
		buf_free(&h->head);
		buf_init(&h->head, 0);
	}
	return n;
}

const char *msghead_section(const struct msghead *h, size_t *len)
{
	if (h->state == MSGHEAD_TOO_BIG) {
		*len = 0;
		return NULL;
	}
	*len = h->head.len;
	return h->head.data != NULL ? h->head.data : "";
}

/* Only a section that msghead found complete ends in CR LF CR LF or is a
 * lone CR LF (header_end stops at the first); any other section is all
 * fields. */
size_t msghead_fields_len(const char *s, size_t len)
{
	if (len == 2 && s[0] == '\r' && s[1] == '\n')
		return 0;
	if (len >= 4 && memcmp(s + len - 4, "\r\n\r\n", 4) == 0)
		return len - 2;
	return len;
}
