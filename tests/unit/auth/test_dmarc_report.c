/* Unit tests of the DMARC aggregate report builders: XML structure and
 * escaping, the 7.2.1.1 file name, mailto URIs and the carrying message. */
#include "auth/dmarc_report.h"
#include "auth/dkim_verify.h"
#include "auth/dmarc_record.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const struct dmarc_report_meta meta = {
    .org_name = "Example & Co <mx>",
    .email = "dmarc@mx.example",
    .report_id = "2026-11-27.example.com@mx.example",
    .begin = 1795737600,
    .end = 1795823999,
};

static const struct dmarc_report_policy policy = {
    .domain = "example.com", .adkim = 'r', .aspf = 's', .p = "reject", .sp = "none", .fo = "1"};

static const struct dmarc_report_dkim dkim2[] = {{"example.com", "s1", "pass"},
                                                 {"other.example", "s2", "fail"}};

static struct dmarc_report_record record(void)
{
	return (struct dmarc_report_record){
	    .source_ip = "192.0.2.1",
	    .count = 3,
	    .disposition = "none",
	    .dkim_pass = 1,
	    .spf_pass = 0,
	    .envelope_from = "",
	    .header_from = "example.com",
	    .dkim = dkim2,
	    .ndkim = 2,
	    .spf_domain = "helo.example",
	    .spf_scope = "helo",
	    .spf_result = "softfail",
	};
}

/* Builds the report into b (1 MiB limit) and fails the test on error. */
static void build(struct buf *b, const struct dmarc_report_record *r, size_t n)
{
	char err[256] = "";

	buf_init(b, 1 << 20);
	if (dmarc_report_xml(&meta, &policy, r, n, b, err, sizeof(err)) != 0)
		fail_msg("dmarc_report_xml: %s", err);
}

/* Returns where needle is in hay after from, failing when absent; used to
 * check the order the schema's sequences require. */
static const char *after(const char *hay, const char *from, const char *needle)
{
	const char *p = strstr(from ? from : hay, needle);
	if (p == NULL)
		fail_msg("missing %s in:\n%s", needle, hay);
	return p + strlen(needle);
}

