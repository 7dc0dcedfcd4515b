/* Reads the configuration with libconfig against one declared parameter
 * table.  Unknown settings are errors, so that a typo never silently turns
 * a limit off. */
#include "core/config.h"
#include "core/netlist.h"
#include "core/xmalloc.h"

#include <arpa/inet.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum param_type { P_STR, P_INT };

struct param {
	const char *name; /* path in the file, e.g. "limits.max_recipients" */
	enum param_type type;
	size_t offset;
	const char *def_str;
	long def_int, min, max;
	const char *doc;
	/* For strings with a syntax of their own: 0, or -1 with the reason in
	 * err.  Checked here, so that check-config, serve and a reload refuse
	 * the same values, each with file:line. */
	int (*check)(const char *v, char *err, size_t errsize);
};

#define S(name, field, def, doc)                                                                   \
	{                                                                                          \
		name, P_STR, offsetof(struct config, field), def, 0, 0, 0, doc, NULL               \
	}
#define SC(name, field, def, check, doc)                                                           \
	{                                                                                          \
		name, P_STR, offsetof(struct config, field), def, 0, 0, 0, doc, check              \
	}
#define I(name, field, def, min, max, doc)                                                         \
	{                                                                                          \
		name, P_INT, offsetof(struct config, field), NULL, def, min, max, doc, NULL        \
	}

/* A port: 1..65535 in at most five decimal digits.  The one port check of
 * the listeners and of dns.servers. */
static int port_ok(const char *port)
{
	size_t digits = strspn(port, "0123456789");
	long n = digits > 0 && digits <= 5 ? strtol(port, NULL, 10) : 0;

	return port[digits] == '\0' && n >= 1 && n <= 65535;
}

/* Splits addr in place into *host and *port: "[host]:port" (returns 1),
 * "host:port" with one colon, or a host alone, *port NULL, when there is
 * no colon or several (a bare IPv6 address) (returns 0).  -1 when a
 * bracket is not closed by "]:".  Neither part is checked here. */
static int split_address(char *addr, char **host, char **port)
{
	char *colon;

	*host = addr;
	*port = NULL;
	if (addr[0] == '[') {
		char *end = strchr(addr, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		*end = '\0';
		*host = addr + 1;
		*port = end + 2;
		return 1;
	}
	colon = strchr(addr, ':');
	if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		*colon = '\0';
		*port = colon + 1;
	}
	return 0;
}

/* One nameserver of dns.servers as c-ares reads it (ares_set_servers_ports_csv):
 * IPv4 or IPv4:port, [IPv6]:port, or a bare IPv6 address (c-ares refuses
 * brackets without a port).  Names are refused: the resolver cannot look
 * up its own servers. */
static int check_dns_server(const char *text, size_t len, char *err, size_t errsize)
{
	char item[INET6_ADDRSTRLEN + 8]; /* room for "[", "]:" and five digits */
	unsigned char bin[16];
	char *host, *port;
	int form, family;

	if (len >= sizeof(item))
		goto bad;
	memcpy(item, text, len);
	item[len] = '\0';
	if ((form = split_address(item, &host, &port)) < 0)
		goto bad;
	family = form == 1 || (port == NULL && strchr(host, ':') != NULL) ? AF_INET6 : AF_INET;
	if (inet_pton(family, host, bin) != 1)
		goto bad;
	if (port != NULL && !port_ok(port)) {
		snprintf(err, errsize, "'%.*s': the port is not 1..65535", (int)len, text);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errsize, "'%.*s' is not IPv4[:port], [IPv6]:port or IPv6", (int)len, text);
	return -1;
}

int config_check_dns_servers(const char *list, char *err, size_t errsize)
{
	size_t n = 0;

	for (list += strspn(list, ", "); *list != '\0'; list += strspn(list, ", ")) {
		size_t len = strcspn(list, ", ");
		if (++n > CONFIG_DNS_MAX_SERVERS) {
			snprintf(err, errsize, "more than %d nameservers", CONFIG_DNS_MAX_SERVERS);
			return -1;
		}
		if (check_dns_server(list, len, err, errsize) < 0)
			return -1;
		list += len;
	}
	return 0;
}

static int check_delivery_tls(const char *v, char *err, size_t errsize)
{
	static const char *const modes[] = {"none", "may", "encrypt", "verify"};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(v, modes[i]) == 0)
			return 0;
	snprintf(err, errsize, "'%s' is not none, may, encrypt or verify", v);
	return -1;
}

