/* Unit tests of the session-free sender checks (policy/sender.c) with a
 * configuration loaded from a temporary file and a zone file: long DNSBL
 * listing strings, client addresses that cannot be checked, several
 * transactions, freeing with lookups out, sender_check_run, the trusted
 * and authenticated exemptions, the postmaster/abuse recipients, and a
 * sender domain the session's blocklist lookups already asked about. */
#include "zonetest.h"

#include "core/buf.h"
#include "core/config.h"
#include "policy/sender.h"

#include <strings.h>

/* ---- The zone ---- */

static const char ZONE[] =
    "# 192.0.2.10: mail.good-sender.net, confirmed; SPF passes for the name and the domain\n"
    "10.2.0.192.in-addr.arpa PTR mail.good-sender.net\n"
    "mail.good-sender.net A 192.0.2.10\n"
    "mail.good-sender.net TXT \"v=spf1 a -all\"\n"
    "good-sender.net TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "spf-fail.net TXT \"v=spf1 -all\"\n"
    "soft-sender.net TXT \"v=spf1 ~all\"\n"
    "listed-sender.net TXT \"v=spf1 ip4:192.0.2.10 -all\"\n"
    "# 192.0.2.20: mx.helo-sender.net, confirmed, no SPF anywhere\n"
    "20.2.0.192.in-addr.arpa PTR mx.helo-sender.net\n"
    "mx.helo-sender.net A 192.0.2.20\n"
    "# 192.0.2.12: every *hang-sender* name never answers (hang_resolver)\n"
    "12.2.0.192.in-addr.arpa PTR mail.hang-sender.net\n"
    "# 192.0.2.13: time-outs\n"
    "13.2.0.192.in-addr.arpa TIMEOUT\n"
    "slow.timeout-sender.net TIMEOUT\n"
    "timeout-sender.net TIMEOUT\n"
    "13.2.0.192.zen.test-list.org TIMEOUT\n";

/* ---- Fixture: configuration, zone, resolver, sender_conf ---- */

struct fx {
	struct config cfg;
	struct sender_conf *sc;
	struct zonetest zt;
	struct hang_resolver h;
	struct sender_env env;
};

static const char STD_DNSBL[] = "{ zone = \"zen.test-list.org\"; type = \"ip\"; weight = 3; },\n"
                                "{ zone = \"dbl.test-list.org\"; type = \"rhs\"; weight = 4; }\n";

static void fx_open(struct fx *f, const char *policy, const char *dnsbl, const char *zone_extra)
{
	char path[64], err[512] = "";
	struct buf text, errors, zone;
	int fd;

	memset(f, 0, sizeof(*f));
	buf_init(&text, 1 << 20);
	buf_printf(&text,
	           "hostname = \"mx.test.example\";\n"
	           "state_dir = \"/tmp\";\n"
	           "listeners = ( { role = \"mx\"; address = \"192.0.2.200:25\"; } );\n"
	           "domains = ( { name = \"test.example\"; }, { name = \"Local.Example\"; } );\n"
	           "policy = {\n%s\n};\n"
	           "dnsbl = (\n%s\n);\n",
	           policy, dnsbl);
	snprintf(path, sizeof(path), "/tmp/postern-sender-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text.data, text.len), (ssize_t)text.len);
	close(fd);
	buf_free(&text);
	buf_init(&errors, 65536);
	if (config_load(path, &f->cfg, &errors) < 0)
		fail_msg("config: %s", errors.data);
	buf_free(&errors);
	unlink(path);

	buf_init(&zone, 1 << 20);
	buf_append_str(&zone, ZONE);
	if (zone_extra)
		buf_append_str(&zone, zone_extra);
	zonetest_open(&f->zt, zone.data);
	buf_free(&zone);
	/* Every *hang-sender* name never answers. */
	hang_init(&f->h, f->zt.r, "hang-sender");
	f->sc = sender_conf_new(&f->cfg, err, sizeof(err));
	if (f->sc == NULL)
		fail_msg("sender_conf_new: %s", err);
	f->env = (struct sender_env){
	    .cfg = &f->cfg, .conf = f->sc, .base = f->zt.base, .dns = &f->h.base};
}

static void fx_close(struct fx *f)
{
	/* Every lookup that was left out was cancelled. */
	assert_int_equal(f->h.live, 0);
	sender_conf_free(f->sc);
	zonetest_close(&f->zt);
	config_free(&f->cfg);
}

/* ---- Loop helpers ---- */

struct waited {
	int calls;
	struct event_base *base; /* broken out of when set */
};

static void on_wait(void *arg)
{
	struct waited *w = arg;
	w->calls++;
	if (w->base)
		event_base_loopbreak(w->base);
}

struct guard {
	int fired;
	struct event_base *base;
};

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	struct guard *g = arg;
	g->fired = 1;
	event_base_loopbreak(g->base);
}

/* Runs the loop for ms milliseconds, whatever happens meanwhile. */
static void loop_ms(struct fx *f, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_base_loopexit(f->zt.base, &tv);
	event_base_dispatch(f->zt.base);
}

