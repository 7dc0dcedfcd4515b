/* Thread pool whose completions are handed back to a libevent loop
 * through a loopq, so that done() callbacks never race with the loop. */
#include "core/pool.h"
#include "core/log.h"
#include "core/loopq.h"
#include "core/xmalloc.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
	void (*work)(void *);
	void (*done)(void *);
	void *arg;
	struct job *next;
	struct loopq_item finished;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *todo_head, *todo_tail;
	int stopping;
	int nthreads;
	pthread_t *threads;
	struct loopq *done;
};

/* On the loop's thread. */
static void job_finished(void *arg)
{
	struct job *j = arg;

	if (j->done)
		j->done(j->arg);
	free(j);
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
		loopq_post(p->done, &j->finished, job_finished, j);

		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pool *pool_new(struct event_base *base, int nthreads)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->done = loopq_new(base);
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
	loopq_free(p->done);
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
	j->next = NULL;
	pthread_mutex_lock(&p->lock);
	LOOPQ_APPEND(p->todo_head, p->todo_tail, j, j);
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}
