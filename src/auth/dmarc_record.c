/* The DMARC record parser (RFC 7489 6.3, 6.4) over the shared tag-list
 * parser, with the error handling of 6.3 and 6.6.3. */
#include "auth/dmarc_record.h"

#include "auth/tags.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A cursor over one tag value. */
struct cur {
	const char *s;
	size_t i, len;
};

static void skip_space(struct cur *c)
{
	while (c->i < c->len && is_space(c->s[c->i]))
		c->i++;
}

static int at_end(const struct cur *c)
{
	return c->i == c->len;
}

int dmarc_record_is_dmarc(const char *txt, size_t len)
{
	struct cur c = {txt, 0, len};

	/* 6.4: dmarc-version = "v" *WSP "=" *WSP %x44 %x4d %x41 %x52 %x43 %x31;
	 * the %x form makes "DMARC1" case-sensitive, and 6.3 says the value
	 * "MUST match precisely". */
	skip_space(&c);
	if (at_end(&c) || txt[c.i] != 'v')
		return 0;
	c.i++;
	skip_space(&c);
	if (at_end(&c) || txt[c.i] != '=')
		return 0;
	c.i++;
	skip_space(&c);
	if (len - c.i < 6 || memcmp(txt + c.i, "DMARC1", 6) != 0)
		return 0;
	c.i += 6;
	skip_space(&c);
	return at_end(&c) || txt[c.i] == ';';
}

/* The value equals word, ignoring case (ABNF quoted strings). */
static int value_is(const struct tag *t, const char *word)
{
	size_t n = strlen(word);

	return t->value_len == n && strncasecmp(t->value, word, n) == 0;
}