/* Runs the loop until *flag is set (or 5 seconds pass: a lookup that
 * never ends).  Returns *flag. */
static int run_until(struct fx *f, int *flag)
{
	struct guard g = {0, f->zt.base};
	struct timeval tv = {5, 0};
	struct event *guard = evtimer_new(f->zt.base, on_guard, &g);

	evtimer_add(guard, &tv);
	while (!*flag && !g.fired)
		if (event_base_loop(f->zt.base, EVLOOP_ONCE) != 0)
			break;
	event_free(guard);
	assert_false(g.fired);
	return *flag;
}

/* Waits for every lookup of c.  The waiter must run once when any was
 * pending. */
static void drain(struct fx *f, struct sender_check *c)
{
	struct waited w = {0, NULL};

	if (sender_check_wait(c, on_wait, &w)) {
		run_until(f, &w.calls);
		assert_int_equal(w.calls, 1);
	}
	assert_int_equal(sender_check_pending(c), 0);
}

/* ---- Helpers on results ---- */

static int split(const char *list, char tokens[][128], int max)
{
	int n = 0;
	const char *p = list;

	if (*p == '\0')
		return 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		assert_true(n < max);
		assert_true(len < 128);
		memcpy(tokens[n], p, len);
		tokens[n][len] = '\0';
		n++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return n;
}

/* ---- 1. Long listing strings (the old len += snprintf overflow) ---- */

#define NLONG 40

static void long_zone(char *out, size_t size, int rhs, int i)
{
	snprintf(out, size, "a-very-long-%sblocklist-zone-name-number-%02d.example.org",
	         rhs ? "domain-" : "", i);
}

/* 1 when tok is one of the configured zones (whole); *rhs and *index say
 * which. */
static int find_long_zone(const char *tok, int *rhs, int *index)
{
	char z[128];

	for (int k = 0; k < 2; k++)
		for (int i = 0; i < NLONG; i++) {
			long_zone(z, sizeof(z), k, i);
			if (strcmp(z, tok) == 0) {
				*rhs = k;
				*index = i;
				return 1;
			}
		}
	return 0;
}

/* Every name of list is a whole configured zone; the names of one kind
 * come in configuration order from the first. */
static void assert_whole_zones(const char *list, int want_prefix)
{
	char tokens[2 * NLONG + 2][128];
	int n = split(list, tokens, 2 * NLONG + 2);
	int rhs0 = -1, i0 = -1;

	assert_true(n >= 1);
	for (int t = 0; t < n; t++) {
		int rhs, idx;
		if (!find_long_zone(tokens[t], &rhs, &idx))
			fail_msg("'%s' (in \"%s\") is not a whole zone name", tokens[t], list);
		if (t == 0) {
			rhs0 = rhs;
			i0 = idx;
		}
		if (want_prefix) {
			/* The session's string: the first check to answer fills it
			 * with its first zones, in order. */
			assert_int_equal(rhs, rhs0);
			assert_int_equal(idx, t);
		}
	}
	if (want_prefix)
		assert_int_equal(i0, 0);
}

static void test_long_listing_strings(void **state)
{
	struct fx f;
	struct buf dnsbl, zone, out;
	struct sender_results r;
	char z[128];

	buf_init(&dnsbl, 1 << 20);
	buf_init(&zone, 1 << 20);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < NLONG; i++) {
			long_zone(z, sizeof(z), k, i);
			buf_printf(&dnsbl, "%s{ zone = \"%s\"; type = \"%s\"; weight = %d; }\n",
			           k || i ? "," : "", z, k ? "rhs" : "ip", k ? 2 : 1);
			if (k) {
				buf_printf(&zone, "mail.good-sender.net.%s A 127.0.0.2\n", z);
				buf_printf(&zone, "listed-sender.net.%s A 127.0.0.2\n", z);
			} else {
				buf_printf(&zone, "10.2.0.192.%s A 127.0.0.2\n", z);
			}
		}
	fx_open(&f, "score_reject = 0;", dnsbl.data, zone.data);
	buf_free(&dnsbl);
	buf_free(&zone);

	struct sender_check *c = sender_check_new(&f.env, "192.0.2.10");
	sender_check_helo(c, "mail.good-sender.net");
	drain(&f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.iprev, "pass");
	assert_string_equal(r.helo_dns, "match");
	assert_string_equal(r.spf_helo, "pass");
	/* Only whole names, and fewer than there are. */
	assert_true(strlen(r.dnsbl) < 256);
	assert_whole_zones(r.dnsbl, 1);
	/* Every listing counts, shown or not: 40 x 1 for the address, 40 x 2
	 * for the HELO name. */
	assert_int_equal(sender_check_verdict(c)->score, NLONG * 1 + NLONG * 2);
	assert_non_null(strstr(sender_check_verdict(c)->tags, "dnsbl_listed"));

	/* The sender domain is listed by the 40 domain lists as well. */
	sender_check_mail(c, "alice@listed-sender.net");
	drain(&f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.spf_mail, "pass");
	/* The field after the listing buffers is intact. */
	assert_string_equal(r.mail_from, "alice@listed-sender.net");
	assert_whole_zones(r.dnsbl, 0);
	assert_int_equal(sender_check_verdict(c)->score, NLONG * 1 + NLONG * 2 + NLONG * 2);

	/* The log line and Authentication-Results carry whole names too. */
	buf_init(&out, 65536);
	assert_int_equal(sender_check_log(c, &out), 0);
	const char *d = strstr(out.data, "dnsbl=");
	assert_non_null(d);
	char zones[1024];
	size_t zl = strcspn(d + 6, " ");
	assert_true(zl < sizeof(zones));
	memcpy(zones, d + 6, zl);
	zones[zl] = '\0';
	assert_whole_zones(zones, 0);
	assert_non_null(strstr(out.data, " score=200 "));
	buf_reset(&out);
	assert_int_equal(sender_check_authres(c, &out), 0);
	assert_non_null(strstr(out.data, "a-very-long-"));
	buf_free(&out);

	sender_check_free(c);
	fx_close(&f);
}

