/* The zone-file DNS backend: answers from a file, for the conformance
 * suites and tests, always from the event loop like a real resolver. */
#include "dns/answer.h"
#include "dns/backend.h"

#include "core/log.h"
#include "core/xmalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define ZONE_FILE_MAX (16u * 1024 * 1024)
#define ZONE_TXT_MAX 65535 /* one RR's rdata cannot be longer */
#define ZONE_CNAME_HOPS 8  /* longer chains are treated as loops: SERVFAIL */
#define ZONE_TTL 300

struct zone_item {
	int timeout; /* the TIMEOUT marker, not a record */
	struct dns_rr rr;
};

struct zone_owner {
	char *name; /* lower case, no trailing dot */
	struct zone_item *items;
	size_t nitems;
};

struct zone_query;

struct zone_resolver {
	struct dns_resolver base;
	struct event_base *evbase;
	struct zone_owner *owners;
	size_t nowners;
	struct zone_query *live; /* not yet answered, freed with the resolver */
};

struct zone_query {
	struct dns_query base;
	struct zone_resolver *z;
	struct event *ev;
	char *name;
	enum dns_type type;
	dns_done_fn done;
	void *arg;
	struct zone_query *prev, *next;
};

/* ---- answering ---- */

static struct zone_owner *find_owner(struct zone_resolver *z, const char *name)
{
	for (size_t i = 0; i < z->nowners; i++)
		if (strcmp(z->owners[i].name, name) == 0)
			return &z->owners[i];
	return NULL;
}

/* The query name as owners are stored: lower case, no final dot. */
static void normalize(const char *in, char *out, size_t outsize)
{
	size_t n = 0;

	for (; in[n] != '\0' && n + 1 < outsize; n++)
		out[n] = (char)tolower((unsigned char)in[n]);
	if (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
}

/* Resolves like a recursive server: follows CNAMEs, and a TIMEOUT marker
 * reached before any record of the asked type makes the query time out. */
static void answer(struct zone_query *q)
{
	struct dns_answer ans;
	char name[256];
	struct dns_rr *rrs = NULL;

	memset(&ans, 0, sizeof(ans));
	ans.qname = q->name;
	ans.qtype = q->type;
	ans.canonical = q->name;
	/* Unlike the network backend, a zone answers names with any octets
	 * (the SPF suite asks for names with spaces: macro-mania-in-domain);
	 * only lengths make a name bad here. */
	if (!dns_name_lengths_valid(q->name)) {
		ans.status = DNS_BADNAME;
		q->done(q->arg, &ans);
		return;
	}
	normalize(q->name, name, sizeof(name));
	ans.status = DNS_TEMPFAIL; /* a CNAME chain too long to be anything but a loop */
	for (int hop = 0; hop <= ZONE_CNAME_HOPS; hop++) {
		struct zone_owner *o = find_owner(q->z, name);
		const char *next = NULL;
		size_t n = 0;

		if (o == NULL) {
			ans.status = DNS_NXDOMAIN;
			break;
		}
		int timed_out = 0;
		rrs = xcalloc(o->nitems + 1, sizeof(*rrs));
		for (size_t i = 0; i < o->nitems && next == NULL; i++) {
			const struct zone_item *it = &o->items[i];
			if (it->timeout) {
				timed_out = n == 0;
				break;
			}
			if (it->rr.type == q->type)
				rrs[n++] = it->rr;
			else if (it->rr.type == DNS_T_CNAME && n == 0)
				next = it->rr.u.name;
		}
		if (next != NULL) {
			free(rrs);
			rrs = NULL;
			normalize(next, name, sizeof(name));
			continue;
		}
		ans.status = n > 0 ? DNS_OK : timed_out ? DNS_TEMPFAIL : DNS_NODATA;
		ans.canonical = o->name;
		ans.rrs = rrs;
		ans.nrr = n;
		break;
	}
	q->done(q->arg, &ans);
	free(rrs);
}

static void unlink_query(struct zone_query *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		q->z->live = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
}

static void free_query(struct zone_query *q)
{
	unlink_query(q);
	event_free(q->ev);
	free(q->name);
	free(q);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct zone_query *q = arg;

	/* Unlinked before the callback, which may free the resolver. */
	unlink_query(q);
	q->prev = q->next = NULL;
	event_free(q->ev);
	answer(q);
	free(q->name);
	free(q);
}

static struct dns_query *zone_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
                                     dns_done_fn done, void *arg)
{
	struct zone_resolver *z = (struct zone_resolver *)r;
	struct zone_query *q = xcalloc(1, sizeof(*q));

	q->base.resolver = r;
	q->z = z;
	q->name = xstrdup(name);
	q->type = type;
	q->done = done;
	q->arg = arg;
	q->ev = event_new(z->evbase, -1, 0, on_ready, q);
	if (q->ev == NULL)
		fatal("zone: event_new failed");
	q->next = z->live;
	if (z->live != NULL)
		z->live->prev = q;
	z->live = q;
	/* dns.h: answers come from the event loop, never from dns_lookup. */
	event_active(q->ev, 0, 0);
	return &q->base;
}

