/* The subcommands of the postern program, one file each.  Every function
 * gets the arguments after its own name and the loaded configuration, and
 * returns the process exit code. */
#ifndef POSTERN_CLI_H
#define POSTERN_CLI_H

#include "core/config.h"

int cli_serve(int argc, char **argv, const char *config_path);
int cli_check_config(int argc, char **argv, const char *config_path);
int cli_user(int argc, char **argv, const struct config *cfg);
int cli_queue(int argc, char **argv, const struct config *cfg);
int cli_dns(int argc, char **argv, const struct config *cfg);
int cli_spf(int argc, char **argv, const struct config *cfg);
int cli_dkim(int argc, char **argv, const struct config *cfg);
int cli_arc(int argc, char **argv, const struct config *cfg);
int cli_dmarc(int argc, char **argv, const struct config *cfg);
int cli_version(int argc, char **argv);

#endif
