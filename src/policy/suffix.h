/* Public suffixes (https://publicsuffix.org/) through libpsl: which part
 * of a host name is registrable, and whether it sits under a listed suffix
 * at all. */
#ifndef POSTERN_POLICY_SUFFIX_H
#define POSTERN_POLICY_SUFFIX_H

/* The registrable domain of name (lowercase, no trailing dot): the listed
 * public suffix plus one label, as a pointer into name.  NULL when name is
 * itself a public suffix or its top-level label is not on the list: the
 * list's implicit "*" rule is not applied, so "host.invalidtld" has no
 * registrable domain. */
const char *suffix_registrable(const char *name);

#endif
