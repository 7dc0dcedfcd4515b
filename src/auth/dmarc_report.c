/* DMARC aggregate report builders (RFC 7489 7.2, appendix C): XML, file
 * name and carrying message, all pure. */
#include "auth/dmarc_report.h"
#include "core/b64.h"
#include "core/dmarc_vocab.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 2045 6.8: encoded lines of at most 76 characters. */
#define B64_LINE 76
#define B64_CHUNK (B64_LINE / 4 * 3)
/* "=_" cannot occur in base64 nor in the text part we write. */
#define BOUNDARY "=_postern_dmarc_report"

static int fail(char *err, size_t errsize, const char *why, const char *what)
{
	snprintf(err, errsize, "%s%s%s", why, what ? ": " : "", what ? what : "");
	return -1;
}

/* "" is no reason, as in the store. */
static int has_reason(const struct dmarc_report_record *r)
{
	return r->reason != NULL && r->reason[0] != '\0';
}

/* Length of the UTF-8 sequence at s that encodes a character XML 1.0
 * allows (2.2: #x9 #xA #xD [#x20-#xD7FF] [#xE000-#xFFFD]
 * [#x10000-#x10FFFF]), or 0.  Overlong forms and surrogates are refused. */
static size_t xml_char(const unsigned char *s)
{
	uint32_t c;
	size_t n;

	if (s[0] < 0x80)
		return (s[0] >= 0x20 || s[0] == 0x9 || s[0] == 0xa || s[0] == 0xd) ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07u;
	} else {
		return 0;
	}
	/* A NUL ends the string before a continuation byte is expected, so
	 * this never reads past it. */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff)
		return 0;
	return n;
}

/* Appends s as XML character data, escaped (2.4, and quotes too so that
 * the same text is safe in an attribute). */
static int xml_text(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n = xml_char(p);
		const char *rep = NULL;
		switch (n == 1 ? *p : 0) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		default:
			break;
		}
		int rc;
		if (n == 0) {
			rc = buf_append_str(b, "\xef\xbf\xbd"); /* U+FFFD, one per bad octet */
			n = 1;
		} else {
			rc = rep ? buf_append_str(b, rep) : buf_append(b, p, n);
		}
		if (rc < 0)
			return -1;
		p += n;
	}
	return 0;
}

/* <name>text</name> on its own line at depth levels of indentation. */
static int element(struct buf *b, int depth, const char *name, const char *text)
{
	return buf_printf(b, "%*s<%s>", depth * 2, "", name) < 0 || xml_text(b, text) < 0 ||
	               buf_printf(b, "</%s>\n", name) < 0
	           ? -1
	           : 0;
}

/* The schema's IPAddress pattern accepts dotted IPv4 and only the full
 * eight-group IPv6 form, so "::" is expanded; an IPv4-mapped address is
 * the IPv4 client. */
static int ip_for_schema(const char *in, char *out, size_t outsize)
{
	unsigned char a[16];
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (in == NULL)
		return -1;
	if (inet_pton(AF_INET, in, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)outsize) ? 0 : -1;
	if (inet_pton(AF_INET6, in, a) != 1)
		return -1;
	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return inet_ntop(AF_INET, a + 12, out, (socklen_t)outsize) ? 0 : -1;
	int w = snprintf(out, outsize, "%x:%x:%x:%x:%x:%x:%x:%x", a[0] << 8 | a[1],
	                 a[2] << 8 | a[3], a[4] << 8 | a[5], a[6] << 8 | a[7], a[8] << 8 | a[9],
	                 a[10] << 8 | a[11], a[12] << 8 | a[13], a[14] << 8 | a[15]);
	return w > 0 && (size_t)w < outsize ? 0 : -1;
}