static const struct param params[] = {
    S("hostname", hostname, "localhost", "name in the banner, EHLO reply and Received headers"),
    S("state_dir", state_dir, "./var", "queue, state database, Maildirs and generated keys"),
    S("user", user, "postern", "unprivileged user the children run as when started as root"),
    I("workers", workers, 0, 0, 64, "SMTP worker processes; 0 means one per core"),
    I("verbose", verbose, 0, 0, 1, "1 logs debug lines"),
    S("tls.cert", tls_cert, "", "default certificate (PEM); empty: self-signed under state_dir"),
    S("tls.key", tls_key, "", "default private key (PEM); empty: generated under state_dir"),
    S("tls.min_version", tls_min_version, "TLSv1.2", "lowest TLS version: TLSv1.2 or TLSv1.3"),
    S("postmaster", postmaster, "postmaster@localhost",
      "mailbox that receives postmaster@ of every local domain"),
    S("abuse", abuse, "abuse@localhost", "mailbox that receives abuse@ of every local domain"),
    I("limits.max_connections", max_connections, 1000, 1, 1000000,
      "concurrent sessions, whole server"),
    I("limits.max_connections_per_ip", max_connections_per_ip, 50, 1, 1000000,
      "concurrent sessions from one client address, whole server"),
    I("limits.max_recipients", max_recipients, 100, 1, 100000, "recipients per message"),
    I("limits.max_errors", max_errors, 10, 1, 1000,
      "failed commands (5xx replies) before the session is closed"),
    I("limits.min_free_space", min_free_space, 104857600, 0, 9007199254740992,
      "bytes free in state_dir below which MAIL is refused with 452 4.3.1 (over 2147483647: write "
      "it with an L suffix); 0 never"),
    I("limits.max_message_size", max_message_size, 52428800, 1024, 2147483647,
      "message size in bytes (SIZE)"),
    I("limits.max_line_length", max_line_length, 1000, 512, 1000000,
      "text line length in DATA, CRLF included (RFC 5321 4.5.3.1.6)"),
    I("limits.max_command_length", max_command_length, 2048, 512, 65536,
      "command line length, CRLF included"),
    I("limits.command_timeout", command_timeout, 300, 1, 86400, "seconds to wait for a command"),
    I("limits.data_timeout", data_timeout, 600, 1, 86400, "seconds to wait for DATA input"),
    I("limits.session_timeout", session_timeout, 3600, 1, 604800, "seconds a session may last"),
    I("limits.listen_backlog", listen_backlog, 4096, 16, 65535, "listen(2) backlog"),
    I("limits.auth_max_failures", auth_max_failures, 5, 1, 10000,
      "failed AUTH attempts per client address before AUTH is refused"),
    I("limits.auth_failure_window", auth_failure_window, 900, 1, 86400,
      "seconds over which failed AUTH attempts are counted"),
    I("limits.auth_failure_delay_ms", auth_failure_delay_ms, 1000, 0, 60000,
      "delay before the reply to a failed AUTH"),
    I("limits.max_own_received", max_own_received, 3, 1, 100,
      "a message with this many Received fields naming hostname (by) is a mail loop: 554 5.4.6 "
      "at the end of DATA"),
    I("limits.max_received", max_received, 100, 1, 1000,
      "a message with more Received fields than this is a mail loop: 554 5.4.6 at the end of "
      "DATA"),
    I("spool.inline_max", spool_inline_max, 262144, 0, 16777216,
      "bodies up to this size are stored in the queue database, larger ones in files"),
    I("spool.commit_window_us", commit_window_us, 1000, 0, 100000,
      "microseconds a commit waits for other messages to share its sync"),
    SC("dns.servers", dns_servers, "", config_check_dns_servers,
       "nameservers as host:port, comma-separated; empty: those of /etc/resolv.conf"),
    I("dns.timeout_ms", dns_timeout_ms, 2000, 100, 60000, "milliseconds per DNS try"),
    I("dns.tries", dns_tries, 2, 1, 10, "tries per DNS query"),
    I("dns.cache_entries", dns_cache_entries, 10000, 0, 10000000,
      "answers cached per worker (TTLs honoured, negative answers too)"),
    S("delivery.maildir", delivery_maildir, "./var/mail/%d/%u",
      "Maildir template: %d domain, %u local part, %a address"),
    S("delivery.lmtp", delivery_lmtp, "", "LMTP server: host:port or unix:/path"),
    I("delivery.retry_min", retry_min, 60, 1, 86400, "first retry after a temporary failure"),
    I("delivery.retry_max", retry_max, 3600, 1, 604800, "longest interval between retries"),
    I("delivery.queue_lifetime", queue_lifetime, 432000, 60, 31536000,
      "seconds before a message that cannot be delivered is given up"),
    I("delivery.timeout", delivery_timeout, 300, 1, 3600, "seconds for each step of an LMTP delivery"),
    I("delivery.concurrency", delivery_concurrency, 200, 1, 10000,
      "deliveries in progress at once, all destinations together"),
    I("delivery.destination_concurrency", destination_concurrency, 20, 1, 1000,
      "connections to one destination at once (a destination not yet reached gets one)"),
    I("delivery.smtp_port", smtp_port, 25, 1, 65535, "port of the MX hosts mail is sent to"),
    I("delivery.connect_timeout", connect_timeout, 30, 1, 600, "seconds to connect to a server"),
    I("delivery.greeting_timeout", greeting_timeout, 300, 1, 3600,
      "seconds to wait for a server's greeting (RFC 5321 4.5.3.2.1)"),
    I("delivery.command_timeout", smtp_command_timeout, 300, 1, 3600,
      "seconds to wait for the reply to EHLO, MAIL, RCPT and the like (RFC 5321 4.5.3.2)"),
    I("delivery.data_timeout", smtp_data_timeout, 180, 1, 3600,
      "seconds for the reply to DATA and for each block of message data"),
    I("delivery.data_done_timeout", smtp_data_done_timeout, 600, 1, 3600,
      "seconds to wait for the reply to the end of the message (RFC 5321 4.5.3.2.6)"),
    I("delivery.connection_cache_time", connection_cache_time, 5, 0, 300,
      "seconds an idle connection is kept for the next message to its destination; 0: none"),
    I("delivery.connection_max_messages", connection_max_messages, 100, 1, 100000,
      "messages sent over one connection"),
    I("delivery.delay_warning", delay_warning, 0, 0, 720,
      "hours after which a verified sender is told its message is delayed; 0: never"),
    S("delivery.smarthost", smarthost, "",
      "relay for all remote mail: host, host:port, [host]:port (no MX lookup); empty: by MX"),
    S("delivery.smarthost_user", smarthost_user, "", "AUTH user for the smarthost; empty: no AUTH"),
    S("delivery.smarthost_password", smarthost_password, "", "AUTH password for the smarthost"),
    SC("delivery.tls", delivery_tls, "may", check_delivery_tls,
       "outbound TLS: none, may (STARTTLS when offered), encrypt (required), verify (required, "
       "certificate verified)"),
    S("delivery.tls_ca_file", delivery_tls_ca_file, "",
      "CA certificates for verifying servers; empty: the system's store"),
    I("batv.sign", batv_sign, 1, 0, 1,
      "1 tags the envelope sender of authenticated users' outgoing mail (BATV prvs=), with the "
      "key in state_dir/batv.key"),
    I("batv.check", batv_check, 1, 0, 1,
      "1 refuses a bounce (null sender) to a local user at RCPT unless its recipient carries a "
      "valid tag; postmaster and abuse are always reachable"),
    I("batv.max_age_days", batv_max_age_days, 7, 1, 365, "days a BATV tag stays valid"),
    I("srs.max_age_days", srs_max_age_days, 21, 1, 1023,
      "days a bounce to an SRS0 address we made (state_dir/srs.key) is accepted and sent back"),
    S("dkim.key_dir", dkim_key_dir, "",
      "where `postern dkim keygen` writes keys and relative key paths start; empty: "
      "state_dir/dkim"),
    I("dkim.max_signatures", dkim_max_signatures, 8, 1, 64,
      "DKIM signatures verified per message; further ones are reported as policy"),
    I("dmarc.reports", dmarc_reports, 1, 0, 1,
      "1 keeps per-day DMARC counts for `postern dmarc report` (RFC 7489 7.2)"),
    I("dmarc.keep_days", dmarc_keep_days, 31, 1, 3650,
      "days of DMARC observations kept for `postern dmarc report`"),
    S("dmarc.report_org", dmarc_report_org, "", "org_name of aggregate reports; empty: hostname"),
    S("dmarc.report_email", dmarc_report_email, "",
      "sender of aggregate reports; empty: the postmaster address"),
    I("policyd_cache_seconds", policyd_cache_seconds, 60, 0, 3600,
      "seconds policyd reuses a finished check for another message with the same client, HELO "
      "and sender; 0: per message only"),
};

