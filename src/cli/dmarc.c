/* `postern dmarc report`: one aggregate report (RFC 7489 7.2) per policy
 * domain and UTC day from the observations in the state database, as XML
 * files and optionally as messages ready to send.  `postern dmarc record`
 * loads observations from text lines: a testing and import aid. */
#include "auth/dmarc_align.h"
#include "auth/dmarc_record.h"
#include "auth/dmarc_report.h"
#include "cli/cli.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "dns/dns.h"
#include "store/dmarc_store.h"

#include <event2/event.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* Limits on what one report may grow to in memory. */
#define REPORT_XML_MAX (128u << 20)
#define REPORT_MAIL_MAX (64u << 20)
/* dmarc record: bounds on its input. */
#define RECORD_LINE_MAX 8192
#define RECORD_LINES_MAX 100000
#define RECORD_INPUT_MAX (16u << 20)

const char cli_dmarc_usage[] =
    "usage: postern dmarc report [--day YYYY-MM-DD] [--out DIR] [--mail [--zone FILE]]\n"
    "       postern dmarc record < LINES   (testing/import aid)\n"
    "  record: one observation per line, tab-separated KEY=VALUE; required: when=SECONDS\n"
    "  domain= ip= header_from=; optional: rua= adkim= aspf= p= sp= pct= fo= disposition=\n"
    "  dkim_pass=pass|fail spf_pass=pass|fail reason= comment= envelope_from=\n"
    "  dkim=DOMAIN:SELECTOR:RESULT (repeatable) spf_domain= spf_scope= spf_result=\n";

static int usage(void)
{
	return cli_usage_error(cli_dmarc_usage);
}

/* Strict YYYY-MM-DD, a real calendar day; *day is its first second, UTC. */
static int parse_day(const char *s, int64_t *day)
{
	struct tm tm = {0};
	char back[11];

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	time_t t = timegm(&tm);
	/* timegm normalizes 2026-02-30 to March: refuse what does not read
	 * back the same. */
	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(back, sizeof(back), "%Y-%m-%d", &tm) != 10 || strcmp(back, s) != 0)
		return -1;
	*day = (int64_t)t;
	return 0;
}

/* Writes data to dir/name through a temporary file and a rename, so that
 * a reader never sees half a report.  Prints the path. */
static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp)) {
		fprintf(stderr, "postern: dmarc: path too long: %s/%s\n", dir, name);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "postern: dmarc: cannot create %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	const char *p = data;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	int err = off < len ? errno : 0;
	if (close(fd) < 0 && err == 0)
		err = errno;
	if (err == 0 && rename(tmp, path) < 0)
		err = errno;
	if (err != 0 || off < len) {
		fprintf(stderr, "postern: dmarc: cannot write %s: %s\n", path,
		        strerror(err ? err : EIO));
		unlink(tmp);
		return -1;
	}
	printf("%s\n", path);
	return 0;
}

