/* Unit tests of the DMARC record parser (RFC 7489 6.3, 6.4, 6.6.3 step 6):
 * the record cases of ../conformance/dmarc (record_parse, tag_values),
 * judged by RFC 7489 where the source implementation differs, and our own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth/dmarc_record.h"

enum { NOT = DMARC_RECORD_NOT_DMARC, BAD = DMARC_RECORD_INVALID, OK = DMARC_RECORD_OK };

struct record_case {
	const char *in;
	int status;
	unsigned bad;   /* DMARC_BAD_* expected when OK */
	int p_from_rua; /* 6.6.3 step 6.1 applied */
};

/* conformance/dmarc/record-and-alignment-tests.json, record_parse. */
static const struct record_case conformance[] = {
    /* OpenDMARC test_dmarc_parse.c */
    {"v=DMARC1; p=none; rf=afrf; rua=mailto:dmarc-a@abuse.net; ruf=mailto:dmarc-f@abuse.net", OK, 0,
     0},
    {"v=DMARC1; p=none;", OK, 0, 0},
    {"v=DMARC1; p=reject;", OK, 0, 0},
    {"v=DMARC1; p=quarantine;", OK, 0, 0},
    /* OpenDMARC accepts p=n; the grammar of 6.4 does not, and with no rua
     * 6.6.3 step 6.2 applies. */
    {"v=DMARC1; p=n;", BAD, 0, 0},
    {"", NOT, 0, 0},
    {"V=BOB", NOT, 0, 0},
    {"v=DMARC1; p=bob;", BAD, 0, 0},
    /* an invalid sp without rua: 6.6.3 step 6.2 */
    {"v=DMARC1; p=none; sp=bob;", BAD, 0, 0},
    /* OpenDMARC rejects these records; 6.3 discards the tag for its default */
    {"v=DMARC1; p=none; adkim=bob;", OK, DMARC_BAD_ADKIM, 0},
    {"v=DMARC1; p=none; aspf=bob;", OK, DMARC_BAD_ASPF, 0},
    {"v=DMARC1; p=none; rf=bob;", OK, DMARC_BAD_RF, 0},
    {"v=DMARC1; p=none; ri=bob;", OK, DMARC_BAD_RI, 0},
    {"v=DMARC1; p=none; pct=500;", OK, DMARC_BAD_PCT, 0},
    {"v=DMARC1; pct=100;", BAD, 0, 0},
    {"v=DMARC1; p=none; rua=ftp://abuse.com", OK, 0, 0},
    {"v=DMARC1; p=none; ruf=mailto://abuse.com", OK, 0, 0},
    {"v=DMARC1; p=none; ruf=mailto://abuse.com; foo=bar; buzz=happy;", OK, 0, 0},
    {"v=DMARC1; p=none; rf=000000000000000000000000000000000", OK, DMARC_BAD_RF, 0},
    /* stalwartlabs/mail-auth parse.rs */
    {"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", OK, 0, 0},
    {"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com;ruf=mailto:auth-reports@example.com",
     OK, 0, 0},
    {"v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty."
     "example.net!10m; pct=25; fo=d:s",
     OK, 0, 0},
    {"v=DMARC1; p=reject; sp=quarantine; np=None; aspf=s; adkim=s; fo = 1;rua=mailto:dmarc-"
     "feedback@example.com",
     OK, 0, 0},
    /* whitespace inside "!10 K" and "! 2G" is outside the 6.4 grammar:
     * those two URIs are dropped, the rest of the record stands */
    {"v=DMARC1; p=reject; ri = 3600; aspf=r; adkim =r; rua=mailto:dmarc-feedback@example.com!10 "
     "K , mailto:user%20@example.com ! 2G;ignore_me= true; fo=s; rf = AfrF; ",
     OK, DMARC_BAD_RUA, 0},
    /* ";;" is an empty tag-spec, outside RFC 6376 3.2 (mail-auth accepts) */
    {"v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty."
     "example.net; fo=s:d; t=y; psd=y;;",
     BAD, 0, 0},
    /* msimerson/mail-dmarc t/01.Policy.t */
    {"v=DMARC1", BAD, 0, 0},
    /* backslashes left by a zone file: the value of v is "DMARC1\" */
    {"v=DMARC1\\; p=reject\\;", NOT, 0, 0},
    {"v=DMARC1; p=reject; newtag=unknown", OK, 0, 0},
    {"v=DMARC1; p=bogus", BAD, 0, 0},
    {"v=DMARC1; p=reject", OK, 0, 0},
    {"v=DMARC1;p=reject;rua=mailto:dmarc-feedback@theartfarm.com;pct=;ruf=mailto:dmarc-"
     "feedback@theartfarm.com",
     OK, DMARC_BAD_PCT, 0},
};