static const char *const list_names[] = {"listeners", "domains",  "tls", "limits",
                                         "spool",     "delivery", "dns", "dkim",
                                         "dmarc",     "batv",     "srs"};
/* policy and dnsbl have readers of their own (read_policy, read_dnsbls). */

const char *config_role_name(enum listener_role role)
{
	switch (role) {
	case ROLE_MX:
		return "mx";
	case ROLE_SUBMISSION:
		return "submission";
	case ROLE_SUBMISSIONS:
		return "submissions";
	}
	return "?";
}

static void add_error(struct buf *errors, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(struct buf *errors, const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_printf(errors, "%s:%d: %s\n", file, line, msg);
}

static const char *setting_file(const config_setting_t *s, const char *fallback)
{
	const char *f = config_setting_source_file(s);
	return f ? f : fallback;
}

static const struct param *param_find(const char *name)
{
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (strcmp(params[i].name, name) == 0)
			return &params[i];
	return NULL;
}

static void param_defaults(struct config *cfg)
{
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const struct param *p = &params[i];
		char *base = (char *)cfg + p->offset;
		if (p->type == P_STR)
			*(char **)base = xstrdup(p->def_str);
		else
			*(long *)base = p->def_int;
	}
}

static void param_set(struct config *cfg, const struct param *p, config_setting_t *s,
                      const char *file, struct buf *errors)
{
	char *base = (char *)cfg + p->offset;
	int line = (int)config_setting_source_line(s);

	if (p->type == P_STR) {
		const char *v = config_setting_get_string(s);
		char err[256];
		if (v == NULL) {
			add_error(errors, file, line, "%s: expected a string", p->name);
			return;
		}
		if (p->check != NULL && p->check(v, err, sizeof(err)) < 0) {
			add_error(errors, file, line, "%s: %s", p->name, err);
			return;
		}
		free(*(char **)base);
		*(char **)base = xstrdup(v);
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		add_error(errors, file, line, "%s: expected an integer", p->name);
		return;
	}
	long long v = config_setting_get_int64(s);
	if (v < p->min || v > p->max) {
		add_error(errors, file, line, "%s: %lld is out of range %ld..%ld", p->name, v,
		          p->min, p->max);
		return;
	}
	*(long *)base = (long)v;
}

static const char *member_string(config_setting_t *group, const char *name)
{
	config_setting_t *m = config_setting_get_member(group, name);
	return m ? config_setting_get_string(m) : NULL;
}

/* Checks that every member of group is one of allowed (NULL-terminated). */
static void check_members(config_setting_t *group, const char *const *allowed, const char *what,
                          const char *file, struct buf *errors)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(m);
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			if (name && strcmp(name, *a) == 0)
				ok = 1;
		if (!ok)
			add_error(errors, setting_file(m, file), (int)config_setting_source_line(m),
			          "unknown setting '%s' in %s", name ? name : "?", what);
	}
}

static void read_listeners(struct config *cfg, config_setting_t *list, const char *file,
                           struct buf *errors)
{
	static const char *const allowed[] = {"name",     "role",    "address",
	                                      "tls_cert", "tls_key", NULL};
	int n = config_setting_length(list);

	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		add_error(errors, file, (int)config_setting_source_line(list),
		          "listeners: expected a list ( {...}, ... )");
		return;
	}
	cfg->listeners = xcalloc((size_t)n + 1, sizeof(*cfg->listeners));
	for (int i = 0; i < n; i++) {
		config_setting_t *l = config_setting_get_elem(list, (unsigned)i);
		int line = (int)config_setting_source_line(l);
		struct listener_conf *lc = &cfg->listeners[cfg->nlisteners];
		const char *role, *addr, *name;

		if (!config_setting_is_group(l)) {
			add_error(errors, file, line,
			          "listeners: each entry must be a group { ... }");
			continue;
		}
		check_members(l, allowed, "a listener", file, errors);
		name = member_string(l, "name");
		role = member_string(l, "role");
		addr = member_string(l, "address");
		if (role == NULL || addr == NULL) {
			add_error(errors, file, line,
			          "listener: 'role' and 'address' are required");
			continue;
		}
		if (strcmp(role, "mx") == 0)
			lc->role = ROLE_MX;
		else if (strcmp(role, "submission") == 0)
			lc->role = ROLE_SUBMISSION;
		else if (strcmp(role, "submissions") == 0)
			lc->role = ROLE_SUBMISSIONS;
		else {
			add_error(errors, file, line,
			          "listener: unknown role '%s' (mx, submission or submissions)",
			          role);
			continue;
		}
		/* "host:port", "[v6]:port", or ":port" for every IPv4 address.
		 * The host is left to getaddrinfo (AI_NUMERICHOST): it takes
		 * scoped IPv6 addresses, which inet_pton does not. */
		char *copy = xstrdup(addr), *host, *port;
		int form = split_address(copy, &host, &port);
		if (form < 0 || port == NULL || !port_ok(port)) {
			add_error(errors, file, line,
			          "listener: address '%s' is not host:port or [v6]:port", addr);
			free(copy);
			continue;
		}
		lc->host = xstrdup(form == 0 && host[0] == '\0' ? "0.0.0.0" : host);
		lc->port = xstrdup(port);
		free(copy);
		lc->name = xstrdup(name ? name : role);
		lc->tls_cert =
		    member_string(l, "tls_cert") ? xstrdup(member_string(l, "tls_cert")) : NULL;
		lc->tls_key =
		    member_string(l, "tls_key") ? xstrdup(member_string(l, "tls_key")) : NULL;
		cfg->nlisteners++;
	}
}

