/* Unit tests of the DMARC observation store against a real SQLite state
 * database in a fresh temporary directory per test, and of its rows as
 * the aggregate report writes them. */
#include "store/dmarc_store.h"
#include "auth/dmarc_report.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* 2026-11-27 00:00:00 UTC. */
#define DAY1 INT64_C(1795737600)
#define DAY2 (DAY1 + DMARC_STORE_DAY)

struct fixture {
	char dir[64];
	char state_dir[96];
	struct dmarc_store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256] = "";

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/postern-dmarc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->dir);
	f->s = dmarc_store_open(f->state_dir, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("dmarc_store_open: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = {"state.db", "state.db-wal", "state.db-shm"};
	char path[160];

	dmarc_store_close(f->s);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->state_dir, files[i]);
		unlink(path);
	}
	rmdir(f->state_dir);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A passing message from example.com through 192.0.2.1. */
static struct dmarc_obs obs(int64_t when)
{
	return (struct dmarc_obs){
	    .when = when,
	    .policy_domain = "example.com",
	    .rua = "mailto:dmarc@example.com",
	    .adkim = 'r',
	    .aspf = 'r',
	    .p = "reject",
	    .sp = "quarantine",
	    .pct = 100,
	    .fo = "0",
	    .source_ip = "192.0.2.1",
	    .disposition = "none",
	    .dkim_aligned_pass = 1,
	    .spf_aligned_pass = 1,
	    .header_from = "example.com",
	    .envelope_from = "example.com",
	    .dkim = {{"example.com", "sel1", "pass"}},
	    .ndkim = 1,
	    .spf_domain = "example.com",
	    .spf_scope = "mfrom",
	    .spf_result = "pass",
	};
}

static void add(struct fixture *f, const struct dmarc_obs *o, size_t n)
{
	char err[256] = "";

	if (dmarc_store_add(f->s, o, n, err, sizeof(err)) != 0)
		fail_msg("dmarc_store_add: %s", err);
}

static void rows(struct fixture *f, int64_t day, const char *domain, struct dmarc_store_row **r,
                 size_t *n)
{
	char err[256] = "";

	if (dmarc_store_rows(f->s, day, domain, r, n, err, sizeof(err)) != 0)
		fail_msg("dmarc_store_rows: %s", err);
}

static void domains(struct fixture *f, int64_t day, struct dmarc_store_domain **d, size_t *n)
{
	char err[256] = "";

	if (dmarc_store_domains(f->s, day, d, n, err, sizeof(err)) != 0)
		fail_msg("dmarc_store_domains: %s", err);
}

static void test_day(void **state)
{
	(void)state;
	assert_int_equal(dmarc_store_day(DAY1), DAY1);
	assert_int_equal(dmarc_store_day(DAY1 + 86399), DAY1);
	assert_int_equal(dmarc_store_day(DAY1 + 86400), DAY2);
	assert_int_equal(dmarc_store_day(0), 0);
}

/* Identical rows in two batches are one row counted; a time alone does
 * not split a row; spelling of the IP and domain case do not either. */
static void test_identical_counted(void **state)
{
	struct fixture *f = *state;
	struct dmarc_obs a[3] = {obs(DAY1 + 10), obs(DAY1 + 20), obs(DAY1 + 30)};
	struct dmarc_obs b[2] = {obs(DAY1 + 40), obs(DAY1 + 50)};
	struct dmarc_store_row *r;
	size_t n;

	b[0].source_ip = "::ffff:192.0.2.1";
	b[1].policy_domain = "EXAMPLE.com";
	b[1].header_from = "Example.COM";
	add(f, a, 3);
	add(f, b, 2);
	rows(f, DAY1, "example.com", &r, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].count, 5);
	assert_string_equal(r[0].obs.source_ip, "192.0.2.1");
	assert_string_equal(r[0].obs.header_from, "example.com");
	assert_int_equal(r[0].obs.when, DAY1);
	assert_int_equal(r[0].obs.ndkim, 1);
	assert_string_equal(r[0].obs.dkim[0].domain, "example.com");
	assert_string_equal(r[0].obs.dkim[0].selector, "sel1");
	assert_string_equal(r[0].obs.dkim[0].result, "pass");
	assert_null(r[0].obs.reason);
	assert_null(r[0].obs.reason_comment);
	dmarc_store_rows_free(r, n);
}

