/* The queue of completions is a mutex-protected list; an eventfd tells
 * the loop that the list stopped being empty. */
#include "core/loopq.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct loopq {
	pthread_mutex_t lock;
	struct loopq_item *head, *tail;
	int fd;
	struct event *ev;
};

static void loopq_run(evutil_socket_t fd, short what, void *arg)
{
	struct loopq *q = arg;
	uint64_t sink;
	struct loopq_item *list;

	/* Reset before taking the list: a post that lands after this read
	 * signals again, so none is left behind until the next wake-up. */
	while (read(fd, &sink, sizeof(sink)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&q->lock);
	list = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	while (list) {
		/* The callback may free the memory the item lives in. */
		struct loopq_item *next = list->next;
		list->fn(list->arg);
		list = next;
	}
}

struct loopq *loopq_new(struct event_base *base)
{
	struct loopq *q = xcalloc(1, sizeof(*q));

	pthread_mutex_init(&q->lock, NULL);
	q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->fd < 0)
		fatal("loopq: eventfd: %m");
	q->ev = event_new(base, q->fd, EV_READ | EV_PERSIST, loopq_run, q);
	if (q->ev == NULL || event_add(q->ev, NULL) < 0)
		fatal("loopq: cannot add the completion event");
	return q;
}

void loopq_free(struct loopq *q)
{
	loopq_run(q->fd, EV_READ, q);
	event_free(q->ev);
	close(q->fd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void loopq_list_add(struct loopq_list *l, struct loopq_item *it, void (*fn)(void *), void *arg)
{
	it->fn = fn;
	it->arg = arg;
	it->next = NULL;
	LOOPQ_APPEND(l->head, l->tail, it, it);
}

void loopq_post_list(struct loopq *q, struct loopq_list *l)
{
	if (l->head == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->tail == NULL) {
		/* One signal per batch: the loop drains the whole list. */
		uint64_t one = 1;
		while (write(q->fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	LOOPQ_APPEND(q->head, q->tail, l->head, l->tail);
	pthread_mutex_unlock(&q->lock);
	l->head = l->tail = NULL;
}

void loopq_post(struct loopq *q, struct loopq_item *it, void (*fn)(void *), void *arg)
{
	struct loopq_list one = {NULL, NULL};

	loopq_list_add(&one, it, fn, arg);
	loopq_post_list(q, &one);
}
