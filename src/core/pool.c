/* Thread pool whose completions are handed back to a libevent loop
 * through a pipe, so that done() callbacks never race with the loop. */
#include "core/pool.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
	void (*work)(void *);
	void (*done)(void *);
	void *arg;
	struct job *next;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *todo_head, *todo_tail;
	struct job *done_head, *done_tail;
	int stopping;
	int nthreads;
	pthread_t *threads;
	int pipefd[2];
	struct event *ev;
};

static void push(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void *pool_thread(void *arg)
{
	struct pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->todo_head == NULL && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->todo_head == NULL)
			break;
		struct job *j = p->todo_head;
		p->todo_head = j->next;
		if (p->todo_head == NULL)
			p->todo_tail = NULL;
		pthread_mutex_unlock(&p->lock);

		j->work(j->arg);

		pthread_mutex_lock(&p->lock);
		int was_empty = p->done_head == NULL;
		push(&p->done_head, &p->done_tail, j);
		if (was_empty) {
			/* One byte per batch: the loop drains the whole list. */
			char c = 0;
			while (write(p->pipefd[1], &c, 1) < 0 && errno == EINTR)
				;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pool_drain(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	char sink[64];
	struct job *list;

	while (read(fd, sink, sizeof(sink)) > 0)
		;
	pthread_mutex_lock(&p->lock);
	list = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while (list) {
		struct job *next = list->next;
		if (list->done)
			list->done(list->arg);
		free(list);
		list = next;
	}
}

struct pool *pool_new(struct event_base *base, int nthreads)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (pipe2(p->pipefd, O_NONBLOCK | O_CLOEXEC) < 0)
		fatal("pool: pipe: %m");
	p->ev = event_new(base, p->pipefd[0], EV_READ | EV_PERSIST, pool_drain, p);
	event_add(p->ev, NULL);
	p->nthreads = nthreads;
	p->threads = xcalloc((size_t)nthreads, sizeof(pthread_t));
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&p->threads[i], NULL, pool_thread, p) != 0)
			fatal("pool: cannot start a thread");
	return p;
}

void pool_free(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pool_drain(p->pipefd[0], EV_READ, p);
	event_free(p->ev);
	close(p->pipefd[0]);
	close(p->pipefd[1]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p->threads);
	free(p);
}

void pool_submit(struct pool *p, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct job *j = xmalloc(sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&p->lock);
	push(&p->todo_head, &p->todo_tail, j);
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}