/* Rows differing in one reported field stay apart, sorted by count. */
static void test_different_rows(void **state)
{
	struct fixture *f = *state;
	struct dmarc_obs o[6] = {obs(DAY1), obs(DAY1), obs(DAY1), obs(DAY1), obs(DAY1), obs(DAY1)};
	struct dmarc_store_row *r;
	size_t n;

	o[1].source_ip = "2001:db8::1";
	o[2].source_ip = "2001:db8::1";
	o[3].dkim[1] = (struct dmarc_obs_dkim){"other.example", "s:2", "fail"};
	o[3].ndkim = 2;
	o[4].reason = "local_policy";
	o[4].reason_comment = "why: \"tab\"";
	o[5].envelope_from = "";
	o[5].spf_scope = "helo";
	add(f, o, 6);
	rows(f, DAY1, "example.com", &r, &n);
	assert_int_equal(n, 5);
	assert_int_equal(r[0].count, 2);
	assert_string_equal(r[0].obs.source_ip, "2001:db8::1");
	for (size_t i = 1; i < n; i++)
		assert_int_equal(r[i].count, 1);
	int seen_two = 0, seen_reason = 0, seen_helo = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].obs.ndkim == 2) {
			seen_two = 1;
			assert_string_equal(r[i].obs.dkim[1].domain, "other.example");
			assert_string_equal(r[i].obs.dkim[1].selector, "s:2");
			assert_string_equal(r[i].obs.dkim[1].result, "fail");
		}
		if (r[i].obs.reason != NULL) {
			seen_reason = 1;
			assert_string_equal(r[i].obs.reason, "local_policy");
			assert_string_equal(r[i].obs.reason_comment, "why: \"tab\"");
		}
		if (strcmp(r[i].obs.spf_scope, "helo") == 0) {
			seen_helo = 1;
			assert_string_equal(r[i].obs.envelope_from, "");
		}
	}
	assert_true(seen_two && seen_reason && seen_helo);
	dmarc_store_rows_free(r, n);
}

/* The schema's enumerations (rua-schema.xsd) and RFC 7489's older reason
 * names, each in an observation that differs from obs() in that field. */
static const char *const vocab_dispositions[] = {"none", "quarantine", "reject"};
static const char *const vocab_reasons[] = {"trusted_forwarder",
                                            "mailing_list",
                                            "local_policy",
                                            "policy_test_mode",
                                            "other",
                                            "forwarded",
                                            "sampled_out",
                                            ""};
static const char *const vocab_dkim[] = {"none",    "pass",      "fail",     "policy",
                                         "neutral", "temperror", "permerror"};
static const char *const vocab_spf[] = {"none",     "neutral",   "pass",     "fail",
                                        "softfail", "temperror", "permerror"};
