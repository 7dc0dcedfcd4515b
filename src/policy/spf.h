/* Sender Policy Framework (RFC 7208): the record parser, the macro
 * expander and the asynchronous check_host() evaluation over dns.h. */
#ifndef POSTERN_SPF_H
#define POSTERN_SPF_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct dns_resolver;
struct event_base;

/* The results of RFC 7208 2.6. */
enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

const char *spf_result_name(enum spf_result res);

/* ---- Records (spf_record.c) ---- */

/* Longest record text we parse; a longer one is a permerror.  RFC 7208 3.4
 * asks publishers to stay within a 512-octet DNS answer. */
#define SPF_RECORD_MAX 4096

enum spf_mech_type {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_mech {
	enum spf_mech_type type;
	enum spf_result qualifier; /* SPF_PASS, SPF_FAIL, SPF_SOFTFAIL or SPF_NEUTRAL */
	char *domain_spec;      /* unexpanded; NULL when absent (a, mx, ptr: the current domain) */
	unsigned cidr4, cidr6;  /* a, mx, ip4, ip6; 32 and 128 when not given */
	unsigned char addr[16]; /* ip4 (4 bytes) and ip6 networks */
};

struct spf_record {
	struct spf_mech *mechs;
	size_t nmechs;
	char *redirect; /* domain-spec, or NULL */
	char *exp;      /* domain-spec, or NULL */
};

/* 1 when txt is an SPF version 1 record: "v=spf1" in any case followed by
 * a space or the end (RFC 7208 4.5). */
int spf_record_is_spf(const char *txt, size_t len);

/* Parses a record that spf_record_is_spf() accepted into rec (freed with
 * spf_record_free, even on error).  Returns 0, or -1 for a permerror with a
 * reason in err (RFC 7208 4.6: a syntax error anywhere is fatal). */
int spf_record_parse(const char *txt, size_t len, struct spf_record *rec, char *err,
                     size_t errsize);
void spf_record_free(struct spf_record *rec);

/* 1 when spec is a valid domain-spec (RFC 7208 7.1): visible characters,
 * valid macros without c r t, ending in a macro-expand or "." toplabel. */
int spf_domain_spec_valid(const char *spec, size_t len);

/* ---- Macros (spf_macro.c) ---- */

/* The values macros expand to (RFC 7208 7.3).  All are NUL-terminated. */
struct spf_macro_vars {
	const char *sender;        /* s: local-part "@" domain */
	const char *local;         /* l */
	const char *sender_domain; /* o */
	const char *domain;        /* d: the current domain */
	const unsigned char *ip;   /* i, c, v: 4 or 16 bytes */
	int family;                /* AF_INET or AF_INET6 */
	const char *ptr;           /* p: the validated name, or "unknown" */
	const char *helo;          /* h */
	const char *receiver;      /* r */
	time_t now;                /* t */
};

enum spf_macro_status {
	SPF_MACRO_OK = 0,
	SPF_MACRO_SYNTAX,   /* a permerror where the string is a domain-spec */
	SPF_MACRO_TOO_LONG, /* the expansion would not fit in out */
};

/* Where a macro-string appears: a domain-spec, or the explanation text of
 * RFC 7208 6.2, which also allows spaces and the letters c, r and t. */
#define SPF_MACRO_EXP 1u

/* Checks the syntax of in without expanding it; sets *uses_p when the
 * string needs the validated name of the client (letter p). */
enum spf_macro_status spf_macro_check(const char *in, size_t len, unsigned flags, int *uses_p);

/* Appends the expansion of in to out.  On error out is left as it was. */
enum spf_macro_status spf_macro_expand(const char *in, size_t len, const struct spf_macro_vars *v,
                                       unsigned flags, struct buf *out);

/* Makes an expanded domain-spec a query name: drops one trailing dot (in
 * place), then skips labels from the left until 253 octets or less remain
 * (RFC 7208 7.3).  Returns a pointer into name. */
char *spf_domain_truncate(char *name);

/* ---- check_host() (spf.c) ---- */

/* RFC 7208 4.6.4. */
#define SPF_MAX_DNS_MECHS 10
#define SPF_MAX_VOID_LOOKUPS 2
#define SPF_MAX_NAMES 10

/* What to check.  The strings are copied by spf_check_start. */
struct spf_request {
	const char *ip;       /* client address, text, IPv4 or IPv6 */
	const char *sender;   /* MAIL FROM address, or "" for the null path */
	const char *helo;     /* HELO/EHLO argument */
	const char *domain;   /* the <domain> of check_host(); NULL: the sender's domain,
	                         or the HELO when sender is "" (RFC 7208 2.4) */
	const char *receiver; /* our host name, for %{r}; NULL: "unknown" */
	/* Macro-string used when the result is fail and the record gives no
	 * usable exp= (RFC 7208 6.2); NULL: SPF_DEFAULT_EXPLANATION. */
	const char *default_explanation;
	time_t now; /* %{t}; 0: the current time */
	/* 1: record every DNS lookup in spf_outcome.trace.  Sessions leave it
	 * off: the trace costs more than the evaluation itself. */
	int want_trace;
};

#define SPF_DEFAULT_EXPLANATION "%{i} is not one of %{d}'s designated mail servers"

struct spf_outcome {
	enum spf_result result;
	const char *explanation; /* for fail only, else NULL (6.2) */
	const char *problem;     /* why temperror/permerror/none, for logs; else NULL */
	unsigned dns_lookups;    /* terms counted against SPF_MAX_DNS_MECHS */
	const struct buf *trace; /* one line per DNS lookup: "TYPE name status [answers]";
	                            empty unless want_trace was set */
};

struct spf_check;

/* Starts check_host() with lookups through r (driven by base).  done is
 * called exactly once from the event loop, never from inside this call,
 * unless spf_check_cancel comes first; out lives only during the call and
 * the check is freed right after it returns. */
struct spf_check *spf_check_start(struct event_base *base, struct dns_resolver *r,
                                  const struct spf_request *req,
                                  void (*done)(void *arg, const struct spf_outcome *out),
                                  void *arg);
/* Stops a check whose done has not been called yet and frees it. */
void spf_check_cancel(struct spf_check *c);

#endif