/* An array or list of strings into a freshly allocated vector. */
static int read_strings(config_setting_t *s, char ***out, size_t *n)
{
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return -1;
	int len = config_setting_length(s);
	*out = xcalloc((size_t)len + 1, sizeof(char *));
	*n = 0;
	for (int i = 0; i < len; i++) {
		const char *v = config_setting_get_string_elem(s, i);
		if (v == NULL)
			return -1;
		(*out)[(*n)++] = xstrdup(v);
	}
	return 0;
}

static void alias_free(struct alias_conf *a)
{
	for (size_t k = 0; k < a->nto; k++)
		free(a->to[k]);
	free(a->to);
	free(a->local);
	memset(a, 0, sizeof(*a));
}

/* Bytes that cannot be in an address we send mail to: they would end it
 * or the command it is in. */
static int address_chars_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '<' || *s == '>')
			return 0;
	return 1;
}

/* "local@domain": something on each side of the last '@', within the
 * RFC 5321 4.5.3.1.3 path limit (256 with the brackets). */
static int alias_target_ok(const char *s)
{
	const char *at = strrchr(s, '@');
	return at != NULL && at != s && at[1] != '\0' && strlen(s) <= 254 && address_chars_ok(s);
}

/* The aliases of domain dc: each a local part (or "*", the catch-all)
 * once, with at least one address. */
static void read_aliases(struct domain_conf *dc, config_setting_t *list, const char *file,
                         struct buf *errors)
{
	static const char *const allowed[] = {"local", "to", NULL};
	int n = config_setting_length(list);

	if (!config_setting_is_list(list)) {
		add_error(errors, file, (int)config_setting_source_line(list),
		          "domain %s: aliases: expected a list ( { local = \"...\"; to = [ "
		          "\"user@domain\", ... ]; }, ... )",
		          dc->name);
		return;
	}
	dc->aliases = xcalloc((size_t)n + 1, sizeof(*dc->aliases));
	for (int i = 0; i < n; i++) {
		config_setting_t *a = config_setting_get_elem(list, (unsigned)i);
		int line = (int)config_setting_source_line(a);
		struct alias_conf *ac = &dc->aliases[dc->naliases];
		const char *local;

		if (!config_setting_is_group(a)) {
			add_error(errors, file, line,
			          "domain %s: aliases: each entry must be a group { ... }",
			          dc->name);
			continue;
		}
		check_members(a, allowed, "an alias", file, errors);
		local = member_string(a, "local");
		if (local == NULL || local[0] == '\0' || strchr(local, '@') || strlen(local) > 64 ||
		    !address_chars_ok(local)) {
			add_error(errors, file, line,
			          "domain %s: alias: 'local' must be a local part (without @) or "
			          "\"*\" for the catch-all",
			          dc->name);
			continue;
		}
		/* RFC 5321 4.5.1 and RFC 2142: they reach the postmaster and abuse
		 * settings whatever the verdict, so an alias would never apply. */
		if (strcasecmp(local, "postmaster") == 0 || strcasecmp(local, "abuse") == 0) {
			add_error(
			    errors, file, line,
			    "domain %s: alias '%s': %s@ of every local domain goes to the '%s' "
			    "setting",
			    dc->name, local, local,
			    strcasecmp(local, "abuse") == 0 ? "abuse" : "postmaster");
			continue;
		}
		if (config_alias(dc, local) != NULL) {
			add_error(errors, file, line, "domain %s: alias '%s' is listed twice",
			          dc->name, local);
			continue;
		}
		config_setting_t *to = config_setting_get_member(a, "to");
		if (to == NULL || read_strings(to, &ac->to, &ac->nto) < 0 || ac->nto == 0) {
			add_error(errors, file, to ? (int)config_setting_source_line(to) : line,
			          "domain %s: alias '%s': 'to' must be a list of addresses [ "
			          "\"user@domain\", ... ]",
			          dc->name, local);
			alias_free(ac);
			continue;
		}
		int bad = 0;
		for (size_t k = 0; k < ac->nto; k++)
			if (!alias_target_ok(ac->to[k])) {
				add_error(
				    errors, file, (int)config_setting_source_line(to),
				    "domain %s: alias '%s': '%s' is not an address (local@domain)",
				    dc->name, local, ac->to[k]);
				bad = 1;
			}
		if (bad) {
			alias_free(ac);
			continue;
		}
		ac->local = xstrdup(local);
		ac->line = line;
		dc->naliases++;
	}
}

