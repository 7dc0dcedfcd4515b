/* The sender checks as a filter: a thin adapter that starts each stage's
 * checks of policy/sender.c and waits for them at RCPT, where the verdict
 * is given and postmaster and abuse can still be let through. */
#include "core/log.h"
#include "core/xmalloc.h"
#include "policy/sender.h"
#include "server/filter.h"
#include "server/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct f_sender {
	const struct filter_env *env;
	struct sender_check *check; /* NULL once the session is exempt (authenticated) */
	struct filter_call *call;   /* the RCPT waiting for the checks */
};

static void *sender_attach(const struct filter_env *env, const struct filter_view *v)
{
	struct sender_env se = {
	    .cfg = env->cfg, .conf = env->sender, .base = env->base, .dns = env->dns};
	if (sender_exempt(&se, v->ip, 0) != SENDER_CHECKED)
		return NULL;
	struct f_sender *f = xcalloc(1, sizeof(*f));
	f->env = env;
	f->check = sender_check_new(&se, v->ip);
	return f;
}

static void sender_ready(void *arg)
{
	struct f_sender *f = arg;
	struct filter_call *call = f->call;
	f->call = NULL;
	filter_call_done(call);
}

static enum filter_status sender_stage(void *st, enum filter_stage stage,
                                       const struct filter_view *v, struct filter_call *call)
{
	struct f_sender *f = st;

	if (f->check == NULL)
		return FILTER_GO;
	switch (stage) {
	case FS_AUTH:
		/* An authenticated session is no longer checked, unless asked. */
		if (!f->env->cfg->policy.check_submission) {
			sender_check_free(f->check);
			f->check = NULL;
		}
		break;
	case FS_HELO:
		sender_check_helo(f->check, v->helo);
		break;
	case FS_MAIL:
		sender_check_mail(f->check, v->txn->mail_from);
		break;
	case FS_RESET:
		sender_check_reset(f->check);
		break;
	case FS_RCPT:
		/* The verdict needs every result; the session merges it once all
		 * filters have gone on. */
		if (!v->rcpt_exempt && (v->rcpt_local || v->auth_user[0]) &&
		    sender_check_wait(f->check, sender_ready, f)) {
			f->call = call;
			return FILTER_WAIT;
		}
		break;
	default:
		break;
	}
	return FILTER_GO;
}

static void sender_verdict(void *st, enum filter_stage stage, struct verdict *v)
{
	struct f_sender *f = st;
	if (f->check)
		verdict_merge(v, sender_check_verdict(f->check));
}

static void sender_publish(void *st, struct filter_view *v)
{
	struct f_sender *f = st;
	struct sender_spf spf;

	if (f->check == NULL)
		return;
	sender_check_spf(f->check, &spf);
	v->spf_result = spf.result;
	v->spf_domain = spf.domain;
	v->spf_scope = spf.scope;
}

/* RFC 7208 2.4: a pass for the MAIL FROM identity (not the HELO name,
 * which is what SPF checks for the null sender) says that the sender
 * domain's own servers sent the message. */
static int sender_sender_verified(void *st)
{
	struct f_sender *f = st;
	struct sender_spf spf;

	if (f->check == NULL)
		return 0;
	sender_check_spf(f->check, &spf);
	return strcmp(spf.scope, "mfrom") == 0 && strcmp(spf.result, "pass") == 0;
}

static int sender_authres(void *st, const struct filter_view *v, struct buf *entries,
                          struct buf *props)
{
	struct f_sender *f = st;
	return f->check ? sender_check_authres_parts(f->check, entries, props) : 0;
}

static void sender_log(void *st, const struct filter_view *v, const char *queue_id)
{
	struct f_sender *f = st;
	struct buf fields;

	if (f->check == NULL)
		return;
	buf_init(&fields, 4096);
	sender_check_log(f->check, &fields);
	log_info("event=checks sid=%s queue_id=%s ip=%s %s", v->sid, queue_id, v->ip,
	         fields.len ? fields.data : "");
	buf_free(&fields);
}

static void sender_detach(void *st)
{
	struct f_sender *f = st;
	sender_check_free(f->check);
	free(f);
}

const struct filter_ops filter_sender = {
    .name = "sender",
    .attach = sender_attach,
    .stage = sender_stage,
    .verdict = sender_verdict,
    .publish = sender_publish,
    .authres = sender_authres,
    .sender_verified = sender_sender_verified,
    .log = sender_log,
    .detach = sender_detach,
};
