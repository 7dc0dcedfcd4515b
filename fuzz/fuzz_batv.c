/* libFuzzer target for batv_check and batv_sign (fixed key and day): what
 * check accepts signs back to the same tag, and what sign makes is a
 * Mailbox that checks valid and gives back the address signed. */
#include "queue/batv.h"
#include "smtp/addr.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1700000000) /* day 19675: DDD 675 */
#define INPUT_MAX 600

static const unsigned char key[HMAC_KEY_LEN] = {42};

static void check_signed(const char *addr, const char *out)
{
	char path[ADDR_PATH_MAX + 1], orig[ADDR_PATH_MAX];
	size_t len = strlen(out), used;
	struct mailbox m;

	if (len != strlen(addr) + BATV_TAG_LEN || len + 2 > ADDR_PATH_MAX)
		abort();
	path[0] = '<';
	memcpy(path + 1, out, len);
	path[len + 1] = '>';
	if (addr_parse_path(path, len + 2, 1, 1, &m, &used) != ADDR_OK || used != len + 2)
		abort();
	if (batv_check(key, out, NOW, 7, orig, sizeof(orig)) != BATV_VALID || strcmp(orig, addr))
		abort();
}

/* A tag we accept is one batv_sign makes for that address on its day,
 * up to the case of the prefix and the hex. */
static void check_accepted(const char *s, const char *orig)
{
	char again[ADDR_PATH_MAX];
	unsigned day =
	    (unsigned)(s[6] - '0') * 100 + (unsigned)(s[7] - '0') * 10 + (unsigned)(s[8] - '0');
	time_t then = ((NOW / 86400 / 1000) * 1000 + day) * 86400;

	if (strlen(orig) + BATV_TAG_LEN != strlen(s) || strcmp(orig, s + BATV_TAG_LEN) != 0)
		abort();
	if (batv_sign(key, orig, then, again, sizeof(again)) == 0 &&
	    (strncasecmp(again, s, BATV_TAG_LEN) != 0 || strcmp(again + BATV_TAG_LEN, orig) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[INPUT_MAX + 1], orig[INPUT_MAX + 1], out[ADDR_PATH_MAX];
	enum batv_result r;

	if (size > INPUT_MAX)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	r = batv_check(key, s, NOW, 7, orig, sizeof(orig));
	if (r == BATV_VALID || r == BATV_EXPIRED)
		check_accepted(s, orig);
	else if (orig[0] != '\0' || (r != BATV_NONE && r != BATV_BAD))
		abort();
	if (batv_result_text(r) == NULL)
		abort();

	if (batv_sign(key, s, NOW, out, sizeof(out)) == 0)
		check_signed(s, out);
	else if (out[0] != '\0')
		abort();
	return 0;
}