/* ---- 2. Client addresses that cannot be checked ---- */

struct ran {
	int calls;
	struct sender_check *c;
	int free_it;
	char iprev[32], spf_mail[32], spf_helo[32], spf_rdns[32], helo_dns[32], csa[32], rdns[32],
	    dnsbl[512], spf_result[32], spf_scope[16];
	size_t pending;
	long score;
};

static void on_run(void *arg, struct sender_check *c)
{
	struct ran *r = arg;
	struct sender_results res;
	struct sender_spf spf;

	r->calls++;
	r->c = c;
	r->pending = sender_check_pending(c);
	sender_check_results(c, &res);
	snprintf(r->iprev, sizeof(r->iprev), "%s", res.iprev);
	snprintf(r->spf_mail, sizeof(r->spf_mail), "%s", res.spf_mail);
	snprintf(r->spf_helo, sizeof(r->spf_helo), "%s", res.spf_helo);
	snprintf(r->spf_rdns, sizeof(r->spf_rdns), "%s", res.spf_rdns);
	snprintf(r->helo_dns, sizeof(r->helo_dns), "%s", res.helo_dns);
	snprintf(r->csa, sizeof(r->csa), "%s", res.csa);
	snprintf(r->rdns, sizeof(r->rdns), "%s", res.rdns);
	snprintf(r->dnsbl, sizeof(r->dnsbl), "%s", res.dnsbl);
	sender_check_spf(c, &spf);
	snprintf(r->spf_result, sizeof(r->spf_result), "%s", spf.result);
	snprintf(r->spf_scope, sizeof(r->spf_scope), "%s", spf.scope);
	r->score = sender_check_verdict(c)->score;
	if (r->free_it) {
		sender_check_free(c);
		r->c = NULL;
	}
}

static void bad_address(struct fx *f, const char *ip)
{
	struct sender_results r;
	struct verdict_reply rep;
	struct sender_check *c = sender_check_new(&f->env, ip);

	assert_non_null(c);
	/* Nothing the DNS can be asked about: nothing is left running. */
	drain(f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.iprev, "permerror");
	assert_string_equal(r.iprev_name, "");
	assert_string_equal(r.dnsbl, "");
	/* HELO and MAIL still end. */
	sender_check_helo(c, "mail.good-sender.net");
	drain(f, c);
	sender_check_mail(c, "alice@good-sender.net");
	drain(f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.iprev, "permerror");
	assert_string_equal(r.spf_mail, "permerror");
	/* A RCPT-style decision: iprev_fail (score 3) and spf_permerror
	 * (score 2) stay below score_reject 10. */
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(sender_check_decide(c, &rep), PA_ACCEPT);
	assert_int_equal(rep.code, 250);
	assert_non_null(strstr(sender_check_verdict(c)->tags, "iprev_fail"));
	sender_check_reset(c);
	assert_int_equal(sender_check_decide(c, &rep), PA_ACCEPT);
	sender_check_free(c);

	/* The same through sender_check_run. */
	struct ran ran;
	memset(&ran, 0, sizeof(ran));
	struct sender_input in = {.ip = ip, .helo = "mail.good-sender.net", .mail_from = ""};
	ran.c = sender_check_run(&f->env, &in, on_run, &ran);
	assert_int_equal(ran.calls, 0);
	run_until(f, &ran.calls);
	assert_int_equal(ran.calls, 1);
	assert_int_equal(ran.pending, 0);
	assert_string_equal(ran.iprev, "permerror");
	sender_check_free(ran.c);
}

static void test_unchecked_address(void **state)
{
	struct fx f;

	fx_open(&f, "", STD_DNSBL, NULL);
	bad_address(&f, "fe80::1%eth0");
	bad_address(&f, "not-an-address");
	bad_address(&f, "");
	fx_close(&f);
}

/* ---- 3. Several transactions ---- */

