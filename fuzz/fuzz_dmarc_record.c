/* libFuzzer target for dmarc_record_parse, with invariants on what it accepts. */
#include "auth/dmarc_record.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every accepted record must hold values within RFC 7489 6.3. */
static void check_accepted(const struct dmarc_record *rec)
{
	if (rec->p > DMARC_POLICY_REJECT || rec->sp > DMARC_POLICY_REJECT)
		abort();
	if (rec->adkim > DMARC_MODE_STRICT || rec->aspf > DMARC_MODE_STRICT)
		abort();
	if (rec->pct > 100 || rec->fo == 0 || rec->rf == 0)
		abort();
	if (rec->nrua > DMARC_URI_MAX || rec->nruf > DMARC_URI_MAX)
		abort();
	/* 6.6.3 step 6.1 needs a valid rua */
	if (rec->p_from_rua && (rec->nrua == 0 || rec->p != DMARC_POLICY_NONE))
		abort();
	for (size_t i = 0; i < rec->nrua; i++) {
		if (strchr(rec->rua[i].uri, ':') == NULL ||
		    strpbrk(rec->rua[i].uri, "!, ;") != NULL)
			abort();
	}
	for (size_t i = 0; i < rec->nruf; i++) {
		if (strchr(rec->ruf[i].uri, ':') == NULL ||
		    strpbrk(rec->ruf[i].uri, "!, ;") != NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct dmarc_record rec;
	char err[160];

	enum dmarc_record_status st = dmarc_record_parse(s, size, &rec, err, sizeof(err));
	if (st == DMARC_RECORD_OK)
		check_accepted(&rec);
	else if (st == DMARC_RECORD_INVALID && err[0] == '\0')
		abort();
	if ((st == DMARC_RECORD_NOT_DMARC) == dmarc_record_is_dmarc(s, size))
		abort();
	dmarc_record_free(&rec);
	return 0;
}
