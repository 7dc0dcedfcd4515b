/* Transactions: made at MAIL, freed whole at their end. */
#include "server/txn.h"
#include "core/xmalloc.h"
#include "queue/spool.h"

#include <stdlib.h>

struct txn *txn_new(void)
{
	struct txn *t = xcalloc(1, sizeof(*t));
	msghead_init(&t->head, TXN_HEADER_MAX);
	return t;
}

void txn_add_rcpt(struct txn *t, const char *addr, const char *orcpt, int exempt,
                  const struct rcpt_params *dsn, int forwarded)
{
	struct spool_rcpt *r;

	t->rcpts = xrealloc(t->rcpts, (t->nrcpt + 1) * sizeof(*t->rcpts));
	r = &t->rcpts[t->nrcpt++];
	r->addr = xstrdup(addr);
	r->orcpt = xstrdup(orcpt);
	r->notify = dsn->notify;
	r->dsn_orcpt = dsn->orcpt[0] ? xstrdup(dsn->orcpt) : NULL;
	r->forwarded = forwarded;
	if (exempt)
		t->nrcpt_exempt++;
}

void txn_free(struct txn *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrcpt; i++) {
		free(t->rcpts[i].addr);
		free(t->rcpts[i].orcpt);
		free(t->rcpts[i].dsn_orcpt);
	}
	free(t->rcpts);
	if (t->body)
		spool_body_discard(t->body);
	msghead_free(&t->head);
	buf_free(&t->fields);
	free(t->authres);
	free(t);
}
