/* Trusted ARC sealers: which sealed DMARC verdict can stand in for ours. */
#include "auth/arc_trust.h"

#include "auth/authres_read.h"

#include <strings.h>

static int is_trusted(const char *d, const char *const *trusted, size_t ntrusted)
{
	for (size_t k = 0; k < ntrusted; k++)
		if (strcasecmp(d, trusted[k]) == 0)
			return 1;
	return 0;
}

unsigned arc_trusted_pass(const struct arc_chain *c, const char *const *trusted, size_t ntrusted,
                          const char *from_domain)
{
	/* The newest trusted hop first: it saw the message last. */
	for (unsigned i = c->n; i > 0; i--) {
		const struct arc_set *s = &c->sets[i - 1];
		struct authres_found found;
		size_t len;
		if (s->as.p == NULL || !is_trusted(s->seal.sig.d, trusted, ntrusted))
			continue;
		const char *payload = arc_set_aar_payload(s, &len);
		if (payload != NULL &&
		    authres_find(payload, len, "dmarc", "header.from", &found) == 1 &&
		    strcasecmp(found.result, "pass") == 0 &&
		    strcasecmp(found.value, from_domain) == 0)
			return i;
	}
	return 0;
}
