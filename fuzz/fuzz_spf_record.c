/* libFuzzer target for spf_record_parse, with invariants on what it accepts. */
#include "policy/spf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every accepted term must respect the bounds of RFC 7208 5 and 6. */
static void check_accepted(const struct spf_record *rec)
{
	for (size_t i = 0; i < rec->nmechs; i++) {
		const struct spf_mech *m = &rec->mechs[i];
		if (m->cidr4 > 32 || m->cidr6 > 128)
			abort();
		if (m->qualifier != SPF_PASS && m->qualifier != SPF_FAIL &&
		    m->qualifier != SPF_SOFTFAIL && m->qualifier != SPF_NEUTRAL)
			abort();
		if (m->domain_spec != NULL &&
		    !spf_domain_spec_valid(m->domain_spec, strlen(m->domain_spec)))
			abort();
		if ((m->type == SPF_MECH_INCLUDE || m->type == SPF_MECH_EXISTS) &&
		    m->domain_spec == NULL)
			abort();
	}
	if (rec->redirect != NULL && !spf_domain_spec_valid(rec->redirect, strlen(rec->redirect)))
		abort();
	if (rec->exp != NULL && !spf_domain_spec_valid(rec->exp, strlen(rec->exp)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct spf_record rec;
	char err[160];

	int rc = spf_record_parse(s, size, &rec, err, sizeof(err));
	if (rc == 0)
		check_accepted(&rec);
	else if (rc != -1 || err[0] == '\0')
		abort();
	if (rc == 0 && !spf_record_is_spf(s, size))
		abort();
	spf_record_free(&rec);
	return 0;
}