static void test_transactions(void **state)
{
	struct fx f;
	struct sender_results r;
	struct sender_spf spf;
	struct verdict_reply rep;
	struct waited w = {0, NULL};

	fx_open(&f, "", STD_DNSBL, NULL);
	struct sender_check *c = sender_check_new(&f.env, "192.0.2.10");
	sender_check_helo(c, "mail.good-sender.net");
	drain(&f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.iprev, "pass");
	assert_string_equal(r.iprev_name, "mail.good-sender.net");
	assert_string_equal(r.helo_class, "valid_fqdn");
	assert_string_equal(r.spf_helo, "pass");
	assert_string_equal(r.spf_rdns, "pass");
	assert_string_equal(r.spf_mail, "");
	long session_score = sender_check_verdict(c)->score;
	assert_int_equal(session_score, 0);
	/* A second HELO is not judged again. */
	sender_check_helo(c, "localhost");
	assert_int_equal(sender_check_pending(c), 0);
	sender_check_results(c, &r);
	assert_string_equal(r.helo, "mail.good-sender.net");
	assert_string_equal(r.helo_class, "valid_fqdn");

	/* First transaction: SPF fails. */
	sender_check_mail(c, "bob@spf-fail.net");
	drain(&f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.spf_mail, "fail");
	assert_string_equal(r.mail_from, "bob@spf-fail.net");
	assert_int_equal(sender_check_decide(c, &rep), PA_REJECT);
	assert_int_equal(rep.code, 550);

	/* RSET, then a second sender: its results only. */
	sender_check_reset(c);
	sender_check_results(c, &r);
	assert_string_equal(r.spf_mail, "");
	assert_string_equal(r.mail_from, "");
	assert_int_equal(sender_check_decide(c, &rep), PA_ACCEPT);
	sender_check_mail(c, "alice@good-sender.net");
	drain(&f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.spf_mail, "pass");
	assert_string_equal(r.mail_from, "alice@good-sender.net");
	sender_check_spf(c, &spf);
	assert_string_equal(spf.result, "pass");
	assert_string_equal(spf.domain, "good-sender.net");
	assert_string_equal(spf.scope, "mfrom");
	assert_int_equal(sender_check_decide(c, &rep), PA_ACCEPT);
	assert_int_equal(rep.code, 250);
	assert_int_equal(sender_check_verdict(c)->score, session_score);
	assert_null(strstr(sender_check_verdict(c)->tags, "spf_fail"));
	/* The connect and HELO results are still there. */
	assert_string_equal(r.iprev, "pass");
	assert_string_equal(r.spf_helo, "pass");
	assert_string_equal(r.spf_rdns, "pass");
	assert_string_equal(r.helo, "mail.good-sender.net");

	/* A new MAIL without RSET: the previous transaction ends. */
	sender_check_mail(c, "bob@spf-fail.net");
	drain(&f, c);
	assert_int_equal(sender_check_decide(c, &rep), PA_REJECT);
	sender_check_mail(c, "");
	drain(&f, c);
	sender_check_results(c, &r);
	/* RFC 7208 2.4: the null sender's SPF result is the HELO's. */
	assert_string_equal(r.spf_mail, "pass");
	sender_check_spf(c, &spf);
	assert_string_equal(spf.scope, "helo");
	assert_string_equal(spf.domain, "mail.good-sender.net");
	assert_int_equal(sender_check_decide(c, &rep), PA_ACCEPT);

	/* RSET while the MAIL lookups are out: cancelled, the waiter is not
	 * called, nothing of the transaction is left. */
	sender_check_mail(c, "carol@soft-sender.net");
	assert_true(sender_check_pending(c) > 0);
	assert_int_equal(sender_check_wait(c, on_wait, &w), 1);
	sender_check_reset(c);
	assert_int_equal(sender_check_pending(c), 0);
	loop_ms(&f, 100);
	assert_int_equal(w.calls, 0);
	sender_check_results(c, &r);
	assert_string_equal(r.spf_mail, "");
	assert_null(strstr(sender_check_verdict(c)->tags, "spf_softfail"));
	assert_int_equal(sender_check_verdict(c)->score, session_score);
	sender_check_free(c);

	/* RSET with the session's lookups still out as well: they go on. */
	c = sender_check_new(&f.env, "192.0.2.10");
	sender_check_helo(c, "mail.good-sender.net");
	sender_check_mail(c, "carol@soft-sender.net");
	sender_check_reset(c);
	assert_true(sender_check_pending(c) > 0);
	drain(&f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.iprev, "pass");
	assert_string_equal(r.spf_helo, "pass");
	assert_string_equal(r.spf_mail, "");
	assert_int_equal(sender_check_verdict(c)->score, 0);
	/* A second wait replaces the first. */
	struct waited w1 = {0, NULL}, w2 = {0, NULL};
	sender_check_mail(c, "alice@good-sender.net");
	assert_int_equal(sender_check_wait(c, on_wait, &w1), 1);
	assert_int_equal(sender_check_wait(c, on_wait, &w2), 1);
	run_until(&f, &w2.calls);
	loop_ms(&f, 50);
	assert_int_equal(w1.calls, 0);
	assert_int_equal(w2.calls, 1);
	sender_check_free(c);
	fx_close(&f);
}

