/* iprev (see iprev.h): one PTR lookup, then the forward lookups of its
 * names in parallel; the first name whose addresses hold the client's
 * passes and cancels the rest. */
#include "policy/iprev.h"

#include "core/xmalloc.h"
#include "dns/dns.h"
#include "core/ipaddr.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define IPREV_TEXT_MAX 512
#define IPREV_REVERSE_MAX 80 /* 32 nibbles with dots and "ip6.arpa" */

struct iprev_fwd {
	struct iprev_check *c;
	struct dns_query *q; /* NULL once answered */
	size_t name;         /* index into c->ptr */
};

struct iprev_check {
	struct dns_resolver *r;
	char *ip;
	struct ipaddr client;
	iprev_done_fn done;
	void *arg;
	struct dns_query *ptrq; /* NULL once answered */
	char **ptr;
	size_t nptr;
	struct iprev_fwd fwd[IPREV_NAMES_MAX];
	size_t nfwd, pending, tempfail, badname;
};

const char *iprev_code_name(enum iprev_code code)
{
	switch (code) {
	case IPREV_PASS:
		return "pass";
	case IPREV_FAIL:
		return "fail";
	case IPREV_TEMPERROR:
		return "temperror";
	case IPREV_PERMERROR:
		return "permerror";
	}
	return "unknown";
}

static void cancel_pending(struct iprev_check *c)
{
	if (c->ptrq != NULL)
		dns_cancel(c->ptrq);
	c->ptrq = NULL;
	for (size_t i = 0; i < c->nfwd; i++) {
		if (c->fwd[i].q != NULL)
			dns_cancel(c->fwd[i].q);
		c->fwd[i].q = NULL;
	}
}

static void check_free(struct iprev_check *c)
{
	for (size_t i = 0; i < c->nptr; i++)
		free(c->ptr[i]);
	free(c->ptr);
	free(c->ip);
	free(c);
}

/* Appends to the log text, silently truncating at its end. */
static void text_add(char *text, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= IPREV_TEXT_MAX - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(text + *o, IPREV_TEXT_MAX - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o = *o + (size_t)n < IPREV_TEXT_MAX ? *o + (size_t)n : IPREV_TEXT_MAX - 1;
}

/* PTR names come from whoever runs the reverse zone: anything but
 * printable ASCII is shown as '?' so that the log line keeps its shape. */
static void text_add_name(char *text, size_t *o, const char *name)
{
	for (; *name != '\0' && *o < IPREV_TEXT_MAX - 1; name++)
		text[(*o)++] = *name > ' ' && *name < 0x7f ? *name : '?';
	text[*o] = '\0';
}

static void finish(struct iprev_check *c, enum iprev_code code, const char *name,
                   const char *reason)
{
	char text[IPREV_TEXT_MAX];
	struct iprev_result res;
	size_t o = 0;

	cancel_pending(c);
	text[0] = '\0';
	text_add(text, &o, "iprev=%s ip=%s", iprev_code_name(code), c->ip);
	if (name != NULL) {
		text_add(text, &o, " name=");
		text_add_name(text, &o, name);
	}
	if (reason != NULL)
		text_add(text, &o, " reason=%s", reason);
	for (size_t i = 0; i < c->nptr; i++) {
		text_add(text, &o, i == 0 ? " ptr=" : ",");
		text_add_name(text, &o, c->ptr[i]);
	}
	memset(&res, 0, sizeof(res));
	res.code = code;
	res.ip = c->ip;
	res.name = name;
	res.ptr = (const char *const *)c->ptr;
	res.nptr = c->nptr;
	res.text = text;
	c->done(c->arg, &res);
	check_free(c);
}

static void fwd_done(void *arg, const struct dns_answer *ans)
{
	struct iprev_fwd *f = arg;
	struct iprev_check *c = f->c;

	f->q = NULL;
	c->pending--;
	if (dns_answer_has_address(ans, &c->client)) {
		finish(c, IPREV_PASS, c->ptr[f->name], NULL);
		return;
	}
	if (ans->status == DNS_TEMPFAIL) {
		c->tempfail++;
	} else if (ans->status == DNS_BADNAME) {
		c->badname++;
	}
	if (c->pending > 0)
		return;
	/* RFC 8601 2.7.3: a name we could not resolve might have passed, so
	 * a temporary failure outweighs the names that did not match. */
	if (c->tempfail > 0)
		finish(c, IPREV_TEMPERROR, NULL, "forward-tempfail");
	else if (c->badname == c->nfwd)
		finish(c, IPREV_PERMERROR, NULL, "bad-ptr-names");
	else
		finish(c, IPREV_FAIL, NULL, "no-match");
}

static void ptr_done(void *arg, const struct dns_answer *ans)
{
	struct iprev_check *c = arg;
	enum dns_type type = c->client.family == AF_INET ? DNS_T_A : DNS_T_AAAA;

	c->ptrq = NULL;
	if (ans->status == DNS_TEMPFAIL) {
		finish(c, IPREV_TEMPERROR, NULL, "ptr-tempfail");
		return;
	}
	/* RFC 8601 2.7.3 names NXDOMAIN and an empty NOERROR answer to the
	 * PTR query as permerror: no PTR data are published. */
	if (ans->status != DNS_OK || ans->nrr == 0) {
		finish(c, IPREV_PERMERROR, NULL, "no-ptr");
		return;
	}
	c->ptr = xcalloc(ans->nrr, sizeof(*c->ptr));
	for (size_t i = 0; i < ans->nrr; i++)
		c->ptr[c->nptr++] = xstrdup(ans->rrs[i].u.name);
	c->nfwd = c->nptr < IPREV_NAMES_MAX ? c->nptr : IPREV_NAMES_MAX;
	c->pending = c->nfwd;
	/* dns_lookup never answers from inside the call, so every handle is
	 * set before any callback can run.  Only the client's own family can
	 * confirm its address. */
	for (size_t i = 0; i < c->nfwd; i++) {
		c->fwd[i].c = c;
		c->fwd[i].name = i;
		c->fwd[i].q = dns_lookup(c->r, c->ptr[i], type, fwd_done, &c->fwd[i]);
	}
}

struct iprev_check *iprev_start(struct dns_resolver *r, const char *ip, iprev_done_fn done,
                                void *arg)
{
	char folded[INET6_ADDRSTRLEN], rev[IPREV_REVERSE_MAX];
	struct iprev_check *c = xcalloc(1, sizeof(*c));

	/* The reverse name comes from the folded address: an IPv4 client on
	 * a dual-stack socket is published under in-addr.arpa. */
	if (ipaddr_parse(ip, &c->client) != 0 ||
	    inet_ntop(c->client.family, c->client.b, folded, sizeof(folded)) == NULL ||
	    dns_reverse_name(folded, rev, sizeof(rev)) != 0) {
		free(c);
		return NULL;
	}
	c->r = r;
	c->ip = xstrdup(ip);
	c->done = done;
	c->arg = arg;
	c->ptrq = dns_lookup(r, rev, DNS_T_PTR, ptr_done, c);
	return c;
}

void iprev_cancel(struct iprev_check *c)
{
	cancel_pending(c);
	check_free(c);
}
