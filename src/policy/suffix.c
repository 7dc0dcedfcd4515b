/* Public suffixes through libpsl (see suffix.h). */
#include "policy/suffix.h"

#include "core/suffix_list.h"

#include <libpsl.h>
#include <string.h>

const char *suffix_registrable(const char *name)
{
	const psl_ctx_t *psl = suffix_list();
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