/* ---- 4. sender_check_free with lookups out ---- */

static void test_free_pending(void **state)
{
	struct fx f;
	struct waited w = {0, NULL};
	struct sender_results r;
	struct verdict_reply rep;

	fx_open(&f, "", STD_DNSBL, NULL);
	/* Time-outs in the zone: freed before the loop answers. */
	struct sender_check *c = sender_check_new(&f.env, "192.0.2.13");
	sender_check_helo(c, "slow.timeout-sender.net");
	sender_check_mail(c, "x@timeout-sender.net");
	assert_true(sender_check_pending(c) > 0);
	assert_int_equal(sender_check_wait(c, on_wait, &w), 1);
	sender_check_free(c);
	loop_ms(&f, 100);
	assert_int_equal(w.calls, 0);

	/* The same, left to finish: temperrors. */
	c = sender_check_new(&f.env, "192.0.2.13");
	sender_check_helo(c, "slow.timeout-sender.net");
	sender_check_mail(c, "x@timeout-sender.net");
	drain(&f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.iprev, "temperror");
	assert_string_equal(r.spf_mail, "temperror");
	assert_string_equal(r.dnsbl, "temperror");
	assert_int_equal(sender_check_decide(c, &rep), PA_TEMPFAIL);
	sender_check_free(c);

	/* Lookups that never answer, freed in the middle. */
	c = sender_check_new(&f.env, "192.0.2.12");
	sender_check_helo(c, "mail.hang-sender.net");
	sender_check_mail(c, "x@hang-sender.net");
	loop_ms(&f, 50);
	assert_true(sender_check_pending(c) > 0);
	assert_true(f.h.live > 0);
	assert_int_equal(sender_check_wait(c, on_wait, &w), 1);
	sender_check_free(c);
	assert_int_equal(f.h.live, 0);
	loop_ms(&f, 100);
	assert_int_equal(w.calls, 0);

	/* sender_check_run's caller goes away first: nothing is called. */
	struct ran ran;
	memset(&ran, 0, sizeof(ran));
	struct sender_input in = {
	    .ip = "192.0.2.12", .helo = "mail.hang-sender.net", .mail_from = "x@hang-sender.net"};
	c = sender_check_run(&f.env, &in, on_run, &ran);
	loop_ms(&f, 50);
	sender_check_free(c);
	assert_int_equal(f.h.live, 0);
	loop_ms(&f, 100);
	assert_int_equal(ran.calls, 0);
	/* Also when nothing was to be looked up (the answer was to come from
	 * the loop). */
	struct sender_input none = {.ip = "not-an-address", .helo = "localhost", .mail_from = NULL};
	c = sender_check_run(&f.env, &none, on_run, &ran);
	assert_int_equal(sender_check_pending(c), 0);
	sender_check_free(c);
	loop_ms(&f, 100);
	assert_int_equal(ran.calls, 0);
	/* And through the zone, freed before the first answer. */
	struct sender_input good = {
	    .ip = "192.0.2.10", .helo = "mail.good-sender.net", .mail_from = "a@good-sender.net"};
	c = sender_check_run(&f.env, &good, on_run, &ran);
	sender_check_free(c);
	loop_ms(&f, 100);
	assert_int_equal(ran.calls, 0);
	fx_close(&f);
}

/* ---- 5. sender_check_run ---- */

static void test_run(void **state)
{
	struct fx f;
	struct ran ran;

	fx_open(&f, "", STD_DNSBL, "10.2.0.192.zen.test-list.org A 127.0.0.2\n");
	/* Every stage, every result; the callback frees the check (the caller
	 * owns it from then on). */
	memset(&ran, 0, sizeof(ran));
	ran.free_it = 1;
	struct sender_input in = {.ip = "192.0.2.10",
	                          .helo = "mail.good-sender.net",
	                          .mail_from = "alice@good-sender.net"};
	sender_check_run(&f.env, &in, on_run, &ran);
	assert_int_equal(ran.calls, 0);
	run_until(&f, &ran.calls);
	loop_ms(&f, 100);
	assert_int_equal(ran.calls, 1);
	assert_null(ran.c);
	assert_int_equal(ran.pending, 0);
	assert_string_equal(ran.iprev, "pass");
	assert_string_equal(ran.rdns, "normal");
	assert_string_equal(ran.helo_dns, "match");
	assert_string_equal(ran.csa, "none");
	assert_string_equal(ran.spf_helo, "pass");
	assert_string_equal(ran.spf_rdns, "pass");
	assert_string_equal(ran.spf_mail, "pass");
	assert_string_equal(ran.dnsbl, "zen.test-list.org");
	assert_string_equal(ran.spf_result, "pass");
	assert_string_equal(ran.spf_scope, "mfrom");
	assert_int_equal(ran.score, 3);

	/* Nothing to look up: still from the loop, and freeing from the
	 * callback is fine there too. */
	memset(&ran, 0, sizeof(ran));
	ran.free_it = 1;
	struct sender_input none = {.ip = "not-an-address", .helo = "localhost", .mail_from = NULL};
	sender_check_run(&f.env, &none, on_run, &ran);
	assert_int_equal(ran.calls, 0);
	run_until(&f, &ran.calls);
	loop_ms(&f, 50);
	assert_int_equal(ran.calls, 1);
	assert_string_equal(ran.iprev, "permerror");

	/* Freed by the caller after the callback. */
	memset(&ran, 0, sizeof(ran));
	sender_check_run(&f.env, &in, on_run, &ran);
	run_until(&f, &ran.calls);
	assert_non_null(ran.c);
	sender_check_free(ran.c);
	loop_ms(&f, 50);
	assert_int_equal(ran.calls, 1);

	fx_close(&f);
}

