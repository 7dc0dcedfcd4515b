/* DMARC alignment and Organizational Domains (see dmarc_align.h). */
#include "auth/dmarc_align.h"

#include "core/suffix_list.h"

#include <libpsl.h>
#include <string.h>
#include <strings.h>

const char *dmarc_org_domain(const char *domain)
{
	char lower[DMARC_DOMAIN_MAX + 1];
	size_t len = strlen(domain);

	if (len == 0 || len > DMARC_DOMAIN_MAX || domain[0] == '.')
		return NULL;
	/* libpsl wants lowercase; only ASCII has case among the labels we
	 * take (U-labels are lowercase by IDNA 2008). */
	for (size_t i = 0; i <= len; i++) {
		char c = domain[i];
		lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 'a' - 'A') : c;
	}
	/* 3.2 steps 1-4: the public suffix plus one label. */
	const char *reg = psl_registrable_domain(suffix_list(), lower);
	if (reg == NULL)
		return NULL;
	return domain + (reg - lower);
}

/* Trims leading and trailing dots: *start, and the length left. */
static size_t trim_dots(const char **start)
{
	const char *s = *start;
	size_t n;

	while (*s == '.')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '.')
		n--;
	*start = s;
	return n;
}

/* The Organizational Domain of s[0..n), or s itself when it has none. */
static size_t org_of(const char **s, size_t n, char *buf)
{
	const char *org;

	memcpy(buf, *s, n);
	buf[n] = '\0';
	org = dmarc_org_domain(buf);
	if (org == NULL)
		return n;
	*s += org - buf;
	return n - (size_t)(org - buf);
}

int dmarc_aligned(const char *auth, const char *from, enum dmarc_mode mode)
{
	size_t alen = trim_dots(&auth), flen = trim_dots(&from);

	if (alen == 0 || flen == 0 || alen > DMARC_DOMAIN_MAX || flen > DMARC_DOMAIN_MAX)
		return 0;
	/* 3.1.1, 3.1.2: relaxed compares Organizational Domains, strict the
	 * names themselves. */
	if (mode == DMARC_MODE_RELAXED) {
		char abuf[DMARC_DOMAIN_MAX + 1], fbuf[DMARC_DOMAIN_MAX + 1];
		alen = org_of(&auth, alen, abuf);
		flen = org_of(&from, flen, fbuf);
	}
	return alen == flen && strncasecmp(auth, from, alen) == 0;
}
