/* Helpers shared by the policy unit tests that resolve through the zone
 * backend: a temporary zone file and an event loop run until done. */
#ifndef POSTERN_TEST_ZONETEST_H
#define POSTERN_TEST_ZONETEST_H

#include "dns/backend.h"
#include "dns/dns.h"

#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct zonetest {
	struct event_base *base;
	struct dns_resolver *r;
	char path[64];
};

/* Writes text to a temporary zone file and opens a zone resolver on it. */
static inline void zonetest_open(struct zonetest *zt, const char *text)
{
	char err[256] = "";
	int fd;

	memset(zt, 0, sizeof(*zt));
	snprintf(zt->path, sizeof(zt->path), "/tmp/postern-zone-XXXXXX");
	fd = mkstemp(zt->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	zt->base = event_base_new();
	assert_non_null(zt->base);
	zt->r = dns_resolver_zone(zt->base, zt->path, err, sizeof(err));
	if (zt->r == NULL)
		fail_msg("zone: %s", err);
}

static inline void zonetest_close(struct zonetest *zt)
{
	dns_resolver_free(zt->r);
	event_base_free(zt->base);
	unlink(zt->path);
}

/* A resolver that never answers for names containing marker and asks the
 * zone for everything else: lookups that stay out until cancelled.  live
 * counts them. */
struct hang_resolver {
	struct dns_resolver base;
	struct dns_resolver *inner;
	const char *marker;
	int live;
};

static inline struct dns_query *hang_lookup(struct dns_resolver *r, const char *name,
                                            enum dns_type type, dns_done_fn done, void *arg)
{
	struct hang_resolver *h = (struct hang_resolver *)r;

	if (strstr(name, h->marker) != NULL) {
		struct dns_query *q = calloc(1, sizeof(*q));
		assert_non_null(q);
		q->resolver = r;
		h->live++;
		return q;
	}
	return dns_lookup(h->inner, name, type, done, arg);
}

static inline void hang_cancel(struct dns_query *q)
{
	((struct hang_resolver *)q->resolver)->live--;
	free(q);
}

static inline void hang_free(struct dns_resolver *r)
{
}

static const struct dns_resolver_ops hang_ops = {hang_lookup, hang_cancel, hang_free};

static inline void hang_init(struct hang_resolver *h, struct dns_resolver *inner,
                             const char *marker)
{
	h->base.ops = &hang_ops;
	h->inner = inner;
	h->marker = marker;
	h->live = 0;
}

#endif
