/* libFuzzer target for srs_reverse and srs_forward (fixed key and day):
 * what forward makes is a Mailbox of our domain that reverses to the
 * sender, and what reverse accepts is ours. */
#include "queue/srs.h"
#include "smtp/addr.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1700000000)
#define FWD "fwd.example"
#define INPUT_MAX 600

static const unsigned char key[HMAC_KEY_LEN] = {42};

static int is_tagged(const char *s, char digit)
{
	return strncasecmp(s, "SRS", 3) == 0 && s[3] == digit && s[4] != '\0' &&
	       strchr("=-+", s[4]) != NULL;
}

static void check_forwarded(const char *sender, const char *out)
{
	char path[ADDR_PATH_MAX + 1], back[ADDR_PATH_MAX];
	size_t len = strlen(out), used;
	struct mailbox m;

	if (len + 2 > ADDR_PATH_MAX)
		abort();
	path[0] = '<';
	memcpy(path + 1, out, len);
	path[len + 1] = '>';
	if (addr_parse_path(path, len + 2, 1, 1, &m, &used) != ADDR_OK || used != len + 2 ||
	    strcmp(m.domain, FWD) != 0)
		abort();
	if (srs_reverse(key, out, NOW, 21, back, sizeof(back)) != SRS_VALID)
		abort();
	/* An SRS1 sender (SRS1=hash=hop=rest@domain) comes back as its first
	 * hop's SRS0 (SRS0rest@hop); an SRS0 one as itself but for the case
	 * of "SRS0"; any other exactly. */
	if (is_tagged(sender, '1') && strncmp(out, "SRS1=", 5) == 0) {
		const char *hop = strchr(sender + 5, '=') + 1, *rest = strchr(hop, '=') + 1;
		const char *at = strrchr(sender, '@');
		char expect[ADDR_PATH_MAX];

		snprintf(expect, sizeof(expect), "SRS0%.*s@%.*s", (int)(at - rest), rest,
		         (int)(rest - 1 - hop), hop);
		if (strcmp(back, expect) != 0)
			abort();
	} else if (is_tagged(sender, '0')) {
		if (strncmp(back, "SRS0", 4) != 0 || strcmp(back + 4, sender + 4) != 0)
			abort();
	} else if (strcmp(back, sender) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[INPUT_MAX + 1], back[INPUT_MAX + 1], out[ADDR_PATH_MAX];
	enum srs_result r;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	r = srs_reverse(key, s, NOW, 21, back, sizeof(back));
	if (r == SRS_VALID || r == SRS_EXPIRED) {
		if (strchr(back, '@') == NULL || strlen(back) > strlen(s))
			abort();
	} else if (back[0] != '\0' || (r != SRS_NONE && r != SRS_BAD)) {
		abort();
	}
	if (srs_result_text(r) == NULL)
		abort();

	rc = srs_forward(key, s, FWD, NOW, out, sizeof(out));
	if (rc == 0)
		check_forwarded(s, out);
	else if ((rc == 1 && strcmp(out, s) != 0) || (rc == -1 && out[0] != '\0') || rc < -1 ||
	         rc > 1)
		abort();
	return 0;
}
