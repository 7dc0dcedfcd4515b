/* The Sender Rewriting Scheme of libsrs2 and postsrsd: SRS0 and SRS1
 * addresses, made when we forward and turned back when a bounce comes. */
#include "queue/srs.h"
#include "core/b64.h"
#include "core/log.h"
#include "smtp/addr.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DAY_SLOTS 1024 /* two base32 characters */
#define HASH_LEN 4     /* base64 characters: three bytes of the HMAC */
#define STAMP_LEN 2
#define SEPARATORS "=-+"

static const char base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

struct span {
	const char *p;
	size_t len;
};

static unsigned day_number(time_t now)
{
	long long d = (long long)(now / 86400) % DAY_SLOTS;

	return (unsigned)(d < 0 ? d + DAY_SLOTS : d);
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* The base32 digit c (libsrs2 reads either case), or -1. */
static int base32_value(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* libsrs2's hash: HMAC-SHA1 over the parts one after another, each
 * lower-cased in ASCII; the first three bytes in base64.  The parts come
 * from one address (or a domain and a local part of one), so they fit. */
static void srs_hash(const unsigned char *key, const struct span *parts, size_t nparts,
                     char out[HASH_LEN + 1])
{
	unsigned char msg[2 * ADDR_PATH_MAX], md[EVP_MAX_MD_SIZE];
	size_t n = 0;

	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].len > sizeof(msg) - n)
			panic("srs: hash input over %zu bytes", sizeof(msg));
		for (size_t j = 0; j < parts[i].len; j++)
			msg[n++] = lower((unsigned char)parts[i].p[j]);
	}
	if (HMAC(EVP_sha1(), key, HMAC_KEY_LEN, msg, n, md, NULL) == NULL)
		fatal("srs: HMAC-SHA1 is not available");
	b64_encode(md, 3, out, HASH_LEN + 1);
}

/* libsrs2 compares without regard to case: hops may change it. */
static int hash_matches(const char *want, struct span got)
{
	unsigned char diff = 0;

	if (got.len != HASH_LEN)
		return 0;
	for (size_t i = 0; i < HASH_LEN; i++)
		diff |= lower((unsigned char)want[i]) ^ lower((unsigned char)got.p[i]);
	return diff == 0;
}

/* "SRS0" or "SRS1" (any case) and a separator. */
static int has_tag(const char *local, char digit)
{
	return strncasecmp(local, "SRS", 3) == 0 && local[3] == digit && local[4] != '\0' &&
	       strchr(SEPARATORS, local[4]) != NULL;
}

/* The text of *p up to the next '=' before end, which *p then passes;
 * 0 when there is none. */
static int next_field(const char **p, const char *end, struct span *f)
{
	const char *eq = memchr(*p, '=', (size_t)(end - *p));

	if (eq == NULL)
		return 0;
	f->p = *p;
	f->len = (size_t)(eq - *p);
	*p = eq + 1;
	return 1;
}

/* The hop and the rest of an SRS1 local part after its hash (whose span is
 * *hash), all three non-empty. */
static int srs1_fields(const char *local, const char *end, struct span *hash, struct span *hop,
                       struct span *rest)
{
	const char *p = local + 5;

	if (!next_field(&p, end, hash) || !next_field(&p, end, hop))
		return 0;
	rest->p = p;
	rest->len = (size_t)(end - p);
	return hash->len > 0 && hop->len > 0 && rest->len > 0;
}

static int copy_out(const char *s, char *out, size_t outsize)
{
	size_t len = strlen(s);

	if (len >= outsize)
		return -1;
	memcpy(out, s, len + 1);
	return 1;
}

/* The local part of an SRS0 address for local@domain, in out (which has
 * room for ADDR_LOCAL_MAX); returns its length, over ADDR_LOCAL_MAX when it
 * does not fit. */
static int srs0_local(const unsigned char *key, time_t now, const struct mailbox *m,
                      char out[ADDR_LOCAL_MAX + 1])
{
	unsigned day = day_number(now);
	char hash[HASH_LEN + 1], stamp[STAMP_LEN + 1] = {base32[day >> 5], base32[day & 31], '\0'};
	struct span parts[3] = {
	    {stamp, STAMP_LEN}, {m->domain, strlen(m->domain)}, {m->local, strlen(m->local)}};

	srs_hash(key, parts, 3, hash);
	return snprintf(out, ADDR_LOCAL_MAX + 1, "SRS0=%s=%s=%s=%s", hash, stamp, m->domain,
	                m->local);
}

/* The local part of an SRS1 address naming the first hop and the rest of
 * its SRS0 address, as srs0_local. */
static int srs1_local(const unsigned char *key, struct span hop, struct span rest,
                      char out[ADDR_LOCAL_MAX + 1])
{
	char hash[HASH_LEN + 1];
	struct span parts[2] = {hop, rest};

	srs_hash(key, parts, 2, hash);
	return snprintf(out, ADDR_LOCAL_MAX + 1, "SRS1=%s=%.*s=%.*s", hash, (int)hop.len, hop.p,
	                (int)rest.len, rest.p);
}