static void read_domains(struct config *cfg, config_setting_t *list, const char *file,
                         struct buf *errors)
{
	static const char *const allowed[] = {"name", "delivery", "maildir",
	                                      "lmtp", "aliases",  NULL};
	int n = config_setting_length(list);

	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		add_error(errors, file, (int)config_setting_source_line(list),
		          "domains: expected a list ( {...}, ... )");
		return;
	}
	cfg->domains = xcalloc((size_t)n + 1, sizeof(*cfg->domains));
	for (int i = 0; i < n; i++) {
		config_setting_t *d = config_setting_get_elem(list, (unsigned)i);
		int line = (int)config_setting_source_line(d);
		struct domain_conf *dc = &cfg->domains[cfg->ndomains];
		const char *name, *method;

		if (!config_setting_is_group(d)) {
			add_error(errors, file, line,
			          "domains: each entry must be a group { ... }");
			continue;
		}
		check_members(d, allowed, "a domain", file, errors);
		name = member_string(d, "name");
		if (name == NULL || name[0] == '\0' || strchr(name, '@') || strlen(name) > 253) {
			add_error(errors, file, line, "domain: 'name' must be a domain name");
			continue;
		}
		method = member_string(d, "delivery");
		if (method == NULL || strcmp(method, "maildir") == 0)
			dc->method = DELIVER_MAILDIR;
		else if (strcmp(method, "lmtp") == 0)
			dc->method = DELIVER_LMTP;
		else if (strcmp(method, "discard") == 0)
			dc->method = DELIVER_DISCARD;
		else {
			add_error(errors, file, line,
			          "domain %s: unknown delivery '%s' (maildir, lmtp or discard)",
			          name, method);
			continue;
		}
		dc->name = xstrdup(name);
		for (char *c = dc->name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		dc->maildir =
		    member_string(d, "maildir") ? xstrdup(member_string(d, "maildir")) : NULL;
		dc->lmtp = member_string(d, "lmtp") ? xstrdup(member_string(d, "lmtp")) : NULL;
		config_setting_t *aliases = config_setting_get_member(d, "aliases");
		if (aliases != NULL)
			read_aliases(dc, aliases, file, errors);
		cfg->ndomains++;
	}
}

static void read_transports(struct config *cfg, config_setting_t *list, const char *file,
                            struct buf *errors)
{
	static const char *const allowed[] = {"domain", "relay", NULL};
	int n = config_setting_length(list);

	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		add_error(errors, file, (int)config_setting_source_line(list),
		          "transports: expected a list ( {...}, ... )");
		return;
	}
	cfg->transports = xcalloc((size_t)n + 1, sizeof(*cfg->transports));
	for (int i = 0; i < n; i++) {
		config_setting_t *t = config_setting_get_elem(list, (unsigned)i);
		int line = (int)config_setting_source_line(t);
		struct transport_conf *tc = &cfg->transports[cfg->ntransports];
		const char *domain, *relay;

		if (!config_setting_is_group(t)) {
			add_error(errors, file, line, "transports: each entry must be a group { ... }");
			continue;
		}
		check_members(t, allowed, "a transport", file, errors);
		domain = member_string(t, "domain");
		relay = member_string(t, "relay");
		if (domain == NULL || domain[0] == '\0' || strchr(domain, '@') || strlen(domain) > 253) {
			add_error(errors, file, line, "transport: 'domain' must be a domain name");
			continue;
		}
		if (relay == NULL || relay[0] == '\0' || strlen(relay) > 300) {
			add_error(errors, file, line, "transport %s: 'relay' must name a host", domain);
			continue;
		}
		tc->domain = xstrdup(domain);
		for (char *c = tc->domain; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		tc->relay = xstrdup(relay);
		tc->line = line;
		cfg->ntransports++;
	}
}

static void read_dkim_signing(struct config *cfg, config_setting_t *list, const char *file,
                              struct buf *errors)
{
	static const char *const allowed[] = {"domain", "selector", "key", NULL};
	int n = config_setting_length(list);

	if (!config_setting_is_list(list)) {
		add_error(errors, file, (int)config_setting_source_line(list),
		          "dkim_signing: expected a list ( {...}, ... )");
		return;
	}
	cfg->dkim_signing = xcalloc((size_t)n + 1, sizeof(*cfg->dkim_signing));
	for (int i = 0; i < n; i++) {
		config_setting_t *d = config_setting_get_elem(list, (unsigned)i);
		int line = (int)config_setting_source_line(d);
		struct dkim_signing_conf *dc = &cfg->dkim_signing[cfg->ndkim_signing];
		const char *domain, *selector, *key;

		if (!config_setting_is_group(d)) {
			add_error(errors, file, line,
			          "dkim_signing: each entry must be a group { ... }");
			continue;
		}
		check_members(d, allowed, "a dkim_signing entry", file, errors);
		domain = member_string(d, "domain");
		selector = member_string(d, "selector");
		key = member_string(d, "key");
		if (domain == NULL || domain[0] == '\0' || strchr(domain, '@') ||
		    strlen(domain) > 253) {
			add_error(errors, file, line,
			          "dkim_signing: 'domain' must be a domain name");
			continue;
		}
		if (selector == NULL || selector[0] == '\0' || strlen(selector) > 63) {
			add_error(errors, file, line, "dkim_signing %s: 'selector' is missing",
			          domain);
			continue;
		}
		if (key == NULL || key[0] == '\0') {
			add_error(errors, file, line,
			          "dkim_signing %s: 'key' must name a PEM private key file",
			          domain);
			continue;
		}
		dc->domain = xstrdup(domain);
		for (char *c = dc->domain; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		dc->selector = xstrdup(selector);
		dc->key = xstrdup(key);
		dc->line = line;
		cfg->ndkim_signing++;
	}
}

/* Letters, digits and hyphens in labels of 1 to 63, no hyphen at either
 * end of a label, 253 at most in all (RFC 1035 2.3.1, RFC 1123 2.1). */
static int is_domain_name(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		int ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || (c == '-' && label > 0);
		if (!ldh || ++label > 63)
			return 0;
	}
	return 1;
}

static void read_policy(struct config *cfg, config_setting_t *group, const char *file,
                        struct buf *errors)
{
	struct policy_conf *pc = &cfg->policy;

