/* postern serve: runs the master, in the foreground (logging to stderr)
 * or as a daemon (logging to syslog). */
#include "cli/cli.h"
#include "server/master.h"

#include <string.h>

const char cli_serve_usage[] = "usage: postern [-c CONFIG] serve [--daemon]\n";

int cli_serve(int argc, char **argv, const char *config_path)
{
	int daemonize = 0;

	if (argc == 1 && (strcmp(argv[0], "--daemon") == 0 || strcmp(argv[0], "-d") == 0))
		daemonize = 1;
	else if (argc != 0)
		return cli_usage_error(cli_serve_usage);
	return master_run(config_path, daemonize);
}
