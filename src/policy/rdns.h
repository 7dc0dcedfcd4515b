/* Classifies a client's reverse-DNS name as generic (dynamic, residential,
 * pool, default hosting names) or as a name someone chose, for the connect
 * checks.  A pure function over the name, the client address and the
 * operator's patterns. */
#ifndef POSTERN_RDNS_H
#define POSTERN_RDNS_H

#include "policy/rdns_ip.h" /* RDNS_NAME_MAX */

#include <stddef.h>

#define RDNS_PATTERNS_MAX 256    /* operator patterns per list */
#define RDNS_PATTERN_LEN_MAX 255 /* one pattern's text */

enum rdns_class {
	RDNS_NONE = 0, /* no name: empty, or longer than any DNS name */
	RDNS_NORMAL,   /* a chosen name: mail hosts, servers, anything without generic features */
	/* The name is built from the address, or says dynamic/residential/pool:
	 * an access line, not a mail server. */
	RDNS_GENERIC,
	/* Generic-looking, but the name says the address is assigned for good
	 * ("static", "server", "vps", "business", "dedicated"): default names
	 * of hosting and business lines.  Still not a chosen name, so policies
	 * that refuse generic names usually refuse it too; policies that only
	 * want to keep out dial-up pools can let it through. */
	RDNS_STATIC_GENERIC,
};

enum rdns_pattern_kind {
	RDNS_PAT_GENERIC,     /* names that match are RDNS_GENERIC */
	RDNS_PAT_NOT_GENERIC, /* names that match are RDNS_NORMAL; wins over everything */
};

struct rdns_patterns;

struct rdns_patterns *rdns_patterns_new(void);
/* A pattern between slashes ("/^dsl-[0-9]+\\./") is a POSIX extended
 * regular expression, searched anywhere in the name; anything else is a
 * glob over the whole name ('*' any run of characters, dots included, '?'
 * one character).  Both ignore case and are compiled here, once.
 * Returns 0, or -1 with a message in err (bad regex, too long, too many). */
int rdns_patterns_add(struct rdns_patterns *p, enum rdns_pattern_kind kind, const char *pattern,
                      char *err, size_t errsize);
void rdns_patterns_free(struct rdns_patterns *p);

/* Classifies name (a PTR name, with or without its trailing dot, any case)
 * for the client address ip (text, IPv4 or IPv6; NULL when unknown, which
 * loses the address evidence).  extra may be NULL.  When reason is not
 * NULL it receives a short key=value text of the rule that decided, for
 * logs (truncated to reasonsize). */
enum rdns_class rdns_classify(const char *name, const char *ip, const struct rdns_patterns *extra,
                              char *reason, size_t reasonsize);

/* "none", "normal", "generic", "static-generic". */
const char *rdns_class_name(enum rdns_class c);

/* Used by rdns_classify: 1 when a pattern of kind matches name (lower
 * case), with *which set to the pattern's text. */
int rdns_patterns_match(const struct rdns_patterns *p, enum rdns_pattern_kind kind,
                        const char *name, const char **which);

#endif
