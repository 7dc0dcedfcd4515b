/* The subcommands of the postern program, one file each.  Every function
 * gets the arguments after its own name and the loaded configuration, and
 * returns the process exit code: 0 done, 1 failed, 2 a usage error (the
 * usage on stderr).  --help or -h among the arguments prints the usage on
 * stdout and exits 0: main.c answers it from the cli_*_usage texts before
 * any configuration is read. */
#ifndef POSTERN_CLI_H
#define POSTERN_CLI_H

#include "core/config.h"

#include <stddef.h>

int cli_serve(int argc, char **argv, const char *config_path);
int cli_check_config(int argc, char **argv, const char *config_path);
int cli_user(int argc, char **argv, const struct config *cfg);
int cli_queue(int argc, char **argv, const struct config *cfg);
int cli_dns(int argc, char **argv, const struct config *cfg);
int cli_spf(int argc, char **argv, const struct config *cfg);
int cli_dkim(int argc, char **argv, const struct config *cfg);
int cli_arc(int argc, char **argv, const struct config *cfg);
int cli_dmarc(int argc, char **argv, const struct config *cfg);
int cli_policy(int argc, char **argv, const struct config *cfg);
int cli_policyd(int argc, char **argv, const struct config *cfg);
int cli_version(int argc, char **argv);

extern const char cli_serve_usage[], cli_check_config_usage[], cli_user_usage[], cli_queue_usage[],
    cli_dns_usage[], cli_spf_usage[], cli_dkim_usage[], cli_arc_usage[], cli_dmarc_usage[],
    cli_policy_usage[], cli_policyd_usage[], cli_version_usage[];

/* common.c: what several subcommands share.  Messages on stderr start
 * with "postern WHAT: ". */
struct buf;
struct event_base;
struct dns_resolver;
/* Prints usage to stderr; returns 2, the exit code of a usage error. */
int cli_usage_error(const char *usage);
/* 1 when one of the arguments is --help or -h. */
int cli_wants_help(int argc, char **argv);
/* Reads a message file with every bare LF made CRLF, as SMTP carries it. */
int cli_read_crlf(const char *what, const char *path, size_t max, struct buf *out);
/* A resolver from a zone file (for tests), or from the dns.* settings with
 * servers ("host[:port],...", may be NULL) instead of dns.servers. */
struct dns_resolver *cli_resolver(const char *what, struct event_base *base, const char *zone,
                                  const char *servers, const struct config *cfg);

#endif
