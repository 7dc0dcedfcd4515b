/* libFuzzer target for reply_feed_line over the lines of the input. */
#include "smtp/reply.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct reply r;

	reply_init(&r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		int ret;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		ret = reply_feed_line(&r, p, n);
		if (memchr(r.text, '\0', sizeof(r.text)) == NULL ||
		    memchr(r.enhanced, '\0', sizeof(r.enhanced)) == NULL)
			abort();
		if (ret == 0 && (r.code < 200 || r.code > 559))
			abort();
		if (ret < 0 || r.done)
			reply_init(&r);
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}
