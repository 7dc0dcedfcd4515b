/* postern's command line: global options, then one subcommand. */
#include "cli/cli.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: postern [-c CONFIG] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  serve [--daemon]           run the server (foreground, or detached with syslog)\n"
	    "  check-config               check the configuration, print file:line errors\n"
	    "  user add ADDRESS [--sender ADDR]...   (password on stdin)\n"
	    "  user del ADDRESS | user list | user passwd ADDRESS | user sender ADDRESS ADDR\n"
	    "  queue list | queue show ID | queue delete ID | queue retry [ID]\n"
	    "  dns query NAME TYPE [--server HOST[:PORT]]   one lookup with dns.* settings\n"
	    "  spf check IP MAIL-FROM [HELO] [--zone FILE] [--server HOST[:PORT]]   one SPF check\n"
	    "  dkim keygen DOMAIN SELECTOR [--ed25519] [--dir KEYDIR]   make a DKIM key pair\n"
	    "  dkim sign FILE --key KEYFILE --domain DOMAIN --selector SELECTOR   sign a message\n"
	    "  dkim verify FILE [--zone FILE] [--now SECONDS]   verify a message's signatures\n"
	    "  arc verify FILE [--zone FILE]   validate a message's ARC chain\n"
	    "  arc seal FILE --key KEYFILE --domain D --selector S --authserv-id ID   add an ARC "
	    "set\n"
	    "  dmarc report [--day YYYY-MM-DD] [--out DIR] [--mail]   aggregate reports of a day\n"
	    "  dmarc record < LINES       store observations (testing/import aid)\n"
	    "  policy test [--zone FILE | --server HOST[:PORT]]   replay a transcript (stdin)\n"
	    "  policyd [--listen unix:PATH | --listen 127.0.0.1:PORT] [--foreground]   Postfix "
	    "policy service\n"
	    "  version\n"
	    "\n"
	    "Without -c, the embedded default configuration is used (etc/postern.conf).\n");
}

/* Subcommands that need the configuration loaded first. */
static int with_config(const char *path, int (*fn)(int, char **, const struct config *), int argc,
                       char **argv)
{
	struct config cfg;
	struct buf errors;
	int rc;

	buf_init(&errors, 65536);
	if (config_load(path, &cfg, &errors) < 0) {
		fprintf(stderr, "%s", errors.data);
		buf_free(&errors);
		return 1;
	}
	buf_free(&errors);
	rc = fn(argc, argv, &cfg);
	config_free(&cfg);
	return rc;
}

static int version(int argc, char **argv, const char *config_path)
{
	return cli_version(argc, argv);
}

/* run_path gets the -c path; run_cfg the configuration loaded from it. */
static const struct command {
	const char *name;
	const char *usage;
	int (*run_path)(int, char **, const char *);
	int (*run_cfg)(int, char **, const struct config *);
} commands[] = {
    {"serve", cli_serve_usage, cli_serve, NULL},
    {"check-config", cli_check_config_usage, cli_check_config, NULL},
    {"user", cli_user_usage, NULL, cli_user},
    {"queue", cli_queue_usage, NULL, cli_queue},
    {"dns", cli_dns_usage, NULL, cli_dns},
    {"spf", cli_spf_usage, NULL, cli_spf},
    {"dkim", cli_dkim_usage, NULL, cli_dkim},
    {"arc", cli_arc_usage, NULL, cli_arc},
    {"dmarc", cli_dmarc_usage, NULL, cli_dmarc},
    {"policy", cli_policy_usage, NULL, cli_policy},
    {"policyd", cli_policyd_usage, NULL, cli_policyd},
    {"version", cli_version_usage, version, NULL},
};

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	int i = 1;

	log_init("cli", 0, 0);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "postern: -c needs a configuration file\n");
				usage(stderr);
				return 2;
			}
			config_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "postern: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[i];
	int sub_argc = argc - i - 1;
	char **sub_argv = argv + i + 1;

	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		const struct command *c = &commands[k];
		if (strcmp(cmd, c->name) != 0)
			continue;
		/* Help needs no configuration, and runs nothing. */
		if (cli_wants_help(sub_argc, sub_argv)) {
			fputs(c->usage, stdout);
			return 0;
		}
		if (c->run_path != NULL)
			return c->run_path(sub_argc, sub_argv, config_path);
		return with_config(config_path, c->run_cfg, sub_argc, sub_argv);
	}
	fprintf(stderr, "postern: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
