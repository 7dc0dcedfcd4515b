/* libFuzzer target for addr_parse_path and addr_valid_domain, with invariants on what they accept.
 */
#include "smtp/addr.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the parser accepts must format within ADDR_PATH_MAX and parse back
 * to the same mailbox. */
static void check_accepted(const char *s, size_t len, int allow_null, int allow_utf8,
                           const struct mailbox *m, size_t used)
{
	char text[ADDR_PATH_MAX + 1], again[ADDR_PATH_MAX + 3];
	struct mailbox m2;
	size_t used2;
	int n;

	if (used < 2 || used > len || used > ADDR_PATH_MAX || s[0] != '<' || s[used - 1] != '>')
		abort();
	if (strlen(m->local) >= sizeof(m->local) || strlen(m->domain) > ADDR_DOMAIN_MAX)
		abort();
	n = addr_format(m, text, sizeof(text));
	if (n < 0 || (size_t)n + 2 != used)
		abort();
	if (m->is_null)
		return;
	if (m->domain[0] != '\0' && !addr_valid_domain(m->domain, strlen(m->domain), allow_utf8))
		abort();
	again[0] = '<';
	memcpy(again + 1, text, (size_t)n);
	again[n + 1] = '>';
	if (addr_parse_path(again, (size_t)n + 2, allow_null, allow_utf8, &m2, &used2) != ADDR_OK ||
	    used2 != (size_t)n + 2 || strcmp(m->local, m2.local) != 0 ||
	    strcmp(m->domain, m2.domain) != 0 || m->has_utf8 != m2.has_utf8 ||
	    m->domain_is_literal != m2.domain_is_literal)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailbox m;
	size_t used;
	const char *s = (const char *)data;

	for (int flags = 0; flags < 4; flags++) {
		int allow_null = flags & 1, allow_utf8 = (flags >> 1) & 1;
		enum addr_status st = addr_parse_path(s, size, allow_null, allow_utf8, &m, &used);
		if (st == ADDR_OK)
			check_accepted(s, size, allow_null, allow_utf8, &m, used);
		else if (used != 0 || addr_status_text(st) == NULL)
			abort();
	}
	(void)addr_valid_domain(s, size, 0);
	(void)addr_valid_domain(s, size, 1);
	return 0;
}