/* Our own: the version tag, 6.6.3 step 6.1, tag-list errors. */
static const struct record_case own[] = {
    {"v=dmarc1; p=reject", NOT, 0, 0},
    {"v=DMARC2; p=reject", NOT, 0, 0},
    {"v=DMARC10; p=reject", NOT, 0, 0},
    {"p=reject; v=DMARC1", NOT, 0, 0},
    {"  v = DMARC1 ;p=reject", OK, 0, 0},
    {"v=DMARC1; p=reject; p=none", BAD, 0, 0},
    {"v=DMARC1; p=reject; junk", BAD, 0, 0},
    {"v=DMARC1; P=reject", BAD, 0, 0},
    /* 6.6.3 step 6.1: no valid p (or sp) but a valid rua: p=none */
    {"v=DMARC1; rua=mailto:d@example.com", OK, 0, 1},
    {"v=DMARC1; p=bogus; rua=mailto:d@example.com", OK, DMARC_BAD_P, 1},
    {"v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com", OK, DMARC_BAD_SP, 1},
    {"v=DMARC1; p=bogus; rua=notauri", BAD, 0, 0},
    {"v=DMARC1; p=reject; rua=mailto:a@example.com!", OK, DMARC_BAD_RUA, 0},
    {"v=DMARC1; p=reject; rua=mailto:a@example.com!99999999999999999999", OK, DMARC_BAD_RUA, 0},
    {"v=DMARC1; p=reject; rua=mailto:a@example.com!99999999999999t", OK, DMARC_BAD_RUA, 0},
    {"v=DMARC1; p=reject; rua=mailto:a%2@example.com", OK, DMARC_BAD_RUA, 0},
    {"v=DMARC1; p=reject; rua=:x", OK, DMARC_BAD_RUA, 0},
    {"v=DMARC1; p=reject; rua=mailto:", OK, DMARC_BAD_RUA, 0},
    {"v=DMARC1; p=reject; ruf=mailto:a@example.com , , mailto:b@example.com", OK, DMARC_BAD_RUF, 0},
    {"v=DMARC1; p=reject; fo=0:", OK, DMARC_BAD_FO, 0},
    {"v=DMARC1; p=reject; fo=", OK, DMARC_BAD_FO, 0},
    {"v=DMARC1; p=reject; rf=afrf:", OK, DMARC_BAD_RF, 0},
    {"v=DMARC1; p=reject; rf=-x", OK, DMARC_BAD_RF, 0},
    {"v=DMARC1; p=reject; pct=0100", OK, DMARC_BAD_PCT, 0},
    {"v=DMARC1;\r\n p=reject", OK, 0, 0},
};

static void run(const struct record_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct dmarc_record rec;
		char err[160];
		int st = (int)dmarc_record_parse(cases[i].in, strlen(cases[i].in), &rec, err,
		                                 sizeof(err));
		if (st != cases[i].status)
			fail_msg("%s: status %d, expected %d (%s)", cases[i].in, st,
			         cases[i].status, err);
		if (st == BAD && err[0] == '\0')
			fail_msg("%s: no reason", cases[i].in);
		if (st == OK && (rec.bad != cases[i].bad || rec.p_from_rua != cases[i].p_from_rua))
			fail_msg("%s: bad %#x p_from_rua %d", cases[i].in, rec.bad, rec.p_from_rua);
		dmarc_record_free(&rec);
	}
}

static void test_conformance(void **state)
{
	run(conformance, sizeof(conformance) / sizeof(conformance[0]));
}

static void test_own(void **state)
{
	run(own, sizeof(own) / sizeof(own[0]));
}

static void parse_ok(const char *txt, struct dmarc_record *rec)
{
	char err[160];

	assert_int_equal(dmarc_record_parse(txt, strlen(txt), rec, err, sizeof(err)), OK);
}

