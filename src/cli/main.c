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

int main(int argc, char **argv)
{
	const char *config_path = NULL;
	int i = 1;

	log_init("cli", 0, 0);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
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

	if (strcmp(cmd, "serve") == 0)
		return cli_serve(sub_argc, sub_argv, config_path);
	if (strcmp(cmd, "check-config") == 0)
		return cli_check_config(sub_argc, sub_argv, config_path);
	if (strcmp(cmd, "user") == 0)
		return with_config(config_path, cli_user, sub_argc, sub_argv);
	if (strcmp(cmd, "queue") == 0)
		return with_config(config_path, cli_queue, sub_argc, sub_argv);
	if (strcmp(cmd, "dns") == 0)
		return with_config(config_path, cli_dns, sub_argc, sub_argv);
	if (strcmp(cmd, "spf") == 0)
		return with_config(config_path, cli_spf, sub_argc, sub_argv);
	if (strcmp(cmd, "dkim") == 0)
		return with_config(config_path, cli_dkim, sub_argc, sub_argv);
	if (strcmp(cmd, "arc") == 0)
		return with_config(config_path, cli_arc, sub_argc, sub_argv);
	if (strcmp(cmd, "dmarc") == 0)
		return with_config(config_path, cli_dmarc, sub_argc, sub_argv);
	if (strcmp(cmd, "version") == 0)
		return cli_version(sub_argc, sub_argv);
	fprintf(stderr, "postern: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
