/* Does the HELO name resolve to the client's address?  A and AAAA are
 * asked in parallel; the answer for the client's own family decides
 * between match and no match (see helo.h). */
#include "policy/helo.h"

#include "core/xmalloc.h"
#include "dns/dns.h"
#include "core/ipaddr.h"

#include <stdlib.h>
#include <sys/socket.h>

enum { Q_A, Q_AAAA, Q_COUNT };

struct helo_lookup {
	struct ipaddr client;
	helo_dns_fn done;
	void *arg;
	struct dns_query *q[Q_COUNT]; /* NULL once answered */
	enum dns_status st[Q_COUNT];
	int matched, has_addr;
};

static void cancel_pending(struct helo_lookup *l)
{
	for (int i = 0; i < Q_COUNT; i++)
		if (l->q[i] != NULL)
			dns_cancel(l->q[i]);
}

static void finish(struct helo_lookup *l, enum helo_dns_result res)
{
	cancel_pending(l);
	l->done(l->arg, res);
	free(l);
}

static int absent(enum dns_status st)
{
	return st == DNS_NXDOMAIN || st == DNS_BADNAME;
}

/* Both answers are in and neither matched.  Only the query of the
 * client's family could have matched, so only its failure is a temporary
 * error; a name that does not exist is final whichever query says so. */
static enum helo_dns_result verdict(const struct helo_lookup *l)
{
	int own = l->client.family == AF_INET ? Q_A : Q_AAAA;
	int other = own == Q_A ? Q_AAAA : Q_A;

	if (l->st[own] == DNS_TEMPFAIL)
		return absent(l->st[other]) ? HELO_DNS_NXDOMAIN : HELO_DNS_TEMPERROR;
	if (l->has_addr)
		return HELO_DNS_NO_MATCH;
	if (absent(l->st[own]) || absent(l->st[other]))
		return HELO_DNS_NXDOMAIN;
	/* Our family has no records; the other family's failure hides
	 * whether the name has any address at all. */
	if (l->st[other] == DNS_TEMPFAIL)
		return HELO_DNS_TEMPERROR;
	return HELO_DNS_NO_ADDRESS;
}

static void answered(struct helo_lookup *l, int which, const struct dns_answer *ans)
{
	l->q[which] = NULL;
	l->st[which] = ans->status;
	if (ans->status == DNS_OK && ans->nrr > 0)
		l->has_addr = 1;
	if (dns_answer_has_address(ans, &l->client))
		l->matched = 1;
	if (l->matched) {
		finish(l, HELO_DNS_MATCH);
		return;
	}
	if (l->q[Q_A] == NULL && l->q[Q_AAAA] == NULL)
		finish(l, verdict(l));
}

static void a_done(void *arg, const struct dns_answer *ans)
{
	answered(arg, Q_A, ans);
}

static void aaaa_done(void *arg, const struct dns_answer *ans)
{
	answered(arg, Q_AAAA, ans);
}

struct helo_lookup *helo_dns_start(struct dns_resolver *r, const char *name, const char *client_ip,
                                   helo_dns_fn done, void *arg)
{
	struct helo_lookup *l = xcalloc(1, sizeof(*l));

	if (ipaddr_parse(client_ip, &l->client) != 0) {
		free(l);
		return NULL;
	}
	l->done = done;
	l->arg = arg;
	/* dns_lookup never answers from inside the call, so both handles are
	 * set before either callback can run. */
	l->q[Q_A] = dns_lookup(r, name, DNS_T_A, a_done, l);
	l->q[Q_AAAA] = dns_lookup(r, name, DNS_T_AAAA, aaaa_done, l);
	return l;
}

void helo_dns_cancel(struct helo_lookup *l)
{
	cancel_pending(l);
	free(l);
}

const char *helo_dns_result_name(enum helo_dns_result r)
{
	switch (r) {
	case HELO_DNS_MATCH:
		return "match";
	case HELO_DNS_NO_MATCH:
		return "no_match";
	case HELO_DNS_NO_ADDRESS:
		return "no_address";
	case HELO_DNS_NXDOMAIN:
		return "nxdomain";
	case HELO_DNS_TEMPERROR:
		return "temperror";
	}
	return "unknown";
}