static int check_record(const struct dmarc_report_record *r, char *err, size_t errsize)
{
	if (!dmarc_vocab_name(DMARC_VOCAB_DISPOSITION, r->disposition))
		return fail(err, errsize, "bad disposition", r->disposition);
	if (has_reason(r) && !dmarc_vocab_name(DMARC_VOCAB_REASON, r->reason))
		return fail(err, errsize, "bad reason", r->reason);
	if (r->header_from == NULL || r->header_from[0] == '\0')
		return fail(err, errsize, "record without header_from", NULL);
	for (size_t i = 0; i < r->ndkim; i++) {
		if (r->dkim[i].domain == NULL || r->dkim[i].selector == NULL)
			return fail(err, errsize, "dkim result without domain or selector", NULL);
		if (!dmarc_vocab_name(DMARC_VOCAB_DKIM_RESULT, r->dkim[i].result))
			return fail(err, errsize, "bad dkim result", r->dkim[i].result);
	}
	if (!dmarc_vocab_name(DMARC_VOCAB_SPF_SCOPE, r->spf_scope))
		return fail(err, errsize, "bad spf scope", r->spf_scope);
	if (!dmarc_vocab_name(DMARC_VOCAB_SPF_RESULT, r->spf_result))
		return fail(err, errsize, "bad spf result", r->spf_result);
	return 0;
}

static int check_policy(const struct dmarc_report_policy *p, char *err, size_t errsize)
{
	if (p->domain == NULL || p->domain[0] == '\0')
		return fail(err, errsize, "policy without domain", NULL);
	if ((p->adkim != 'r' && p->adkim != 's') || (p->aspf != 'r' && p->aspf != 's'))
		return fail(err, errsize, "bad adkim or aspf", NULL);
	if (!dmarc_vocab_name(DMARC_VOCAB_DISPOSITION, p->p))
		return fail(err, errsize, "bad p", p->p);
	if (!dmarc_vocab_name(DMARC_VOCAB_DISPOSITION, p->sp))
		return fail(err, errsize, "bad sp", p->sp);
	return 0;
}

/* Appends one <record>; the order of elements follows the schema's
 * sequences (RecordType, PolicyEvaluatedType, AuthResultType). */
static int put_record(struct buf *b, const struct dmarc_report_record *r, const char *ip)
{
	const char *reason = has_reason(r) ? dmarc_vocab_name(DMARC_VOCAB_REASON, r->reason) : NULL;
	int bad = buf_printf(b, "  <record>\n    <row>\n") < 0 ||
	          element(b, 3, "source_ip", ip) < 0 ||
	          buf_printf(b, "      <count>%" PRIu64 "</count>\n", r->count) < 0 ||
	          buf_printf(b, "      <policy_evaluated>\n") < 0 ||
	          element(b, 4, "disposition", r->disposition) < 0 ||
	          element(b, 4, "dkim", r->dkim_pass ? "pass" : "fail") < 0 ||
	          element(b, 4, "spf", r->spf_pass ? "pass" : "fail") < 0;
	if (!bad && reason != NULL)
		bad = buf_printf(b, "        <reason>\n") < 0 ||
		      element(b, 5, "type", reason) < 0 ||
		      (r->reason_comment != NULL &&
		       element(b, 5, "comment", r->reason_comment) < 0) ||
		      buf_printf(b, "        </reason>\n") < 0;
	bad = bad ||
	      buf_printf(b, "      </policy_evaluated>\n    </row>\n    <identifiers>\n") < 0 ||
	      element(b, 3, "envelope_from", r->envelope_from ? r->envelope_from : "") < 0 ||
	      element(b, 3, "header_from", r->header_from) < 0 ||
	      buf_printf(b, "    </identifiers>\n    <auth_results>\n") < 0;
	for (size_t i = 0; !bad && i < r->ndkim; i++)
		bad = buf_printf(b, "      <dkim>\n") < 0 ||
		      element(b, 4, "domain", r->dkim[i].domain) < 0 ||
		      element(b, 4, "selector", r->dkim[i].selector) < 0 ||
		      element(b, 4, "result", r->dkim[i].result) < 0 ||
		      buf_printf(b, "      </dkim>\n") < 0;
	bad = bad || buf_printf(b, "      <spf>\n") < 0 ||
	      element(b, 4, "domain", r->spf_domain ? r->spf_domain : "") < 0 ||
	      element(b, 4, "scope", r->spf_scope) < 0 ||
	      element(b, 4, "result", r->spf_result) < 0 ||
	      buf_printf(b, "      </spf>\n    </auth_results>\n  </record>\n") < 0;
	return bad ? -1 : 0;
}

