/* libFuzzer target for dmarc_from_value, with invariants on the domain. */
#include "auth/dmarc_from.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[254];

	if (dmarc_from_value((const char *)data, size, out, sizeof(out)) != DMARC_FROM_OK)
		return 0;
	/* a lowercase host name: no empty label, no upper case, no specials */
	size_t n = strlen(out);
	if (n == 0 || n > 253 || out[0] == '.' || out[n - 1] == '.' || strstr(out, "..") != NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if ((out[i] >= 'A' && out[i] <= 'Z') ||
		    strchr(" \t\r\n@<>()\",;:[]\\", out[i]) != NULL)
			abort();
	}
	return 0;
}