	if (!config_setting_is_group(group)) {
		add_error(errors, file, (int)config_setting_source_line(group),
		          "policy: expected a group { ... }");
		return;
	}
	for (int i = 0; i < config_setting_length(group); i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		int line = (int)config_setting_source_line(s);
		long *num = NULL;
		int r;

		for (r = 0; r < PR_COUNT; r++)
			if (strcmp(name, policy_result_name((enum policy_result)r)) == 0)
				break;
		if (r < PR_COUNT) {
			const char *v = config_setting_get_string(s);
			char err[256];
			struct policy_rule rule;
			if (v == NULL) {
				add_error(errors, file, line, "policy.%s: expected a string", name);
			} else if (policy_rule_parse(v, &rule, err, sizeof(err)) < 0) {
				add_error(errors, file, line, "policy.%s: %s", name, err);
			} else {
				free(pc->rules[r].text);
				pc->rules[r] = rule;
			}
			continue;
		}
		if (strcmp(name, "rdns_generic_patterns") == 0 ||
		    strcmp(name, "rdns_not_generic_patterns") == 0) {
			int generic = strcmp(name, "rdns_generic_patterns") == 0;
			char ***list = generic ? &pc->rdns_generic : &pc->rdns_not_generic;
			size_t *n = generic ? &pc->nrdns_generic : &pc->nrdns_not_generic;
			if (read_strings(s, list, n) < 0)
				add_error(errors, file, line,
				          "policy.%s: expected a list of strings "
				          "[ \"...\", ... ]",
				          name);
			pc->rdns_line = line;
			continue;
		}
		if (strcmp(name, "arc_trusted_sealers") == 0) {
			if (read_strings(s, &pc->arc_trusted_sealers, &pc->narc_trusted_sealers) <
			    0) {
				add_error(errors, file, line,
				          "policy.%s: expected a list of domains [ \"...\", ... ]",
				          name);
				continue;
			}
			for (size_t k = 0; k < pc->narc_trusted_sealers; k++) {
				const char *d = pc->arc_trusted_sealers[k];
				if (!is_domain_name(d))
					add_error(errors, file, line,
					          "policy.%s: \"%s\" is not a domain name", name,
					          d);
			}
			continue;
		}
		if (strcmp(name, "trusted_networks") == 0 || strcmp(name, "relay_networks") == 0) {
			const char *v = config_setting_get_string(s);
			if (v == NULL) {
				add_error(errors, file, line, "policy.%s: expected a string", name);
				continue;
			}
			/* Parsed here, so that a bad list stops check-config or
			 * the reload instead of every worker. */
			struct netlist nl;
			char err[256];
			if (netlist_parse(v, &nl, err, sizeof(err)) < 0) {
				add_error(errors, file, line, "policy.%s: %s", name, err);
				continue;
			}
			if (strcmp(name, "trusted_networks") == 0) {
				netlist_free(&pc->trusted);
				pc->trusted = nl;
				free(pc->trusted_networks);
				pc->trusted_networks = xstrdup(v);
			} else {
				netlist_free(&cfg->relay);
				cfg->relay = nl;
				free(cfg->relay_networks);
				cfg->relay_networks = xstrdup(v);
			}
			continue;
		}
		if (strcmp(name, "score_reject") == 0)
			num = &pc->score_reject;
		else if (strcmp(name, "score_tempfail") == 0)
			num = &pc->score_tempfail;
		else if (strcmp(name, "dnsbl_budget_ms") == 0)
			num = &pc->dnsbl_budget_ms;
		else if (strcmp(name, "check_submission") == 0)
			num = &pc->check_submission;
		if (num == NULL) {
			add_error(errors, file, line, "unknown setting 'policy.%s'", name);
			continue;
		}
		if (config_setting_type(s) != CONFIG_TYPE_INT) {
			add_error(errors, file, line, "policy.%s: expected an integer", name);
			continue;
		}
		long v = config_setting_get_int(s);
		if (v < 0 || v > 100000) {
			add_error(errors, file, line, "policy.%s: %ld is out of range 0..100000",
			          name, v);
			continue;
		}
		*num = v;
	}
}

static void read_dnsbls(struct config *cfg, config_setting_t *list, const char *file,
                        struct buf *errors)
{
	static const char *const allowed[] = {"zone", "type", "weight", "codes", NULL};
	int n = config_setting_length(list);

	if (!config_setting_is_list(list)) {
		add_error(errors, file, (int)config_setting_source_line(list),
		          "dnsbl: expected a list ( {...}, ... )");
		return;
	}
	cfg->dnsbls = xcalloc((size_t)n + 1, sizeof(*cfg->dnsbls));
	for (int i = 0; i < n; i++) {
		config_setting_t *d = config_setting_get_elem(list, (unsigned)i);
		int line = (int)config_setting_source_line(d);
		struct dnsbl_conf *dc = &cfg->dnsbls[cfg->ndnsbls];
		const char *zone, *type;
		int weight = 10;

		if (!config_setting_is_group(d)) {
			add_error(errors, file, line, "dnsbl: each entry must be a group { ... }");
			continue;
		}
		check_members(d, allowed, "a dnsbl", file, errors);
		zone = member_string(d, "zone");
		type = member_string(d, "type");
		if (zone == NULL || zone[0] == '\0' || strchr(zone, ' ')) {
			add_error(errors, file, line, "dnsbl: 'zone' must be a domain name");
			continue;
		}
		if (type && strcmp(type, "ip") != 0 && strcmp(type, "rhs") != 0) {
			add_error(errors, file, line, "dnsbl %s: type '%s' is not ip or rhs", zone,
			          type);
			continue;
		}
		config_setting_lookup_int(d, "weight", &weight);
		dc->zone = xstrdup(zone);
		dc->rhs = type && strcmp(type, "rhs") == 0;
		dc->weight = weight;
		dc->line = line;
		config_setting_t *codes = config_setting_get_member(d, "codes");
		if (codes && read_strings(codes, &dc->codes, &dc->ncodes) < 0)
			add_error(errors, file, (int)config_setting_source_line(codes),
			          "dnsbl %s: 'codes' must be a list of strings [ \"...\", ... ]",
			          zone);
		cfg->ndnsbls++;
	}
}

