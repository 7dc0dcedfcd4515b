/* libFuzzer target for ehlo_ext_feed over the lines of the input. */
#include "smtp/ehlo.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	const unsigned known = EHLO_PIPELINING | EHLO_SIZE | EHLO_8BITMIME | EHLO_SMTPUTF8 |
	                       EHLO_CHUNKING | EHLO_ENHANCEDSTATUSCODES | EHLO_STARTTLS | EHLO_DSN |
	                       EHLO_AUTH;
	struct ehlo_ext e;

	ehlo_ext_init(&e);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		/* The parser must read no further than n: give it a copy of
		 * exactly that size so that ASan sees any overread. */
		char *line = malloc(n ? n : 1);
		memcpy(line, p, n);
		ehlo_ext_feed(&e, line, n);
		free(line);
		if ((e.flags & ~known) != 0 || (e.auth & ~(EHLO_AUTH_PLAIN | EHLO_AUTH_LOGIN)) != 0)
			abort();
		if ((e.size != 0 && !(e.flags & EHLO_SIZE)) ||
		    (e.auth != 0 && !(e.flags & EHLO_AUTH)))
			abort();
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}
