/* The rdns classifier: keywords and address evidence in a reverse-DNS name
 * decide whether it is generic (dynamic, residential, pool, default
 * hosting names) or chosen.  Reference names of real ISPs are in
 * tests/unit/policy/test_rdns.c; the rules are tuned against them. */
#include "policy/rdns.h"
#include "policy/rdns_ip.h"

#include <stdio.h>
#include <string.h>

enum kw_kind {
	KW_DYN,    /* the name says the address changes */
	KW_ACCESS, /* access technology or subscriber line */
	KW_WEAK,   /* common in generic names, but also in chosen ones ("host", "ip", "node") */
	KW_STATIC, /* the address is assigned for good */
	KW_MAIL,   /* a mail host */
	KW_KINDS
};

struct keyword {
	const char *word;
	enum kw_kind kind;
};

/* Whole tokens (between '.', '-', '_' or any other non-alphanumeric
 * octet), also matched with trailing digits removed ("dsl092", "host86",
 * "dip0", "mx1").  The last label (the TLD) is never looked at. */
static const struct keyword keywords[] = {
    {"dyn", KW_DYN},
    {"dynamic", KW_DYN},
    {"dynamicip", KW_DYN},
    {"dynip", KW_DYN},
    {"dhcp", KW_DYN},
    {"pool", KW_DYN},
    {"pools", KW_DYN},
    {"dial", KW_DYN},
    {"dialup", KW_DYN},
    {"dialin", KW_DYN},
    {"dialip", KW_DYN},
    {"ppp", KW_DYN},
    {"pppoe", KW_DYN},
    {"pppoa", KW_DYN},
    {"dip", KW_DYN}, /* Deutsche Telekom "dip0": dial-in pool */
    {"dsl", KW_ACCESS},
    {"adsl", KW_ACCESS},
    {"vdsl", KW_ACCESS},
    {"xdsl", KW_ACCESS},
    {"sdsl", KW_ACCESS},
    {"cable", KW_ACCESS},
    {"catv", KW_ACCESS},
    {"kabel", KW_ACCESS},
    {"broadband", KW_ACCESS},
    {"resident", KW_ACCESS},
    {"residential", KW_ACCESS},
    {"fttx", KW_ACCESS},
    {"ftth", KW_ACCESS},
    {"fttb", KW_ACCESS},
    {"fttc", KW_ACCESS},
    {"fttp", KW_ACCESS},
    {"fios", KW_ACCESS},
    {"cpe", KW_ACCESS},
    {"cpc", KW_ACCESS},
    {"hsd", KW_ACCESS}, /* Comcast "hsd1": high speed data */
    {"mobile", KW_ACCESS},
    {"mob", KW_ACCESS},
    {"3g", KW_ACCESS},
    {"4g", KW_ACCESS},
    {"5g", KW_ACCESS},
    {"lte", KW_ACCESS},
    {"gprs", KW_ACCESS},
    {"umts", KW_ACCESS},
    {"wireless", KW_ACCESS},
    {"wifi", KW_ACCESS},
    {"wlan", KW_ACCESS},
    {"cgnat", KW_ACCESS},
    {"abo", KW_ACCESS}, /* Orange "abo": abonné, subscriber */
    {"subscriber", KW_ACCESS},
    {"subs", KW_ACCESS},
    {"cust", KW_ACCESS},
    {"customer", KW_ACCESS},
    {"customers", KW_ACCESS},
    {"home", KW_ACCESS},
    {"modem", KW_ACCESS},
    {"ip", KW_WEAK},
    {"ipv", KW_WEAK},
    {"host", KW_WEAK},
    {"hosts", KW_WEAK},
    {"node", KW_WEAK},
    {"client", KW_WEAK},
    {"clients", KW_WEAK},
    {"user", KW_WEAK},
    {"users", KW_WEAK},
    {"res", KW_WEAK},
    {"nat", KW_WEAK},
    {"bb", KW_WEAK},
    {"pc", KW_WEAK},
    {"rev", KW_WEAK},
    {"reverse", KW_WEAK},
    {"unassigned", KW_WEAK},
    {"unknown", KW_WEAK},
    {"static", KW_STATIC},
    {"staticip", KW_STATIC},
    {"statics", KW_STATIC},
    {"fixed", KW_STATIC},
    {"fixip", KW_STATIC},
    {"server", KW_STATIC},
    {"servers", KW_STATIC},
    {"srv", KW_STATIC},
    {"vps", KW_STATIC},
    {"vds", KW_STATIC},
    {"dedicated", KW_STATIC},
    {"dedi", KW_STATIC},
    {"colo", KW_STATIC},
    {"hosted", KW_STATIC},
    {"hosting", KW_STATIC},
    {"business", KW_STATIC},
    {"biz", KW_STATIC},
    {"mail", KW_MAIL},
    {"email", KW_MAIL},
    {"mailout", KW_MAIL},
    {"mailer", KW_MAIL},
    {"mailhost", KW_MAIL},
    {"mailrelay", KW_MAIL},
    {"mailgw", KW_MAIL},
    {"mx", KW_MAIL},
    {"mxout", KW_MAIL},
    {"smtp", KW_MAIL},
    {"smtpout", KW_MAIL},
    {"mta", KW_MAIL},
    {"relay", KW_MAIL},
    {"out", KW_MAIL},
    {"outbound", KW_MAIL},
    {"outgoing", KW_MAIL},
    {"bounce", KW_MAIL},
    {"bounces", KW_MAIL},
};

