/* libFuzzer target for the ARC parsers: the input is tried as an
 * ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal value,
 * and as a header section whose ARC fields make a chain, with invariants
 * on every result. */
#include "auth/arc_chain.h"
#include "auth/arc_set.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_ARC_FIELDS 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_values(const char *s, size_t size)
{
	struct arc_ams ams;
	struct arc_seal seal;
	unsigned i = 0;
	char err[160];

	if (arc_aar_parse(s, size, &i, err, sizeof(err)) == 0) {
		if (i < 1 || i > ARC_MAX_SETS)
			abort();
	} else if (err[0] == '\0') {
		abort();
	}
	if (arc_ams_parse(s, size, &ams, err, sizeof(err)) == 0) {
		if (ams.i < 1 || ams.i > ARC_MAX_SETS || ams.sig.alg == DKIM_ALG_RSA_SHA1 ||
		    ams.sig.b_len == 0 || ams.sig.bh_len == 0)
			abort();
		for (size_t k = 0; k < ams.sig.nh; k++) {
			if (strcasecmp(dkim_sig_header(&ams.sig, k), "arc-seal") == 0)
				abort();
		}
	}
	if (arc_seal_parse(s, size, &seal, err, sizeof(err)) == 0) {
		if (seal.i < 1 || seal.i > ARC_MAX_SETS || seal.sig.b_len == 0 ||
		    seal.sig.alg == DKIM_ALG_RSA_SHA1 || seal.cv > ARC_CV_FAIL ||
		    !dkim_domain_valid(seal.sig.d, strlen(seal.sig.d), 0))
			abort();
	}
}

static void check_chain(const char *s, size_t size)
{
	static struct msghdr_field f[FUZZ_ARC_FIELDS];
	static struct arc_chain c;
	char err[200] = "";
	long n = msghdr_split(s, size, f, FUZZ_ARC_FIELDS);

	if (n < 0)
		return;
	enum arc_cv cv = arc_chain_collect(f, (size_t)n, &c, err, sizeof(err));
	if (c.n > ARC_MAX_SETS || (cv == ARC_CV_FAIL) != (err[0] != '\0'))
		abort();
	if (cv == ARC_CV_NONE && c.n != 0)
		abort();
	if (cv != ARC_CV_PASS)
		return;
	/* A sound chain has every field of every set, and the seal input of
	 * each instance can be built from them. */
	struct msghdr_field *t = calloc(3 * (size_t)c.n, sizeof(*t));
	struct buf in;
	buf_init(&in, 1 << 20);
	for (unsigned k = 0; k < c.n; k++) {
		const struct arc_set *set = &c.sets[k];
		if (set->aar.p == NULL || set->ams.p == NULL || set->as.p == NULL ||
		    set->seal.i != k + 1 || set->ams_sig.i != k + 1 ||
		    set->seal.cv != (k == 0 ? ARC_CV_NONE : ARC_CV_PASS))
			abort();
		t[3 * k] = set->aar;
		t[3 * k + 1] = set->ams;
		t[3 * k + 2] = set->as;
		buf_reset(&in);
		if (arc_seal_input(t, k + 1, &in) != 0)
			abort();
	}
	buf_free(&in);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_values((const char *)data, size);
	check_chain((const char *)data, size);
	return 0;
}