static const char *const vocab_scopes[] = {"mfrom", "helo"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A record's text without its count, which is all that rows merged from
 * several observations may differ in. */
static void record_text(const char *rec, char *out, size_t outsize)
{
	const char *end = strstr(rec, "</record>");
	const char *count = strstr(rec, "<count>");
	const char *count_end = count ? strstr(count, "</count>") : NULL;

	assert_non_null(end);
	assert_true(count != NULL && count_end != NULL && count_end < end);
	snprintf(out, outsize, "%.*s%.*s", (int)(count - rec), rec, (int)(end - count_end),
	         count_end);
}

/* Store and report agree on the names (core/dmarc_vocab): every row the
 * store keeps makes a report, and rows the store keeps apart are written
 * apart.  The store used to keep "forwarded" and "trusted_forwarder" as
 * two rows that the report then wrote as two identical records. */
static void test_rows_report(void **state)
{
	static const struct dmarc_report_meta meta = {
	    .org_name = "mx.example", .email = "dmarc@mx.example", .report_id = "r@mx.example"};
	struct fixture *f = *state;
	struct dmarc_obs o[40];
	size_t n = 0, nrows, ndom;
	struct dmarc_store_row *r;
	struct dmarc_store_domain *d;
	struct dmarc_report_record rec[32];
	struct dmarc_report_dkim dk[32];
	char err[256] = "", text[32][2048];
	size_t nrec = 0;
	struct buf b;

	o[n++] = obs(DAY1);
	for (size_t i = 0; i < NELEM(vocab_dispositions); i++) {
		o[n] = obs(DAY1);
		o[n++].disposition = vocab_dispositions[i];
	}
	for (size_t i = 0; i < NELEM(vocab_reasons); i++) {
		o[n] = obs(DAY1);
		o[n++].reason = vocab_reasons[i];
	}
	for (size_t i = 0; i < NELEM(vocab_dkim); i++) {
		o[n] = obs(DAY1);
		o[n++].dkim[0].result = vocab_dkim[i];
	}
	for (size_t i = 0; i < NELEM(vocab_spf); i++) {
		o[n] = obs(DAY1);
		o[n++].spf_result = vocab_spf[i];
	}
	for (size_t i = 0; i < NELEM(vocab_scopes); i++) {
		o[n] = obs(DAY1);
		o[n++].spf_scope = vocab_scopes[i];
	}
	/* Outside the vocabularies: skipped. */
	o[n] = obs(DAY1);
	o[n++].reason = "sampled";
	o[n] = obs(DAY1);
	o[n++].dkim[0].result = "Pass";
	add(f, o, n);
	domains(f, DAY1, &d, &ndom);
	rows(f, DAY1, "example.com", &r, &nrows);
	assert_int_equal(ndom, 1);
	/* obs() itself, then two more dispositions, five reasons (the older
	 * names and their successors one row each), six dkim and six spf
	 * results and one scope. */
	assert_int_equal(nrows, 1 + 2 + 5 + 6 + 6 + 1);
	/* obs(), and its "none", "", "pass", "pass" and "mfrom". */
	assert_int_equal(r[0].count, 6);
	assert_null(r[0].obs.reason);

	assert_true(nrows <= NELEM(rec));
	for (size_t i = 0; i < nrows; i++) {
		const struct dmarc_obs *ob = &r[i].obs;
		assert_int_equal(ob->ndkim, 1);
		dk[i] = (struct dmarc_report_dkim){ob->dkim[0].domain, ob->dkim[0].selector,
		                                   ob->dkim[0].result};
		rec[i] = (struct dmarc_report_record){
		    .source_ip = ob->source_ip,
		    .count = r[i].count,
		    .disposition = ob->disposition,
		    .reason = ob->reason,
		    .envelope_from = ob->envelope_from,
		    .header_from = ob->header_from,
		    .dkim = &dk[i],
		    .ndkim = 1,
		    .spf_domain = ob->spf_domain,
		    .spf_scope = ob->spf_scope,
		    .spf_result = ob->spf_result,
		};
		if (ob->reason != NULL && (strcmp(ob->reason, "trusted_forwarder") == 0 ||
		                           strcmp(ob->reason, "policy_test_mode") == 0))
			assert_int_equal(r[i].count, 2);
	}
	const struct dmarc_report_policy pol = {.domain = d[0].policy_domain,
	                                        .adkim = d[0].adkim,
	                                        .aspf = d[0].aspf,
	                                        .p = d[0].p,
	                                        .sp = d[0].sp};
	buf_init(&b, 1 << 20);
	if (dmarc_report_xml(&meta, &pol, rec, nrows, &b, err, sizeof(err)) != 0)
		fail_msg("dmarc_report_xml: %s", err);
	for (const char *p = strstr(b.data, "<record>"); p; p = strstr(p + 1, "<record>")) {
		assert_true(nrec < NELEM(text));
		record_text(p, text[nrec++], sizeof(text[0]));
	}
	assert_int_equal(nrec, nrows);
	for (size_t i = 0; i < nrec; i++)
		for (size_t j = i + 1; j < nrec; j++)
			if (strcmp(text[i], text[j]) == 0)
				fail_msg("records %zu and %zu alike:\n%s", i, j, text[i]);
	buf_free(&b);
	dmarc_store_rows_free(r, nrows);
	dmarc_store_domains_free(d, ndom);
}

/* Days are UTC days; each domain lists its own counts and record. */
static void test_days_and_domains(void **state)
{
	struct fixture *f = *state;
	struct dmarc_obs o[4] = {obs(DAY1 + 86399), obs(DAY2), obs(DAY2 + 5), obs(DAY2 + 7)};
	struct dmarc_store_domain *d;
	struct dmarc_store_row *r;
	size_t n;

	o[3].policy_domain = "a.example";
	o[3].rua = "";
	add(f, o, 4);
	domains(f, DAY1, &d, &n);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].policy_domain, "example.com");
	assert_int_equal(d[0].messages, 1);
	dmarc_store_domains_free(d, n);

	domains(f, DAY2, &d, &n);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].policy_domain, "a.example");
	assert_string_equal(d[0].rua, "");
	assert_int_equal(d[0].messages, 1);
	assert_string_equal(d[1].policy_domain, "example.com");
	assert_int_equal(d[1].messages, 2);
	assert_int_equal(d[1].rows, 1);
	assert_int_equal(d[1].day, DAY2);
	assert_string_equal(d[1].rua, "mailto:dmarc@example.com");
	assert_string_equal(d[1].p, "reject");
	assert_string_equal(d[1].sp, "quarantine");
	assert_int_equal(d[1].adkim, 'r');
	assert_int_equal(d[1].pct, 100);
	dmarc_store_domains_free(d, n);

	rows(f, DAY1 - DMARC_STORE_DAY, "example.com", &r, &n);
	assert_int_equal(n, 0);
	dmarc_store_rows_free(r, n);
	domains(f, DAY1 - DMARC_STORE_DAY, &d, &n);
	assert_int_equal(n, 0);
	dmarc_store_domains_free(d, n);
}

