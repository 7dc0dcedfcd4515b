/* `postern queue list | show ID | delete ID | retry [ID]`: argument
 * checking only; the work is in queue/queue_admin.c. */
#include "cli/cli.h"
#include "queue/queue_admin.h"

#include <stdio.h>
#include <string.h>

const char cli_queue_usage[] = "usage: postern queue list\n"
                               "       postern queue show ID\n"
                               "       postern queue delete ID\n"
                               "       postern queue retry [ID]\n";

static int usage(void)
{
	return cli_usage_error(cli_queue_usage);
}

/* queue_admin: 0 done, 1 unknown id, -1 error; both failures exit 1. */
static int exit_code(int rc)
{
	return rc == 0 ? 0 : 1;
}

int cli_queue(int argc, char **argv, const struct config *cfg)
{
	if (argc < 1)
		return usage();
	const char *verb = argv[0];
	if (strcmp(verb, "list") == 0 && argc == 1)
		return exit_code(queue_admin_list(cfg, stdout));
	if (strcmp(verb, "show") == 0 && argc == 2)
		return exit_code(queue_admin_show(cfg, argv[1], stdout));
	if (strcmp(verb, "delete") == 0 && argc == 2)
		return exit_code(queue_admin_delete(cfg, argv[1], stdout));
	if (strcmp(verb, "retry") == 0 && (argc == 1 || argc == 2))
		return exit_code(queue_admin_retry(cfg, argc == 2 ? argv[1] : NULL, stdout));
	return usage();
}
