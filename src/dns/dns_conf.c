/* dns.* parameters into a c-ares resolver. */
#include "dns/dns_conf.h"

#include "core/xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct dns_resolver *dns_resolver_from_config(struct event_base *base, const struct config *cfg,
                                              const char *servers, char *err, size_t errsize)
{
	const char *v[DNS_CONF_MAX_SERVERS + 1];
	const char *list = servers != NULL ? servers : cfg->dns_servers;
	char *copy, *save = NULL;
	size_t n = 0;

	/* Refused whole rather than cut to what fits. */
	if (config_check_dns_servers(list, err, errsize) < 0)
		return NULL;
	copy = xstrdup(list);
	for (char *t = strtok_r(copy, ", ", &save); t != NULL && n < DNS_CONF_MAX_SERVERS;
	     t = strtok_r(NULL, ", ", &save))
		v[n++] = t;
	v[n] = NULL;
	struct dns_options opt = {
	    .servers = n > 0 ? v : NULL,
	    .timeout_ms = (int)cfg->dns_timeout_ms,
	    .tries = (int)cfg->dns_tries,
	    .cache_entries = (size_t)cfg->dns_cache_entries,
	    .negative_ttl_max = DNS_CONF_NEGATIVE_TTL_MAX,
	};
	struct dns_resolver *r = dns_resolver_new(base, &opt, err, errsize);
	free(copy);
	return r;
}
