/* The asynchronous lookups one owner (a session's filter, a sender check)
 * has started, so that one call cancels all of them and the owner knows
 * how many are still out.  Each lookup is a small record passed as the
 * callback argument: the callback unregisters it (lookup_finish) and gets
 * the owner back. */
#ifndef POSTERN_LOOKUPS_H
#define POSTERN_LOOKUPS_H

#include <stddef.h>

struct lookup;

struct lookup_set {
	struct lookup *head;
	size_t n;
	void *owner; /* what lookup_finish gives back */
};

/* A record registered in set, for a lookup about to be started with the
 * record as its callback argument. */
struct lookup *lookup_new(struct lookup_set *set);
/* Names the started lookup's handle and how to cancel it.  A NULL handle
 * (the lookup could not start, and will not call back) drops the record
 * and returns -1. */
int lookup_started(struct lookup *l, void *handle, void (*cancel)(void *handle));
/* Called first thing by the lookup's callback: unregisters and frees the
 * record, and returns its set's owner. */
void *lookup_finish(struct lookup *l);
/* Cancels every lookup of set; none calls back afterwards. */
void lookup_set_cancel(struct lookup_set *set);

#endif
