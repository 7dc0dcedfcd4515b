/* Spellings of the client address inside a reverse-DNS name: octets with
 * separators (in order or reversed, zero-padded or not), octets split over
 * two labels, twelve padded digits, hex, one decimal integer, and for IPv6
 * the nibbles or the 16-bit groups.  A pure function: no allocation. */
#include "policy/rdns_ip.h"
#include "core/ipaddr.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A digit run needs a non-digit after it, so a name of RDNS_NAME_MAX
 * octets holds at most this many. */
#define RUNS_MAX (RDNS_NAME_MAX / 2 + 1)

/* The longest run whose value we keep: twelve digits are the zero-padded
 * octets, ten the largest decimal IPv4 address. */
#define RUN_VALUE_DIGITS 12

struct run {
	size_t start, len;
	uint64_t value; /* of the first RUN_VALUE_DIGITS digits */
	int joined;     /* exactly one separator between this run and the previous one */
};

static int is_sep(char c)
{
	return c == '.' || c == '-' || c == '_';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static size_t runs_collect(const char *name, struct run *runs)
{
	size_t n = 0, i = 0;

	while (name[i] != '\0' && n < RUNS_MAX) {
		struct run *r = &runs[n];
		if (!is_digit(name[i])) {
			i++;
			continue;
		}
		r->start = i;
		r->value = 0;
		for (; is_digit(name[i]); i++)
			if (i - r->start < RUN_VALUE_DIGITS)
				r->value = r->value * 10 + (uint64_t)(name[i] - '0');
		r->len = i - r->start;
		r->joined = n > 0 && r->start == runs[n - 1].start + runs[n - 1].len + 1 &&
		            is_sep(name[r->start - 1]);
		n++;
	}
	return n;
}

/* "7", "07" and "007" all spell the octet 7. */
static int octet_is(const struct run *r, unsigned v)
{
	return r->len <= 3 && r->value == v;
}

/* k octets vals[] in runs i.. joined by single separators. */
static int seq_at(const struct run *runs, size_t n, size_t i, const unsigned *vals, size_t k)
{
	if (i + k > n)
		return 0;
	for (size_t j = 0; j < k; j++)
		if (!octet_is(&runs[i + j], vals[j]) || (j > 0 && !runs[i + j].joined))
			return 0;
	return 1;
}

static int seq_find(const struct run *runs, size_t n, const unsigned *vals, size_t k)
{
	for (size_t i = 0; i < n; i++)
		if (seq_at(runs, n, i, vals, k))
			return 1;
	return 0;
}

/* Octets vals[0..k) adjacent somewhere and octets more[0..m) adjacent in
 * other runs: "78.red-81-40-12" (Telefonica) or "w86-200" with "123-45". */
static int split_find(const struct run *runs, size_t n, const unsigned *vals, size_t k,
                      const unsigned *more, size_t m)
{
	for (size_t i = 0; i < n; i++) {
		if (!seq_at(runs, n, i, vals, k))
			continue;
		for (size_t j = 0; j < n; j++)
			if ((j + m <= i || j >= i + k) && seq_at(runs, n, j, more, m))
				return 1;
	}
	return 0;
}

static enum rdns_ip_match find_v4(const char *name, const unsigned char *o, const char **form)
{
	struct run runs[RUNS_MAX];
	size_t n = runs_collect(name, runs);
	const unsigned fwd[4] = {o[0], o[1], o[2], o[3]}, rev[4] = {o[3], o[2], o[1], o[0]};
	uint64_t as_int = (uint64_t)o[0] << 24 | (uint64_t)o[1] << 16 | (uint64_t)o[2] << 8 | o[3];
	char pad[16], padrev[16], hex[16];

	if (seq_find(runs, n, fwd, 4)) {
		*form = "octets";
		return RDNS_IP_FULL;
	}
	if (seq_find(runs, n, rev, 4)) {
		*form = "reversed-octets";
		return RDNS_IP_FULL;
	}
	snprintf(pad, sizeof(pad), "%03u%03u%03u%03u", fwd[0], fwd[1], fwd[2], fwd[3]);
	snprintf(padrev, sizeof(padrev), "%03u%03u%03u%03u", rev[0], rev[1], rev[2], rev[3]);
	for (size_t i = 0; i < n; i++) {
		if (runs[i].len == 12 && memcmp(name + runs[i].start, pad, 12) == 0) {
			*form = "padded-digits";
			return RDNS_IP_FULL;
		}
		if (runs[i].len == 12 && memcmp(name + runs[i].start, padrev, 12) == 0) {
			*form = "reversed-padded-digits";
			return RDNS_IP_FULL;
		}
		if (runs[i].len <= 10 && runs[i].value == as_int) {
			*form = "decimal";
			return RDNS_IP_FULL;
		}
	}
	/* Eight hex digits of one address are too specific to need a label
	 * boundary: "p5b0c1234" (Deutsche Telekom) has a letter before them. */
	snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", fwd[0], fwd[1], fwd[2], fwd[3]);
	if (strstr(name, hex) != NULL) {
		*form = "hex";
		return RDNS_IP_FULL;
	}
	if (split_find(runs, n, fwd, 3, fwd + 3, 1) || split_find(runs, n, fwd + 1, 3, fwd, 1) ||
	    split_find(runs, n, rev, 3, rev + 3, 1) || split_find(runs, n, rev + 1, 3, rev, 1) ||
	    split_find(runs, n, fwd, 2, fwd + 2, 2) || split_find(runs, n, rev, 2, rev + 2, 2)) {
		*form = "split-octets";
		return RDNS_IP_FULL;
	}
	if (seq_find(runs, n, fwd, 3) || seq_find(runs, n, fwd + 1, 3) ||
	    seq_find(runs, n, rev, 3) || seq_find(runs, n, rev + 1, 3)) {
		*form = "three-octets";
		return RDNS_IP_PART3;
	}
	/* Only the host end: the first two octets name a whole network and
	 * appear in many server names ("range86-128", "w86-200"). */
	if (seq_find(runs, n, fwd + 2, 2) || seq_find(runs, n, rev, 2)) {
		*form = "two-octets";
		return RDNS_IP_PART2;
	}
	return RDNS_IP_NONE;
}

/* needle in hay with no hex digit on either side. */
static int find_bounded(const char *hay, const char *needle)
{
	size_t len = strlen(needle);

	if (len == 0)
		return 0;
	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		if ((p == hay || !is_hex(p[-1])) && !is_hex(p[len]))
			return 1;
	return 0;
}

static enum rdns_ip_match find_v6(const char *name, const unsigned char *a, const char **form)
{
	char packed[RDNS_NAME_MAX + 1], dashed[RDNS_NAME_MAX + 1];
	char nib[33], nibrev[33], groups[48], text[INET6_ADDRSTRLEN];
	static const char digits[] = "0123456789abcdef";
	size_t np = 0, nd = 0;

	/* packed drops the separators, dashed makes them all '-', so that
	 * "2001.db8" and "2001_db8" compare like "2001-db8". */
	for (size_t i = 0; name[i] != '\0' && nd < RDNS_NAME_MAX; i++) {
		dashed[nd++] = is_sep(name[i]) ? '-' : name[i];
		if (!is_sep(name[i]))
			packed[np++] = name[i];
	}
	packed[np] = '\0';
	dashed[nd] = '\0';

	for (size_t i = 0; i < 16; i++) {
		nib[2 * i] = digits[a[i] >> 4];
		nib[2 * i + 1] = digits[a[i] & 15];
		nibrev[31 - 2 * i] = digits[a[i] >> 4];
		nibrev[30 - 2 * i] = digits[a[i] & 15];
	}
	nib[32] = nibrev[32] = '\0';
	if (strstr(packed, nib) != NULL) {
		*form = "ipv6-nibbles";
		return RDNS_IP_FULL;
	}
	if (strstr(packed, nibrev) != NULL) {
		*form = "ipv6-reversed-nibbles";
		return RDNS_IP_FULL;
	}
	snprintf(groups, sizeof(groups), "%x-%x-%x-%x-%x-%x-%x-%x", a[0] << 8 | a[1],
	         a[2] << 8 | a[3], a[4] << 8 | a[5], a[6] << 8 | a[7], a[8] << 8 | a[9],
	         a[10] << 8 | a[11], a[12] << 8 | a[13], a[14] << 8 | a[15]);
	if (find_bounded(dashed, groups)) {
		*form = "ipv6-groups";
		return RDNS_IP_FULL;
	}
	/* The RFC 5952 text with ':' as '-': "2001-db8--1". */
	if (inet_ntop(AF_INET6, a, text, sizeof(text)) != NULL) {
		for (char *p = text; *p != '\0'; p++)
			if (*p == ':')
				*p = '-';
		if (find_bounded(dashed, text)) {
			*form = "ipv6-compressed-groups";
			return RDNS_IP_FULL;
		}
	}
	return RDNS_IP_NONE;
}

enum rdns_ip_match rdns_ip_find(const char *name, const char *ip, const char **form)
{
	struct ipaddr a;

	*form = "none";
	/* ipaddr_parse folds IPv4-mapped IPv6: an IPv4 client seen on a
	 * dual-stack socket is still named as IPv4. */
	if (ip == NULL || ipaddr_parse(ip, &a) != 0)
		return RDNS_IP_NONE;
	if (a.family == AF_INET)
		return find_v4(name, a.b, form);
	return find_v6(name, a.b, form);
}

int rdns_ip_like(const char *name)
{
	struct run runs[RUNS_MAX];
	size_t n = runs_collect(name, runs);

	for (size_t i = 0; i + 4 <= n; i++) {
		size_t j = 0;
		while (j < 4 && runs[i + j].len <= 3 && runs[i + j].value <= 255 &&
		       (j == 0 || runs[i + j].joined))
			j++;
		if (j == 4)
			return 1;
	}
	return 0;
}
