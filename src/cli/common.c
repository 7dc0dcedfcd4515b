/* Usage errors, help requests, message files and resolvers for the
 * subcommands that need them. */
#include "cli/cli.h"
#include "core/buf.h"
#include "core/config.h"
#include "dns/dns_conf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int cli_usage_error(const char *usage)
{
	fputs(usage, stderr);
	return 2;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

int cli_read_crlf(const char *what, const char *path, size_t max, struct buf *out)
{
	FILE *fp = fopen(path, "rb");
	int c, prev = 0;

	buf_init(out, max);
	if (fp == NULL) {
		fprintf(stderr, "postern %s: %s: %s\n", what, path, strerror(errno));
		return -1;
	}
	while ((c = getc(fp)) != EOF) {
		char ch = (char)c;
		if ((c == '\n' && prev != '\r' && buf_append(out, "\r", 1) != 0) ||
		    buf_append(out, &ch, 1) != 0) {
			fprintf(stderr, "postern %s: %s: too large\n", what, path);
			fclose(fp);
			buf_free(out);
			return -1;
		}
		prev = c;
	}
	fclose(fp);
	return 0;
}

struct dns_resolver *cli_resolver(const char *what, struct event_base *base, const char *zone,
                                  const char *servers, const struct config *cfg)
{
	char err[256];
	struct dns_resolver *r;

	/* Checked as dns.servers is, and named as the user wrote it. */
	if (zone == NULL && servers != NULL &&
	    config_check_dns_servers(servers, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern %s: --server: %s\n", what, err);
		return NULL;
	}
	r = zone != NULL ? dns_resolver_zone(base, zone, err, sizeof(err))
	                 : dns_resolver_from_config(base, cfg, servers, err, sizeof(err));
	if (r == NULL)
		fprintf(stderr, "postern %s: %s\n", what, err);
	return r;
}