/* 6.4: dmarc-request = "none" / "quarantine" / "reject". */
static int parse_policy(const struct tag *t, enum dmarc_policy *out)
{
	if (value_is(t, "none"))
		*out = DMARC_POLICY_NONE;
	else if (value_is(t, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (value_is(t, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

/* 6.4: dmarc-adkim / dmarc-aspf = "r" / "s". */
static int parse_mode(const struct tag *t, enum dmarc_mode *out)
{
	if (value_is(t, "r"))
		*out = DMARC_MODE_RELAXED;
	else if (value_is(t, "s"))
		*out = DMARC_MODE_STRICT;
	else
		return -1;
	return 0;
}

/* Decimal digits (at most maxdigits) whose value is at most max. */
static int parse_number(const struct tag *t, size_t maxdigits, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (t->value_len == 0 || t->value_len > maxdigits)
		return -1;
	for (size_t i = 0; i < t->value_len; i++) {
		if (!is_digit(t->value[i]))
			return -1;
		v = v * 10 + (uint64_t)(t->value[i] - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* 6.4: dmarc-fo = "fo" *WSP "=" *WSP ( "0" / "1" / "d" / "s" )
 *                 *( *WSP ":" *WSP ( "0" / "1" / "d" / "s" ) ) */
static int parse_fo(const struct tag *t, unsigned *out)
{
	struct cur c = {t->value, 0, t->value_len};
	unsigned fo = 0;

	for (;;) {
		skip_space(&c);
		if (at_end(&c))
			return -1;
		switch (c.s[c.i]) {
		case '0':
			fo |= DMARC_FO_0;
			break;
		case '1':
			fo |= DMARC_FO_1;
			break;
		case 'd':
		case 'D':
			fo |= DMARC_FO_D;
			break;
		case 's':
		case 'S':
			fo |= DMARC_FO_S;
			break;
		default:
			return -1;
		}
		c.i++;
		skip_space(&c);
		if (at_end(&c))
			break;
		if (c.s[c.i] != ':')
			return -1;
		c.i++;
	}
	*out = fo;
	return 0;
}

/* 6.4: dmarc-rfmt = "rf" *WSP "=" *WSP Keyword *(*WSP ":" Keyword), with
 * Keyword the ldh-str of RFC 5321.  Unknown formats are skipped; a list
 * naming none we know is treated as a syntax error. */
static int parse_rf(const struct tag *t, unsigned *out)
{
	struct cur c = {t->value, 0, t->value_len};
	unsigned rf = 0;

	for (;;) {
		skip_space(&c);
		size_t start = c.i;
		while (!at_end(&c) && (is_alpha(c.s[c.i]) || is_digit(c.s[c.i]) || c.s[c.i] == '-'))
			c.i++;
		size_t n = c.i - start;
		if (n == 0 || c.s[start] == '-' || c.s[c.i - 1] == '-')
			return -1;
		if (n == 4 && strncasecmp(c.s + start, "afrf", 4) == 0)
			rf |= DMARC_RF_AFRF;
		else if (n == 5 && strncasecmp(c.s + start, "iodef", 5) == 0)
			rf |= DMARC_RF_IODEF;
		skip_space(&c);
		if (at_end(&c))
			break;
		if (c.s[c.i] != ':')
			return -1;
		c.i++;
	}
	if (rf == 0)
		return -1;
	*out = rf;
	return 0;
}

/* RFC 3986 characters allowed in a URI other than "!" and ",", which 6.2
 * requires to be percent-encoded inside a DMARC URI because they delimit. */
static int is_uri_char(char c)
{
	return is_alpha(c) || is_digit(c) ||
	       (c != '\0' && strchr("-._~:/?#[]@$&'()*+;=", c) != NULL);
}

/* 6.2: size units are powers of two: k 2^10, m 2^20, g 2^30, t 2^40. */
static unsigned unit_shift(char c)
{
	switch (c | 0x20) {
	case 'k':
		return 10;
	case 'm':
		return 20;
	case 'g':
		return 30;
	case 't':
		return 40;
	default:
		return 0;
	}
}

/* 6.4: dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ], the
 * units being powers of two (6.2).  Leaves c after the URI and its size. */
static int parse_uri(struct cur *c, struct dmarc_uri *out)
{
	size_t start = c->i;
	uint64_t size = 0;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" (RFC 3986 3.1) */
	if (at_end(c) || !is_alpha(c->s[c->i]))
		return -1;
	while (!at_end(c) && (is_alpha(c->s[c->i]) || is_digit(c->s[c->i]) || c->s[c->i] == '+' ||
	                      c->s[c->i] == '-' || c->s[c->i] == '.'))
		c->i++;
	if (at_end(c) || c->s[c->i] != ':')
		return -1;
	c->i++;
	size_t rest = c->i;
	while (!at_end(c) && c->s[c->i] != '!' && c->s[c->i] != ',' && !is_space(c->s[c->i])) {
		if (c->s[c->i] == '%') {
			if (c->len - c->i < 3 || !is_hex(c->s[c->i + 1]) || !is_hex(c->s[c->i + 2]))
				return -1;
			c->i += 3;
		} else if (is_uri_char(c->s[c->i])) {
			c->i++;
		} else {
			return -1;
		}
	}
	if (c->i == rest)
		return -1;
	size_t end = c->i;
	if (!at_end(c) && c->s[c->i] == '!') {
		size_t digits = 0;
		c->i++;
		while (!at_end(c) && is_digit(c->s[c->i])) {
			uint64_t d = (uint64_t)(c->s[c->i] - '0');
			if (size > (UINT64_MAX - d) / 10)
				return -1;
			size = size * 10 + d;
			c->i++;
			digits++;
		}
		if (digits == 0)
			return -1;
		unsigned shift = at_end(c) ? 0 : unit_shift(c->s[c->i]);
		if (shift > 0) {
			if (size > (UINT64_MAX >> shift))
				return -1;
			size <<= shift;
			c->i++;
		}
	}
	out->uri = xstrndup(c->s + start, end - start);
	out->max_size = size;
	return 0;
}

/* 6.4: dmarc-urilist = dmarc-uri *(*WSP "," *WSP dmarc-uri).  A URI with a
 * syntax error is dropped and the others kept (6.3); *n says how many were
 * kept.  Returns -1 when any was dropped. */
static int parse_uri_list(const struct tag *t, struct dmarc_uri *uris, size_t *n)
{
	struct cur c = {t->value, 0, t->value_len};
	int rc = 0;

	for (;;) {
		struct dmarc_uri u;
		skip_space(&c);
		if (parse_uri(&c, &u) == 0) {
			skip_space(&c);
			if (at_end(&c) || c.s[c.i] == ',') {
				if (*n < DMARC_URI_MAX)
					uris[(*n)++] = u;
				else
					free(u.uri);
			} else {
				free(u.uri);
				rc = -1;
			}
		} else {
			rc = -1;
		}
		while (!at_end(&c) && c.s[c.i] != ',')
			c.i++;
		if (at_end(&c))
			return rc;
		c.i++;
	}
}

static enum dmarc_record_status invalid(char *err, size_t errsize, const char *why)
{
	snprintf(err, errsize, "%s", why);
	return DMARC_RECORD_INVALID;
}

enum dmarc_record_status dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *rec,
                                            char *err, size_t errsize)
{
	struct tag_list tl;
	const struct tag *t;
	uint64_t num;
	int policy_ok = 1;

	memset(rec, 0, sizeof(*rec));
	rec->adkim = rec->aspf = DMARC_MODE_RELAXED;
	rec->pct = 100;
	rec->fo = DMARC_FO_0;
	rec->rf = DMARC_RF_AFRF;
	rec->ri = 86400;
	if (errsize > 0)
		err[0] = '\0';
	if (!dmarc_record_is_dmarc(txt, len))
		return DMARC_RECORD_NOT_DMARC;
	if (len > DMARC_RECORD_MAX)
		return invalid(err, errsize, "record too long");
	if (tags_parse(txt, len, &tl, err, errsize) != 0)
		return DMARC_RECORD_INVALID;

	/* rua first: whether it holds a valid URI decides what a bad p means. */
	if ((t = tags_get(&tl, "rua")) != NULL && parse_uri_list(t, rec->rua, &rec->nrua) != 0)
		rec->bad |= DMARC_BAD_RUA;
	if ((t = tags_get(&tl, "ruf")) != NULL && parse_uri_list(t, rec->ruf, &rec->nruf) != 0)
		rec->bad |= DMARC_BAD_RUF;

	/* 6.3: p is REQUIRED; sp defaults to p. */
	if ((t = tags_get(&tl, "p")) == NULL || parse_policy(t, &rec->p) != 0) {
		if (t != NULL)
			rec->bad |= DMARC_BAD_P;
		policy_ok = 0;
	}
	rec->sp = rec->p;
	if ((t = tags_get(&tl, "sp")) != NULL && parse_policy(t, &rec->sp) != 0) {
		rec->bad |= DMARC_BAD_SP;
		policy_ok = 0;
	}
	if (!policy_ok) {
		/* 6.6.3 step 6: with a valid rua, act as if p=none was published;
		 * without one, no DMARC processing. */
		if (rec->nrua == 0)
			return invalid(err, errsize, "no valid p= or sp= and no valid rua=");
		rec->p = rec->sp = DMARC_POLICY_NONE;
		rec->p_from_rua = 1;
	}

	/* 6.3: other syntax errors are discarded in favour of the defaults. */
	if ((t = tags_get(&tl, "adkim")) != NULL && parse_mode(t, &rec->adkim) != 0)
		rec->bad |= DMARC_BAD_ADKIM;
	if ((t = tags_get(&tl, "aspf")) != NULL && parse_mode(t, &rec->aspf) != 0)
		rec->bad |= DMARC_BAD_ASPF;
	if ((t = tags_get(&tl, "pct")) != NULL) {
		/* 6.4: dmarc-percent = 1*3DIGIT, 6.3: 0 to 100 */
		if (parse_number(t, 3, 100, &num) == 0)
			rec->pct = (unsigned)num;
		else
			rec->bad |= DMARC_BAD_PCT;
	}
	if ((t = tags_get(&tl, "ri")) != NULL) {
		/* 6.4: dmarc-ainterval = 1*32DIGIT; 6.3: a 32-bit unsigned integer */
		if (parse_number(t, 32, UINT32_MAX, &num) == 0)
			rec->ri = (uint32_t)num;
		else
			rec->bad |= DMARC_BAD_RI;
	}
	if ((t = tags_get(&tl, "fo")) != NULL && parse_fo(t, &rec->fo) != 0)
		rec->bad |= DMARC_BAD_FO;
	if ((t = tags_get(&tl, "rf")) != NULL && parse_rf(t, &rec->rf) != 0)
		rec->bad |= DMARC_BAD_RF;
	return DMARC_RECORD_OK;
}

void dmarc_record_free(struct dmarc_record *rec)
{
	for (size_t i = 0; i < rec->nrua; i++)
		free(rec->rua[i].uri);
	for (size_t i = 0; i < rec->nruf; i++)
		free(rec->ruf[i].uri);
	rec->nrua = rec->nruf = 0;
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	}
	return "none";
}
