/* Per-day DMARC observations in the SQLite state database, the raw
 * material of aggregate reports (RFC 7489 7.2).  Messages that would give
 * the same report row on the same UTC day are one database row with a
 * count.  Every call blocks: from an SMTP worker, call only on a pool
 * thread.  Safe to share between threads. */
#ifndef POSTERN_DMARC_STORE_H
#define POSTERN_DMARC_STORE_H

#include <stddef.h>
#include <stdint.h>

#define DMARC_OBS_DKIM_MAX 8
/* Bounds on every stored string; an observation over them is refused.
 * A domain is at most 253 octets (RFC 1035 2.3.4 without the root dot). */
#define DMARC_STORE_DOMAIN_MAX 253
#define DMARC_STORE_TEXT_MAX 512 /* rua, fo, selector, reason comment */
#define DMARC_STORE_DAY 86400    /* seconds; days are UTC */

/* RFC 7489 C DKIMResultType: none pass fail policy neutral temperror
 * permerror. */
struct dmarc_obs_dkim {
	const char *domain, *selector, *result;
};

/* One message's DMARC evaluation.  Every string is borrowed for the call
 * only; NULL is accepted where the comment says so. */
struct dmarc_obs {
	int64_t when;              /* arrival, seconds since the epoch; the UTC day is derived */
	const char *policy_domain; /* the domain whose _dmarc record applied */
	const char *rua;           /* the record's rua URIs as published, comma-separated ("" or
	                            * NULL: none) */
	char adkim, aspf;          /* 'r' or 's' */
	const char *p, *sp;        /* none | quarantine | reject */
	unsigned pct;              /* 0..100 */
	const char *fo;            /* as published, "0" by default (NULL: "0") */
	const char *source_ip;     /* IPv4 or IPv6, any textual form */
	const char *disposition;   /* none | quarantine | reject: what was applied */
	int dkim_aligned_pass, spf_aligned_pass; /* policy_evaluated dkim/spf: pass or fail */
	/* PolicyOverrideType, or NULL or "" for none: forwarded sampled_out
	 * trusted_forwarder mailing_list local_policy policy_test_mode other;
	 * kept, and read back, as the report writes it (core/dmarc_vocab.h):
	 * forwarded as trusted_forwarder, sampled_out as policy_test_mode. */
	const char *reason;
	const char *reason_comment; /* or NULL */
	const char *header_from;    /* RFC5322.From domain */
	const char *envelope_from;  /* RFC5321.MailFrom domain, "" (or NULL) for the null sender */
	struct dmarc_obs_dkim dkim[DMARC_OBS_DKIM_MAX];
	size_t ndkim;
	/* SPFResultType: none neutral pass fail softfail temperror permerror;
	 * scope: mfrom | helo */
	const char *spf_domain, *spf_scope, *spf_result;
};

struct dmarc_store;

/* Opens (creating when needed) <state_dir>/state.db. */
struct dmarc_store *dmarc_store_open(const char *state_dir, char *err, size_t errsize);
void dmarc_store_close(struct dmarc_store *s);

/* Adds n observations in one transaction.  Identical rows (same day,
 * policy domain and every reported field) add to one count.  An invalid
 * observation (a value outside its enumeration, an unparsable IP, a string
 * over its bound) is skipped with a warning in the log, so that one bad
 * value does not lose the batch.  Returns 0, or -1 with err on a
 * database error (nothing is stored then). */
int dmarc_store_add(struct dmarc_store *s, const struct dmarc_obs *obs, size_t n, char *err,
                    size_t errsize);

/* Forgets every day before the one starting at day.  Returns the number
 * of rows removed, or -1 with err.  Blocking, like dmarc_store_add. */
long dmarc_store_purge(struct dmarc_store *s, int64_t day, char *err, size_t errsize);

/* A policy domain seen on one day, with the record last published. */
struct dmarc_store_domain {
	char *policy_domain;
	int64_t day; /* 00:00:00 UTC of the day, seconds since the epoch */
	uint64_t messages;
	size_t rows;
	/* Record values of the latest observation that day. */
	char *rua, *p, *sp, *fo;
	char adkim, aspf;
	unsigned pct;
};

/* Lists the policy domains with observations on the day starting at day
 * (a multiple of DMARC_STORE_DAY), sorted by name, into *out (free with
 * dmarc_store_domains_free).  Returns 0, or -1 with err. */
int dmarc_store_domains(struct dmarc_store *s, int64_t day, struct dmarc_store_domain **out,
                        size_t *n, char *err, size_t errsize);
void dmarc_store_domains_free(struct dmarc_store_domain *d, size_t n);

/* One report row: the observation fields (when is the day) and how many
 * messages it stands for. */
struct dmarc_store_row {
	struct dmarc_obs obs;
	uint64_t count;
	char *mem; /* holds every string of obs */
};

/* The rows of one policy domain on one day, most messages first, into
 * *out (free with dmarc_store_rows_free).  Returns 0, or -1 with err. */
int dmarc_store_rows(struct dmarc_store *s, int64_t day, const char *policy_domain,
                     struct dmarc_store_row **out, size_t *n, char *err, size_t errsize);
void dmarc_store_rows_free(struct dmarc_store_row *rows, size_t n);

/* The UTC day (its first second) of t. */
int64_t dmarc_store_day(int64_t t);

#endif
