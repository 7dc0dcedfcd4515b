/* Network lists and membership (see netlist.h). */
#include "core/netlist.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SEPARATORS ", "

/* Longest item worth reading: a full IPv6 address with an embedded IPv4
 * part and "/128" is 50 bytes. */
#define ITEM_MAX 64

static int bits_after_prefix(const struct ipaddr *a, int prefix)
{
	int bytes = a->family == AF_INET ? 4 : 16;

	for (int bit = prefix; bit < bytes * 8; bit++)
		if (a->b[bit / 8] & (0x80 >> (bit % 8)))
			return 1;
	return 0;
}

/* One "address[/prefix]" of len bytes at text. */
static int net_parse(const char *text, size_t len, struct netlist_net *out, char *err,
                     size_t errsize)
{
	char item[ITEM_MAX + 1];
	char *slash;
	int max;

	if (len > ITEM_MAX) {
		snprintf(err, errsize, "'%.*s...' is not an address or address/prefix", ITEM_MAX,
		         text);
		return -1;
	}
	memcpy(item, text, len);
	item[len] = '\0';
	slash = strchr(item, '/');
	if (slash != NULL)
		*slash = '\0';
	if (ipaddr_parse(item, &out->net) < 0) {
		snprintf(err, errsize, "'%.*s' is not an address or address/prefix", (int)len,
		         text);
		return -1;
	}
	/* Written as IPv6 but folded to IPv4 by ipaddr_parse: the prefix
	 * counts the 96 bits of ::ffff: too (RFC 4291 2.5.5.2). */
	int mapped = out->net.family == AF_INET && strchr(item, ':') != NULL;
	max = mapped || out->net.family == AF_INET6 ? 128 : 32;
	out->prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		size_t digits = strspn(p, "0123456789");
		if (digits == 0 || digits > 3 || p[digits] != '\0' || atoi(p) > max ||
		    (mapped && atoi(p) < 96)) {
			snprintf(err, errsize, "'%.*s': the prefix is not %d..%d", (int)len, text,
			         mapped ? 96 : 0, max);
			return -1;
		}
		out->prefix = atoi(p);
	}
	if (mapped)
		out->prefix -= 96;
	if (bits_after_prefix(&out->net, out->prefix)) {
		snprintf(err, errsize, "'%.*s' has address bits set after the /%d prefix", (int)len,
		         text, out->prefix + (mapped ? 96 : 0));
		return -1;
	}
	return 0;
}

int netlist_parse(const char *s, struct netlist *out, char *err, size_t errsize)
{
	out->nets = NULL;
	out->n = 0;
	s += strspn(s, SEPARATORS);
	while (*s != '\0') {
		size_t len = strcspn(s, SEPARATORS);
		out->nets = xrealloc(out->nets, (out->n + 1) * sizeof(*out->nets));
		if (net_parse(s, len, &out->nets[out->n], err, errsize) < 0) {
			netlist_free(out);
			return -1;
		}
		out->n++;
		s += len;
		s += strspn(s, SEPARATORS);
	}
	return 0;
}

int netlist_contains(const struct netlist *nl, const struct ipaddr *a)
{
	for (size_t i = 0; i < nl->n; i++) {
		const struct netlist_net *n = &nl->nets[i];
		if (n->net.family == a->family &&
		    ipaddr_prefix_match(n->net.b, a->b, (unsigned)n->prefix))
			return 1;
	}
	return 0;
}

void netlist_free(struct netlist *nl)
{
	free(nl->nets);
	nl->nets = NULL;
	nl->n = 0;
}