/* policy_published is the record of the latest observation of the day,
 * even when an older one comes in a later batch. */
static void test_latest_record(void **state)
{
	struct fixture *f = *state;
	struct dmarc_obs newer = obs(DAY1 + 500), older = obs(DAY1 + 100);
	struct dmarc_store_domain *d;
	size_t n;

	newer.p = "none";
	newer.adkim = 's';
	newer.pct = 50;
	newer.rua = "mailto:new@example.com!10k";
	add(f, &newer, 1);
	add(f, &older, 1);
	domains(f, DAY1, &d, &n);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].p, "none");
	assert_int_equal(d[0].adkim, 's');
	assert_int_equal(d[0].pct, 50);
	assert_string_equal(d[0].rua, "mailto:new@example.com!10k");
	assert_int_equal(d[0].messages, 2);
	dmarc_store_domains_free(d, n);
}

/* Invalid observations are skipped; the rest of the batch is stored. */
static void test_invalid_skipped(void **state)
{
	struct fixture *f = *state;
	struct dmarc_obs o[10];
	struct dmarc_store_row *r;
	size_t n;
	char longtext[DMARC_STORE_TEXT_MAX + 2];

	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	for (size_t i = 0; i < 10; i++)
		o[i] = obs(DAY1);
	o[0].source_ip = "192.0.2.256";
	o[1].disposition = "discard";
	o[2].policy_domain = "../etc";
	o[3].dkim[0].result = "ok";
	o[4].spf_scope = "pra";
	o[5].reason = "because";
	o[6].reason = "other";
	o[6].reason_comment = longtext;
	o[7].header_from = "bad\r\nhost";
	o[8].when = -1;
	add(f, o, 10);
	rows(f, DAY1, "example.com", &r, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].count, 1);
	dmarc_store_rows_free(r, n);
}

/* A second connection (another process) sees the committed rows. */
/* Purging forgets the days before the one given, and only those. */
static void test_purge(void **state)
{
	struct fixture *f = *state;
	struct dmarc_obs o[3] = {obs(DAY1 + 10), obs(DAY2 + 10), obs(DAY2 + DMARC_STORE_DAY + 10)};
	struct dmarc_store_domain *d;
	size_t n;
	char err[256];

	add(f, o, 3);
	assert_int_equal(dmarc_store_purge(f->s, DAY2, err, sizeof(err)), 1);
	domains(f, DAY1, &d, &n);
	assert_int_equal(n, 0);
	dmarc_store_domains_free(d, n);
	domains(f, DAY2, &d, &n);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].messages, 1);
	dmarc_store_domains_free(d, n);
	assert_int_equal(dmarc_store_purge(f->s, DAY2, err, sizeof(err)), 0);
}

static void test_reopen(void **state)
{
	struct fixture *f = *state;
	struct dmarc_obs o = obs(DAY1);
	struct dmarc_store_row *r;
	size_t n;
	char err[256] = "";

	add(f, &o, 1);
	dmarc_store_close(f->s);
	f->s = dmarc_store_open(f->state_dir, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("reopen: %s", err);
	add(f, &o, 1);
	rows(f, DAY1, "example.com", &r, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].count, 2);
	dmarc_store_rows_free(r, n);
}

static void test_open_fails(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(dmarc_store_open("/proc/postern-no-such/state", err, sizeof(err)));
	assert_non_null(strstr(err, "/proc/postern-no-such/state"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_day),
	    cmocka_unit_test_setup_teardown(test_identical_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_different_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rows_report, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_days_and_domains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_latest_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
	    cmocka_unit_test(test_open_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
