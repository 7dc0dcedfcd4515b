/* Alias expansion: the addresses a recipient at a local domain stands for,
 * through the aliases of the configuration's domains (recursively), the
 * mailboxes that exist and each domain's catch-all.  Pure: whether a
 * mailbox exists is asked of the caller, which may block (it runs on a
 * pool thread). */
#ifndef POSTERN_CORE_ALIAS_H
#define POSTERN_CORE_ALIAS_H

#include "core/config.h"

#include <stddef.h>

/* Aliases of aliases: the recipient given is depth 0, the addresses of
 * its alias depth 1, and so on; deeper than this is taken for a loop. */
#define ALIAS_MAX_DEPTH 10

enum alias_status {
	ALIAS_OK,
	ALIAS_UNKNOWN,  /* a local address that is neither an alias nor a mailbox,
	                   and its domain has no catch-all */
	ALIAS_LOOP,     /* an address that leads back to itself, or deeper than
	                   ALIAS_MAX_DEPTH */
	ALIAS_TOO_MANY, /* more final addresses than the caller allows */
	ALIAS_TEMPFAIL, /* a mailbox could not be looked up for now */
};

/* Does the mailbox addr (at a local domain) exist: 1 yes, 0 no, -1 the
 * lookup failed for now. */
typedef int (*alias_exists_fn)(void *ctx, const char *addr);

struct alias_target {
	char *addr;
	/* addr is not at a local domain: the message is sent on for the
	 * recipient given (SRS applies to its envelope sender). */
	int forwarded;
};

struct alias_expansion {
	struct alias_target *targets; /* in the order met, each address once */
	size_t n;
	/* Unless ALIAS_OK, the address the status is about (for the log,
	 * never for the client: it may be an address of the alias table). */
	const char *culprit;
};

/* Expands addr ("local@domain" at a local domain of cfg) into out, at
 * most max final addresses.  A local address is, in this order: its
 * domain's postmaster or abuse (the addresses of the postmaster and abuse
 * settings, final without lookup), an alias (each of its addresses
 * expanded in turn), a mailbox that exists (final), or its domain's
 * catch-all (expanded); addresses at other domains are final and
 * forwarded.  An address met twice is expanded once and given once.
 * out is filled (and to be freed with alias_expansion_free) whatever the
 * status; on anything but ALIAS_OK its targets are not to be used.  cfg
 * and addr must outlive out (culprit points into them). */
enum alias_status alias_expand(const struct config *cfg, const char *addr, size_t max,
                               alias_exists_fn exists, void *ctx, struct alias_expansion *out);
void alias_expansion_free(struct alias_expansion *e);

const char *alias_status_text(enum alias_status st);

#endif
