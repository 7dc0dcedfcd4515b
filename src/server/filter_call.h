/* Where a stage in progress stands: the filters of one session are told
 * a stage one after another (server/stages.c), and a filter that waits
 * holds this until it calls filter_call_done. */
#ifndef POSTERN_FILTER_CALL_H
#define POSTERN_FILTER_CALL_H

#include "server/filter.h"

#include <stddef.h>

struct session;

struct filter_call {
	struct session *s;
	enum filter_stage stage;
	size_t next; /* the filter to tell next */
	int busy;    /* a stage is in progress */
	struct filter_reply reply;
	void (*then)(struct session *s, const struct filter_reply *r);
	void (*resume)(struct filter_call *call); /* tells the next filters */
};

#endif
