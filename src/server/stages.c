/* The filter runner: the table of filters and what is done with all of
 * them at once. */
#include "server/stages.h"
#include "core/log.h"
#include "policy/authres.h"

#include <string.h>

const struct filter_ops *const filter_table[] = {&filter_accounts, &filter_sender, &filter_msgauth};
const size_t filter_count = sizeof(filter_table) / sizeof(filter_table[0]);

_Static_assert(sizeof(filter_table) / sizeof(filter_table[0]) <= STAGES_FILTERS_MAX,
               "more filters than a session has room for");

/* The owner's view, with what the filters publish for each other. */
static void stages_view(const struct stages *st, struct filter_view *v)
{
	st->view(st->s, v);
	v->spf_result = v->spf_domain = v->spf_scope = "";
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i] && filter_table[i]->publish)
			filter_table[i]->publish(st->filters[i], v);
}

/* Tells the filters from call->next on; stops at one that waits.  The
 * session does not change while a stage waits (its input waits too), so
 * one view serves the whole run. */
static void stages_continue(struct filter_call *call)
{
	struct stages *st = (struct stages *)call;
	struct filter_view v;

	stages_view(st, &v);
	while (call->next < filter_count && call->reply.code == 0) {
		size_t i = call->next++;
		if (st->filters[i] == NULL || filter_table[i]->stage == NULL)
			continue;
		if (filter_table[i]->stage(st->filters[i], call->stage, &v, call) == FILTER_WAIT)
			return;
	}
	call->busy = 0;
	if (st->then)
		st->then(st->s, &call->reply);
}

void stages_init(struct stages *st, const struct filter_env *env, struct session *s,
                 void (*view)(const struct session *s, struct filter_view *v))
{
	memset(st, 0, sizeof(*st));
	st->call.resume = stages_continue;
	st->env = env;
	st->s = s;
	st->view = view;
}

void stages_attach(struct stages *st)
{
	struct filter_view v;

	stages_view(st, &v);
	for (size_t i = 0; i < filter_count; i++)
		st->filters[i] = filter_table[i]->attach(st->env, &v);
}

void stages_run(struct stages *st, enum filter_stage stage,
                void (*then)(struct session *s, const struct filter_reply *r))
{
	struct filter_call *call = &st->call;

	if (call->busy)
		panic("stages: stage %d while stage %d waits", stage, call->stage);
	call->stage = stage;
	call->next = 0;
	call->busy = 1;
	memset(&call->reply, 0, sizeof(call->reply));
	st->then = then;
	stages_continue(call);
}

int stages_busy(const struct stages *st)
{
	return st->call.busy;
}

void stages_body(struct stages *st, const void *p, size_t n)
{
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i] && filter_table[i]->body)
			filter_table[i]->body(st->filters[i], p, n);
}

void stages_verdict(struct stages *st, enum filter_stage stage, struct verdict *v)
{
	verdict_init(v);
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i] && filter_table[i]->verdict)
			filter_table[i]->verdict(st->filters[i], stage, v);
}

void stages_decided(struct stages *st, enum policy_action a, int exempt)
{
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i] && filter_table[i]->decided)
			filter_table[i]->decided(st->filters[i], a, exempt);
}

int stages_fields_top(struct stages *st, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i] && filter_table[i]->fields_top)
			rc |= filter_table[i]->fields_top(st->filters[i], out);
	return rc;
}

/* RFC 8601: one field, closed by the x-postern method with the verdict
 * and the score. */
int stages_authres(struct stages *st, const struct verdict *v, struct buf *out)
{
	const struct config *cfg = st->env->cfg;
	struct filter_view view;
	struct buf entries, props;
	int rc = 0;

	stages_view(st, &view);
	buf_init(&entries, 128 * 1024);
	buf_init(&props, 4096);
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i] && filter_table[i]->authres)
			rc |= filter_table[i]->authres(st->filters[i], &view, &entries, &props);
	if (entries.len > 0 || props.len > 0) {
		struct verdict_reply rep;
		enum policy_action act = verdict_decide(v, &cfg->policy, &rep);
		rc |= authres_begin(out, cfg->hostname);
		rc |= buf_append(out, entries.data, entries.len);
		rc |= authres_end(out,
		                  act == PA_ACCEPT && v->tags[0] ? "tag" : policy_action_name(act),
		                  &props, v->score);
	}
	buf_free(&entries);
	buf_free(&props);
	return rc;
}

int stages_fields_bottom(struct stages *st, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i] && filter_table[i]->fields_bottom)
			rc |= filter_table[i]->fields_bottom(st->filters[i], out);
	return rc;
}

int stages_fields_seal(struct stages *st, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i] && filter_table[i]->fields_seal)
			rc |= filter_table[i]->fields_seal(st->filters[i], out);
	return rc;
}

void stages_log(struct stages *st, const char *queue_id)
{
	struct filter_view v;

	stages_view(st, &v);
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i] && filter_table[i]->log)
			filter_table[i]->log(st->filters[i], &v, queue_id);
}

void stages_detach(struct stages *st)
{
	for (size_t i = 0; i < filter_count; i++)
		if (st->filters[i]) {
			filter_table[i]->detach(st->filters[i]);
			st->filters[i] = NULL;
		}
	st->call.busy = 0;
}
