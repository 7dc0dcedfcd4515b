/* `postern queue list | show ID | delete ID | retry [ID | --domain D] |
 * hold ID | release ID`: argument checking only; the work is in
 * queue/queue_admin.c. */
#include "cli/cli.h"
#include "queue/queue_admin.h"

#include <stdio.h>
#include <string.h>

const char cli_queue_usage[] = "usage: postern queue list\n"
                               "       postern queue show ID\n"
                               "       postern queue delete ID\n"
                               "       postern queue retry [ID | --domain DOMAIN]\n"
                               "       postern queue hold ID\n"
                               "       postern queue release ID\n";

static int usage(void)
{
	return cli_usage_error(cli_queue_usage);
}

/* queue_admin: 0 done, 1 unknown id, -1 error; both failures exit 1. */
static int exit_code(int rc)
{
	return rc == 0 ? 0 : 1;
}

/* Queue ids never start with '-': such an argument is a mistyped option,
 * not a message to look for. */
static int is_id(const char *s)
{
	return s[0] != '\0' && s[0] != '-';
}

/* The part after an address's '@', so a domain has none of its own. */
static int is_domain(const char *s)
{
	return s[0] != '\0' && s[0] != '-' && strchr(s, '@') == NULL;
}

int cli_queue(int argc, char **argv, const struct config *cfg)
{
	if (argc < 1)
		return usage();
	const char *verb = argv[0];
	if (strcmp(verb, "list") == 0 && argc == 1)
		return exit_code(queue_admin_list(cfg, stdout));
	if (strcmp(verb, "retry") == 0 && argc == 1)
		return exit_code(queue_admin_retry(cfg, NULL, NULL, stdout));
	if (strcmp(verb, "retry") == 0 && argc == 3 && strcmp(argv[1], "--domain") == 0 &&
	    is_domain(argv[2]))
		return exit_code(queue_admin_retry(cfg, NULL, argv[2], stdout));
	if (argc != 2 || !is_id(argv[1]))
		return usage();
	if (strcmp(verb, "show") == 0)
		return exit_code(queue_admin_show(cfg, argv[1], stdout));
	if (strcmp(verb, "delete") == 0)
		return exit_code(queue_admin_delete(cfg, argv[1], stdout));
	if (strcmp(verb, "retry") == 0)
		return exit_code(queue_admin_retry(cfg, argv[1], NULL, stdout));
	if (strcmp(verb, "hold") == 0)
		return exit_code(queue_admin_hold(cfg, argv[1], stdout));
	if (strcmp(verb, "release") == 0)
		return exit_code(queue_admin_release(cfg, argv[1], stdout));
	return usage();
}
