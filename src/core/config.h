/* The configuration: one declared table of parameters (name, type, default,
 * bounds, doc line) read with libconfig, plus the listener and domain lists.
 * Every error carries file:line. */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include "core/buf.h"
#include "core/netlist.h"
#include "core/policy_conf.h"

#include <stddef.h>

enum listener_role { ROLE_MX, ROLE_SUBMISSION, ROLE_SUBMISSIONS };

struct listener_conf {
	char *name;
	enum listener_role role;
	char *host; /* numeric address */
	char *port;
	char *tls_cert; /* falls back to tls.cert */
	char *tls_key;
};

enum delivery_method { DELIVER_MAILDIR, DELIVER_LMTP, DELIVER_DISCARD };

/* An alias of a local domain: mail to local@domain goes to every address
 * of to instead (local or remote, themselves aliases or not); local "*"
 * is the domain's catch-all, for local parts that are neither an alias
 * nor a mailbox. */
struct alias_conf {
	char *local;
	char **to; /* "local@domain" each */
	size_t nto;
	int line;
};

/* The local part of the catch-all alias. */
#define CONFIG_ALIAS_CATCHALL "*"

struct domain_conf {
	char *name; /* lower case */
	enum delivery_method method;
	/* Maildir path template: %d domain, %u local part, %a whole address;
	 * falls back to delivery.maildir. */
	char *maildir;
	/* LMTP server: "host:port" or "unix:/path"; falls back to delivery.lmtp. */
	char *lmtp;
	struct alias_conf *aliases;
	size_t naliases;
};

/* A per-domain transport override: mail for domain (or, when the name
 * starts with '.', for every subdomain of it) goes to relay, a relay spec
 * as delivery.smarthost takes it. */
struct transport_conf {
	char *domain; /* lower case */
	char *relay;
	int line;
};

/* A DNS blocklist (RFC 5782): an address list or a domain list (RHSBL). */
struct dnsbl_conf {
	char *zone;
	int rhs;     /* 1: domain names are looked up (RHSBL), 0: addresses */
	long weight; /* added to the score when listed */
	/* "127.0.0.2=10:meaning", "127.0.0.4-127.0.0.7=5", "&4=3": checked by
	 * policy_config_check, which knows the code syntax. */
	char **codes;
	size_t ncodes;
	int line;
};

/* A DKIM signing key: mail from domain (authenticated submission, or a
 * relay client allowed for it) is signed with it; several entries for one
 * domain sign with each (e.g. rsa-sha256 and ed25519-sha256). */
struct dkim_signing_conf {
	char *domain; /* lower case */
	char *selector;
	char *key; /* PEM private key; relative to dkim.key_dir */
	int line;
};

struct config {
	char *source; /* file name, or "<embedded>" */

	char *hostname;
	char *state_dir;
	char *user;
	long workers; /* 0: one per core */
	long verbose;

	char *tls_cert;
	char *tls_key;
	char *tls_min_version; /* "TLSv1.2" or "TLSv1.3" */

	char *postmaster; /* where postmaster@ every local domain goes */
	char *abuse;      /* where abuse@ every local domain goes */

	long max_connections;
	long max_connections_per_ip;
	long max_recipients;
	long max_errors;
	long min_free_space;
	long max_message_size;
	long max_line_length;
	long max_command_length;
	long command_timeout;
	long data_timeout;
	long session_timeout;
	long listen_backlog;
	long auth_max_failures; /* per client IP, within auth_failure_window */
	long auth_failure_window;
	long auth_failure_delay_ms;
	long max_own_received; /* Received fields naming us that make a mail loop */
	long max_received;     /* Received fields beyond which a message is a loop */

	long spool_inline_max; /* bodies up to this many bytes live in the queue db */
	long commit_window_us; /* how long a commit waits for company */

	char *dns_servers; /* "host:port,host:port"; "" reads /etc/resolv.conf */
	long dns_timeout_ms;
	long dns_tries;
	long dns_cache_entries;