/* RFC 1952 gzip of in, into *out (malloc'd). */
static int gzip(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	z_stream z = {0};

	/* 15 + 16: the largest window, with a gzip header and trailer. */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -1;
	size_t cap = deflateBound(&z, (uLong)len);
	*out = xmalloc(cap);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* The rua mailto addresses of a stored record, read back through the
 * record parser so that "!size" means what it means at evaluation time. */
struct rcpt {
	char addr[256];    /* RFC 5321 4.5.3.1.3: a path holds at most 254 */
	uint64_t max_size; /* 0: none */
};

static size_t rua_mailtos(const char *rua, struct rcpt *out)
{
	char txt[DMARC_RECORD_MAX + 32];
	struct dmarc_record rec;
	char err[128];
	size_t n = 0;

	if (rua[0] == '\0' ||
	    snprintf(txt, sizeof(txt), "v=DMARC1; p=none; rua=%s", rua) >= (int)sizeof(txt))
		return 0;
	if (dmarc_record_parse(txt, strlen(txt), &rec, err, sizeof(err)) == DMARC_RECORD_OK)
		for (size_t i = 0; i < rec.nrua; i++)
			if (dmarc_report_mailto(rec.rua[i].uri, out[n].addr, sizeof(out[n].addr)) ==
			    1)
				out[n++].max_size = rec.rua[i].max_size;
	dmarc_record_free(&rec);
	return n;
}

struct report_ctx {
	const struct config *cfg;
	struct dmarc_store *store;
	const char *out_dir;
	int mail;
	/* For the external destination check; the resolver is made at the
	 * first external address. */
	const char *zone; /* --zone: answers from a zone file (tests) */
	struct event_base *base;
	struct dns_resolver *resolver;
	const char *org, *email;
	int64_t day;
	char day_text[11];
};

static struct dns_resolver *make_resolver(struct report_ctx *c)
{
	if (c->resolver != NULL)
		return c->resolver;
	if (c->base == NULL && (c->base = event_base_new()) == NULL) {
		fprintf(stderr, "postern: dmarc: cannot make an event loop\n");
		return NULL;
	}
	c->resolver = cli_resolver("dmarc", c->base, c->zone, NULL, c->cfg);
	return c->resolver;
}

struct verify_wait {
	struct event_base *base;
	enum dns_status status;
	int authorized;
};

static void verify_done(void *arg, const struct dns_answer *ans)
{
	struct verify_wait *w = arg;

	w->status = ans->status;
	for (size_t i = 0; i < ans->nrr; i++)
		if (dmarc_record_is_dmarc(ans->rrs[i].u.txt.data, ans->rrs[i].u.txt.len))
			w->authorized = 1;
	event_base_loopbreak(w->base);
}

/* RFC 7489 7.1: a destination outside the policy domain's Organizational
 * Domain receives reports only when <policy-domain>._report._dmarc.<its
 * domain> has a TXT record beginning with v=DMARC1.  (A rua= in that
 * record, which may replace the URI, is not applied: the address stays
 * the published one.)  Returns 1 when authorized, 0 when not, with *why,
 * -1 when no lookup could be made. */
static int external_authorized(struct report_ctx *c, const char *policy_domain, const char *host,
                               const char **why)
{
	char name[2 * DMARC_DOMAIN_MAX + 32];
	struct dns_resolver *r = make_resolver(c);

	if (r == NULL)
		return -1;
	if (snprintf(name, sizeof(name), "%s._report._dmarc.%s", policy_domain, host) >=
	    (int)sizeof(name)) {
		*why = "name too long";
		return 0;
	}
	struct verify_wait w = {c->base, DNS_TEMPFAIL, 0};
	dns_lookup(r, name, DNS_T_TXT, verify_done, &w);
	event_base_dispatch(c->base);
	*why = w.status == DNS_OK ? "no v=DMARC1 record" : dns_status_text(w.status);
	return w.authorized;
}

static int listed(const char *const *to, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(to[i], addr) == 0)
			return 1;
	return 0;
}

/* --mail: the message beside the report, to the recipients whose size
 * limit the gzip'd report fits (7.2.1.1: a larger report is not sent to
 * them). */