/* The parses mail-auth expects (record_parse entries with "parsed"). */
static void test_values(void **state)
{
	struct dmarc_record rec;

	parse_ok("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", &rec);
	assert_int_equal(rec.p, DMARC_POLICY_NONE);
	assert_int_equal(rec.sp, DMARC_POLICY_NONE);
	assert_int_equal(rec.adkim, DMARC_MODE_RELAXED);
	assert_int_equal(rec.aspf, DMARC_MODE_RELAXED);
	assert_int_equal(rec.pct, 100);
	assert_int_equal(rec.fo, DMARC_FO_0);
	assert_int_equal(rec.rf, DMARC_RF_AFRF);
	assert_int_equal(rec.ri, 86400);
	assert_int_equal(rec.nrua, 1);
	assert_string_equal(rec.rua[0].uri, "mailto:dmarc-feedback@example.com");
	assert_int_equal(rec.rua[0].max_size, 0);
	assert_int_equal(rec.nruf, 0);
	dmarc_record_free(&rec);

	parse_ok("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@"
	         "thirdparty.example.net!10m; pct=25; fo=d:s",
	         &rec);
	assert_int_equal(rec.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(rec.sp, DMARC_POLICY_QUARANTINE);
	assert_int_equal(rec.pct, 25);
	assert_int_equal(rec.fo, DMARC_FO_D | DMARC_FO_S);
	assert_int_equal(rec.nrua, 2);
	assert_string_equal(rec.rua[1].uri, "mailto:tld-test@thirdparty.example.net");
	assert_int_equal(rec.rua[1].max_size, 10485760);
	dmarc_record_free(&rec);

	parse_ok("v=DMARC1; p=reject; sp=quarantine; np=None; aspf=s; adkim=s; fo = 1;rua=mailto:"
	         "dmarc-feedback@example.com",
	         &rec);
	assert_int_equal(rec.p, DMARC_POLICY_REJECT);
	assert_int_equal(rec.sp, DMARC_POLICY_QUARANTINE);
	assert_int_equal(rec.adkim, DMARC_MODE_STRICT);
	assert_int_equal(rec.aspf, DMARC_MODE_STRICT);
	assert_int_equal(rec.fo, DMARC_FO_1);
	dmarc_record_free(&rec);

	parse_ok("v=DMARC1; p=reject; ri = 3600; rua=mailto:a@example.com!10K , mailto:user%20@"
	         "example.com!2G , http://example.com/x!3t; rf = AfrF:iodef",
	         &rec);
	assert_int_equal(rec.ri, 3600);
	assert_int_equal(rec.rf, DMARC_RF_AFRF | DMARC_RF_IODEF);
	assert_int_equal(rec.nrua, 3);
	assert_int_equal(rec.rua[0].max_size, 10240);
	assert_string_equal(rec.rua[1].uri, "mailto:user%20@example.com");
	assert_int_equal(rec.rua[1].max_size, 2147483648u);
	assert_int_equal(rec.rua[2].max_size, 3ull << 40);
	dmarc_record_free(&rec);

	/* 6.6.3 step 6.1: sp falls back to none with p. */
	parse_ok("v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com", &rec);
	assert_int_equal(rec.p, DMARC_POLICY_NONE);
	assert_int_equal(rec.sp, DMARC_POLICY_NONE);
	dmarc_record_free(&rec);
}

struct tag_value {
	const char *tag, *value;
	int good;
};

/* conformance tag_values (Mail::DMARC setters), for the tags of RFC 7489;
 * np, psd and t are DMARCbis and unknown tags here.  Where Mail::DMARC
 * refuses a URI scheme, 6.2 merely has the receiver ignore it. */
static const struct tag_value tag_values[] = {
    {"p", "none", 1},
    {"p", "reject", 1},
    {"p", "quarantine", 1},
    {"p", "NONE", 1},
    {"p", "REJEcT", 1},
    {"p", "Quarantine", 1},
    {"p", "nonense", 0},
    {"p", "silly", 0},
    {"p", "example", 0},
    {"sp", "NoNe", 1},
    {"sp", "REjEcT", 1},
    {"sp", "QuarAntine", 1},
    {"sp", "nones", 0},
    {"sp", "rejection", 0},
    {"sp", "quarrantine", 0},
    {"adkim", "r", 1},
    {"adkim", "s", 1},
    {"adkim", "R", 1},
    {"adkim", "S", 1},
    {"adkim", "relaxed", 0},
    {"adkim", "strict", 0},
    {"aspf", "R", 1},
    {"aspf", "strict", 0},
    {"fo", "0", 1},
    {"fo", "1", 1},
    {"fo", "d", 1},
    {"fo", "s", 1},
    {"fo", "D", 1},
    {"fo", "S", 1},
    {"fo", "0:d", 1},
    {"fo", "0:1:d:s", 1},
    {"fo", "00", 0},
    {"fo", "11", 0},
    {"fo", "dd", 0},
    {"fo", "ss", 0},
    {"rua", "http://example.com/pub/dmarc!30m", 1},
    {"rua", "mailto:dmarc-feed@example.com!10m", 1},
    {"ruf", "https://example.com/dmarc?report!1m", 1},
    {"ruf", "mail:msimerson@cnap.org", 1},
    {"rf", "iodef", 1},
    {"rf", "afrf", 1},
    {"rf", "IODEF", 1},
    {"rf", "AFRF", 1},
    {"rf", "iodef2", 0},
    {"rf", "rfrf2", 0},
    {"rf", "rfrf", 0},
    {"ri", "0", 1},
    {"ri", "1", 1},
    {"ri", "1000", 1},
    {"ri", "4294967295", 1},
    {"ri", "-1", 0},
    {"ri", "a", 0},
    {"ri", "4294967296", 0},
    {"pct", "0", 1},
    {"pct", "10", 1},
    {"pct", "50", 1},
    {"pct", "99", 1},
    {"pct", "100", 1},
    {"pct", "-1", 0},
    {"pct", "f", 0},
    {"pct", "101", 0},
    {"pct", "1.1", 0},
    {"pct", "1.0", 0},
    {"pct", "5.f1", 0},
};

static void test_tag_values(void **state)
{
	for (size_t i = 0; i < sizeof(tag_values) / sizeof(tag_values[0]); i++) {
		const struct tag_value *tv = &tag_values[i];
		char txt[200], err[160];
		struct dmarc_record rec;
		int is_p = strcmp(tv->tag, "p") == 0;

		/* p is tested alone: a bad p must not be rescued by a rua. */
		snprintf(txt, sizeof(txt), "v=DMARC1; %s%s=%s", is_p ? "" : "p=reject; ", tv->tag,
		         tv->value);
		int st = (int)dmarc_record_parse(txt, strlen(txt), &rec, err, sizeof(err));
		int good;
		if (is_p || strcmp(tv->tag, "sp") == 0)
			good = st == OK;
		else
			good = st == OK && rec.bad == 0;
		if (good != tv->good)
			fail_msg("%s: good %d, expected %d", txt, good, tv->good);
		dmarc_record_free(&rec);
	}
}

static void test_is_dmarc(void **state)
{
	assert_true(dmarc_record_is_dmarc("v=DMARC1", 8));
	assert_true(dmarc_record_is_dmarc("v=DMARC1 ;", 10));
	assert_false(dmarc_record_is_dmarc("v=DMARC1", 7));
	assert_false(dmarc_record_is_dmarc("v=DMARC1x", 9));
	assert_false(dmarc_record_is_dmarc("v=spf1 -all", 11));
	/* a NUL inside the text is not a tag-list character */
	struct dmarc_record rec;
	char err[160];
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=re\0ject", 19, &rec, err, sizeof(err)),
	                 BAD);
	dmarc_record_free(&rec);
}

static void test_limits(void **state)
{
	char txt[DMARC_RECORD_MAX + 64], err[160];
	struct dmarc_record rec;
	size_t n = (size_t)snprintf(txt, sizeof(txt), "v=DMARC1; p=reject; rua=");

	/* more URIs than DMARC_URI_MAX: the first are kept */
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(txt + n, sizeof(txt) - n, "%smailto:r%d@example.com",
		                      i > 0 ? "," : "", i);
	assert_int_equal(dmarc_record_parse(txt, n, &rec, err, sizeof(err)), OK);
	assert_int_equal(rec.nrua, DMARC_URI_MAX);
	assert_string_equal(rec.rua[DMARC_URI_MAX - 1].uri, "mailto:r7@example.com");
	dmarc_record_free(&rec);
	/* a record over DMARC_RECORD_MAX */
	memset(txt + n, ' ', sizeof(txt) - n);
	assert_int_equal(dmarc_record_parse(txt, sizeof(txt), &rec, err, sizeof(err)), BAD);
	dmarc_record_free(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conformance), cmocka_unit_test(test_own),
	    cmocka_unit_test(test_values),      cmocka_unit_test(test_tag_values),
	    cmocka_unit_test(test_is_dmarc),    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