static void zone_cancel(struct dns_query *dq)
{
	free_query((struct zone_query *)dq);
}

static void zone_free(struct dns_resolver *r)
{
	struct zone_resolver *z = (struct zone_resolver *)r;

	while (z->live != NULL)
		free_query(z->live);
	for (size_t i = 0; i < z->nowners; i++) {
		for (size_t k = 0; k < z->owners[i].nitems; k++)
			if (!z->owners[i].items[k].timeout)
				dns_rr_free(&z->owners[i].items[k].rr);
		free(z->owners[i].items);
		free(z->owners[i].name);
	}
	free(z->owners);
	free(z);
}

static const struct dns_resolver_ops zone_ops = {
    .lookup = zone_lookup,
    .cancel = zone_cancel,
    .free = zone_free,
};

/* ---- loading ---- */

struct lexer {
	const char *p, *end; /* the rest of the current line */
};

static void skip_space(struct lexer *lx)
{
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
		lx->p++;
	if (lx->p < lx->end && *lx->p == '#')
		lx->p = lx->end;
}

/* One backslash escape at lx->p (after the backslash): \DDD or \X. */
static int take_escape(struct lexer *lx, unsigned char *out)
{
	if (lx->p >= lx->end)
		return -1;
	if (isdigit((unsigned char)lx->p[0])) {
		unsigned v = 0;
		for (int k = 0; k < 3; k++) {
			if (lx->p >= lx->end || !isdigit((unsigned char)*lx->p))
				return -1;
			v = v * 10 + (unsigned)(*lx->p++ - '0');
		}
		if (v > 255)
			return -1;
		*out = (unsigned char)v;
		return 0;
	}
	*out = (unsigned char)*lx->p++;
	return 0;
}

/* A bare word, with the master-file escapes of RFC 1035 5.1 (\DDD, \X) so
 * that names holding spaces can be written. */
