/* DMARC aggregate reports (RFC 7489 7.2 and appendix C): pure builders of
 * the report XML, its file name (7.2.1.1) and the message that carries it.
 * No I/O: the caller reads the store, compresses and writes the files. */
#ifndef POSTERN_AUTH_DMARC_REPORT_H
#define POSTERN_AUTH_DMARC_REPORT_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

/* The XML namespace of the schema the reports follow. */
#define DMARC_REPORT_NS "urn:ietf:params:xml:ns:dmarc-2.0"

struct dmarc_report_meta {
	const char *org_name, *email;
	const char *extra_contact_info; /* NULL: not given */
	const char *report_id;
	int64_t begin, end; /* date_range, seconds since the epoch, UTC */
};

/* policy_published.  The schema in force (the XSD the reports are
 * validated with) has no pct, so none is written. */
struct dmarc_report_policy {
	const char *domain;
	char adkim, aspf; /* 'r' or 's' */
	const char *p, *sp;
	const char *fo; /* NULL: not written */
};

struct dmarc_report_dkim {
	const char *domain, *selector, *result;
};

struct dmarc_report_record {
	const char *source_ip; /* any textual form; written as the schema's pattern wants */
	uint64_t count;
	const char *disposition;
	int dkim_pass, spf_pass;
	/* PolicyOverrideType, or NULL or "" for none.  RFC 7489's
	 * "forwarded" and "sampled_out", which the schema lacks, are written
	 * as their successors "trusted_forwarder" and "policy_test_mode"
	 * (core/dmarc_vocab.h). */
	const char *reason, *reason_comment;
	const char *envelope_from; /* "" for the null sender */
	const char *header_from;
	const struct dmarc_report_dkim *dkim;
	size_t ndkim;
	const char *spf_domain, *spf_scope, *spf_result;
};

/* Appends the report to out (whose max bounds its size).  Every string is
 * escaped, and any octet that is not valid UTF-8 or a character XML 1.0
 * forbids becomes U+FFFD.  Returns 0, or -1 with err for a value outside
 * its enumeration, an unparsable address, no record or out too small. */
int dmarc_report_xml(const struct dmarc_report_meta *m, const struct dmarc_report_policy *p,
                     const struct dmarc_report_record *r, size_t n, struct buf *out, char *err,
                     size_t errsize);

/* 7.2.1.1: receiver "!" policy-domain "!" begin "!" end "." ext, ext being
 * "xml" or "xml.gz" (gzip set).  Both names must be domain-like (letters,
 * digits, '-', '_', '.'), which keeps the name a single safe path element.
 * Returns 0, or -1 with err. */
int dmarc_report_filename(const char *receiver, const char *policy_domain, int64_t begin,
                          int64_t end, int gzip, char *out, size_t outsize, char *err,
                          size_t errsize);

/* The address of a "mailto:" report URI (6.2, RFC 6068), percent-decoded,
 * without any "?header" part, into out.  Returns 1 for an address, 0 for
 * another scheme, -1 for a mailto that gives no usable single address. */
int dmarc_report_mailto(const char *uri, char *out, size_t outsize);

/* The message carrying one report (7.2.1.1). */
struct dmarc_report_mail {
	const char *from;      /* the report email */
	const char *const *to; /* at least one */
	size_t nto;
	const char *policy_domain;
	const char *submitter;   /* the receiver's domain */
	const char *report_id;   /* also the Message-ID: must be id-left "@" id-right */
	const char *date;        /* RFC 5322 date-time */
	const char *filename;    /* of the attachment, from dmarc_report_filename */
	const unsigned char *gz; /* the gzip'd report */
	size_t gzlen;
	int64_t begin, end;
};

/* Appends an RFC 5322 message (CRLF line ends): a short text part and the
 * report as an application/gzip attachment in base64.  Returns 0, or -1
 * with err when a header value would break the header (CR, LF, non-ASCII)
 * or out is too small. */
int dmarc_report_mail(const struct dmarc_report_mail *m, struct buf *out, char *err,
                      size_t errsize);

#endif