	char *delivery_maildir; /* default Maildir template */
	char *delivery_lmtp;    /* default LMTP server */
	long retry_min;         /* seconds */
	long retry_max;
	long queue_lifetime;
	long delivery_timeout;   /* LMTP: seconds per step */
	long delivery_concurrency;      /* deliveries at once, whole queue manager */
	long destination_concurrency;   /* connections to one destination at once */
	long smtp_port;                 /* port of remote MX hosts */
	long connect_timeout;           /* seconds; the RFC 5321 4.5.3.2 timeouts follow */
	long greeting_timeout;
	long smtp_command_timeout;      /* EHLO, MAIL, RCPT, RSET, STARTTLS, AUTH */
	long smtp_data_timeout;         /* DATA initiation and each data block */
	long smtp_data_done_timeout;    /* the reply to the final dot */
	long connection_cache_time;     /* seconds an idle connection waits for more mail */
	long connection_max_messages;   /* messages on one connection */
	long delay_warning;             /* hours before a delay DSN; 0: none */
	char *smarthost;                /* "": deliver by MX; else a relay spec */
	char *smarthost_user;           /* "": no AUTH */
	char *smarthost_password;
	char *delivery_tls;             /* none, may, encrypt, verify */
	char *delivery_tls_ca_file;     /* "": the system's store */
	long batv_sign;                 /* 1: tag the envelope sender of authenticated mail */
	long batv_check;                /* 1: a bounce to a local user needs a valid tag */
	long batv_max_age_days;
	long srs_max_age_days;

	struct listener_conf *listeners;
	size_t nlisteners;
	struct domain_conf *domains;
	size_t ndomains;
	struct transport_conf *transports;
	size_t ntransports;

	char *dkim_key_dir;       /* "" : <state_dir>/dkim */
	long dkim_max_signatures; /* verified per message; the rest get "policy" */
	long dmarc_reports;       /* 1: keep the counts for aggregate reports */
	long dmarc_keep_days;     /* observations older than this are forgotten */
	char *dmarc_report_org;   /* "" : hostname */
	char *dmarc_report_email; /* "" : postmaster */

	long policyd_cache_seconds; /* 0: a check serves one message only */

	struct dkim_signing_conf *dkim_signing;
	size_t ndkim_signing;

	struct policy_conf policy;
	/* policy.relay_networks: clients of the MX listener that may send to
	 * any domain without AUTH, as given and parsed. */
	char *relay_networks;
	struct netlist relay;
	struct dnsbl_conf *dnsbls;
	size_t ndnsbls;
};

/* Loads path, or the embedded default configuration when path is NULL.
 * On error returns -1 and appends one "file:line: message" line per problem
 * to errors; *cfg is then freed. */
int config_load(const char *path, struct config *cfg, struct buf *errors);
void config_free(struct config *cfg);

/* The domain entry for a local domain (case-insensitive), or NULL. */
const struct domain_conf *config_domain(const struct config *cfg, const char *domain);
/* The alias of d for local (case-insensitive; CONFIG_ALIAS_CATCHALL for
 * the catch-all), or NULL. */
const struct alias_conf *config_alias(const struct domain_conf *d, const char *local);
/* The relay for a remote domain: its transport entry, else
 * delivery.smarthost, else NULL (deliver by MX). */
const char *config_relay(const struct config *cfg, const char *domain);
/* Writes the configuration reference (one line per parameter) to out. */
void config_reference(struct buf *out);
const char *config_role_name(enum listener_role role);

/* Most nameservers in dns.servers (or in an override of it). */
#define CONFIG_DNS_MAX_SERVERS 16
/* A list of nameservers as dns.servers takes it, e.g. a --server override:
 * at most CONFIG_DNS_MAX_SERVERS of IPv4[:port], [IPv6]:port or IPv6,
 * separated by commas or spaces; empty means /etc/resolv.conf.  0, or -1
 * with the reason in err. */
int config_check_dns_servers(const char *list, char *err, size_t errsize);

extern const char config_embedded_default[];

#endif
