/* IP addresses as the configuration and the policy checks compare them
 * (see ipaddr.h). */
#include "core/ipaddr.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void fold(struct ipaddr *a)
{
	if (a->family == AF_INET6 && memcmp(a->b, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(a->b, a->b + 12, 4);
		memset(a->b + 4, 0, 12);
		a->family = AF_INET;
	}
}

int ipaddr_parse(const char *s, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	if (inet_pton(AF_INET, s, out->b) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->b) == 1) {
		out->family = AF_INET6;
		fold(out);
		return 0;
	}
	return -1;
}

void ipaddr_from_bytes(int family, const unsigned char *b, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->b, b, family == AF_INET ? 4 : 16);
	fold(out);
}

int ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16) == 0;
}

int ipaddr_prefix_match(const unsigned char *net, const unsigned char *ip, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(net, ip, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (net[full] & mask) == (ip[full] & mask);
}
