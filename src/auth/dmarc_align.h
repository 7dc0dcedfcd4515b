/* DMARC identifier alignment (RFC 7489 3.1) and the Organizational Domain
 * it rests on (3.2), from the Public Suffix List through libpsl. */
#ifndef POSTERN_AUTH_DMARC_ALIGN_H
#define POSTERN_AUTH_DMARC_ALIGN_H

#include "auth/dmarc_record.h"

#include <stddef.h>

/* Longest domain name handled (RFC 1035 2.3.4, without a final dot). */
#define DMARC_DOMAIN_MAX 253

/* The Organizational Domain of domain (3.2): the longest public suffix
 * plus one label, under the list's rules including the implicit "*".
 * Case is ignored.  Returns a pointer into domain, or NULL when there is
 * none: domain is itself a public suffix, empty, begins with a dot or is
 * longer than DMARC_DOMAIN_MAX. */
const char *dmarc_org_domain(const char *domain);

/* 1 when the authenticated domain auth is aligned with the RFC5322.From
 * domain from (3.1.1, 3.1.2): strict mode needs the same name, relaxed mode
 * the same Organizational Domain (a name that has none stands for itself).
 * Case and leading and trailing dots are ignored. */
int dmarc_aligned(const char *auth, const char *from, enum dmarc_mode mode);

#endif
