/* `postern spf check IP MAIL-FROM [HELO]`: one SPF check_host() through
 * the configured resolvers or a zone file, with every DNS lookup shown. */
#include "cli/cli.h"
#include "core/xmalloc.h"
#include "dns/dns.h"
#include "policy/spf.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_spf_usage[] = "usage: postern spf check IP MAIL-FROM [HELO] [--zone FILE]\n"
                             "           [--server HOST[:PORT]] [--default-explanation TEXT]\n"
                             "       MAIL-FROM \"\" checks postmaster@HELO (RFC 7208 2.4)\n";

static int usage(void)
{
	return cli_usage_error(cli_spf_usage);
}

static void done(void *arg, const struct spf_outcome *out)
{
	struct event_base *base = arg;

	printf("result: %s\n", spf_result_name(out->result));
	if (out->explanation != NULL)
		printf("explanation: %s\n", out->explanation);
	if (out->problem != NULL)
		printf("problem: %s\n", out->problem);
	printf("lookups: %u\n", out->dns_lookups);
	/* One "dns: " line per lookup made, in order. */
	for (const char *p = out->trace->data; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		printf("dns: %.*s\n", (int)n, p);
		p += n + (nl != NULL);
	}
	event_base_loopbreak(base);
}

int cli_spf(int argc, char **argv, const struct config *cfg)
{
	const char *zone = NULL, *server = NULL, *pos[3] = {NULL, NULL, ""};
	struct spf_request req;
	size_t npos = 0;

	memset(&req, 0, sizeof(req));
	if (argc < 1 || strcmp(argv[0], "check") != 0)
		return usage();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc)
			zone = argv[++i];
		else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
			server = argv[++i];
		else if (strcmp(argv[i], "--default-explanation") == 0 && i + 1 < argc)
			req.default_explanation = argv[++i];
		else if (npos < 3)
			pos[npos++] = argv[i];
		else
			return usage();
	}
	if (npos < 2)
		return usage();
	req.ip = pos[0];
	req.sender = pos[1];
	req.helo = pos[2];
	req.receiver = cfg->hostname;
	req.want_trace = 1;

	struct event_base *base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "postern spf: cannot create an event loop\n");
		return 1;
	}
	struct dns_resolver *r = cli_resolver("spf", base, zone, server, cfg);
	if (r == NULL) {
		event_base_free(base);
		return 1;
	}
	spf_check_start(base, r, &req, done, base);
	event_base_dispatch(base);
	dns_resolver_free(r);
	event_base_free(base);
	return 0;
}