static int take_word(struct lexer *lx, char *out, size_t outsize)
{
	size_t n = 0;

	skip_space(lx);
	while (lx->p < lx->end && *lx->p != ' ' && *lx->p != '\t') {
		unsigned char c = (unsigned char)*lx->p++;
		if (c == '\\' && take_escape(lx, &c) < 0)
			return -1;
		if (n + 1 >= outsize)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* A name: the word without its final dot ("." alone is the empty name). */
static char *take_name(struct lexer *lx)
{
	char word[1024];
	size_t n;

	if (take_word(lx, word, sizeof(word)) < 0)
		return NULL;
	n = strlen(word);
	if (word[n - 1] == '.')
		word[n - 1] = '\0';
	return xstrdup(word);
}

static int take_uint(struct lexer *lx, unsigned max, unsigned *out)
{
	char word[16], *end;
	unsigned long v;

	if (take_word(lx, word, sizeof(word)) < 0 || !isdigit((unsigned char)word[0]))
		return -1;
	errno = 0;
	v = strtoul(word, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* One or more "quoted" character-strings, joined (RFC 7208 3.3). */
static int take_txt(struct lexer *lx, struct dns_rr *rr)
{
	unsigned char *data = xmalloc(ZONE_TXT_MAX + 1);
	size_t n = 0;
	int strings = 0;

	for (;;) {
		skip_space(lx);
		if (lx->p >= lx->end)
			break;
		if (*lx->p != '"')
			goto bad;
		lx->p++;
		for (;;) {
			unsigned char c;
			if (lx->p >= lx->end)
				goto bad;
			c = (unsigned char)*lx->p++;
			if (c == '"')
				break;
			if (c == '\\' && take_escape(lx, &c) < 0)
				goto bad;
			if (n >= ZONE_TXT_MAX)
				goto bad;
			data[n++] = c;
		}
		strings++;
	}
	if (strings == 0)
		goto bad;
	data[n] = '\0';
	rr->u.txt.data = (char *)data;
	rr->u.txt.len = n;
	return 0;
bad:
	free(data);
	return -1;
}

static const struct {
	const char *name;
	enum dns_type type;
} type_names[] = {
    {"A", DNS_T_A},   {"AAAA", DNS_T_AAAA}, {"PTR", DNS_T_PTR}, {"CNAME", DNS_T_CNAME},
    {"MX", DNS_T_MX}, {"TXT", DNS_T_TXT},   {"SPF", DNS_T_SPF}, {"SRV", DNS_T_SRV},
};

static int take_rdata(struct lexer *lx, struct dns_rr *rr)
{
	char word[64];
	unsigned a, b, c;

	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		rr->u.ip.family = rr->type == DNS_T_A ? AF_INET : AF_INET6;
		if (take_word(lx, word, sizeof(word)) < 0 ||
		    inet_pton(rr->u.ip.family, word, rr->u.ip.addr) != 1)
			return -1;
		return 0;
	case DNS_T_PTR:
	case DNS_T_CNAME:
		return (rr->u.name = take_name(lx)) != NULL ? 0 : -1;
	case DNS_T_MX:
		if (take_uint(lx, 65535, &a) < 0)
			return -1;
		rr->u.mx.pref = a;
		return (rr->u.mx.exchange = take_name(lx)) != NULL ? 0 : -1;
	case DNS_T_SRV:
		if (take_uint(lx, 65535, &a) < 0 || take_uint(lx, 65535, &b) < 0 ||
		    take_uint(lx, 65535, &c) < 0)
			return -1;
		rr->u.srv.prio = a;
		rr->u.srv.weight = b;
		rr->u.srv.port = c;
		return (rr->u.srv.target = take_name(lx)) != NULL ? 0 : -1;
	default:
		return take_txt(lx, rr);
	}
}

static struct zone_owner *owner_for(struct zone_resolver *z, const char *name)
{
	struct zone_owner *o = find_owner(z, name);

	if (o != NULL)
		return o;
	z->owners = xrealloc(z->owners, (z->nowners + 1) * sizeof(*z->owners));
	o = &z->owners[z->nowners++];
	memset(o, 0, sizeof(*o));
	o->name = xstrdup(name);
	return o;
}

/* One line: "name TYPE data" or "name TIMEOUT".  Returns 0, or -1 with a
 * message in err. */
static int load_line(struct zone_resolver *z, struct lexer *lx, char *err, size_t errsize)
{
	char owner[1024], type[16];
	struct zone_item item;
	size_t k;

	skip_space(lx);
	if (lx->p >= lx->end)
		return 0;
	if (take_word(lx, owner, sizeof(owner)) < 0 || take_word(lx, type, sizeof(type)) < 0) {
		snprintf(err, errsize, "expected \"name TYPE data\"");
		return -1;
	}
	normalize(owner, owner, sizeof(owner));
	memset(&item, 0, sizeof(item));
	if (strcasecmp(type, "TIMEOUT") == 0) {
		item.timeout = 1;
	} else {
		for (k = 0; k < sizeof(type_names) / sizeof(type_names[0]); k++)
			if (strcasecmp(type, type_names[k].name) == 0)
				break;
		if (k == sizeof(type_names) / sizeof(type_names[0])) {
			snprintf(err, errsize, "unknown type %s", type);
			return -1;
		}
		item.rr.type = type_names[k].type;
		item.rr.ttl = ZONE_TTL;
		if (take_rdata(lx, &item.rr) < 0) {
			dns_rr_free(&item.rr);
			snprintf(err, errsize, "bad %s data", type);
			return -1;
		}
	}
	skip_space(lx);
	if (lx->p < lx->end) {
		if (!item.timeout)
			dns_rr_free(&item.rr);
		snprintf(err, errsize, "trailing text");
		return -1;
	}
	struct zone_owner *o = owner_for(z, owner);
	o->items = xrealloc(o->items, (o->nitems + 1) * sizeof(*o->items));
	o->items[o->nitems++] = item;
	return 0;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errsize)
{
	FILE *f = fopen(path, "rb");
	char *data;

	if (f == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return NULL;
	}
	data = xmalloc(ZONE_FILE_MAX + 1);
	*len = fread(data, 1, ZONE_FILE_MAX + 1, f);
	if (ferror(f) || *len > ZONE_FILE_MAX) {
		snprintf(err, errsize, "%s: %s", path,
		         ferror(f) ? strerror(errno) : "larger than 16 MiB");
		fclose(f);
		free(data);
		return NULL;
	}
	fclose(f);
	data[*len] = '\0';
	return data;
}

struct dns_resolver *dns_resolver_zone(struct event_base *base, const char *path, char *err,
                                       size_t errsize)
{
	struct zone_resolver *z;
	size_t len, lineno = 0;
	char *data = read_file(path, &len, err, errsize);
	const char *p;

	if (data == NULL)
		return NULL;
	z = xcalloc(1, sizeof(*z));
	z->base.ops = &zone_ops;
	z->evbase = base;
	for (p = data; p < data + len;) {
		const char *nl = memchr(p, '\n', (size_t)(data + len - p));
		struct lexer lx = {p, nl != NULL ? nl : data + len};
		char msg[128];

		lineno++;
		if (lx.end > lx.p && lx.end[-1] == '\r')
			lx.end--;
		if (load_line(z, &lx, msg, sizeof(msg)) < 0) {
			snprintf(err, errsize, "%s:%zu: %s", path, lineno, msg);
			zone_free(&z->base);
			free(data);
			return NULL;
		}
		p = nl != NULL ? nl + 1 : data + len;
	}
	free(data);
	return &z->base;
}