/* A label holding this many hex digits (with some decimal ones) is a MAC
 * address or a serial number (Rogers "cpe2c56dc98a8ab", Shaw
 * "s0106001a2b3c4d5e"), which nobody chooses as a mail host name. */
#define HEXID_MIN 12
#define HEXID_DIGITS_MIN 4

struct features {
	enum rdns_ip_match ip;
	const char *form;
	const char *kw[KW_KINDS]; /* first keyword of each kind, NULL when none */
	int digits, hexid;
};

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void kw_note(struct features *f, const struct keyword *k)
{
	if (f->kw[k->kind] == NULL)
		f->kw[k->kind] = k->word;
}

static void kw_lookup(struct features *f, const char *t, size_t len)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].word) == len && memcmp(keywords[i].word, t, len) == 0)
			kw_note(f, &keywords[i]);
}

static int ends_with(const char *t, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len > n && memcmp(t + len - n, suffix, n) == 0;
}

/* Words that ISPs glue to others: "shawcable", "telkomadsl" end with
 * them, "dynamicdsl", "staticbusiness" and NTT's "ipngn11001sapodori"
 * start with them. */
static const struct keyword suffixes[] = {
    {"dsl", KW_ACCESS},
    {"cable", KW_ACCESS},
};
static const struct keyword prefixes[] = {
    {"dynamic", KW_DYN},   {"dialup", KW_DYN},   {"pppoe", KW_DYN},
    {"static", KW_STATIC}, {"ipngn", KW_ACCESS},
};

static int starts_with(const char *t, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len > n && memcmp(t, prefix, n) == 0;
}

static void token_classify(struct features *f, const char *t, size_t len)
{
	size_t base = len;

	while (base > 0 && is_digit(t[base - 1]))
		base--;
	kw_lookup(f, t, len);
	if (base > 0 && base < len)
		kw_lookup(f, t, base);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (ends_with(t, base, suffixes[i].word))
			kw_note(f, &suffixes[i]);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (starts_with(t, len, prefixes[i].word))
			kw_note(f, &prefixes[i]);
}

static int hexid_in(const char *label, size_t len)
{
	size_t run = 0, digits = 0;

	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? label[i] : '\0';
		if (is_digit(c) || (c >= 'a' && c <= 'f')) {
			run++;
			digits += is_digit(c);
			continue;
		}
		if (run >= HEXID_MIN && digits >= HEXID_DIGITS_MIN)
			return 1;
		run = digits = 0;
	}
	return 0;
}

static void features_scan(struct features *f, const char *name, size_t len)
{
	const char *dot = strrchr(name, '.');
	size_t end = dot != NULL ? (size_t)(dot - name) : len;
	size_t first = strcspn(name, ".");

	f->hexid = hexid_in(name, first);
	for (size_t i = 0; i < end;) {
		size_t s = i;
		if (!is_alnum(name[i])) {
			i++;
			continue;
		}
		while (i < end && is_alnum(name[i])) {
			f->digits |= is_digit(name[i]);
			i++;
		}
		token_classify(f, name + s, i - s);
	}
}

static const char *kw_generic(const struct features *f)
{
	static const enum kw_kind order[] = {KW_DYN, KW_ACCESS, KW_STATIC, KW_WEAK};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (f->kw[order[i]] != NULL)
			return f->kw[order[i]];
	return NULL;
}