int dmarc_report_xml(const struct dmarc_report_meta *m, const struct dmarc_report_policy *p,
                     const struct dmarc_report_record *r, size_t n, struct buf *out, char *err,
                     size_t errsize)
{
	char ip[INET6_ADDRSTRLEN];
	const char *full = "report larger than its limit";

	if (m->org_name == NULL || m->email == NULL || m->report_id == NULL)
		return fail(err, errsize, "report metadata incomplete", NULL);
	if (check_policy(p, err, errsize) < 0)
		return -1;
	/* The schema wants at least one record. */
	if (n == 0)
		return fail(err, errsize, "report without records", NULL);
	for (size_t i = 0; i < n; i++)
		if (check_record(&r[i], err, errsize) < 0)
			return -1;

	if (buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback xmlns=\"%s\">\n",
	               DMARC_REPORT_NS) < 0 ||
	    buf_printf(out, "  <report_metadata>\n") < 0 ||
	    element(out, 2, "org_name", m->org_name) < 0 ||
	    element(out, 2, "email", m->email) < 0 ||
	    (m->extra_contact_info != NULL &&
	     element(out, 2, "extra_contact_info", m->extra_contact_info) < 0) ||
	    element(out, 2, "report_id", m->report_id) < 0 ||
	    buf_printf(out,
	               "    <date_range>\n      <begin>%" PRId64 "</begin>\n      <end>%" PRId64
	               "</end>\n    </date_range>\n  </report_metadata>\n",
	               m->begin, m->end) < 0)
		return fail(err, errsize, full, NULL);
	if (buf_printf(out, "  <policy_published>\n") < 0 ||
	    element(out, 2, "domain", p->domain) < 0 ||
	    buf_printf(out, "    <adkim>%c</adkim>\n    <aspf>%c</aspf>\n", p->adkim, p->aspf) <
	        0 ||
	    element(out, 2, "p", p->p) < 0 || element(out, 2, "sp", p->sp) < 0 ||
	    (p->fo != NULL && element(out, 2, "fo", p->fo) < 0) ||
	    buf_printf(out, "  </policy_published>\n") < 0)
		return fail(err, errsize, full, NULL);
	for (size_t i = 0; i < n; i++) {
		if (ip_for_schema(r[i].source_ip, ip, sizeof(ip)) < 0)
			return fail(err, errsize, "bad source ip", r[i].source_ip);
		if (put_record(out, &r[i], ip) < 0)
			return fail(err, errsize, full, NULL);
	}
	if (buf_printf(out, "</feedback>\n") < 0)
		return fail(err, errsize, full, NULL);
	return 0;
}

static int name_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || s[0] == '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

