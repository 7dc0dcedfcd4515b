/* Loads the public suffix list once. */
#include "core/suffix_list.h"
#include "core/log.h"

#include <stddef.h>

const psl_ctx_t *suffix_list(void)
{
	static psl_ctx_t *loaded;
	const psl_ctx_t *builtin = psl_builtin();

	if (builtin != NULL)
		return builtin;
	if (loaded == NULL)
		loaded = psl_latest(NULL);
	if (loaded == NULL)
		fatal("no public suffix list: libpsl has none built in and none is installed");
	return loaded;
}