/* Walks every scalar, flattening groups to dotted names. */
static void read_group(struct config *cfg, config_setting_t *group, const char *prefix,
                       const char *file, struct buf *errors)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		char full[128];
		int line = (int)config_setting_source_line(s);

		snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "." : "", name);
		if (prefix[0] == '\0' && strcmp(name, "listeners") == 0) {
			read_listeners(cfg, s, file, errors);
			continue;
		}
		if (prefix[0] == '\0' && strcmp(name, "domains") == 0) {
			read_domains(cfg, s, file, errors);
			continue;
		}
		if (prefix[0] == '\0' && strcmp(name, "policy") == 0) {
			read_policy(cfg, s, file, errors);
			continue;
		}
		if (prefix[0] == '\0' && strcmp(name, "dnsbl") == 0) {
			read_dnsbls(cfg, s, file, errors);
			continue;
		}
		if (prefix[0] == '\0' && strcmp(name, "transports") == 0) {
			read_transports(cfg, s, file, errors);
			continue;
		}
		if (prefix[0] == '\0' && strcmp(name, "dkim_signing") == 0) {
			read_dkim_signing(cfg, s, file, errors);
			continue;
		}
		if (config_setting_is_group(s)) {
			int known = 0;
			for (size_t k = 0; k < sizeof(list_names) / sizeof(list_names[0]); k++)
				if (prefix[0] == '\0' && strcmp(name, list_names[k]) == 0)
					known = 1;
			if (!known)
				add_error(errors, file, line, "unknown section '%s'", full);
			else
				read_group(cfg, s, full, file, errors);
			continue;
		}
		const struct param *p = param_find(full);
		if (p == NULL) {
			add_error(errors, file, line, "unknown setting '%s'", full);
			continue;
		}
		param_set(cfg, p, s, file, errors);
	}
}

static void check_semantics(struct config *cfg, const char *file, struct buf *errors)
{
	if (cfg->nlisteners == 0)
		add_error(errors, file, 0, "no listeners configured");
	if (cfg->ndomains == 0)
		add_error(errors, file, 0, "no local domains configured");
	if (strcmp(cfg->tls_min_version, "TLSv1.2") != 0 &&
	    strcmp(cfg->tls_min_version, "TLSv1.3") != 0)
		add_error(errors, file, 0, "tls.min_version: '%s' is not TLSv1.2 or TLSv1.3",
		          cfg->tls_min_version);
	if (cfg->smarthost_user[0] && strcmp(cfg->delivery_tls, "none") == 0)
		add_error(errors, file, 0,
		          "delivery.smarthost_user: AUTH needs TLS, but delivery.tls is none");
	if (cfg->retry_min > cfg->retry_max)
		add_error(errors, file, 0, "delivery.retry_min is larger than delivery.retry_max");
	if (strchr(cfg->postmaster, '@') == NULL)
		add_error(errors, file, 0, "postmaster: '%s' is not an address", cfg->postmaster);
	if (strchr(cfg->abuse, '@') == NULL)
		add_error(errors, file, 0, "abuse: '%s' is not an address", cfg->abuse);
	for (size_t i = 0; i < cfg->ndomains; i++) {
		const struct domain_conf *d = &cfg->domains[i];
		if (d->method == DELIVER_LMTP && !(d->lmtp && d->lmtp[0]) && !cfg->delivery_lmtp[0])
			add_error(errors, file, 0,
			          "domain %s: delivery is lmtp but neither its 'lmtp' nor "
			          "delivery.lmtp names a server",
			          d->name);
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(cfg->domains[j].name, d->name) == 0)
				add_error(errors, file, 0, "domain %s is listed twice", d->name);
	}
	for (size_t i = 0; i < cfg->nlisteners; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->listeners[i].host, cfg->listeners[j].host) == 0 &&
			    strcmp(cfg->listeners[i].port, cfg->listeners[j].port) == 0)
				add_error(errors, file, 0, "listeners %s and %s share %s:%s",
				          cfg->listeners[j].name, cfg->listeners[i].name,
				          cfg->listeners[i].host, cfg->listeners[i].port);
}

int config_load(const char *path, struct config *cfg, struct buf *errors)
{
	config_t lc;
	const char *file = path ? path : "<embedded>";
	size_t errors_before = errors->len;
	int ok;

	memset(cfg, 0, sizeof(*cfg));
	param_defaults(cfg);
	policy_conf_defaults(&cfg->policy);
	/* Nobody relays without AUTH unless the operator says so. */
	cfg->relay_networks = xstrdup("");
	cfg->source = xstrdup(file);

	config_init(&lc);
	ok = path ? config_read_file(&lc, path) : config_read_string(&lc, config_embedded_default);
	if (ok != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			buf_printf(errors, "%s:0: cannot read the file\n", file);
		else
			add_error(errors, config_error_file(&lc) ? config_error_file(&lc) : file,
			          config_error_line(&lc), "%s", config_error_text(&lc));
		config_destroy(&lc);
		config_free(cfg);
		return -1;
	}
	read_group(cfg, config_root_setting(&lc), "", file, errors);
	config_destroy(&lc);
	if (errors->len == errors_before)
		check_semantics(cfg, file, errors);
	if (errors->len != errors_before) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (params[i].type == P_STR) {
			char **p = (char **)((char *)cfg + params[i].offset);
			free(*p);
			*p = NULL;
		}
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		free(cfg->listeners[i].name);
		free(cfg->listeners[i].host);
		free(cfg->listeners[i].port);
		free(cfg->listeners[i].tls_cert);
		free(cfg->listeners[i].tls_key);
	}
	free(cfg->listeners);
	for (size_t i = 0; i < cfg->ndomains; i++) {
		free(cfg->domains[i].name);
		free(cfg->domains[i].maildir);
		free(cfg->domains[i].lmtp);
		for (size_t k = 0; k < cfg->domains[i].naliases; k++)
			alias_free(&cfg->domains[i].aliases[k]);
		free(cfg->domains[i].aliases);
	}
	free(cfg->domains);
	for (size_t i = 0; i < cfg->ntransports; i++) {
		free(cfg->transports[i].domain);
		free(cfg->transports[i].relay);
	}
	free(cfg->transports);
	for (size_t i = 0; i < cfg->ndnsbls; i++) {
		free(cfg->dnsbls[i].zone);
		for (size_t k = 0; k < cfg->dnsbls[i].ncodes; k++)
			free(cfg->dnsbls[i].codes[k]);
		free(cfg->dnsbls[i].codes);
	}
	free(cfg->dnsbls);
	for (size_t i = 0; i < cfg->ndkim_signing; i++) {
		free(cfg->dkim_signing[i].domain);
		free(cfg->dkim_signing[i].selector);
		free(cfg->dkim_signing[i].key);
	}
	free(cfg->dkim_signing);
	policy_conf_free(&cfg->policy);
	free(cfg->relay_networks);
	netlist_free(&cfg->relay);
	free(cfg->source);
	memset(cfg, 0, sizeof(*cfg));
}

