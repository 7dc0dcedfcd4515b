/* The account checks of authenticated submission as a filter: at MAIL, an
 * authenticated user may send only as an address it owns (its own, or one
 * added with `postern user sender`).  The lookup runs on the worker's
 * pool (SQLite). */
#include "core/pool.h"
#include "core/xmalloc.h"
#include "server/filter.h"
#include "server/txn.h"
#include "store/accounts.h"

#include <stdio.h>
#include <stdlib.h>

struct f_accounts;

/* A lookup on the pool cannot be stopped; a filter detached meanwhile
 * leaves it orphaned (f NULL) and the completion frees it. */
struct account_job {
	struct f_accounts *f;
	struct accounts *accounts;
	char user[256];
	char addr[ADDR_PATH_MAX + 1];
	enum accounts_status result;
};

struct f_accounts {
	const struct filter_env *env;
	struct account_job *job;
	struct filter_call *call;
};

static void *accounts_attach(const struct filter_env *env, const struct filter_view *v)
{
	struct f_accounts *f = xcalloc(1, sizeof(*f));
	f->env = env;
	return f;
}

static void owner_work(void *arg)
{
	struct account_job *j = arg;
	j->result = accounts_sender_allowed(j->accounts, j->user, j->addr);
}

static void owner_done(void *arg)
{
	struct account_job *j = arg;
	struct f_accounts *f = j->f;

	if (f == NULL) {
		free(j);
		return;
	}
	f->job = NULL;
	struct filter_reply *r = filter_call_reply(f->call);
	if (j->result == ACCOUNTS_NOT_FOUND || j->result == ACCOUNTS_INVALID)
		filter_refuse(r, 553, "5.7.1",
		              "<%s>: Sender address rejected: not owned by user %s", j->addr,
		              j->user);
	else if (j->result != ACCOUNTS_OK)
		filter_refuse(r, 451, "4.3.0", "<%s>: Temporary lookup failure", j->addr);
	free(j);
	filter_call_done(f->call);
}

static enum filter_status accounts_stage(void *st, enum filter_stage stage,
                                         const struct filter_view *v, struct filter_call *call)
{
	struct f_accounts *f = st;

	if (stage != FS_MAIL || !v->auth_user[0])
		return FILTER_GO;
	struct account_job *j = xcalloc(1, sizeof(*j));
	j->f = f;
	j->accounts = f->env->accounts;
	snprintf(j->user, sizeof(j->user), "%s", v->auth_user);
	snprintf(j->addr, sizeof(j->addr), "%s", v->txn->mail_from);
	f->job = j;
	f->call = call;
	pool_submit(f->env->pool, owner_work, owner_done, j);
	return FILTER_WAIT;
}

static void accounts_detach(void *st)
{
	struct f_accounts *f = st;
	if (f->job)
		f->job->f = NULL;
	free(f);
}

const struct filter_ops filter_accounts = {
    .name = "accounts",
    .attach = accounts_attach,
    .stage = accounts_stage,
    .detach = accounts_detach,
};