/* Freeing from inside a plain waiter. */
static void free_in_waiter(void *arg)
{
	struct ran *r = arg;
	r->calls++;
	sender_check_free(r->c);
	r->c = NULL;
}

static void test_free_in_waiter(void **state)
{
	struct fx f;
	struct ran ran;

	fx_open(&f, "", STD_DNSBL, NULL);
	memset(&ran, 0, sizeof(ran));
	ran.c = sender_check_new(&f.env, "192.0.2.10");
	sender_check_helo(ran.c, "mail.good-sender.net");
	sender_check_mail(ran.c, "alice@good-sender.net");
	assert_int_equal(sender_check_wait(ran.c, free_in_waiter, &ran), 1);
	run_until(&f, &ran.calls);
	loop_ms(&f, 50);
	assert_int_equal(ran.calls, 1);
	assert_null(ran.c);
	fx_close(&f);
}

/* ---- 6. Exemptions ---- */

static void test_exempt(void **state)
{
	struct fx f;

	fx_open(&f,
	        "trusted_networks = \"127.0.0.0/8, 192.0.2.128/25, 2001:db8:1::/48, ::1/128\";\n"
	        "check_submission = 0;",
	        "", NULL);
	assert_int_equal(sender_exempt(&f.env, "127.0.0.1", 0), SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "192.0.2.128", 0), SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "192.0.2.255", 0), SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "192.0.2.127", 0), SENDER_CHECKED);
	assert_int_equal(sender_exempt(&f.env, "192.0.2.10", 0), SENDER_CHECKED);
	/* An IPv4 client on a dual-stack socket. */
	assert_int_equal(sender_exempt(&f.env, "::ffff:192.0.2.130", 0), SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "::1", 0), SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "::2", 0), SENDER_CHECKED);
	assert_int_equal(sender_exempt(&f.env, "2001:db8:1::1", 0), SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "2001:DB8:1:FFFF:FFFF:FFFF:FFFF:FFFF", 0),
	                 SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "2001:db8:2::1", 0), SENDER_CHECKED);
	assert_int_equal(sender_exempt(&f.env, "not-an-address", 0), SENDER_CHECKED);
	assert_int_equal(sender_exempt(&f.env, "fe80::1%eth0", 0), SENDER_CHECKED);
	/* Authenticated, check_submission 0: not checked; trusted first. */
	assert_int_equal(sender_exempt(&f.env, "192.0.2.10", 1), SENDER_AUTHENTICATED);
	assert_int_equal(sender_exempt(&f.env, "2001:db8:2::1", 1), SENDER_AUTHENTICATED);
	assert_int_equal(sender_exempt(&f.env, "192.0.2.200", 1), SENDER_TRUSTED);
	assert_string_equal(sender_exemption_name(SENDER_TRUSTED), "trusted");
	assert_string_equal(sender_exemption_name(SENDER_AUTHENTICATED), "authenticated");
	assert_string_equal(sender_exemption_name(SENDER_CHECKED), "checked");
	fx_close(&f);

	fx_open(&f,
	        "trusted_networks = \"192.0.2.128/25, 2001:db8:1::/48\";\ncheck_submission = 1;",
	        "", NULL);
	assert_int_equal(sender_exempt(&f.env, "192.0.2.10", 1), SENDER_CHECKED);
	assert_int_equal(sender_exempt(&f.env, "2001:db8:2::1", 1), SENDER_CHECKED);
	assert_int_equal(sender_exempt(&f.env, "192.0.2.200", 1), SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "2001:db8:1::5", 1), SENDER_TRUSTED);
	/* Not in the list any more. */
	assert_int_equal(sender_exempt(&f.env, "127.0.0.1", 0), SENDER_CHECKED);
	fx_close(&f);

	/* The default list: loopback only. */
	fx_open(&f, "", "", NULL);
	assert_int_equal(sender_exempt(&f.env, "127.0.0.1", 0), SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "::1", 0), SENDER_TRUSTED);
	assert_int_equal(sender_exempt(&f.env, "192.0.2.200", 0), SENDER_CHECKED);
	assert_int_equal(sender_exempt(&f.env, "192.0.2.200", 1), SENDER_AUTHENTICATED);
	fx_close(&f);
}

/* ---- 7. Postmaster and abuse ---- */

