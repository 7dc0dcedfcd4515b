/* The resolver the configuration describes (dns.* parameters), for the
 * workers and every command-line tool alike. */
#ifndef POSTERN_DNS_CONF_H
#define POSTERN_DNS_CONF_H

#include "core/config.h"
#include "dns/dns.h"

#include <stddef.h>

/* Most nameservers taken from dns.servers (or an override); more are
 * refused, never dropped. */
#define DNS_CONF_MAX_SERVERS CONFIG_DNS_MAX_SERVERS
/* RFC 2308 negative answers are cached for at most this long. */
#define DNS_CONF_NEGATIVE_TTL_MAX 3600

/* servers: "host[:port],..." to use instead of dns.servers, or NULL; an
 * empty list makes c-ares read /etc/resolv.conf.  The list is checked as
 * config_check_dns_servers does.  NULL with err on failure. */
struct dns_resolver *dns_resolver_from_config(struct event_base *base, const struct config *cfg,
                                              const char *servers, char *err, size_t errsize);

#endif