const struct domain_conf *config_domain(const struct config *cfg, const char *domain)
{
	for (size_t i = 0; i < cfg->ndomains; i++)
		if (strcasecmp(cfg->domains[i].name, domain) == 0)
			return &cfg->domains[i];
	return NULL;
}

const struct alias_conf *config_alias(const struct domain_conf *d, const char *local)
{
	for (size_t i = 0; i < d->naliases; i++)
		if (strcasecmp(d->aliases[i].local, local) == 0)
			return &d->aliases[i];
	return NULL;
}

const char *config_relay(const struct config *cfg, const char *domain)
{
	size_t dlen = strlen(domain);

	for (size_t i = 0; i < cfg->ntransports; i++) {
		const char *t = cfg->transports[i].domain;
		size_t tlen = strlen(t);
		if (t[0] == '.' ? dlen > tlen && strcasecmp(domain + dlen - tlen, t) == 0
		                : strcasecmp(domain, t) == 0)
			return cfg->transports[i].relay;
	}
	return cfg->smarthost[0] ? cfg->smarthost : NULL;
}

static void policy_reference(struct buf *out)
{
	struct policy_conf pc;

	policy_conf_defaults(&pc);
	for (int r = 0; r < PR_COUNT; r++) {
		const struct policy_rule *rule = &pc.rules[r];
		if (rule->action == PA_SCORE)
			buf_printf(out, "policy.%s (action, default \"score %ld\")\n",
			           policy_result_name((enum policy_result)r), rule->score);
		else
			buf_printf(out, "policy.%s (action, default \"%s\")\n",
			           policy_result_name((enum policy_result)r),
			           policy_action_name(rule->action));
	}
	buf_printf(out,
	           "policy.score_reject (integer 0..100000, default %ld): a total score at or "
	           "above it rejects at RCPT; 0 never\n",
	           pc.score_reject);
	buf_printf(out,
	           "policy.score_tempfail (integer 0..100000, default %ld): a total score at "
	           "or above it tempfails at RCPT; 0 never\n",
	           pc.score_tempfail);
	buf_printf(out,
	           "policy.dnsbl_budget_ms (integer 0..100000, default %ld): time for all "
	           "DNSBL queries together\n",
	           pc.dnsbl_budget_ms);
	buf_printf(out,
	           "policy.trusted_networks (string, default \"%s\"): clients that are not "
	           "checked\n",
	           pc.trusted_networks);
	buf_printf(out,
	           "policy.relay_networks (string, default \"\"): clients that may send to any "
	           "domain on the mx listener without AUTH (like Postfix's mynetworks)\n");
	buf_printf(out,
	           "policy.check_submission (integer 0..1, default %ld): 1 checks "
	           "authenticated submission too\n",
	           pc.check_submission);
	buf_printf(out, "policy actions: accept | tag | score N | tempfail[: text] | "
	                "reject[: text]\n");
	buf_printf(out, "policy.rdns_generic_patterns, policy.rdns_not_generic_patterns (lists of "
	                "globs or /regex/): names to count as generic, or never\n");
	buf_printf(out, "policy.arc_trusted_sealers (list of domains, default none): forwarders "
	                "whose sealed dmarc=pass (a validated ARC chain) overrides a DMARC "
	                "failure here\n");
	buf_printf(out, "domains ( { name = \"...\"; delivery = \"maildir\" | \"lmtp\" | "
	                "\"discard\"; maildir = \"...\"; lmtp = \"...\"; aliases = ( { local = "
	                "\"...\"; to = [ \"user@domain\", ... ]; }, ... ); } ): local domains; "
	                "an alias sends local@domain on to each address of to, local \"*\" "
	                "catches local parts that are neither an alias nor a mailbox\n");
	buf_printf(out,
	           "dkim_signing ( { domain = \"...\"; selector = \"...\"; key = \"file.pem\"; "
	           "} ): DKIM keys for mail from authenticated users; several entries for "
	           "one domain sign with each\n");
	buf_printf(
	    out, "dnsbl ( { zone = \"...\"; type = \"ip\" | \"rhs\"; weight = N; "
	         "codes = [ \"127.0.0.2=10:meaning\", \"127.0.0.4-127.0.0.7=5\", \"&4=3\" ]; } ): "
	         "blocklists (RFC 5782), default weight 10 for any listing code\n");
	policy_conf_free(&pc);
}

void config_reference(struct buf *out)
{
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const struct param *p = &params[i];
		if (p->type == P_STR)
			buf_printf(out, "%s (string, default \"%s\"): %s\n", p->name, p->def_str,
			           p->doc);
		else
			buf_printf(out, "%s (integer %ld..%ld, default %ld): %s\n", p->name, p->min,
			           p->max, p->def_int, p->doc);
	}
	policy_reference(out);
}
