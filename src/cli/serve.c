/* postern serve: runs the master in the foreground. */
#include "cli/cli.h"
#include "server/master.h"

#include <stdio.h>

int cli_serve(int argc, char **argv, const char *config_path)
{
	if (argc != 0) {
		fprintf(stderr, "usage: postern [-c CONFIG] serve\n");
		return 2;
	}
	return master_run(config_path);
}