static int write_mail(struct report_ctx *c, const struct dmarc_store_domain *d,
                      const struct rcpt *rc, size_t nrc, const struct buf *xml,
                      const char *report_id, const char *base)
{
	unsigned char *gz;
	size_t gzlen;
	const char *to[DMARC_URI_MAX];
	size_t nto = 0;
	char gzname[PATH_MAX], mailname[PATH_MAX], date[64], err[256];
	int ret = -1;

	if (gzip(xml->data, xml->len, &gz, &gzlen) < 0) {
		fprintf(stderr, "postern: dmarc: cannot gzip the report for %s\n",
		        d->policy_domain);
		return -1;
	}
	for (size_t i = 0; i < nrc; i++) {
		const char *dom = strrchr(rc[i].addr, '@') + 1;
		if (rc[i].max_size != 0 && rc[i].max_size < gzlen) {
			fprintf(stderr,
			        "postern: dmarc: %s: report of %zu bytes gzip'd exceeds the limit "
			        "of %s "
			        "(%" PRIu64 " bytes); not sent to it\n",
			        d->policy_domain, gzlen, rc[i].addr, rc[i].max_size);
			continue;
		}
		if (!dmarc_aligned(dom, d->policy_domain, DMARC_MODE_RELAXED)) {
			const char *why = "";
			int ok = external_authorized(c, d->policy_domain, dom, &why);
			if (ok < 0) {
				free(gz);
				return -1;
			}
			if (ok == 0) {
				fprintf(
				    stderr,
				    "postern: dmarc: %s: %s is an external destination not "
				    "authorized "
				    "by %s._report._dmarc.%s (RFC 7489 7.1: %s); not sent to it\n",
				    d->policy_domain, rc[i].addr, d->policy_domain, dom, why);
				continue;
			}
		}
		if (!listed(to, nto, rc[i].addr))
			to[nto++] = rc[i].addr;
	}
	if (nto == 0) {
		fprintf(stderr, "postern: dmarc: %s: no recipient left; no message written\n",
		        d->policy_domain);
		free(gz);
		return 0;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (snprintf(gzname, sizeof(gzname), "%s.xml.gz", base) >= (int)sizeof(gzname) ||
	    snprintf(mailname, sizeof(mailname), "%s.eml", base) >= (int)sizeof(mailname)) {
		fprintf(stderr, "postern: dmarc: %s: file name too long\n", d->policy_domain);
		free(gz);
		return -1;
	}

	struct dmarc_report_mail m = {
	    .from = c->email,
	    .to = to,
	    .nto = nto,
	    .policy_domain = d->policy_domain,
	    .submitter = c->cfg->hostname,
	    .report_id = report_id,
	    .date = date,
	    .filename = gzname,
	    .gz = gz,
	    .gzlen = gzlen,
	    .begin = c->day,
	    .end = c->day + DMARC_STORE_DAY - 1,
	};
	struct buf msg;
	buf_init(&msg, REPORT_MAIL_MAX);
	if (dmarc_report_mail(&m, &msg, err, sizeof(err)) < 0)
		fprintf(stderr, "postern: dmarc: %s: %s\n", d->policy_domain, err);
	else
		ret = write_file(c->out_dir, mailname, msg.data, msg.len);
	buf_free(&msg);
	free(gz);
	return ret;
}

/* One domain's report.  Returns 0, or -1 after printing why. */
static int report_domain(struct report_ctx *c, const struct dmarc_store_domain *d)
{
	struct rcpt rc[DMARC_URI_MAX];
	size_t nrc = rua_mailtos(d->rua, rc);
	struct dmarc_store_row *rows = NULL;
	size_t nrows = 0;
	char err[512], report_id[600], name[PATH_MAX], base[PATH_MAX];
	int ret = -1;

	/* 7.2: reports go only where the domain asks for them by mail. */
	if (nrc == 0) {
		/* The domain came from a message's From field. */
		char dom[LOG_VALUE_SIZE(256)];
		log_debug("event=dmarc_report_skip domain=%s reason=no_mailto_rua",
		          log_value(dom, sizeof(dom), d->policy_domain));
		return 0;
	}
	if (dmarc_store_rows(c->store, c->day, d->policy_domain, &rows, &nrows, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "postern: dmarc: %s\n", err);
		return -1;
	}
	struct dmarc_report_record *rec = xcalloc(nrows ? nrows : 1, sizeof(*rec));
	struct dmarc_report_dkim *dk = xcalloc(nrows * DMARC_OBS_DKIM_MAX + 1, sizeof(*dk));
	for (size_t i = 0; i < nrows; i++) {
		const struct dmarc_obs *o = &rows[i].obs;
		struct dmarc_report_dkim *k = dk + i * DMARC_OBS_DKIM_MAX;
		for (size_t j = 0; j < o->ndkim; j++)
			k[j] = (struct dmarc_report_dkim){o->dkim[j].domain, o->dkim[j].selector,
			                                  o->dkim[j].result};
		rec[i] = (struct dmarc_report_record){
		    .source_ip = o->source_ip,
		    .count = rows[i].count,
		    .disposition = o->disposition,
		    .dkim_pass = o->dkim_aligned_pass,
		    .spf_pass = o->spf_aligned_pass,
		    .reason = o->reason,
		    .reason_comment = o->reason_comment,
		    .envelope_from = o->envelope_from,
		    .header_from = o->header_from,
		    .dkim = k,
		    .ndkim = o->ndkim,
		    .spf_domain = o->spf_domain,
		    .spf_scope = o->spf_scope,
		    .spf_result = o->spf_result,
		};
	}
	/* The report_id is stable for a (domain, day) at one receiver, so
	 * that running the command again gives the same report, and unique
	 * across them; its shape is a message id, and it serves as one. */
	snprintf(report_id, sizeof(report_id), "%s.%s@%s", c->day_text, d->policy_domain,
	         c->cfg->hostname);
	struct dmarc_report_meta meta = {
	    .org_name = c->org,
	    .email = c->email,
	    .report_id = report_id,
	    .begin = c->day,
	    .end = c->day + DMARC_STORE_DAY - 1,
	};
	struct dmarc_report_policy pol = {
	    .domain = d->policy_domain,
	    .adkim = d->adkim,
	    .aspf = d->aspf,
	    .p = d->p,
	    .sp = d->sp,
	    .fo = d->fo,
	};
	struct buf xml;
	buf_init(&xml, REPORT_XML_MAX);
	if (dmarc_report_xml(&meta, &pol, rec, nrows, &xml, err, sizeof(err)) < 0 ||
	    dmarc_report_filename(c->cfg->hostname, d->policy_domain, meta.begin, meta.end, 0, name,
	                          sizeof(name), err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: dmarc: report for %s: %s\n", d->policy_domain, err);
	} else if (write_file(c->out_dir, name, xml.data, xml.len) == 0) {
		/* The name without ".xml", for the attachment and message. */
		snprintf(base, sizeof(base), "%.*s", (int)(strlen(name) - 4), name);
		ret = c->mail ? write_mail(c, d, rc, nrc, &xml, report_id, base) : 0;
	}
	buf_free(&xml);
	free(dk);
	free(rec);
	dmarc_store_rows_free(rows, nrows);
	return ret;
}

static int cmd_report(int argc, char **argv, const struct config *cfg)
{
	struct report_ctx c = {.cfg = cfg, .out_dir = "."};
	const char *day_arg = NULL;
	char err[512];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--day") == 0 && i + 1 < argc)
			day_arg = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			c.out_dir = argv[++i];
		else if (strcmp(argv[i], "--mail") == 0)
			c.mail = 1;
		else if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc)
			c.zone = argv[++i];
		else
			return usage();
	}
	if (day_arg != NULL && parse_day(day_arg, &c.day) < 0) {
		fprintf(stderr, "postern: dmarc: --day %s is not a day (YYYY-MM-DD)\n", day_arg);
		return 2;
	}
	/* By default, yesterday: the last complete UTC day. */
	if (day_arg == NULL)
		c.day = dmarc_store_day((int64_t)time(NULL)) - DMARC_STORE_DAY;
	time_t t = (time_t)c.day;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(c.day_text, sizeof(c.day_text), "%Y-%m-%d", &tm);

	c.org = cfg->dmarc_report_org[0] ? cfg->dmarc_report_org : cfg->hostname;
	c.email = cfg->dmarc_report_email[0] ? cfg->dmarc_report_email : cfg->postmaster;
	if (c.email == NULL || c.email[0] == '\0') {
		fprintf(stderr, "postern: dmarc: no report address: set dmarc.report_email or "
		                "postmaster\n");
		return 1;
	}
	c.store = dmarc_store_open(cfg->state_dir, err, sizeof(err));
	if (c.store == NULL) {
		fprintf(stderr, "postern: dmarc: %s\n", err);
		return 1;
	}
	struct dmarc_store_domain *d;
	size_t n;
	int rc = 0;
	if (dmarc_store_domains(c.store, c.day, &d, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: dmarc: %s\n", err);
		dmarc_store_close(c.store);
		return 1;
	}
	/* One failing domain does not stop the others' reports. */
	for (size_t i = 0; i < n; i++)
		if (report_domain(&c, &d[i]) < 0)
			rc = 1;
	dmarc_store_domains_free(d, n);
	dmarc_store_close(c.store);
	if (c.resolver != NULL)
		dns_resolver_free(c.resolver);
	if (c.base != NULL)
		event_base_free(c.base);
	return rc;
}

/* dmarc record: every line is one observation, tab-separated KEY=VALUE:
 *   when=SECONDS domain=POLICY-DOMAIN ip=SOURCE-IP header_from=DOMAIN
 *   (required), rua= adkim=r|s aspf=r|s p= sp= pct= fo= disposition=
 *   dkim_pass=pass|fail spf_pass=pass|fail reason= comment=
 *   envelope_from= dkim=DOMAIN:SELECTOR:RESULT (up to 8) spf_domain=
 *   spf_scope= spf_result=.
 * Defaults: adkim and aspf r, p none, sp as p, pct 100, fo 0, disposition
 * none, dkim_pass and spf_pass fail, spf_scope mfrom, spf_result none,
 * envelope_from and spf_domain "".  All lines are stored in one batch. */
static int record_field(struct dmarc_obs *o, char *key, char *val)
{
	if (strcmp(key, "when") == 0) {
		char *end;
		errno = 0;
		long long v = strtoll(val, &end, 10);
		if (end == val || *end != '\0' || errno != 0)
			return -1;
		o->when = (int64_t)v;
	} else if (strcmp(key, "domain") == 0) {
		o->policy_domain = val;
	} else if (strcmp(key, "ip") == 0) {
		o->source_ip = val;
	} else if (strcmp(key, "header_from") == 0) {
		o->header_from = val;
	} else if (strcmp(key, "envelope_from") == 0) {
		o->envelope_from = val;
	} else if (strcmp(key, "rua") == 0) {
		o->rua = val;
	} else if (strcmp(key, "adkim") == 0 || strcmp(key, "aspf") == 0) {
		if (strlen(val) != 1)
			return -1;
		*(key[1] == 'd' ? &o->adkim : &o->aspf) = val[0];
	} else if (strcmp(key, "p") == 0) {
		o->p = val;
	} else if (strcmp(key, "sp") == 0) {
		o->sp = val;
	} else if (strcmp(key, "pct") == 0) {
		char *end;
		unsigned long v = strtoul(val, &end, 10);
		if (end == val || *end != '\0' || v > 100)
			return -1;
		o->pct = (unsigned)v;
	} else if (strcmp(key, "fo") == 0) {
		o->fo = val;
	} else if (strcmp(key, "disposition") == 0) {
		o->disposition = val;
	} else if (strcmp(key, "dkim_pass") == 0 || strcmp(key, "spf_pass") == 0) {
		if (strcmp(val, "pass") != 0 && strcmp(val, "fail") != 0)
			return -1;
		*(key[0] == 'd' ? &o->dkim_aligned_pass : &o->spf_aligned_pass) = val[0] == 'p';
	} else if (strcmp(key, "reason") == 0) {
		o->reason = val;
	} else if (strcmp(key, "comment") == 0) {
		o->reason_comment = val;
	} else if (strcmp(key, "dkim") == 0) {
		char *sel = strchr(val, ':'), *res = sel ? strchr(sel + 1, ':') : NULL;
		if (res == NULL || o->ndkim == DMARC_OBS_DKIM_MAX)
			return -1;
		*sel++ = '\0';
		*res++ = '\0';
		o->dkim[o->ndkim++] = (struct dmarc_obs_dkim){val, sel, res};
	} else if (strcmp(key, "spf_domain") == 0) {
		o->spf_domain = val;
	} else if (strcmp(key, "spf_scope") == 0) {
		o->spf_scope = val;
	} else if (strcmp(key, "spf_result") == 0) {
		o->spf_result = val;
	} else {
		return -1;
	}
	return 0;
}

static int record_line(char *line, struct dmarc_obs *o)
{
	*o = (struct dmarc_obs){.when = -1,
	                        .adkim = 'r',
	                        .aspf = 'r',
	                        .p = "none",
	                        .pct = 100,
	                        .fo = "0",
	                        .disposition = "none",
	                        .envelope_from = "",
	                        .spf_domain = "",
	                        .spf_scope = "mfrom",
	                        .spf_result = "none"};
	for (char *save = NULL, *f = strtok_r(line, "\t", &save); f != NULL;
	     f = strtok_r(NULL, "\t", &save)) {
		char *eq = strchr(f, '=');
		if (eq == NULL)
			return -1;
		*eq = '\0';
		if (record_field(o, f, eq + 1) < 0)
			return -1;
	}
	if (o->sp == NULL)
		o->sp = o->p;
	return o->when >= 0 && o->policy_domain && o->source_ip && o->header_from ? 0 : -1;
}

static int cmd_record(const struct config *cfg)
{
	char **lines = xcalloc(RECORD_LINES_MAX, sizeof(*lines));
	struct dmarc_obs *obs = xcalloc(RECORD_LINES_MAX, sizeof(*obs));
	char buf[RECORD_LINE_MAX + 2], err[512];
	size_t n = 0, lineno = 0, total = 0;
	int rc = 1;

	while (fgets(buf, sizeof(buf), stdin) != NULL) {
		size_t len = strlen(buf);
		lineno++;
		/* Limits before growth: a longer line is refused, not split. */
		if (len > RECORD_LINE_MAX || (len > 0 && buf[len - 1] != '\n' && !feof(stdin))) {
			fprintf(stderr, "postern: dmarc: stdin:%zu: line longer than %d bytes\n",
			        lineno, RECORD_LINE_MAX);
			goto out;
		}
		total += len;
		if (total > RECORD_INPUT_MAX) {
			fprintf(stderr, "postern: dmarc: more than %u bytes on stdin\n",
			        RECORD_INPUT_MAX);
			goto out;
		}
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '\0' || buf[0] == '#')
			continue;
		if (n == RECORD_LINES_MAX) {
			fprintf(stderr, "postern: dmarc: more than %d observations\n",
			        RECORD_LINES_MAX);
			goto out;
		}
		lines[n] = xstrdup(buf);
		if (record_line(lines[n], &obs[n]) < 0) {
			fprintf(
			    stderr,
			    "postern: dmarc: stdin:%zu: bad observation (needs when= domain= ip= "
			    "header_from=; see the keys in src/cli/dmarc.c)\n",
			    lineno);
			n++;
			goto out;
		}
		n++;
	}
	struct dmarc_store *s = dmarc_store_open(cfg->state_dir, err, sizeof(err));
	if (s == NULL || dmarc_store_add(s, obs, n, err, sizeof(err)) < 0)
		fprintf(stderr, "postern: dmarc: %s\n", err);
	else
		rc = 0;
	dmarc_store_close(s);
	if (rc == 0)
		printf("read %zu observations\n", n);
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(obs);
	return rc;
}

int cli_dmarc(int argc, char **argv, const struct config *cfg)
{
	if (argc >= 1 && strcmp(argv[0], "report") == 0)
		return cmd_report(argc - 1, argv + 1, cfg);
	if (argc == 1 && strcmp(argv[0], "record") == 0)
		return cmd_record(cfg);
	return usage();
}
