/* ARC chain structure (RFC 8617 5.2 steps 1-3) and the seal hash input
 * (RFC 8617 5.1.1). */
#include "auth/arc_chain.h"

#include "auth/canon.h"
#include "auth/dkim_check.h"
#include "auth/tags.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum arc_kind {
	ARC_AAR,
	ARC_AMS,
	ARC_AS,
};

static const char *const kind_names[] = {"ARC-Authentication-Results", "ARC-Message-Signature",
                                         "ARC-Seal"};

/* Keeps the first reason: later ones are usually consequences of it. */
static void note(char *err, size_t errsize, int *failed, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void note(char *err, size_t errsize, int *failed, const char *fmt, ...)
{
	va_list ap;

	if (*failed)
		return;
	*failed = 1;
	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
}

static int kind_of(const struct msghdr_field *f)
{
	for (int k = 0; k < 3; k++) {
		if (msghdr_name_is(f, kind_names[k], strlen(kind_names[k])))
			return k;
	}
	return -1;
}

/* The field's value: after the colon, without the final CRLF. */
static const char *field_value(const struct msghdr_field *f, size_t *len)
{
	const char *colon = memchr(f->p, ':', f->len);
	size_t vlen = f->len - (size_t)(colon + 1 - f->p);

	if (vlen >= 2 && colon[vlen - 1] == '\r' && colon[vlen] == '\n')
		vlen -= 2;
	*len = vlen;
	return colon + 1;
}

const char *arc_set_aar_payload(const struct arc_set *s, size_t *len)
{
	size_t vlen;

	if (s->aar.p == NULL)
		return NULL;
	const char *v = field_value(&s->aar, &vlen);
	/* arc_aar_parse accepted it: the first ";" ends "i=N". */
	const char *semi = memchr(v, ';', vlen);
	if (semi == NULL)
		return NULL;
	*len = vlen - (size_t)(semi + 1 - v);
	return semi + 1;
}

/* The i= of a field that did not parse, so that the instance count still
 * covers it; 0 when it has none. */
static unsigned loose_instance(enum arc_kind kind, const char *v, size_t len)
{
	struct tag_list tl;
	char err[8];
	unsigned i = 0;

	if (kind == ARC_AAR) {
		arc_aar_parse(v, len, &i, err, sizeof(err));
		return i;
	}
	if (tags_parse(v, len, &tl, err, sizeof(err)) != 0)
		return 0;
	const struct tag *t = tags_get(&tl, "i");
	return t != NULL ? arc_instance_value(t->value, t->value_len) : 0;
}

/* Parses one ARC field into its set; returns its instance or 0. */
static unsigned add_field(struct arc_chain *c, const struct msghdr_field *f, enum arc_kind kind,
                          unsigned char (*seen)[3], char *err, size_t errsize, int *failed)
{
	struct arc_ams ams;
	struct arc_seal seal;
	char why[160];
	size_t len;
	const char *v = field_value(f, &len);
	unsigned i = 0;
	int rc = -1;

	switch (kind) {
	case ARC_AAR:
		rc = arc_aar_parse(v, len, &i, why, sizeof(why));
		break;
	case ARC_AMS:
		rc = arc_ams_parse(v, len, &ams, why, sizeof(why));
		i = ams.i;
		break;
	case ARC_AS:
		rc = arc_seal_parse(v, len, &seal, why, sizeof(why));
		i = seal.i;
		break;
	}
	if (rc != 0) {
		i = loose_instance(kind, v, len);
		note(err, errsize, failed, "%s%s%.0u: %s", kind_names[kind], i > 0 ? " i=" : "", i,
		     why);
		if (i > 0)
			seen[i - 1][kind]++;
		return i;
	}
	if (seen[i - 1][kind]++ > 0) {
		note(err, errsize, failed, "more than one %s with i=%u", kind_names[kind], i);
		return i;
	}
	struct arc_set *s = &c->sets[i - 1];
	if (kind == ARC_AAR) {
		s->aar = *f;
	} else if (kind == ARC_AMS) {
		s->ams = *f;
		s->ams_sig = ams;
	} else {
		s->as = *f;
		s->seal = seal;
	}
	return i;
}

enum arc_cv arc_chain_collect(const struct msghdr_field *f, size_t n, struct arc_chain *c,
                              char *err, size_t errsize)
{
	unsigned char seen[ARC_MAX_SETS][3];
	int failed = 0, any = 0;

	memset(c, 0, sizeof(*c));
	memset(seen, 0, sizeof(seen));
	for (size_t k = 0; k < n; k++) {
		int kind = kind_of(&f[k]);
		if (kind < 0)
			continue;
		any = 1;
		unsigned i = add_field(c, &f[k], (enum arc_kind)kind, seen, err, errsize, &failed);
		if (i > c->n)
			c->n = i;
	}
	/* 5.2 step 1: no ARC field at all is "none"; an ARC field that names no
	 * instance did not parse, so the chain has already failed. */
	if (!any)
		return ARC_CV_NONE;
	if (c->n > 0)
		c->latest_cv_fail = seen[c->n - 1][ARC_AS] == 1 && c->sets[c->n - 1].as.p != NULL &&
		                    c->sets[c->n - 1].seal.cv == ARC_CV_FAIL;
	/* 5.2 step 2: a chain that an earlier hop found broken stays broken. */
	if (c->latest_cv_fail)
		note(err, errsize, &failed, "the latest ARC-Seal (i=%u) says cv=fail", c->n);
	/* 5.2 step 3: instances 1..n, each with exactly one field of each kind,
	 * cv=none at 1 and cv=pass above. */
	for (unsigned i = 1; i <= c->n && !failed; i++) {
		for (int kind = 0; kind < 3; kind++) {
			if (seen[i - 1][kind] == 0)
				note(err, errsize, &failed, "instance %u has no %s", i,
				     kind_names[kind]);
		}
		if (failed)
			break;
		enum arc_cv cv = c->sets[i - 1].seal.cv;
		if (cv == ARC_CV_FAIL)
			note(err, errsize, &failed, "ARC-Seal i=%u says cv=fail", i);
		else if (i == 1 && cv != ARC_CV_NONE)
			note(err, errsize, &failed, "ARC-Seal i=1 says cv=%s, not none",
			     arc_cv_name(cv));
		else if (i > 1 && cv != ARC_CV_PASS)
			note(err, errsize, &failed, "ARC-Seal i=%u says cv=%s, not pass", i,
			     arc_cv_name(cv));
	}
	return failed ? ARC_CV_FAIL : ARC_CV_PASS;
}

int arc_seal_input(const struct msghdr_field *f, size_t nsets, struct buf *out)
{
	/* The seal under check is the signature field of dkim_header_input with
	 * nothing selected by h=: that gives the field with b= emptied. */
	struct dkim_sig self;

	if (nsets == 0)
		return -1;
	for (size_t k = 0; k + 1 < 3 * nsets; k++) {
		if (canon_header(CANON_RELAXED, f[k].p, f[k].len, 1, out) != 0)
			return -1;
	}
	memset(&self, 0, sizeof(self));
	self.hcanon = CANON_RELAXED;
	return dkim_header_input(&self, NULL, 0, &f[3 * nsets - 1], out);
}
