/* Registered asynchronous lookups: an intrusive list per owner. */
#include "core/lookups.h"
#include "core/xmalloc.h"

#include <stdlib.h>

struct lookup {
	struct lookup *next, *prev;
	struct lookup_set *set;
	void *handle;
	void (*cancel)(void *handle);
};

static void lookup_unlink(struct lookup *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		l->set->head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->set->n--;
}

struct lookup *lookup_new(struct lookup_set *set)
{
	struct lookup *l = xcalloc(1, sizeof(*l));
	l->set = set;
	l->next = set->head;
	if (set->head)
		set->head->prev = l;
	set->head = l;
	set->n++;
	return l;
}

int lookup_started(struct lookup *l, void *handle, void (*cancel)(void *handle))
{
	if (handle == NULL) {
		lookup_unlink(l);
		free(l);
		return -1;
	}
	l->handle = handle;
	l->cancel = cancel;
	return 0;
}

void *lookup_finish(struct lookup *l)
{
	void *owner = l->set->owner;
	lookup_unlink(l);
	free(l);
	return owner;
}

void lookup_set_cancel(struct lookup_set *set)
{
	while (set->head) {
		struct lookup *l = set->head;
		lookup_unlink(l);
		l->cancel(l->handle);
		free(l);
	}
}
