/* The DMARC policy record (RFC 7489 6.3, 6.4): a pure parser from the text
 * of a TXT record to the policy it publishes. */
#ifndef POSTERN_AUTH_DMARC_RECORD_H
#define POSTERN_AUTH_DMARC_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Longest record text we parse; a longer one is treated as invalid. */
#define DMARC_RECORD_MAX 4096
/* Reporting URIs kept per tag; further ones are ignored (6.2 lets the
 * receiver limit how many it sends to). */
#define DMARC_URI_MAX 8

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_mode {
	DMARC_MODE_RELAXED,
	DMARC_MODE_STRICT,
};

/* fo= options (6.3), as bits. */
#define DMARC_FO_0 1u /* report when all mechanisms fail to align (the default) */
#define DMARC_FO_1 2u /* report when any mechanism fails to align */
#define DMARC_FO_D 4u /* report DKIM signatures that fail to verify */
#define DMARC_FO_S 8u /* report SPF results that fail */

/* rf= formats (6.3), as bits. */
#define DMARC_RF_AFRF 1u
#define DMARC_RF_IODEF 2u

/* The tags discarded for a syntax error (6.3: "SHOULD be discarded in
 * favor of default values"), as bits, for logs. */
#define DMARC_BAD_P 1u
#define DMARC_BAD_SP 2u
#define DMARC_BAD_ADKIM 4u
#define DMARC_BAD_ASPF 8u
#define DMARC_BAD_PCT 16u
#define DMARC_BAD_FO 32u
#define DMARC_BAD_RF 64u
#define DMARC_BAD_RI 128u
#define DMARC_BAD_RUA 256u /* at least one URI of rua was dropped */
#define DMARC_BAD_RUF 512u

struct dmarc_uri {
	char *uri;         /* as published, NUL-terminated */
	uint64_t max_size; /* the "!" limit in bytes; 0: none */
};

struct dmarc_record {
	enum dmarc_policy p;
	enum dmarc_policy sp; /* p when absent */
	enum dmarc_mode adkim, aspf;
	unsigned pct; /* 0..100, default 100 */
	unsigned fo;  /* DMARC_FO_* bits, default DMARC_FO_0 */
	unsigned rf;  /* DMARC_RF_* bits, default DMARC_RF_AFRF */
	uint32_t ri;  /* seconds, default 86400 */
	struct dmarc_uri rua[DMARC_URI_MAX];
	size_t nrua;
	struct dmarc_uri ruf[DMARC_URI_MAX];
	size_t nruf;
	unsigned bad;   /* DMARC_BAD_* */
	int p_from_rua; /* 6.6.3 step 6.1: p or sp was unusable, p=none applied */
};

enum dmarc_record_status {
	DMARC_RECORD_OK = 0,
	/* Not a DMARC record: does not begin with v=DMARC1 (6.3: "the entire
	 * retrieved record MUST be ignored"). */
	DMARC_RECORD_NOT_DMARC,
	/* Begins with v=DMARC1 but gives no policy: a broken tag-list, or no
	 * valid p/sp and no valid rua (6.6.3 step 6.2: no DMARC processing). */
	DMARC_RECORD_INVALID,
};

/* 1 when txt begins with the tag v=DMARC1 (6.4: dmarc-version, the exact
 * value, followed by ";" or the end). */
int dmarc_record_is_dmarc(const char *txt, size_t len);

/* Parses txt[0..len) into rec, which is always to be freed with
 * dmarc_record_free.  On DMARC_RECORD_INVALID the reason is in err. */
enum dmarc_record_status dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *rec,
                                            char *err, size_t errsize);
void dmarc_record_free(struct dmarc_record *rec);

const char *dmarc_policy_name(enum dmarc_policy p);

#endif
