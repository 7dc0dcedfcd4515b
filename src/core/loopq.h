/* Completions handed from any thread back to one libevent loop: a thread
 * posts an item, and its callback runs later on the loop's thread, so that
 * callbacks never race with the loop.  Used by the thread pool and by the
 * spool's committer. */
#ifndef POSTERN_CORE_LOOPQ_H
#define POSTERN_CORE_LOOPQ_H

#include <stddef.h>

struct event_base;
struct loopq;

/* Embedded by the poster in whatever it hands back (no allocation per
 * post); owned by the queue from loopq_post until fn is called. */
struct loopq_item {
	void (*fn)(void *arg);
	void *arg;
	struct loopq_item *next;
};

/* Appends the chain first..last (last->next already NULL) to the list
 * head..tail, both linked through their next member, whatever the type:
 * the one append of the loopq and of the queues of the thread pool and the
 * spool's committer.  Evaluates its arguments more than once. */
#define LOOPQ_APPEND(head, tail, first, last)                                                      \
	do {                                                                                       \
		if ((tail) != NULL)                                                                \
			(tail)->next = (first);                                                    \
		else                                                                               \
			(head) = (first);                                                          \
		(tail) = (last);                                                                   \
	} while (0)

/* Items gathered by one thread (nothing shared, no lock) to be posted at
 * once with loopq_post_list. */
struct loopq_list {
	struct loopq_item *head, *tail;
};

struct loopq *loopq_new(struct event_base *base);
/* Runs the callbacks still queued, here, then frees the queue.  The
 * threads that post must have stopped. */
void loopq_free(struct loopq *q);
/* Callable from any thread; fn(arg) runs on the loop's thread, in the
 * order of posting. */
void loopq_post(struct loopq *q, struct loopq_item *it, void (*fn)(void *arg), void *arg);
/* Adds it to l, to run fn(arg) once l is posted. */
void loopq_list_add(struct loopq_list *l, struct loopq_item *it, void (*fn)(void *arg), void *arg);
/* Posts l's items, in their order, with one lock round trip, and leaves l
 * empty; an empty l posts nothing.  As loopq_post otherwise. */
void loopq_post_list(struct loopq *q, struct loopq_list *l);

#endif
