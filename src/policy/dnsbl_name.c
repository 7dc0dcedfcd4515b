/* DNS blocklist helpers without I/O: query names (RFC 5782), return code
 * specifications and weights, TXT reasons (see dnsbl.h). */
#include "policy/dnsbl.h"

#include "core/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* RFC 1035 2.3.4, in text form without the trailing dot. */
#define NAME_MAX_LEN 253
#define LABEL_MAX 63

static int parse_v4(const char *s, size_t len, uint32_t *out)
{
	char text[INET_ADDRSTRLEN];
	struct in_addr a;

	if (len == 0 || len >= sizeof(text))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

int dnsbl_code_parse(const char *spec, struct dnsbl_code *out)
{
	const char *dash;

	memset(out, 0, sizeof(*out));
	if (spec[0] == '&') {
		char *end;
		unsigned long m;

		/* strtoul would take a sign or spaces; a mask is digits. */
		if (!(spec[1] >= '0' && spec[1] <= '9'))
			return -1;
		errno = 0;
		m = strtoul(spec + 1, &end, 0);
		if (errno != 0 || *end != '\0' || m == 0 || m > UINT32_MAX)
			return -1;
		out->mask = (uint32_t)m;
		return 0;
	}
	dash = strchr(spec, '-');
	if (dash == NULL) {
		if (parse_v4(spec, strlen(spec), &out->lo) != 0)
			return -1;
		out->hi = out->lo;
		return 0;
	}
	if (parse_v4(spec, (size_t)(dash - spec), &out->lo) != 0 ||
	    parse_v4(dash + 1, strlen(dash + 1), &out->hi) != 0 || out->lo > out->hi)
		return -1;
	return 0;
}

/* Labels of 1..63 octets, 253 in all (RFC 1035 2.3.4); letters, digits,
 * hyphens and underscores, the last because host names in reverse DNS
 * and MAIL FROM domains carry them in practice. */
static int name_ok(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > NAME_MAX_LEN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
		if (++label > LABEL_MAX)
			return 0;
	}
	return label > 0;
}

/* The length of s without one trailing dot: "zone." and "zone" are one
 * name (RFC 1034 3.1). */
static size_t strip_dot(const char *s)
{
	size_t len = strlen(s);
	return len > 0 && s[len - 1] == '.' ? len - 1 : len;
}

/* RFC 5782 2.1: the IPv4 octets in reverse order; 2.4: the IPv6 address
 * as 32 nibbles, least significant first, as in ip6.arpa (RFC 3596 2.5). */
static int address_key(const char *subject, char *out, size_t outsize)
{
	static const char hex[] = "0123456789abcdef";
	struct ipaddr a;
	size_t o = 0;

	if (ipaddr_parse(subject, &a) != 0)
		return -1;
	if (a.family == AF_INET) {
		int n = snprintf(out, outsize, "%u.%u.%u.%u", a.b[3], a.b[2], a.b[1], a.b[0]);
		return n < 0 || (size_t)n >= outsize ? -1 : 0;
	}
	if (outsize < 64)
		return -1;
	for (int i = 15; i >= 0; i--) {
		out[o++] = hex[a.b[i] & 0xf];
		out[o++] = '.';
		out[o++] = hex[a.b[i] >> 4];
		out[o++] = i > 0 ? '.' : '\0';
	}
	return 0;
}

int dnsbl_query_name(const char *subject, enum dnsbl_kind kind, const char *zone, char *out,
                     size_t outsize)
{
	char key[NAME_MAX_LEN + 1];
	size_t zlen = strip_dot(zone);
	int n;

	if (kind == DNSBL_IP) {
		if (address_key(subject, key, sizeof(key)) != 0)
			return -1;
	} else {
		/* RFC 5782 3: the domain name itself, prefixed to the zone. */
		size_t klen = strip_dot(subject);
		if (!name_ok(subject, klen))
			return -1;
		memcpy(key, subject, klen);
		key[klen] = '\0';
	}
	if (!name_ok(zone, zlen))
		return -1;
	n = snprintf(out, outsize, "%s.%.*s", key, (int)zlen, zone);
	if (n < 0 || (size_t)n >= outsize || !name_ok(out, (size_t)n))
		return -1;
	return 0;
}

static int code_matches(const struct dnsbl_code *c, uint32_t addr)
{
	if (c->mask != 0)
		return (addr & c->mask) != 0;
	return addr >= c->lo && addr <= c->hi;
}

int dnsbl_weigh(const struct dnsbl_list *list, const uint32_t *addrs, size_t n,
                const char **meaning)
{
	int best = 0, have = 0;

	*meaning = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct dnsbl_code *hit = NULL;
		int w;

		for (size_t k = 0; k < list->ncodes && hit == NULL; k++)
			if (code_matches(&list->codes[k], addrs[i]))
				hit = &list->codes[k];
		w = hit != NULL ? hit->weight : list->default_weight;
		/* A list that returns several codes (RFC 5782 2.3) counts once,
		 * by its strongest: its codes describe one listing. */
		if (!have || w > best) {
			best = w;
			*meaning = hit != NULL ? hit->meaning : NULL;
			have = 1;
		}
	}
	return best;
}

void dnsbl_txt_clean(const char *txt, size_t len, char *out, size_t outsize)
{
	size_t o = 0;

	if (outsize == 0)
		return;
	for (size_t i = 0; i < len && o + 1 < outsize; i++)
		out[o++] = (txt[i] >= 0x20 && txt[i] < 0x7f) ? txt[i] : '?';
	out[o] = '\0';
}