static void test_recipient_exempt(void **state)
{
	struct fx f;
	const struct config *cfg;

	fx_open(&f, "", "", NULL);
	cfg = &f.cfg;
	for (int any = 0; any <= 1; any++) {
		assert_int_equal(sender_recipient_exempt(cfg, "postmaster@test.example", any), 1);
		assert_int_equal(sender_recipient_exempt(cfg, "PostMaster@TEST.example", any), 1);
		assert_int_equal(sender_recipient_exempt(cfg, "abuse@local.example", any), 1);
		assert_int_equal(sender_recipient_exempt(cfg, "ABUSE@Local.EXAMPLE", any), 1);
		/* RFC 5321 4.1.1.3: <Postmaster> alone, any case. */
		assert_int_equal(sender_recipient_exempt(cfg, "postmaster", any), 1);
		assert_int_equal(sender_recipient_exempt(cfg, "POSTMASTER", any), 1);
		assert_int_equal(sender_recipient_exempt(cfg, "abuse", any), 0);
		assert_int_equal(sender_recipient_exempt(cfg, "postmaster-x", any), 0);
		/* Other local parts. */
		assert_int_equal(sender_recipient_exempt(cfg, "postmaster-x@local.example", any),
		                 0);
		assert_int_equal(sender_recipient_exempt(cfg, "xpostmaster@local.example", any), 0);
		assert_int_equal(sender_recipient_exempt(cfg, "postmaste@local.example", any), 0);
		assert_int_equal(sender_recipient_exempt(cfg, "abuser@local.example", any), 0);
		assert_int_equal(sender_recipient_exempt(cfg, "user@test.example", any), 0);
		assert_int_equal(sender_recipient_exempt(cfg, "", any), 0);
		/* At another domain: only for a service that limits itself. */
		assert_int_equal(sender_recipient_exempt(cfg, "postmaster@other.example", any),
		                 any);
		assert_int_equal(sender_recipient_exempt(cfg, "Abuse@Other.Example", any), any);
		assert_int_equal(sender_recipient_exempt(cfg, "abuse-x@other.example", any), 0);
		/* A subdomain of a local domain is another domain. */
		assert_int_equal(sender_recipient_exempt(cfg, "postmaster@sub.test.example", any),
		                 any);
	}
	fx_close(&f);
}

/* ---- 8. A domain the session already asked a blocklist about ---- */

static const char DEDUP_ZONE[] = "good-sender.net.dbl.test-list.org A 127.0.0.2\n"
                                 "mx.helo-sender.net.dbl.test-list.org A 127.0.0.2\n";

static void dedup_staged(struct fx *f, const char *ip, const char *helo, const char *from)
{
	struct sender_results r;
	struct sender_check *c = sender_check_new(&f->env, ip);

	sender_check_helo(c, helo);
	drain(f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.iprev, "pass");
	assert_string_equal(r.dnsbl, "dbl.test-list.org");
	assert_int_equal(sender_check_verdict(c)->score, 4);
	sender_check_mail(c, from);
	drain(f, c);
	sender_check_results(c, &r);
	assert_string_equal(r.dnsbl, "dbl.test-list.org");
	assert_int_equal(sender_check_verdict(c)->score, 4);
	sender_check_free(c);
}

static void test_dedup(void **state)
{
	struct fx f;
	struct ran ran;

	fx_open(&f, "", STD_DNSBL, DEDUP_ZONE);
	/* The sender domain is the rDNS name's registrable domain. */
	dedup_staged(&f, "192.0.2.10", "mail.good-sender.net", "alice@good-sender.net");
	dedup_staged(&f, "192.0.2.10", "mail.good-sender.net", "alice@Good-Sender.NET");
	/* The sender domain is the HELO name. */
	dedup_staged(&f, "192.0.2.20", "mx.helo-sender.net", "bob@mx.helo-sender.net");
	dedup_staged(&f, "192.0.2.20", "mx.helo-sender.net", "bob@MX.helo-sender.net");

	/* A sender domain nobody asked about yet is asked. */
	struct sender_check *c = sender_check_new(&f.env, "192.0.2.20");
	sender_check_helo(c, "mx.helo-sender.net");
	drain(&f, c);
	sender_check_mail(c, "alice@good-sender.net");
	drain(&f, c);
	assert_int_equal(sender_check_verdict(c)->score, 8);
	sender_check_free(c);

	/* The same through sender_check_run (MAIL before the rDNS answer). */
	memset(&ran, 0, sizeof(ran));
	ran.free_it = 1;
	struct sender_input helo_in = {.ip = "192.0.2.20",
	                               .helo = "mx.helo-sender.net",
	                               .mail_from = "bob@mx.helo-sender.net"};
	sender_check_run(&f.env, &helo_in, on_run, &ran);
	run_until(&f, &ran.calls);
	assert_string_equal(ran.dnsbl, "dbl.test-list.org");
	assert_int_equal(ran.score, 4);

	fx_close(&f);
}

/* ---- Contract checks that sender.c fails (see the messages) ---- */

/* sender.h: sender_check_reset "A waiter is not called": the waiter of the
 * transaction that was reset is forgotten, not called when a later
 * transaction's lookups end. */
