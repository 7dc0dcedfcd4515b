/* A small pool of threads for blocking work (SQLite, password hashing)
 * requested from an event loop: work() runs on a pool thread, done() runs
 * afterwards on the event loop's thread. */
#ifndef POSTERN_POOL_H
#define POSTERN_POOL_H

struct event_base;
struct pool;

struct pool *pool_new(struct event_base *base, int nthreads);
/* Waits for the queued jobs and stops the threads. */
void pool_free(struct pool *p);
void pool_submit(struct pool *p, void (*work)(void *arg), void (*done)(void *arg), void *arg);

#endif
