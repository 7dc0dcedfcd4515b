/* postern version */
#include "cli/cli.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>

const char cli_version_usage[] = "usage: postern version\n";

int cli_version(int argc, char **argv)
{
	if (argc != 0)
		return cli_usage_error(cli_version_usage);
	printf("postern %s (libevent %s, %s, SQLite %s)\n", POSTERN_VERSION, event_get_version(),
	       OpenSSL_version(OPENSSL_VERSION), sqlite3_libversion());
	return 0;
}
