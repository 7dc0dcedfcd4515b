/* The CSA check over dns.h (draft-ietf-marid-csv-csa-02): the SRV record
 * at the HELO name, the target's addresses, and when the name has no
 * record, the parent domains' requirement (see csa.h). */
#include "policy/csa.h"

#include "core/xmalloc.h"
#include "dns/dns.h"
#include "policy/helo.h"
#include "core/ipaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* "_client._smtp." + a name of up to 253 octets. */
#define PREFIX "_client._smtp."
#define QNAME_MAX (sizeof(PREFIX) + HELO_NAME_MAX)

struct target {
	struct csa_check *check;
	char *name;
	struct dns_query *q; /* NULL once answered */
};

struct csa_check {
	struct dns_resolver *r;
	struct ipaddr client;
	char name[HELO_NAME_MAX + 1]; /* lowercase */
	csa_fn done;
	void *arg;
	struct dns_query *srv_q;                           /* the SRV lookup in flight, or NULL */
	size_t parents[CSA_MAX_PARENTS], nparents, parent; /* the walk up */
	struct target targets[CSA_MAX_TARGETS];
	size_t ntargets, pending;
	int target_addr, target_tempfail;
};

static void release(struct csa_check *c)
{
	if (c->srv_q != NULL)
		dns_cancel(c->srv_q);
	for (size_t i = 0; i < c->ntargets; i++) {
		if (c->targets[i].q != NULL)
			dns_cancel(c->targets[i].q);
		free(c->targets[i].name);
	}
	free(c);
}

static void finish(struct csa_check *c, enum csa_result res, enum csa_reason why)
{
	csa_fn done = c->done;
	void *arg = c->arg;

	release(c);
	done(arg, res, why);
}

static void srv_lookup(struct csa_check *c, const char *domain, dns_done_fn fn)
{
	char qname[QNAME_MAX];

	snprintf(qname, sizeof(qname), PREFIX "%s", domain);
	c->srv_q = dns_lookup(c->r, qname, DNS_T_SRV, fn, c);
}

/* One target's addresses.  Only the client's family is asked: an address
 * of the other family could never equal the client's. */
static void target_done(void *arg, const struct dns_answer *ans)
{
	struct target *t = arg;
	struct csa_check *c = t->check;

	t->q = NULL;
	c->pending--;
	if (dns_answer_has_address(ans, &c->client)) {
		finish(c, CSA_AUTHORIZED, CSA_R_ADDRESS_MATCH);
		return;
	}
	if (ans->status == DNS_OK) {
		c->target_addr = 1;
	} else if (ans->status == DNS_TEMPFAIL) {
		c->target_tempfail = 1;
	}
	if (c->pending > 0)
		return;
	/* A target we could not ask might have held the client's address. */
	if (c->target_tempfail)
		finish(c, CSA_TEMPERROR, CSA_R_ADDR_TEMPFAIL);
	else if (c->target_addr)
		finish(c, CSA_UNAUTHORIZED, CSA_R_ADDRESS_MISMATCH);
	else
		finish(c, CSA_UNAUTHORIZED, CSA_R_NO_TARGET_ADDRESS);
}

static void parent_done(void *arg, const struct dns_answer *ans);

/* Asks the next parent, or ends the walk with no record found. */
static void walk_next(struct csa_check *c)
{
	if (c->parent == c->nparents) {
		finish(c, CSA_NONE, CSA_R_NO_RECORD);
		return;
	}
	srv_lookup(c, c->name + c->parents[c->parent++], parent_done);
}

static void parent_done(void *arg, const struct dns_answer *ans)
{
	struct csa_check *c = arg;

	c->srv_q = NULL;
	if (ans->status == DNS_TEMPFAIL) {
		finish(c, CSA_TEMPERROR, CSA_R_SRV_TEMPFAIL);
		return;
	}
	if (ans->status == DNS_OK && csa_read_parent(ans->rrs, ans->nrr)) {
		finish(c, CSA_UNAUTHORIZED, CSA_R_PARENT_REQUIRES);
		return;
	}
	walk_next(c);
}

static void own_done(void *arg, const struct dns_answer *ans)
{
	struct csa_check *c = arg;
	const char *names[CSA_MAX_TARGETS];
	size_t n;

	c->srv_q = NULL;
	switch (ans->status) {
	case DNS_TEMPFAIL:
		finish(c, CSA_TEMPERROR, CSA_R_SRV_TEMPFAIL);
		return;
	case DNS_BADNAME:
		finish(c, CSA_NONE, CSA_R_NO_RECORD);
		return;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		/* No record of its own: a parent may still say that every
		 * legitimate client below it has one (the Port field). */
		c->nparents = csa_parents(c->name, c->parents, CSA_MAX_PARENTS);
		walk_next(c);
		return;
	case DNS_OK:
		break;
	}
	switch (csa_read_own(ans->rrs, ans->nrr, names, &n)) {
	case CSA_A_NONE:
		finish(c, CSA_NONE, CSA_R_NO_RECORD);
		return;
	case CSA_A_UNKNOWN:
		finish(c, CSA_UNKNOWN, CSA_R_NOT_ASSERTED);
		return;
	case CSA_A_DENIED:
		finish(c, CSA_UNAUTHORIZED, CSA_R_DENIED);
		return;
	case CSA_A_AUTHORIZED:
		break;
	}
	/* Authorized names are authenticated by address: the client must be
	 * at the target.  A target of "." has none. */
	if (n == 0) {
		finish(c, CSA_UNAUTHORIZED, CSA_R_NO_TARGET_ADDRESS);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		c->targets[i].check = c;
		c->targets[i].name = xstrdup(names[i]);
	}
	c->ntargets = c->pending = n;
	for (size_t i = 0; i < n; i++)
		c->targets[i].q = dns_lookup(c->r, c->targets[i].name,
		                             c->client.family == AF_INET ? DNS_T_A : DNS_T_AAAA,
		                             target_done, &c->targets[i]);
}

struct csa_check *csa_start(struct dns_resolver *r, const char *helo, const char *client_ip,
                            csa_fn done, void *arg)
{
	struct csa_check *c;
	size_t len = helo == NULL ? 0 : strnlen(helo, HELO_NAME_MAX + 1);

	/* CSA names hosts; an address literal has no SRV record to ask. */
	if (len == 0 || len > HELO_NAME_MAX || helo[0] == '[')
		return NULL;
	c = xcalloc(1, sizeof(*c));
	if (ipaddr_parse(client_ip, &c->client) != 0) {
		free(c);
		return NULL;
	}
	for (size_t i = 0; i <= len; i++)
		c->name[i] =
		    (helo[i] >= 'A' && helo[i] <= 'Z') ? (char)(helo[i] - 'A' + 'a') : helo[i];
	c->r = r;
	c->done = done;
	c->arg = arg;
	srv_lookup(c, c->name, own_done);
	return c;
}

void csa_cancel(struct csa_check *c)
{
	release(c);
}
