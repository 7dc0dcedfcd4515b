/* The filters of a session: attached at connect, told each stage one
 * after another (a filter that waits holds the next ones back), merged
 * into one verdict, one Authentication-Results field and the header
 * fields we add, and detached at the end. */
#include "core/log.h"
#include "policy/authres.h"
#include "server/listener.h"
#include "server/session.h"
#include "server/trace.h"
#include "server/txn.h"
#include "server/worker.h"

#include <stdio.h>
#include <string.h>

const struct filter_ops *const filter_table[] = {&filter_accounts, &filter_sender, &filter_msgauth};
const size_t filter_count = sizeof(filter_table) / sizeof(filter_table[0]);

_Static_assert(sizeof(filter_table) / sizeof(filter_table[0]) <= SESSION_FILTERS_MAX,
               "more filters than a session has room for");

void session_view(const struct session *s, struct filter_view *v)
{
	*v = (struct filter_view){
	    .sid = s->sid,
	    .ip = s->ip,
	    .rdns = s->rdns,
	    .helo = s->helo,
	    .tls = s->tls,
	    .auth_user = s->auth_user,
	    .submission = s->listener->conf->role != ROLE_MX,
	    .txn = s->txn,
	    .rcpt = s->rcpt,
	    .rcpt_mailbox = s->rcpt_mailbox,
	    .rcpt_local = s->rcpt_local,
	    .rcpt_exempt = s->rcpt_exempt,
	    .spf_result = "",
	    .spf_domain = "",
	    .spf_scope = "",
	};
	for (size_t i = 0; i < filter_count; i++)
		if (s->filters[i] && filter_table[i]->publish)
			filter_table[i]->publish(s->filters[i], v);
}

void stages_attach(struct session *s)
{
	struct worker *w = s->worker;
	struct filter_view v;

	session_view(s, &v);
	for (size_t i = 0; i < filter_count; i++)
		s->filters[i] = filter_table[i]->attach(&w->filter_env, &v);
}

/* Tells the filters from call->next on; stops at one that waits. */
static void stages_continue(struct filter_call *call)
{
	struct session *s = call->s;
	struct filter_view v;

	while (call->next < filter_count && call->reply.code == 0) {
		size_t i = call->next++;
		if (s->filters[i] == NULL || filter_table[i]->stage == NULL)
			continue;
		session_view(s, &v);
		if (filter_table[i]->stage(s->filters[i], call->stage, &v, call) == FILTER_WAIT)
			return;
	}
	call->busy = 0;
	if (call->then)
		call->then(s, &call->reply);
}

void stages_run(struct session *s, enum filter_stage stage,
                void (*then)(struct session *s, const struct filter_reply *r))
{
	struct filter_call *call = &s->call;

	/* Stages that do not wait (FS_HEADER, FS_RESET, FS_TLS) may come while
	 * another waits; they are told in place of it only when it has
	 * ended, which the filters guarantee by never waiting there. */
	if (call->busy && stage != FS_HEADER && stage != FS_RESET && stage != FS_TLS)
		log_err("event=bug sid=%s what=\"stage %d while stage %d waits\"", s->sid, stage,
		        call->stage);
	if (call->busy) {
		struct filter_view v;
		session_view(s, &v);
		for (size_t i = 0; i < filter_count; i++)
			if (s->filters[i] && filter_table[i]->stage)
				filter_table[i]->stage(s->filters[i], stage, &v, NULL);
		return;
	}
	call->stage = stage;
	call->next = 0;
	call->busy = 1;
	call->then = then;
	call->resume = stages_continue;
	memset(&call->reply, 0, sizeof(call->reply));
	stages_continue(call);
}

void stages_body(struct session *s, const void *p, size_t n)
{
	for (size_t i = 0; i < filter_count; i++)
		if (s->filters[i] && filter_table[i]->body)
			filter_table[i]->body(s->filters[i], p, n);
}

void stages_verdict(struct session *s, enum filter_stage stage, struct verdict *v)
{
	verdict_init(v);
	for (size_t i = 0; i < filter_count; i++)
		if (s->filters[i] && filter_table[i]->verdict)
			filter_table[i]->verdict(s->filters[i], stage, v);
}

void stages_decided(struct session *s, enum policy_action a, int exempt)
{
	for (size_t i = 0; i < filter_count; i++)
		if (s->filters[i] && filter_table[i]->decided)
			filter_table[i]->decided(s->filters[i], a, exempt);
}

/* One Authentication-Results field (RFC 8601) for every filter's results,
 * closed by the x-postern method with the verdict and the score; none
 * when no filter checked anything. */
static int stages_authres(struct session *s, const struct verdict *v, struct buf *out)
{
	const struct config *cfg = s->worker->cfg;
	struct filter_view view;
	struct buf entries, props;
	int rc = 0;

	session_view(s, &view);
	buf_init(&entries, 128 * 1024);
	buf_init(&props, 4096);
	for (size_t i = 0; i < filter_count; i++)
		if (s->filters[i] && filter_table[i]->authres)
			rc |= filter_table[i]->authres(s->filters[i], &view, &entries, &props);
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

int stages_fields(struct session *s, const struct verdict *v, struct buf *out)
{
	int rc = 0;

	for (size_t i = 0; i < filter_count; i++)
		if (s->filters[i] && filter_table[i]->fields_top)
			rc |= filter_table[i]->fields_top(s->filters[i], out);
	rc |= trace_received(s, out);
	rc |= stages_authres(s, v, out);
	for (size_t i = 0; i < filter_count; i++)
		if (s->filters[i] && filter_table[i]->fields_bottom)
			rc |= filter_table[i]->fields_bottom(s->filters[i], out);
	return rc;
}

void stages_log(struct session *s)
{
	struct filter_view v;

	session_view(s, &v);
	for (size_t i = 0; i < filter_count; i++)
		if (s->filters[i] && filter_table[i]->log)
			filter_table[i]->log(s->filters[i], &v, s->txn ? s->txn->queue_id : "");
}

void stages_detach(struct session *s)
{
	for (size_t i = 0; i < filter_count; i++)
		if (s->filters[i]) {
			filter_table[i]->detach(s->filters[i]);
			s->filters[i] = NULL;
		}
	s->call.busy = 0;
}