static void test_reset_forgets_waiter(void **state)
{
	struct fx f;
	struct waited w = {0, NULL};

	fx_open(&f, "", STD_DNSBL, NULL);
	struct sender_check *c = sender_check_new(&f.env, "192.0.2.10");
	sender_check_helo(c, "mail.good-sender.net");
	drain(&f, c);
	sender_check_mail(c, "carol@soft-sender.net");
	assert_int_equal(sender_check_wait(c, on_wait, &w), 1);
	sender_check_reset(c);
	loop_ms(&f, 100);
	int after_reset = w.calls;
	sender_check_mail(c, "alice@good-sender.net");
	loop_ms(&f, 100);
	size_t pending = sender_check_pending(c);
	int after_next = w.calls;
	sender_check_free(c);
	fx_close(&f);
	assert_int_equal(after_reset, 0);
	assert_int_equal(pending, 0);
	if (after_next != 0)
		fail_msg("a waiter set before sender_check_reset ran %d time(s) when the next "
		         "transaction's lookups ended",
		         after_next);
}

/* RFC 7208 2.4 / sender.h: with the null reverse-path the SPF result of
 * the transaction (and the one sender_check_spf gives DMARC) is the HELO
 * identity's, also when MAIL comes before the HELO check has ended, as in
 * sender_check_run or a pipelined session. */
static void test_null_sender_spf_pending_helo(void **state)
{
	struct fx f;
	struct ran ran;
	struct sender_results r;
	struct sender_spf spf;
	char staged_mail[32], staged_spf[32], staged_helo[32];

	fx_open(&f, "", STD_DNSBL, NULL);
	memset(&ran, 0, sizeof(ran));
	ran.free_it = 1;
	struct sender_input in = {
	    .ip = "192.0.2.10", .helo = "mail.good-sender.net", .mail_from = ""};
	sender_check_run(&f.env, &in, on_run, &ran);
	run_until(&f, &ran.calls);

	struct sender_check *c = sender_check_new(&f.env, "192.0.2.10");
	sender_check_helo(c, "mail.good-sender.net");
	sender_check_mail(c, "");
	drain(&f, c);
	sender_check_results(c, &r);
	sender_check_spf(c, &spf);
	snprintf(staged_mail, sizeof(staged_mail), "%s", r.spf_mail);
	snprintf(staged_helo, sizeof(staged_helo), "%s", r.spf_helo);
	snprintf(staged_spf, sizeof(staged_spf), "%s", spf.result);
	assert_string_equal(spf.scope, "helo");
	sender_check_free(c);
	fx_close(&f);

	assert_int_equal(ran.calls, 1);
	assert_string_equal(ran.spf_helo, "pass");
	assert_string_equal(ran.spf_scope, "helo");
	assert_string_equal(staged_helo, "pass");
	if (strcmp(ran.spf_mail, "pass") != 0 || strcmp(ran.spf_result, "pass") != 0 ||
	    strcmp(staged_mail, "pass") != 0 || strcmp(staged_spf, "pass") != 0)
		fail_msg("null sender, MAIL before the HELO SPF answer: sender_check_run gives "
		         "spf_mail \"%s\" / sender_check_spf \"%s\", staged gives \"%s\" / "
		         "\"%s\"; want the HELO's \"pass\"",
		         ran.spf_mail, ran.spf_result, staged_mail, staged_spf);
}

/* The sender domain is the rDNS name's registrable domain, and MAIL comes
 * before the rDNS answer (sender_check_run, or a quick client): the
 * listing is still counted once. */
static void test_run_dedup_rdns_domain(void **state)
{
	struct fx f;
	struct ran ran;

	fx_open(&f, "", STD_DNSBL, DEDUP_ZONE);
	memset(&ran, 0, sizeof(ran));
	ran.free_it = 1;
	struct sender_input in = {.ip = "192.0.2.10",
	                          .helo = "mail.good-sender.net",
	                          .mail_from = "alice@good-sender.net"};
	sender_check_run(&f.env, &in, on_run, &ran);
	run_until(&f, &ran.calls);
	fx_close(&f);
	assert_int_equal(ran.calls, 1);
	if (ran.score != 4 || strcmp(ran.dnsbl, "dbl.test-list.org") != 0)
		fail_msg("sender_check_run, sender domain = rDNS registrable domain: score %ld, "
		         "dnsbl \"%s\"; want 4, \"dbl.test-list.org\" (counted once)",
		         ran.score, ran.dnsbl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_long_listing_strings),
	    cmocka_unit_test(test_unchecked_address),
	    cmocka_unit_test(test_transactions),
	    cmocka_unit_test(test_free_pending),
	    cmocka_unit_test(test_run),
	    cmocka_unit_test(test_free_in_waiter),
	    cmocka_unit_test(test_exempt),
	    cmocka_unit_test(test_recipient_exempt),
	    cmocka_unit_test(test_dedup),
	    cmocka_unit_test(test_reset_forgets_waiter),
	    cmocka_unit_test(test_null_sender_spf_pending_helo),
	    cmocka_unit_test(test_run_dedup_rdns_domain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
