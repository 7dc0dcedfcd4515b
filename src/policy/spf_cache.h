/* Parsed SPF records, kept per thread and keyed by the record's text: the
 * DNS cache already keeps the text, and parsing it again on every
 * evaluation cost a sixth of an evaluation. */
#ifndef POSTERN_SPF_CACHE_H
#define POSTERN_SPF_CACHE_H

#include "policy/spf.h"

struct spf_parsed;

/* The parsed record for txt, with a reference held for the caller; NULL
 * and err filled when txt is not a valid record (not cached). */
struct spf_parsed *spf_parsed_get(const char *txt, size_t len, char *err, size_t errsize);
const struct spf_record *spf_parsed_record(const struct spf_parsed *p);
void spf_parsed_put(struct spf_parsed *p);

#endif
