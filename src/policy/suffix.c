/* Public suffixes through libpsl (see suffix.h). */
#include "policy/suffix.h"

#include "core/log.h"

#include <libpsl.h>
#include <string.h>

/* The list compiled into libpsl; when the library was built without one,
 * the system's list, loaded once and kept for the life of the process. */
static const psl_ctx_t *context(void)
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

const char *suffix_registrable(const char *name)
{
	const psl_ctx_t *psl = context();
	const char *reg = psl_registrable_domain(psl, name);
	const char *dot;

	if (reg == NULL)
		return NULL;
	dot = strchr(reg, '.');
	/* psl_registrable_domain applies the implicit "*" rule, under which
	 * any unknown top-level label is a suffix; ask again without it. */
	if (dot == NULL ||
	    !psl_is_public_suffix2(psl, dot + 1, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE))
		return NULL;
	return reg;
}