static void test_structure(void **state)
{
	struct dmarc_report_record r = record();
	struct buf b;
	const char *p;

	(void)state;
	build(&b, &r, 1);
	p = after(b.data, NULL, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	p = after(b.data, p, "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">");
	p = after(b.data, p, "<report_metadata>");
	p = after(b.data, p, "<org_name>Example &amp; Co &lt;mx&gt;</org_name>");
	p = after(b.data, p, "<email>dmarc@mx.example</email>");
	p = after(b.data, p, "<report_id>2026-11-27.example.com@mx.example</report_id>");
	p = after(b.data, p, "<begin>1795737600</begin>");
	p = after(b.data, p, "<end>1795823999</end>");
	p = after(b.data, p, "</report_metadata>");
	p = after(b.data, p, "<policy_published>");
	p = after(b.data, p, "<domain>example.com</domain>");
	p = after(b.data, p, "<adkim>r</adkim>");
	p = after(b.data, p, "<aspf>s</aspf>");
	p = after(b.data, p, "<p>reject</p>");
	p = after(b.data, p, "<sp>none</sp>");
	p = after(b.data, p, "<fo>1</fo>");
	p = after(b.data, p, "</policy_published>");
	p = after(b.data, p, "<record>");
	p = after(b.data, p, "<row>");
	p = after(b.data, p, "<source_ip>192.0.2.1</source_ip>");
	p = after(b.data, p, "<count>3</count>");
	p = after(b.data, p, "<disposition>none</disposition>");
	p = after(b.data, p, "<dkim>pass</dkim>");
	p = after(b.data, p, "<spf>fail</spf>");
	p = after(b.data, p, "</row>");
	p = after(b.data, p, "<envelope_from></envelope_from>");
	p = after(b.data, p, "<header_from>example.com</header_from>");
	p = after(b.data, p, "<auth_results>");
	/* AuthResultType: every dkim before the spf. */
	p = after(b.data, p, "<domain>example.com</domain>");
	p = after(b.data, p, "<selector>s1</selector>");
	p = after(b.data, p, "<domain>other.example</domain>");
	p = after(b.data, p, "<result>fail</result>");
	p = after(b.data, p, "<spf>");
	p = after(b.data, p, "<domain>helo.example</domain>");
	p = after(b.data, p, "<scope>helo</scope>");
	p = after(b.data, p, "<result>softfail</result>");
	p = after(b.data, p, "</record>");
	after(b.data, p, "</feedback>\n");
	/* The schema has neither pct nor version, and no reason was given. */
	assert_null(strstr(b.data, "<pct>"));
	assert_null(strstr(b.data, "<version>"));
	assert_null(strstr(b.data, "<reason>"));
	assert_null(strstr(b.data, "extra_contact_info"));
	buf_free(&b);
}

static void test_escaping(void **state)
{
	struct dmarc_report_record r = record();
	struct buf b;

	(void)state;
	r.reason = "other";
	r.reason_comment = "a&b<c>d\"e'f";
	r.header_from = "ex\x01"
	                "am\xffple\xc3\xa9.\xed\xa0\x80x\xef\xbf\xbe";
	build(&b, &r, 1);
	assert_non_null(strstr(b.data, "<reason>"));
	assert_non_null(strstr(b.data, "<type>other</type>"));
	assert_non_null(strstr(b.data, "<comment>a&amp;b&lt;c&gt;d&quot;e&apos;f</comment>"));
	/* A control character, a stray octet, a surrogate (3 octets) and
	 * U+FFFE become U+FFFD per bad octet; valid UTF-8 (é) stays. */
	assert_non_null(strstr(b.data, "<header_from>ex\xef\xbf\xbd"
	                               "am\xef\xbf\xbdple\xc3\xa9."
	                               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"
	                               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd</header_from>"));
	buf_free(&b);
}

static void test_reason_mapping(void **state)
{
	struct dmarc_report_record r[2] = {record(), record()};
	struct buf b;

	(void)state;
	r[0].reason = "forwarded";
	r[1].reason = "sampled_out";
	build(&b, r, 2);
	assert_non_null(strstr(b.data, "<type>trusted_forwarder</type>"));
	assert_non_null(strstr(b.data, "<type>policy_test_mode</type>"));
	assert_null(strstr(b.data, "forwarded<"));
	assert_null(strstr(b.data, "<comment>"));
	buf_free(&b);
}

/* The names the verifiers give observations (DKIM results, the applied
 * policy) are all in the report's vocabulary. */
static void test_verifier_names_in_vocabulary(void **state)
{
	struct dmarc_report_record r = record();
	struct dmarc_report_dkim k = {"example.com", "s1", NULL};
	struct buf b;

	(void)state;
	r.dkim = &k;
	r.ndkim = 1;
	for (int d = DKIM_PASS; d <= DKIM_POLICY; d++)
		for (int p = DMARC_POLICY_NONE; p <= DMARC_POLICY_REJECT; p++) {
			k.result = dkim_result_name((enum dkim_result)d);
			r.disposition = dmarc_policy_name((enum dmarc_policy)p);
			build(&b, &r, 1);
			buf_free(&b);
		}
}

/* The schema's pattern wants IPv6 in eight groups. */
static void test_ipv6(void **state)
{
	struct dmarc_report_record r[2] = {record(), record()};
	struct buf b;

	(void)state;
	r[0].source_ip = "2001:DB8::1";
	r[1].source_ip = "::ffff:198.51.100.7";
	build(&b, r, 2);
	assert_non_null(strstr(b.data, "<source_ip>2001:db8:0:0:0:0:0:1</source_ip>"));
	assert_non_null(strstr(b.data, "<source_ip>198.51.100.7</source_ip>"));
	buf_free(&b);
}

static void expect_error(const struct dmarc_report_record *r, size_t n, const char *want)
{
	struct buf b;
	char err[256] = "";

	buf_init(&b, 1 << 20);
	assert_int_equal(dmarc_report_xml(&meta, &policy, r, n, &b, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error %s, expected %s", err, want);
	buf_free(&b);
}

static void test_errors(void **state)
{
	struct dmarc_report_record r = record();
	struct buf b;
	char err[256] = "";

	(void)state;
	expect_error(&r, 0, "without records");
	r.source_ip = "192.0.2.300";
	expect_error(&r, 1, "bad source ip");
	r = record();
	r.disposition = "discard";
	expect_error(&r, 1, "bad disposition");
	r = record();
	r.spf_result = "pass ";
	expect_error(&r, 1, "bad spf result");
	r = record();
	r.reason = "sampled";
	expect_error(&r, 1, "bad reason");
	/* A limit too small for the report. */
	r = record();
	buf_init(&b, 200);
	assert_int_equal(dmarc_report_xml(&meta, &policy, &r, 1, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than"));
	buf_free(&b);
}

static void test_filename(void **state)
{
	char out[256], err[256];

	(void)state;
	assert_int_equal(dmarc_report_filename("mx.example", "example.com", 1795737600, 1795823999,
	                                       0, out, sizeof(out), err, sizeof(err)),
	                 0);
	assert_string_equal(out, "mx.example!example.com!1795737600!1795823999.xml");
	assert_int_equal(dmarc_report_filename("mx.example", "example.com", 1, 2, 1, out,
	                                       sizeof(out), err, sizeof(err)),
	                 0);
	assert_string_equal(out, "mx.example!example.com!1!2.xml.gz");
	assert_int_equal(dmarc_report_filename("mx.example", "../x", 1, 2, 0, out, sizeof(out), err,
	                                       sizeof(err)),
	                 -1);
	assert_int_equal(dmarc_report_filename("a/b", "example.com", 1, 2, 0, out, sizeof(out), err,
	                                       sizeof(err)),
	                 -1);
	assert_int_equal(
	    dmarc_report_filename("mx.example", "example.com", 1, 2, 0, out, 20, err, sizeof(err)),
	    -1);
}

static void test_mailto(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(dmarc_report_mailto("mailto:dmarc@example.com", out, sizeof(out)), 1);
	assert_string_equal(out, "dmarc@example.com");
	assert_int_equal(
	    dmarc_report_mailto("MAILTO:a%2Bb@example.com?subject=x", out, sizeof(out)), 1);
	assert_string_equal(out, "a+b@example.com");
	assert_int_equal(dmarc_report_mailto("https://example.com/r", out, sizeof(out)), 0);
	assert_int_equal(dmarc_report_mailto("mailto:a@b@c", out, sizeof(out)), -1);
	assert_int_equal(dmarc_report_mailto("mailto:a%0d%0aBcc:x@example.com", out, sizeof(out)),
	                 -1);
	assert_int_equal(
	    dmarc_report_mailto("mailto:a@example.com,b@example.com", out, sizeof(out)), -1);
	assert_int_equal(dmarc_report_mailto("mailto:@example.com", out, sizeof(out)), -1);
	assert_int_equal(dmarc_report_mailto("mailto:a%zz@example.com", out, sizeof(out)), -1);
	assert_int_equal(dmarc_report_mailto("mailto:abcdefgh@example.com", out, 10), -1);
}

static const unsigned char gz[60] = {0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static struct dmarc_report_mail mail(const char *const *to, size_t nto)
{
	return (struct dmarc_report_mail){
	    .from = "dmarc@mx.example",
	    .to = to,
	    .nto = nto,
	    .policy_domain = "example.com",
	    .submitter = "mx.example",
	    .report_id = "2026-11-27.example.com@mx.example",
	    .date = "Sat, 28 Nov 2026 00:10:00 +0000",
	    .filename = "mx.example!example.com!1795737600!1795823999.xml.gz",
	    .gz = gz,
	    .gzlen = sizeof(gz),
	    .begin = 1795737600,
	    .end = 1795823999,
	};
}

static void test_mail(void **state)
{
	static const char *const to[] = {"a@example.com", "b@example.com"};
	struct dmarc_report_mail m = mail(to, 2);
	struct buf b;
	char err[256] = "";

	(void)state;
	buf_init(&b, 1 << 16);
	if (dmarc_report_mail(&m, &b, err, sizeof(err)) != 0)
		fail_msg("dmarc_report_mail: %s", err);
	const char *p = after(b.data, NULL, "From: dmarc@mx.example\r\n");
	p = after(b.data, p, "Message-ID: <2026-11-27.example.com@mx.example>\r\n");
	p = after(b.data, p, "To: a@example.com,\r\n b@example.com\r\n");
	p = after(b.data, p,
	          "Subject: Report Domain: example.com\r\n Submitter: mx.example\r\n Report-ID: "
	          "<2026-11-27.example.com@mx.example>\r\n");
	p = after(b.data, p, "Content-Type: multipart/mixed;");
	p = after(b.data, p, "Content-Type: text/plain");
	p = after(b.data, p, "2026-11-27 00:00:00 to 2026-11-27 23:59:59 UTC");
	p = after(b.data, p, "Content-Type: application/gzip;");
	p = after(
	    b.data, p,
	    "attachment;\r\n filename=\"mx.example!example.com!1795737600!1795823999.xml.gz\"");
	p = after(b.data, p, "Content-Transfer-Encoding: base64\r\n\r\n");
	/* 60 octets: one 76-character line of 57, then the last 3. */
	p = after(b.data, p, "H4sIAAECAwQFBgcICQ");
	after(b.data, p, "\r\nAAAA\r\n--=_postern_dmarc_report--\r\n");
	/* Every line ends in CRLF and is at most 78 characters. */
	for (const char *l = b.data; *l != '\0';) {
		const char *e = strstr(l, "\r\n");
		assert_non_null(e);
		assert_true(e - l <= 78);
		assert_null(memchr(l, '\n', (size_t)(e - l)));
		l = e + 2;
	}
	buf_free(&b);
}

static void test_mail_refuses_injection(void **state)
{
	static const char *const bad_to[] = {"a@example.com\r\nBcc: x@evil.example"};
	static const char *const to[] = {"a@example.com"};
	struct dmarc_report_mail m = mail(bad_to, 1);
	struct buf b;
	char err[256] = "";

	(void)state;
	buf_init(&b, 1 << 16);
	assert_int_equal(dmarc_report_mail(&m, &b, err, sizeof(err)), -1);
	m = mail(to, 1);
	m.report_id = "no-at-sign";
	assert_int_equal(dmarc_report_mail(&m, &b, err, sizeof(err)), -1);
	m = mail(to, 0);
	assert_int_equal(dmarc_report_mail(&m, &b, err, sizeof(err)), -1);
	m = mail(to, 1);
	m.submitter = "mx\xc3\xa9.example";
	assert_int_equal(dmarc_report_mail(&m, &b, err, sizeof(err)), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_reason_mapping),
	    cmocka_unit_test(test_verifier_names_in_vocabulary),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_filename),
	    cmocka_unit_test(test_mailto),
	    cmocka_unit_test(test_mail),
	    cmocka_unit_test(test_mail_refuses_injection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
