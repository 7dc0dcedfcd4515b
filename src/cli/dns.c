/* `postern dns query NAME TYPE [--server host:port]`: one lookup through
 * the c-ares backend on a private event loop, printed for a person. */
#include "cli/cli.h"
#include "core/xmalloc.h"
#include "dns/dns.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Room for any name dns_name_valid accepts and for a reverse name. */
#define CLI_DNS_NAME_MAX 256
/* RFC 2308 5: "values of one to three hours have been found to work well". */

static const enum dns_type cli_types[] = {DNS_T_A,  DNS_T_AAAA, DNS_T_CNAME, DNS_T_PTR,
                                          DNS_T_MX, DNS_T_TXT,  DNS_T_SRV,   DNS_T_SPF};

const char cli_dns_usage[] =
    "usage: postern dns query NAME TYPE [--server HOST[:PORT]]\n"
    "       TYPE: A AAAA CNAME PTR MX TXT SRV SPF; PTR takes an address too\n";

static int usage(void)
{
	return cli_usage_error(cli_dns_usage);
}

static int parse_type(const char *s, enum dns_type *t)
{
	for (size_t i = 0; i < sizeof(cli_types) / sizeof(cli_types[0]); i++)
		if (strcasecmp(s, dns_type_name(cli_types[i])) == 0) {
			*t = cli_types[i];
			return 0;
		}
	return -1;
}

/* TXT data between quotes, with '"', '\' and bytes outside printable
 * ASCII escaped as in zone files (RFC 1035 5.1). */
static void print_txt(const char *data, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			printf("\\%03u", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_rr(const struct dns_rr *rr)
{
	char ip[INET6_ADDRSTRLEN];

	printf("%s %u ", dns_type_name(rr->type), (unsigned)rr->ttl);
	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		inet_ntop(rr->u.ip.family, rr->u.ip.addr, ip, sizeof(ip));
		printf("%s", ip);
		break;
	case DNS_T_CNAME:
	case DNS_T_PTR:
		printf("%s", rr->u.name);
		break;
	case DNS_T_MX:
		printf("%u %s", rr->u.mx.pref, rr->u.mx.exchange);
		break;
	case DNS_T_SRV:
		printf("%u %u %u %s", rr->u.srv.prio, rr->u.srv.weight, rr->u.srv.port,
		       rr->u.srv.target);
		break;
	case DNS_T_TXT:
	case DNS_T_SPF:
		print_txt(rr->u.txt.data, rr->u.txt.len);
		break;
	}
	putchar('\n');
}

struct cli_dns_run {
	struct event_base *base;
	enum dns_status status;
};

static void done(void *arg, const struct dns_answer *ans)
{
	struct cli_dns_run *run = arg;

	run->status = ans->status;
	printf("status: %s\n", dns_status_text(ans->status));
	printf("name: %s\n", ans->qname);
	printf("canonical: %s\n", ans->canonical);
	for (size_t i = 0; i < ans->nrr; i++)
		print_rr(&ans->rrs[i]);
	event_base_loopbreak(run->base);
}

int cli_dns(int argc, char **argv, const struct config *cfg)
{
	const char *server = NULL;
	char name[CLI_DNS_NAME_MAX];
	enum dns_type type;

	if (argc == 5 && strcmp(argv[3], "--server") == 0)
		server = argv[4];
	else if (argc != 3)
		return usage();
	if (strcmp(argv[0], "query") != 0 || parse_type(argv[2], &type) < 0)
		return usage();
	/* An address asked for PTR means its reverse name. */
	if (type != DNS_T_PTR || dns_reverse_name(argv[1], name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "%s", argv[1]);

	struct cli_dns_run run = {.status = DNS_TEMPFAIL};
	run.base = event_base_new();
	if (run.base == NULL) {
		fprintf(stderr, "postern dns: cannot create an event loop\n");
		return 1;
	}
	struct dns_resolver *r = cli_resolver("dns", run.base, NULL, server, cfg);
	if (r == NULL) {
		event_base_free(run.base);
		return 1;
	}
	dns_lookup(r, name, type, done, &run);
	event_base_dispatch(run.base);
	dns_resolver_free(r);
	event_base_free(run.base);
	return run.status == DNS_OK ? 0 : 1;
}
