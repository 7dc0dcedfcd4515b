/* Completions handed from any thread back to one libevent loop: a thread
 * posts an item, and its callback runs later on the loop's thread, so that
 * callbacks never race with the loop.  Used by the thread pool and by the
 * spool's committer. */
#ifndef POSTERN_CORE_LOOPQ_H
#define POSTERN_CORE_LOOPQ_H

struct event_base;
struct loopq;

/* Embedded by the poster in whatever it hands back (no allocation per
 * post); owned by the queue from loopq_post until fn is called. */
struct loopq_item {
	void (*fn)(void *arg);
	void *arg;
	struct loopq_item *next;
};

struct loopq *loopq_new(struct event_base *base);
/* Runs the callbacks still queued, here, then frees the queue.  The
 * threads that post must have stopped. */
void loopq_free(struct loopq *q);
/* Callable from any thread; fn(arg) runs on the loop's thread, in the
 * order of posting. */
void loopq_post(struct loopq *q, struct loopq_item *it, void (*fn)(void *arg), void *arg);

#endif
