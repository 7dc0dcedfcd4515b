/* The names of DMARC aggregate reports (RFC 7489 appendix C, as spelt by
 * the schema in force, the DMARCbis variant): one table for the store that
 * keeps observations and the report that writes them, so that what one
 * accepts the other can write.  In core because store may not depend on
 * auth. */
#ifndef POSTERN_CORE_DMARC_VOCAB_H
#define POSTERN_CORE_DMARC_VOCAB_H

enum dmarc_vocab {
	DMARC_VOCAB_DISPOSITION, /* DispositionType, also p= and sp= */
	DMARC_VOCAB_DKIM_RESULT, /* DKIMResultType */
	DMARC_VOCAB_SPF_RESULT,  /* SPFResultType */
	DMARC_VOCAB_SPF_SCOPE,   /* SPFDomainScope */
	DMARC_VOCAB_REASON,      /* PolicyOverrideType */
};

/* The schema's spelling of name in vocabulary v, or NULL when name is not
 * one of it (NULL included; case matters, as in the schema).  RFC 7489's
 * override reasons the schema dropped map to their successors:
 * "forwarded" to "trusted_forwarder" and "sampled_out" (pct sampling,
 * now the t= test mode) to "policy_test_mode".  The string is static. */
const char *dmarc_vocab_name(enum dmarc_vocab v, const char *name);

#endif
