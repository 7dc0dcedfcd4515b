/* HELO/EHLO argument classification: syntax, address literals, local and
 * unregistered names, and claims to be us (see helo.h). */
#include "policy/helo.h"

#include "core/ipaddr.h"
#include "policy/suffix.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* RFC 1035 2.3.4. */
#define LABEL_MAX 63

/* Top-level labels that only exist inside private networks: the mDNS
 * domain (RFC 6762 3), ICANN's private-use ".internal", and the defaults of
 * routers and directory products.  home.arpa (RFC 8375) has two labels and
 * is matched on its own. */
static const char *const local_tlds[] = {"local", "lan", "home", "internal", "localdomain", "corp"};

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]
 * (RFC 5321 4.1.2): letters, digits and inner hyphens, no empty label, so
 * no trailing dot either.  The top-level label must not be all digits
 * (RFC 3696 2), which also refuses an address sent without brackets. */
static int domain_syntax_ok(const char *s, size_t len)
{
	size_t start = 0;
	int all_digits = 1;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			size_t n = i - start;
			if (n == 0 || n > LABEL_MAX || s[start] == '-' || s[i - 1] == '-')
				return 0;
			if (i == len)
				return !all_digits;
			start = i + 1;
			all_digits = 1;
		} else if (is_alpha(s[i]) || s[i] == '-') {
			all_digits = 0;
		} else if (!is_digit(s[i])) {
			return 0;
		}
	}
	return 0;
}

/* address-literal (RFC 5321 4.1.3): "[" IPv4 "]" or "[IPv6:" IPv6 "]".
 * The tag is matched without regard to case (RFC 5234 2.3).  General
 * literals have no registered tag we could understand, so they are
 * syntax errors.  Returns 0 with the address in *out, or -1. */
static int literal_parse(const char *s, size_t len, struct ipaddr *out)
{
	char text[HELO_NAME_MAX + 1];
	const char *body;
	size_t n;

	if (len < 3 || s[0] != '[' || s[len - 1] != ']')
		return -1;
	n = len - 2;
	memcpy(text, s + 1, n);
	text[n] = '\0';
	body = text;
	if (n > 5 && strncasecmp(text, "IPv6:", 5) == 0) {
		body = text + 5;
		/* inet_pton accepts "::ffff:1.2.3.4" as IPv6, which is what
		 * RFC 5321's IPv6v4-full form allows; plain dotted quad is not. */
		if (strchr(body, ':') == NULL)
			return -1;
	} else if (strchr(text, ':') != NULL) {
		return -1;
	}
	return ipaddr_parse(body, out);
}

static int addr_in_list(const struct ipaddr *a, const char *const *list)
{
	struct ipaddr b;

	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (ipaddr_parse(list[i], &b) == 0 && ipaddr_equal(a, &b))
			return 1;
	return 0;
}

static enum helo_class classify_literal(const char *s, size_t len, const struct helo_context *ctx)
{
	struct ipaddr lit, client;

	if (literal_parse(s, len, &lit) != 0)
		return HELO_SYNTAX;
	/* The client's own address first: a local client that really is on
	 * one of our addresses tells the truth. */
	if (ipaddr_parse(ctx->client_ip, &client) == 0 && ipaddr_equal(&lit, &client))
		return HELO_ADDRESS_LITERAL_MATCH;
	if (addr_in_list(&lit, ctx->our_addrs))
		return HELO_OUR_ADDRESS;
	return HELO_ADDRESS_LITERAL_MISMATCH;
}

static int ends_with(const char *name, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && strcmp(name + len - n, suffix) == 0;
}

static int is_ours(const char *name, const struct helo_context *ctx)
{
	if (ctx->hostname != NULL && strcasecmp(name, ctx->hostname) == 0)
		return 1;
	for (size_t i = 0; ctx->local_domains != NULL && ctx->local_domains[i] != NULL; i++)
		if (strcasecmp(name, ctx->local_domains[i]) == 0)
			return 1;
	return 0;
}

static int is_local_tld(const char *name, size_t len)
{
	const char *dot = strrchr(name, '.');

	/* RFC 8375: home.arpa is for home networks. */
	if (ends_with(name, len, ".home.arpa"))
		return 1;
	for (size_t i = 0; dot != NULL && i < sizeof(local_tlds) / sizeof(local_tlds[0]); i++)
		if (strcmp(dot + 1, local_tlds[i]) == 0)
			return 1;
	return 0;
}

enum helo_class helo_classify(const char *helo, const struct helo_context *ctx)
{
	char name[HELO_NAME_MAX + 1];
	size_t len;

	if (helo == NULL)
		return HELO_SYNTAX;
	len = strnlen(helo, HELO_NAME_MAX + 1);
	if (len == 0 || len > HELO_NAME_MAX)
		return HELO_SYNTAX;
	if (helo[0] == '[')
		return classify_literal(helo, len, ctx);
	if (!domain_syntax_ok(helo, len))
		return HELO_SYNTAX;
	/* DNS names compare without regard to case (RFC 4343), and libpsl
	 * wants lowercase. */
	for (size_t i = 0; i <= len; i++)
		name[i] =
		    (helo[i] >= 'A' && helo[i] <= 'Z') ? (char)(helo[i] - 'A' + 'a') : helo[i];

	/* RFC 6761 6.3: localhost and every name below it are the loopback. */
	if (strcmp(name, "localhost") == 0 || strcmp(name, "localhost.localdomain") == 0 ||
	    ends_with(name, len, ".localhost"))
		return HELO_LOCALHOST;
	if (is_ours(name, ctx))
		return HELO_OUR_NAME;
	/* RFC 5321 4.1.1.1: the argument is the client's fully-qualified
	 * domain name. */
	if (strchr(name, '.') == NULL)
		return HELO_BARE_WORD;
	if (is_local_tld(name, len))
		return HELO_LOCAL_TLD;
	if (suffix_registrable(name) == NULL)
		return HELO_NOT_UNDER_PUBLIC_SUFFIX;
	return HELO_VALID_FQDN;
}

const char *helo_class_name(enum helo_class c)
{
	switch (c) {
	case HELO_VALID_FQDN:
		return "valid_fqdn";
	case HELO_ADDRESS_LITERAL_MATCH:
		return "address_literal_match";
	case HELO_ADDRESS_LITERAL_MISMATCH:
		return "address_literal_mismatch";
	case HELO_BARE_WORD:
		return "bare_word";
	case HELO_LOCALHOST:
		return "localhost";
	case HELO_LOCAL_TLD:
		return "local_tld";
	case HELO_NOT_UNDER_PUBLIC_SUFFIX:
		return "not_under_public_suffix";
	case HELO_OUR_NAME:
		return "our_name";
	case HELO_OUR_ADDRESS:
		return "our_address";
	case HELO_SYNTAX:
		return "syntax";
	}
	return "unknown";
}