int srs_forward(const unsigned char key[HMAC_KEY_LEN], const char *sender,
                const char *forwarder_domain, time_t now, char *out, size_t outsize)
{
	size_t len = strlen(sender), flen = strlen(forwarder_domain), local_len;
	char path[ADDR_PATH_MAX], local[ADDR_LOCAL_MAX + 1];
	struct span hash, hop, rest;
	struct mailbox m;
	size_t used;
	int n;

	if (outsize > 0)
		out[0] = '\0';
	if (len == 0)
		return copy_out(sender, out, outsize);
	if (len + 2 > sizeof(path) || !addr_valid_domain(forwarder_domain, flen, 1))
		return -1;
	path[0] = '<';
	memcpy(path + 1, sender, len);
	path[len + 1] = '>';
	/* allow_null, so that a bare "<Postmaster>" is not a Mailbox here. */
	if (addr_parse_path(path, len + 2, 1, 1, &m, &used) != ADDR_OK || used != len + 2)
		return -1;
	if (strcasecmp(m.domain, forwarder_domain) == 0)
		return copy_out(sender, out, outsize);
	/* Our prefix in front of a quoted string or an address literal would
	 * not be a Dot-string. */
	if (m.local[0] == '"' || m.domain_is_literal)
		return -1;

	local_len = strlen(m.local);
	if (has_tag(m.local, '0')) {
		/* libsrs2: what follows "SRS0", its separator included, travels
		 * unchanged behind the hop that made it. */
		hop = (struct span){m.domain, strlen(m.domain)};
		rest = (struct span){m.local + 4, local_len - 4};
		n = srs1_local(key, hop, rest, local);
	} else if (has_tag(m.local, '1') &&
	           srs1_fields(m.local, m.local + local_len, &hash, &hop, &rest)) {
		n = srs1_local(key, hop, rest, local);
	} else {
		n = srs0_local(key, now, &m, local);
	}
	/* RFC 5321 4.5.3.1.1 and 4.5.3.1.3. */
	if (n > ADDR_LOCAL_MAX || (size_t)n + 1 + flen + 2 > ADDR_PATH_MAX ||
	    (size_t)n + 1 + flen >= outsize)
		return -1;
	snprintf(out, outsize, "%s@%s", local, forwarder_domain);
	return 0;
}

enum srs_result srs_reverse(const unsigned char key[HMAC_KEY_LEN], const char *addr, time_t now,
                            int max_age_days, char *out, size_t outsize)
{
	size_t len = strlen(addr);
	const char *at = strrchr(addr, '@'), *p;
	char want[HASH_LEN + 1];
	struct span hash, stamp, host, user, parts[3];
	unsigned then = 0, age;

	if (outsize > 0)
		out[0] = '\0';
	if (!has_tag(addr, '0') && !has_tag(addr, '1'))
		return SRS_NONE;
	/* Longer than a path can be: none of ours. */
	if (len + 2 > ADDR_PATH_MAX || at == NULL)
		return SRS_BAD;

	if (addr[3] == '1') {
		if (!srs1_fields(addr, at, &hash, &host, &user))
			return SRS_BAD;
		parts[0] = host;
		parts[1] = user;
		srs_hash(key, parts, 2, want);
		if (!hash_matches(want, hash) || 4 + user.len + 1 + host.len >= outsize)
			return SRS_BAD;
		snprintf(out, outsize, "SRS0%.*s@%.*s", (int)user.len, user.p, (int)host.len,
		         host.p);
		return SRS_VALID;
	}

	p = addr + 5;
	if (!next_field(&p, at, &hash) || !next_field(&p, at, &stamp) || !next_field(&p, at, &host))
		return SRS_BAD;
	user = (struct span){p, (size_t)(at - p)};
	if (stamp.len != STAMP_LEN || host.len == 0 || user.len == 0)
		return SRS_BAD;
	for (size_t i = 0; i < STAMP_LEN; i++) {
		int v = base32_value((unsigned char)stamp.p[i]);
		if (v < 0)
			return SRS_BAD;
		then = then << 5 | (unsigned)v;
	}
	parts[0] = stamp;
	parts[1] = host;
	parts[2] = user;
	srs_hash(key, parts, 3, want);
	if (!hash_matches(want, hash) || user.len + 1 + host.len >= outsize)
		return SRS_BAD;
	snprintf(out, outsize, "%.*s@%.*s", (int)user.len, user.p, (int)host.len, host.p);
	age = (day_number(now) + DAY_SLOTS - then) % DAY_SLOTS;
	return (long)age <= (long)max_age_days ? SRS_VALID : SRS_EXPIRED;
}

const char *srs_result_text(enum srs_result r)
{
	switch (r) {
	case SRS_NONE:
		return "none";
	case SRS_VALID:
		return "valid";
	case SRS_EXPIRED:
		return "expired";
	case SRS_BAD:
		return "bad";
	}
	return "unknown";
}
