/* Recipients at our domains that carry a tag of ours: SRS addresses
 * turned back, BATV tags checked and taken off. */
#include "queue/rcpt_rewrite.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int local_part_is(const char *addr, const char *word)
{
	const char *at = strrchr(addr, '@');
	size_t n = strlen(word);

	return at != NULL && (size_t)(at - addr) == n && strncasecmp(addr, word, n) == 0;
}

enum rcpt_verdict rcpt_rewrite(const struct config *cfg, const struct rcpt_keys *keys,
                               const char *addr, int null_sender, time_t now,
                               struct rcpt_rewrite *out)
{
	char plain[ADDR_PATH_MAX + 1];
	const char *at;

	snprintf(out->addr, sizeof(out->addr), "%s", addr);
	out->srs = SRS_NONE;
	out->batv = BATV_NONE;
	if (keys->srs != NULL)
		out->srs =
		    srs_reverse(keys->srs, addr, now, keys->srs_max_age_days, plain, sizeof(plain));
	if (out->srs == SRS_EXPIRED || out->srs == SRS_BAD)
		return RCPT_REFUSE_SRS;
	if (out->srs == SRS_VALID)
		snprintf(out->addr, sizeof(out->addr), "%s", plain);
	at = strrchr(out->addr, '@');
	if (keys->batv == NULL || at == NULL || config_domain(cfg, at + 1) == NULL)
		return RCPT_GO;

	out->batv =
	    batv_check(keys->batv, out->addr, now, keys->batv_max_age_days, plain, sizeof(plain));
	int asked = keys->batv_check && null_sender && out->srs != SRS_VALID;
	if (out->batv == BATV_VALID || (out->batv == BATV_EXPIRED && !asked)) {
		snprintf(out->addr, sizeof(out->addr), "%s", plain);
		return RCPT_GO;
	}
	if (asked && !local_part_is(out->addr, "postmaster") && !local_part_is(out->addr, "abuse"))
		return RCPT_REFUSE_BATV;
	return RCPT_GO;
}