int dmarc_report_filename(const char *receiver, const char *policy_domain, int64_t begin,
                          int64_t end, int gzip, char *out, size_t outsize, char *err,
                          size_t errsize)
{
	if (!name_ok(receiver))
		return fail(err, errsize, "receiver is not a domain name", receiver);
	if (!name_ok(policy_domain))
		return fail(err, errsize, "policy domain is not a domain name", policy_domain);
	int w = snprintf(out, outsize, "%s!%s!%" PRId64 "!%" PRId64 ".xml%s", receiver,
	                 policy_domain, begin, end, gzip ? ".gz" : "");
	if (w < 0 || (size_t)w >= outsize)
		return fail(err, errsize, "report file name too long", NULL);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

int dmarc_report_mailto(const char *uri, char *out, size_t outsize)
{
	size_t o = 0, at = 0, nat = 0;

	if (strncasecmp(uri, "mailto:", 7) != 0)
		return 0;
	/* RFC 6068 2: the address ends at '?', where header fields begin. */
	for (const char *p = uri + 7; *p != '\0' && *p != '?'; p++) {
		int c = (unsigned char)*p;
		if (c == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (lo < 0)
				return -1;
			c = hi << 4 | lo;
			p += 2;
		}
		/* One plain ASCII address: nothing that could end a header line,
		 * list a second address or quote. */
		if (c <= ' ' || c >= 0x7f || strchr(",;<>\"()[]\\", c) != NULL)
			return -1;
		if (c == '@') {
			nat++;
			at = o;
		}
		if (o + 1 >= outsize)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (nat != 1 || at == 0 || at + 1 == o)
		return -1;
	return 1;
}

/* A header value we write as is: printable ASCII, no line break. */
static int header_ok(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int msg_id_ok(const char *s)
{
	const char *at = strchr(s, '@');

	return header_ok(s) && at != NULL && at != s && at[1] != '\0' &&
	       strchr(at + 1, '@') == NULL && strpbrk(s, " <>()[]\\\",;:") == NULL;
}

static int put_b64(struct buf *b, const unsigned char *p, size_t n)
{
	char line[B64_LINE + 1];

	for (size_t off = 0; off < n; off += B64_CHUNK) {
		size_t k = n - off < B64_CHUNK ? n - off : B64_CHUNK;
		if (b64_encode(p + off, k, line, sizeof(line)) < 0 || buf_append_str(b, line) < 0 ||
		    buf_append(b, "\r\n", 2) < 0)
			return -1;
	}
	return 0;
}

static void utc(int64_t t, char *out, size_t outsize)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outsize, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, outsize, "%" PRId64, t);
}

int dmarc_report_mail(const struct dmarc_report_mail *m, struct buf *out, char *err, size_t errsize)
{
	const char *full = "report message larger than its limit";
	char begin[32], end[32];

	if (!header_ok(m->from) || !header_ok(m->policy_domain) || !header_ok(m->submitter) ||
	    !header_ok(m->date) || !header_ok(m->filename) || strchr(m->filename, '"') != NULL)
		return fail(err, errsize, "header value with a line break or non-ASCII", NULL);
	if (!msg_id_ok(m->report_id))
		return fail(err, errsize, "report id is not a message id", m->report_id);
	if (m->nto == 0)
		return fail(err, errsize, "report message without recipient", NULL);
	for (size_t i = 0; i < m->nto; i++)
		if (!header_ok(m->to[i]))
			return fail(err, errsize, "recipient with a line break or non-ASCII", NULL);

	int bad = buf_printf(out, "From: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\nTo: ", m->from,
	                     m->date, m->report_id) < 0;
	/* One recipient per line keeps every line short. */
	for (size_t i = 0; !bad && i < m->nto; i++)
		bad = buf_printf(out, "%s%s", i ? ",\r\n " : "", m->to[i]) < 0;
	/* 7.2.1.1's subject, folded (RFC 5322 2.2.3) where unfolding gives it
	 * back exactly. */
	bad = bad ||
	      buf_printf(out,
	                 "\r\nSubject: Report Domain: %s\r\n Submitter: %s\r\n Report-ID: <%s>\r\n",
	                 m->policy_domain, m->submitter, m->report_id) < 0;
	utc(m->begin, begin, sizeof(begin));
	utc(m->end, end, sizeof(end));
	bad =
	    bad ||
	    buf_printf(out,
	               "MIME-Version: 1.0\r\n"
	               "Content-Type: multipart/mixed; boundary=\"" BOUNDARY "\"\r\n"
	               "\r\n"
	               "--" BOUNDARY "\r\n"
	               "Content-Type: text/plain; charset=us-ascii\r\n"
	               "\r\n"
	               "This is a DMARC aggregate report (RFC 7489 section 7.2) from %s\r\n"
	               "for %s, covering %s to %s UTC.\r\n"
	               "\r\n"
	               "--" BOUNDARY "\r\n"
	               "Content-Type: application/gzip;\r\n name=\"%s\"\r\n"
	               "Content-Disposition: attachment;\r\n filename=\"%s\"\r\n"
	               "Content-Transfer-Encoding: base64\r\n"
	               "\r\n",
	               m->submitter, m->policy_domain, begin, end, m->filename, m->filename) < 0 ||
	    put_b64(out, m->gz, m->gzlen) < 0 || buf_printf(out, "--" BOUNDARY "--\r\n") < 0;
	return bad ? fail(err, errsize, full, NULL) : 0;
}
