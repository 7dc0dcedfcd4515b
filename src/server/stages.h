/* The filter runner of one session: the filters of filter_table are
 * attached at connect, told each stage one after another (a filter that
 * waits holds the next ones back), merged into one verdict, one
 * Authentication-Results field and the header fields we add, and
 * detached at the end.  It sees the session only through the view its
 * owner fills. */
#ifndef POSTERN_STAGES_H
#define POSTERN_STAGES_H

#include "core/buf.h"
#include "server/filter.h"

#include <stddef.h>

struct session;

#define STAGES_FILTERS_MAX 8

struct stages {
	struct filter_call call; /* first: the call of a stage is its runner */
	const struct filter_env *env;
	struct session *s;
	void (*view)(const struct session *s, struct filter_view *v);
	void (*then)(struct session *s, const struct filter_reply *r);
	void *filters[STAGES_FILTERS_MAX]; /* each filter's state, NULL: not attached */
};

/* view fills what the filters see of s. */
void stages_init(struct stages *st, const struct filter_env *env, struct session *s,
                 void (*view)(const struct session *s, struct filter_view *v));
void stages_attach(struct stages *st);
/* Tells every attached filter stage, one after another; then(s, reply)
 * runs once all have gone on or one refused (reply->code != 0), at once
 * when nobody waits.  then may be NULL.  One stage at a time: the
 * session's input waits while one is in progress. */
void stages_run(struct stages *st, enum filter_stage stage,
                void (*then)(struct session *s, const struct filter_reply *r));
int stages_busy(const struct stages *st);
void stages_body(struct stages *st, const void *p, size_t n);
/* The verdict of every filter for stage, merged. */
void stages_verdict(struct stages *st, enum filter_stage stage, struct verdict *v);
void stages_decided(struct stages *st, enum policy_action a, int exempt);
/* The fields the filters put on top of the message (our signatures), one
 * Authentication-Results field with every filter's results and the
 * verdict v (none when no filter checked anything), and the fields that
 * go after it. */
int stages_fields_top(struct stages *st, struct buf *out);
int stages_authres(struct stages *st, const struct verdict *v, struct buf *out);
int stages_fields_bottom(struct stages *st, struct buf *out);
/* The fields made at FS_SEAL, which go on top of all the others. */
int stages_fields_seal(struct stages *st, struct buf *out);
void stages_log(struct stages *st, const char *queue_id);
void stages_detach(struct stages *st);

#endif
