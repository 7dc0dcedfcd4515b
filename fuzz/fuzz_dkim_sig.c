/* libFuzzer target for the DKIM tag parsers: the input is tried as a
 * DKIM-Signature value and as a key record, with invariants on results. */
#include "auth/dkim_key.h"
#include "auth/dkim_sig.h"
#include "auth/tags.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sig(const struct dkim_sig *sig)
{
	int from = 0;

	if (sig->nh == 0 || sig->nh > DKIM_SIG_MAX_HEADERS || sig->b_len == 0 ||
	    sig->b_len > DKIM_B_MAX || sig->bh_len == 0 || sig->bh_len > DKIM_BH_MAX)
		abort();
	if (!dkim_domain_valid(sig->d, strlen(sig->d), 0))
		abort();
	for (size_t k = 0; k < sig->nh; k++)
		from |= strcasecmp(dkim_sig_header(sig, k), "from") == 0;
	if (!from)
		abort();
	if (sig->t != DKIM_NO_TIME && sig->x != DKIM_NO_TIME && sig->x < sig->t)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct tag_list tl;
	struct dkim_sig sig;
	struct dkim_key key;
	char err[160];

	if (tags_parse(s, size, &tl, err, sizeof(err)) == 0) {
		for (size_t k = 0; k < tl.n; k++) {
			const struct tag *t = &tl.tags[k];
			if (t->name < s || t->name + t->name_len > s + size || t->value < s ||
			    t->value + t->value_len > s + size)
				abort();
		}
	} else if (err[0] == '\0') {
		abort();
	}
	if (dkim_sig_parse(s, size, &sig, err, sizeof(err)) == 0)
		check_sig(&sig);
	if (dkim_key_parse(s, size, &key, err, sizeof(err)) == 0) {
		if (key.revoked != (key.pkey == NULL))
			abort();
		if (key.type == DKIM_KEY_RSA && !key.revoked && key.bits < DKIM_RSA_MIN_BITS)
			abort();
		dkim_key_free(&key);
	}
	return 0;
}
