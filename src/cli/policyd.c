/* postern policyd: postern's sender checks as a Postfix policy service
 * (check_policy_service), on a unix socket or a loopback TCP port. */
#include "cli/cli.h"
#include "policyd/server.h"

#include <stdio.h>
#include <string.h>

const char cli_policyd_usage[] =
    "usage: postern [-c CONFIG] policyd [--listen unix:PATH | --listen "
    "127.0.0.1:PORT] [--foreground]\n"
    "\n"
    "Answers Postfix's policy delegation requests (check_policy_service) with the\n"
    "sender checks of the configuration's policy section, resolving through its\n"
    "dns settings.  Default listen: unix:STATE_DIR/policyd.sock.  Without\n"
    "--foreground it runs as a daemon and logs to syslog.\n"
    "\n"
    "Postfix main.cf:\n"
    "  smtpd_recipient_restrictions = reject_unauth_destination,\n"
    "      check_policy_service unix:/PATH   (or inet:127.0.0.1:PORT)\n";

int cli_policyd(int argc, char **argv, const struct config *cfg)
{
	const char *listen = NULL;
	int foreground = 0;
	struct policyd_listen l;
	char err[256], spec[300];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen = argv[++i];
		} else if (strcmp(argv[i], "--foreground") == 0 || strcmp(argv[i], "-f") == 0) {
			foreground = 1;
		} else {
			fprintf(stderr, "postern policyd: unknown or incomplete argument %s\n",
			        argv[i]);
			return cli_usage_error(cli_policyd_usage);
		}
	}
	if (listen != NULL && policyd_listen_parse(listen, &l, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern policyd: --listen %s\n", err);
		return cli_usage_error(cli_policyd_usage);
	}
	if (listen == NULL) {
		snprintf(spec, sizeof(spec), "unix:%s/policyd.sock", cfg->state_dir);
		if (policyd_listen_parse(spec, &l, err, sizeof(err)) < 0) {
			fprintf(stderr, "postern policyd: %s (give --listen)\n", err);
			return 2;
		}
	}
	return policyd_run(cfg, &l, foreground);
}
