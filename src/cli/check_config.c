/* postern check-config: loads the configuration and reports every error
 * as file:line: message; exits 1 when there is any. */
#include "auth/dkim_keyring.h"
#include "cli/cli.h"
#include "policy/policy_config.h"

#include <stdio.h>
#include <string.h>

const char cli_check_config_usage[] = "usage: postern [-c CONFIG] check-config [--reference]\n";

int cli_check_config(int argc, char **argv, const char *config_path)
{
	struct config cfg;
	struct buf errors;

	if (argc == 1 && strcmp(argv[0], "--reference") == 0) {
		struct buf ref;
		buf_init(&ref, 1 << 20);
		config_reference(&ref);
		fputs(ref.data, stdout);
		buf_free(&ref);
		return 0;
	}
	if (argc != 0)
		return cli_usage_error(cli_check_config_usage);
	buf_init(&errors, 1 << 20);
	struct policy_objects objects;
	if (config_load(config_path, &cfg, &errors) < 0) {
		fputs(errors.data, stderr);
		buf_free(&errors);
		return 1;
	}
	if (policy_objects_build(&cfg, &objects, &errors) < 0) {
		fputs(errors.data, stderr);
		buf_free(&errors);
		config_free(&cfg);
		return 1;
	}
	policy_objects_free(&objects);
	struct dkim_keyring keys;
	if (dkim_keyring_load(&cfg, &keys, &errors) < 0) {
		fputs(errors.data, stderr);
		buf_free(&errors);
		config_free(&cfg);
		return 1;
	}
	dkim_keyring_free(&keys);
	printf("%s: ok (%zu listeners, %zu domains)\n", cfg.source, cfg.nlisteners, cfg.ndomains);
	config_free(&cfg);
	buf_free(&errors);
	return 0;
}