static enum rdns_class decide(const struct features *f, const char *name, char *reason,
                              size_t reasonsize)
{
	const char *gkw = kw_generic(f), *mail = f->kw[KW_MAIL];
	/* "dynamic" beats "static": "static" then only names the pool. */
	enum rdns_class gen =
	    f->kw[KW_STATIC] != NULL && f->kw[KW_DYN] == NULL ? RDNS_STATIC_GENERIC : RDNS_GENERIC;

	/* Two octets are evidence only next to a generic word: on their own
	 * they are a pool number as often as an address ("a27-33.smtp-out"
	 * of Amazon SES is 54.240.27.33). */
	if (f->ip == RDNS_IP_FULL || f->ip == RDNS_IP_PART3 || (f->ip == RDNS_IP_PART2 && gkw)) {
		/* Mail senders that spell their address but say only "mail"
		 * (Facebook's "69-171-232-143.mail-mail.facebook.com") chose
		 * that name; a generic word next to it means a template. */
		if (mail != NULL && gkw == NULL) {
			snprintf(reason, reasonsize, "rule=mail-name keyword=%s form=%s", mail,
			         f->form);
			return RDNS_NORMAL;
		}
		snprintf(reason, reasonsize, "rule=address form=%s keyword=%s", f->form,
		         gkw != NULL ? gkw : "none");
		return gen;
	}
	if (mail != NULL) {
		snprintf(reason, reasonsize, "rule=mail-name keyword=%s", mail);
		return RDNS_NORMAL;
	}
	/* Shaped like an address, only not the client's: the PTR of a
	 * neighbour in the same pool, or an address we were not given. */
	if (rdns_ip_like(name)) {
		snprintf(reason, reasonsize, "rule=address-like keyword=%s",
		         gkw != NULL ? gkw : "none");
		return gen;
	}
	/* A generic word needs a varying part next to it: "pool.ntp.org"
	 * and "cable.example.com" are single hosts. */
	if ((f->kw[KW_DYN] != NULL || f->kw[KW_ACCESS] != NULL) && f->digits) {
		snprintf(reason, reasonsize, "rule=keyword keyword=%s", gkw);
		return gen;
	}
	if (f->hexid) {
		snprintf(reason, reasonsize, "rule=hex-id keyword=%s", gkw != NULL ? gkw : "none");
		return gen;
	}
	snprintf(reason, reasonsize, "rule=chosen-name");
	return RDNS_NORMAL;
}

enum rdns_class rdns_classify(const char *name, const char *ip, const struct rdns_patterns *extra,
                              char *reason, size_t reasonsize)
{
	char buf[RDNS_NAME_MAX + 1], scratch[8];
	struct features f;
	const char *which;
	size_t len = name != NULL ? strnlen(name, RDNS_NAME_MAX + 2) : 0;

	if (reason == NULL) {
		reason = scratch;
		reasonsize = sizeof(scratch);
	}
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > RDNS_NAME_MAX) {
		snprintf(reason, reasonsize, "rule=%s", len == 0 ? "empty" : "too-long");
		return RDNS_NONE;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	buf[len] = '\0';

	/* The operator knows better than any heuristic; the allow-list
	 * first, so that one exception can be carved out of a wide rule. */
	if (extra != NULL && rdns_patterns_match(extra, RDNS_PAT_NOT_GENERIC, buf, &which)) {
		snprintf(reason, reasonsize, "rule=pattern-not-generic pattern=%s", which);
		return RDNS_NORMAL;
	}
	if (extra != NULL && rdns_patterns_match(extra, RDNS_PAT_GENERIC, buf, &which)) {
		snprintf(reason, reasonsize, "rule=pattern-generic pattern=%s", which);
		return RDNS_GENERIC;
	}
	memset(&f, 0, sizeof(f));
	f.ip = rdns_ip_find(buf, ip, &f.form);
	features_scan(&f, buf, len);
	return decide(&f, buf, reason, reasonsize);
}

const char *rdns_class_name(enum rdns_class c)
{
	switch (c) {
	case RDNS_NONE:
		return "none";
	case RDNS_NORMAL:
		return "normal";
	case RDNS_GENERIC:
		return "generic";
	case RDNS_STATIC_GENERIC:
		return "static-generic";
	}
	return "?";
}
