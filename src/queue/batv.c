/* BATV "prvs" tags (draft-levine-smtp-batv-01 4): making and checking them. */
#include "queue/batv.h"
#include "core/log.h"
#include "smtp/addr.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PREFIX "prvs="
#define PREFIX_LEN 5
#define KEY_NUMBER '0'
#define DAY_SLOTS 1000 /* DDD: three decimal digits */
#define HASH_BYTES 3   /* SSSSSS */

static unsigned day_number(time_t now)
{
	long long d = (long long)(now / 86400) % DAY_SLOTS;

	return (unsigned)(d < 0 ? d + DAY_SLOTS : d);
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The first HASH_BYTES of HMAC-SHA256 over "KDDD" and the address (len
 * bytes, at most ADDR_PATH_MAX - 2, with its '@' at at), the domain in
 * lower case. */
static void tag_hash(const unsigned char *key, unsigned day, const char *addr, size_t len,
                     const char *at, unsigned char out[HASH_BYTES])
{
	unsigned char msg[4 + ADDR_PATH_MAX], md[EVP_MAX_MD_SIZE];

	msg[0] = KEY_NUMBER;
	msg[1] = (unsigned char)('0' + day / 100);
	msg[2] = (unsigned char)('0' + day / 10 % 10);
	msg[3] = (unsigned char)('0' + day % 10);
	memcpy(msg + 4, addr, len);
	for (size_t i = (size_t)(at - addr) + 1; i < len; i++) {
		if (msg[4 + i] >= 'A' && msg[4 + i] <= 'Z')
			msg[4 + i] += 'a' - 'A';
	}
	if (HMAC(EVP_sha256(), key, HMAC_KEY_LEN, msg, 4 + len, md, NULL) == NULL)
		fatal("batv: HMAC-SHA256 is not available");
	memcpy(out, md, HASH_BYTES);
}

/* The '@' of addr when it is a Mailbox that stays one with a tag before
 * its local part: a Dot-string and a domain name; NULL otherwise. */
static const char *dot_string_mailbox(const char *addr, size_t len)
{
	char path[ADDR_PATH_MAX];
	struct mailbox m;
	size_t used;

	if (len == 0 || len + 2 > sizeof(path))
		return NULL;
	path[0] = '<';
	memcpy(path + 1, addr, len);
	path[len + 1] = '>';
	/* allow_null, so that a bare "<Postmaster>" is not a Mailbox here. */
	if (addr_parse_path(path, len + 2, 1, 1, &m, &used) != ADDR_OK || used != len + 2 ||
	    m.local[0] == '"' || m.domain_is_literal)
		return NULL;
	return addr + strlen(m.local);
}

int batv_sign(const unsigned char key[HMAC_KEY_LEN], const char *addr, time_t now, char *out,
              size_t outsize)
{
	size_t len = strlen(addr);
	const char *at = dot_string_mailbox(addr, len);
	unsigned char h[HASH_BYTES];
	unsigned day = day_number(now);

	if (outsize > 0)
		out[0] = '\0';
	/* RFC 5321 4.5.3.1.1 and 4.5.3.1.3: the tag is part of the local part. */
	if (at == NULL || (size_t)(at - addr) + BATV_TAG_LEN > ADDR_LOCAL_MAX ||
	    len + BATV_TAG_LEN + 2 > ADDR_PATH_MAX || len + BATV_TAG_LEN >= outsize)
		return -1;
	tag_hash(key, day, addr, len, at, h);
	snprintf(out, outsize, PREFIX "%c%03u%02x%02x%02x=%s", KEY_NUMBER, day, h[0], h[1], h[2],
	         addr);
	return 0;
}

enum batv_result batv_check(const unsigned char key[HMAC_KEY_LEN], const char *addr, time_t now,
                            int max_age_days, char *orig, size_t origsize)
{
	size_t len = strlen(addr);
	const char *a, *at;
	unsigned char got[HASH_BYTES], want[HASH_BYTES];
	unsigned day = 0, age;

	if (origsize > 0)
		orig[0] = '\0';
	if (strncasecmp(addr, PREFIX, PREFIX_LEN) != 0)
		return BATV_NONE;
	/* Longer than a path can be: no tag of ours. */
	if (len <= BATV_TAG_LEN || len + 2 > ADDR_PATH_MAX || addr[PREFIX_LEN] != KEY_NUMBER ||
	    addr[BATV_TAG_LEN - 1] != '=')
		return BATV_BAD;
	for (int i = 0; i < 3; i++) {
		unsigned char c = (unsigned char)addr[PREFIX_LEN + 1 + i];
		if (c < '0' || c > '9')
			return BATV_BAD;
		day = day * 10 + (c - '0');
	}
	for (int i = 0; i < HASH_BYTES; i++) {
		int hi = hex_value((unsigned char)addr[PREFIX_LEN + 4 + 2 * i]);
		int lo = hex_value((unsigned char)addr[PREFIX_LEN + 5 + 2 * i]);
		if (hi < 0 || lo < 0)
			return BATV_BAD;
		got[i] = (unsigned char)(hi << 4 | lo);
	}
	a = addr + BATV_TAG_LEN;
	at = strrchr(a, '@');
	if (at == NULL || at == a || at[1] == '\0')
		return BATV_BAD;
	tag_hash(key, day, a, len - BATV_TAG_LEN, at, want);
	if (CRYPTO_memcmp(got, want, HASH_BYTES) != 0 || len - BATV_TAG_LEN >= origsize)
		return BATV_BAD;
	memcpy(orig, a, len - BATV_TAG_LEN + 1);
	age = (day_number(now) + DAY_SLOTS - day) % DAY_SLOTS;
	return (long)age <= (long)max_age_days ? BATV_VALID : BATV_EXPIRED;
}

const char *batv_result_text(enum batv_result r)
{
	switch (r) {
	case BATV_NONE:
		return "none";
	case BATV_VALID:
		return "valid";
	case BATV_EXPIRED:
		return "expired";
	case BATV_BAD:
		return "bad";
	}
	return "unknown";
}
