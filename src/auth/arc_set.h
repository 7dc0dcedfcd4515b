/* The three ARC header fields (RFC 8617 4.1) parsed one at a time:
 * ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal.  Pure
 * parsers over raw field values. */
#ifndef POSTERN_AUTH_ARC_SET_H
#define POSTERN_AUTH_ARC_SET_H

#include <stddef.h>

#include "auth/dkim_sig.h"

/* RFC 8617 4.2.1: "The maximum value for the instance tag is 50." */
#define ARC_MAX_SETS 50

/* Chain validation status (RFC 8617 4.4): cv= of an ARC-Seal and the
 * result of validating a chain. */
enum arc_cv {
	ARC_CV_NONE,
	ARC_CV_PASS,
	ARC_CV_FAIL,
};

struct arc_seal {
	unsigned i;
	enum arc_cv cv;
	/* a=, d=, s=, b= and t= in the shape dkim_check_signature takes;
	 * header canonicalisation is always relaxed (RFC 8617 5.1.1). */
	struct dkim_sig sig;
};

struct arc_ams {
	unsigned i;
	struct dkim_sig sig;
};

/* The instance tag value (RFC 8617 4.2.1: 1*2DIGIT, 1 to 50) in
 * v[0..len), FWS around it allowed.  Returns it, or 0 when invalid. */
unsigned arc_instance_value(const char *v, size_t len);

/* The value of an ARC-Authentication-Results field (RFC 8617 4.1.1:
 * "i=" instance ";" authres-payload).  Returns 0 with the instance, or -1
 * with a reason in err. */
int arc_aar_parse(const char *v, size_t len, unsigned *instance, char *err, size_t errsize);

/* The value of an ARC-Message-Signature (RFC 8617 4.1.2).  Returns 0, or
 * -1 with a reason in err: a DKIM-Signature syntax error, a bad i=,
 * rsa-sha1 (RFC 8301 3.1) or ARC-Seal in h=. */
int arc_ams_parse(const char *v, size_t len, struct arc_ams *out, char *err, size_t errsize);

/* The value of an ARC-Seal (RFC 8617 4.1.3).  Returns 0, or -1 with a
 * reason in err: syntax, a missing a=, b=, cv=, d=, i= or s=, an h= tag,
 * an unknown a= or cv=, rsa-sha1, a bad t=. */
int arc_seal_parse(const char *v, size_t len, struct arc_seal *out, char *err, size_t errsize);

const char *arc_cv_name(enum arc_cv cv);

#endif
