/* Message authentication as a filter: DKIM signatures verified while the
 * body streams in (RFC 6376), ARC chains validated (RFC 8617), then the
 * DMARC policy of the From domain (RFC 7489) once the keys are in; DKIM
 * signing of mail from authenticated users and trusted networks; and an
 * ARC set on a message we send on for a local address (RFC 8617 5.1).
 * Its results join the sender checks' verdict, under the same policy
 * section. */

#include "auth/arc_seal.h"
#include "auth/arc_trust.h"
#include "auth/arc_verify.h"
#include "auth/dkim_keyring.h"
#include "auth/dkim_sign.h"
#include "auth/dkim_verify.h"
#include "auth/dmarc.h"
#include "auth/dmarc_align.h"
#include "auth/dmarc_from.h"
#include "auth/msghdr.h"
#include "auth/msghead.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "policy/authres.h"
#include "server/dmarc_batch.h"
#include "core/rng.h"
#include "policy/sender.h"
#include "queue/spool.h"
#include "server/filter.h"
#include "server/txn.h"

#include <errno.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MSGAUTH_MAX_FIELDS 1000
#define MSGAUTH_SIGNERS 4
#define MSGAUTH_FROM_MAX 8
#define MSGAUTH_DKIM_PASS_MAX 8
/* What our ARC-Message-Signature covers (RFC 6376 5.4.1's list, and any
 * DKIM-Signature as RFC 8617 4.1.2 asks); names a message lacks select
 * nothing.  Our own Received and Authentication-Results are left out:
 * the next hop puts its own above them. */
#define MSGAUTH_ARC_HEADERS                                                                        \
	"from:to:cc:subject:date:message-id:reply-to:in-reply-to:references:mime-version:"         \
	"content-type:content-transfer-encoding:dkim-signature"
/* Our ARC fields, at most. */
#define MSGAUTH_SEALED_MAX (64 * 1024)

struct msgauth {
	const struct filter_env *env;
	const char *sid, *ip;     /* the session's, which outlives the message */
	const struct txn *txn;    /* the message's transaction */
	struct filter_call *call; /* end of message, waiting for the results */
	struct sign_job *job;     /* signatures being made on the pool */
	size_t fed;               /* bytes of the message seen */
	int header_given;         /* the verifiers have the header section */
	int in_stage;             /* inside the FS_EOM call: finished must not resume */
	/* The ARC set being made on the pool. */
	struct seal_job *seal_job;
	char spf_result[16], spf_domain[256], spf_scope[8];
	struct dkim_verifier *dkim; /* NULL: not verifying */
	struct arc_verifier *arc;
	int fetching; /* DKIM keys and ARC keys still being looked up */
	struct dmarc_check *dmarc;

	int sign; /* an authenticated sender: sign once the header is known */
	struct dkim_signer *signers[MSGAUTH_SIGNERS];
	size_t nsigners;
	size_t nsigned;     /* signatures made */
	char sign_note[96]; /* why nothing was signed, for the log */

	struct verdict v;   /* the RCPT verdict plus the message's results */
	struct buf resinfo; /* Authentication-Results entries */
	struct buf arcinfo; /* the arc entry, put after the others */
	char arc_log[32];   /* "pass/2" */
	/* The ARC set of a message sent on for a local address: the key of
	 * the domain it was addressed to (NULL: no set), the chain's
	 * validation it records (ours, when the session is checked), the
	 * fields made, and what became of it, for the log. */
	const struct dkim_keyring_entry *seal_key;
	enum arc_cv arc_cv;
	int arc_temporary;
	struct buf sealed;
	char seal_log[240];
	/* A trusted sealer's dmarc=pass that overrides our DMARC failure: its
	 * instance (0: none) and what the report and the log say of it. */
	unsigned arc_trusted_i;
	char arc_trusted_note[DKIM_DOMAIN_MAX + 32]; /* "arc as.d=lists.example i=2" */
	char arc_trusted_log[DKIM_DOMAIN_MAX + 8];   /* "lists.example/2" */
	struct buf added;                            /* our DKIM-Signature fields */
	char dkim_log[160];                          /* "pass:example.org,fail:other.example" */
	char dkim_pass[MSGAUTH_DKIM_PASS_MAX][DKIM_DOMAIN_MAX + 1];
	size_t ndkim_pass;
	char from_domain[DMARC_DOMAIN_MAX + 1];
	enum dmarc_from_status from_status;
	int from_found;       /* find_from ran: from_domain and from_status are set */
	char dmarc_log[64];   /* "fail/reject" */
	char quarantine[300]; /* the quarantine mark, "" for none */

	/* What the aggregate report of the From domain gets (RFC 7489 7.2),
	 * when it asked for one; disposition is set by the verdict. */
	int report;
	struct dmarc_obs obs;
	enum dmarc_policy policy_disposition;
	int sampled_out;
	char obs_domain[DMARC_DOMAIN_MAX + 1], obs_rua[2048], obs_fo[16];
	char obs_dkim_d[DMARC_OBS_DKIM_MAX][DKIM_DOMAIN_MAX + 1];
	char obs_dkim_s[DMARC_OBS_DKIM_MAX][DKIM_DOMAIN_MAX + 1];
	const char *obs_dkim_r[DMARC_OBS_DKIM_MAX];
	size_t nobs_dkim;
};

/* The header fields named name, as NUL-terminated values (after the
 * colon); returns how many there are (up to max are kept). */
static size_t field_values(const struct msghdr_field *f, size_t n, const char *name, char **out,
                           size_t max)
{
	size_t count = 0, nl = strlen(name);

	for (size_t k = 0; k < n; k++) {
		if (!msghdr_name_is(&f[k], name, nl))
			continue;
		if (count < max) {
			const char *colon = memchr(f[k].p, ':', f[k].len);
			size_t off = (size_t)(colon + 1 - f[k].p);
			out[count] = xstrndup(colon + 1, f[k].len - off);
		}
		count++;
	}
	return count;
}

/* RFC 7489 6.6.1: the one RFC5322.From domain, into m->from_domain;
 * signing and DMARC both ask, the header section is read once. */
static void find_from(struct msgauth *m)
{
	if (m->from_found)
		return;
	m->from_found = 1;
	size_t hlen =
	    m->txn->head.state == MSGHEAD_DONE ? m->txn->head.hlen : m->txn->head.head.len;
	long n;
	struct msghdr_field *f =
	    msghdr_split_new(m->txn->head.head.data, hlen, MSGAUTH_MAX_FIELDS, 0, &n);
	char *values[MSGAUTH_FROM_MAX];
	size_t nv = n > 0 ? field_values(f, (size_t)n, "From", values, MSGAUTH_FROM_MAX) : 0;
	size_t kept = nv < MSGAUTH_FROM_MAX ? nv : MSGAUTH_FROM_MAX;

	if (n < 0)
		m->from_status = DMARC_FROM_SYNTAX;
	else
		m->from_status = dmarc_from_domain((const char *const *)values, kept,
		                                   m->from_domain, sizeof(m->from_domain));
	for (size_t k = 0; k < kept; k++)
		free(values[k]);
	free(f);
}

/* Signing starts with the body: only an aligned From domain is signed for,
 * so that an account can sign only for the domains it may send from. */
static void start_signing(struct msgauth *m)
{
	const struct dkim_keyring_entry *e;
	const char *at = strrchr(m->txn->mail_from, '@');
	size_t n;

	find_from(m);
	if (m->from_status != DMARC_FROM_OK) {
		snprintf(m->sign_note, sizeof(m->sign_note), "from:%s",
		         dmarc_from_status_text(m->from_status));
		return;
	}
	if (at == NULL || !dmarc_aligned(at + 1, m->from_domain, DMARC_MODE_RELAXED)) {
		snprintf(m->sign_note, sizeof(m->sign_note), "from_not_sender_domain");
		return;
	}
	n = dkim_keyring_find(m->env->keys, m->from_domain, &e);
	if (n == 0) {
		const char *org = dmarc_org_domain(m->from_domain);
		if (org != NULL)
			n = dkim_keyring_find(m->env->keys, org, &e);
	}
	if (n == 0) {
		snprintf(m->sign_note, sizeof(m->sign_note), "no_key");
		return;
	}
	for (size_t k = 0; k < n && m->nsigners < MSGAUTH_SIGNERS; k++) {
		struct dkim_sign_options o = {
		    .domain = e[k].domain,
		    .selector = e[k].selector,
		    .key = e[k].key,
		    .now = time(NULL),
		    .hcanon = CANON_RELAXED,
		    .bcanon = CANON_RELAXED,
		};
		char err[160];
		struct dkim_signer *sg = dkim_signer_new(&o, err, sizeof(err));
		if (sg == NULL)
			log_err("event=dkim_sign_error sid=%s domain=%s selector=%s error=\"%s\"",
			        m->sid, e[k].domain, e[k].selector, err);
		else
			m->signers[m->nsigners++] = sg;
	}
}

/* The results are in: the end of message goes on, or, when nothing had
 * to be waited for, the stage call returns FILTER_GO itself. */
static void finished(struct msgauth *m)
{
	struct filter_call *call = m->call;
	m->call = NULL;
	if (!m->in_stage)
		filter_call_done(call);
}

static void note_authres_full(const struct msgauth *m, int rc)
{
	if (rc != 0)
		log_warn("event=authres_full sid=%s", m->sid);
}

/* One dkim resinfo entry per signature (RFC 8601 2.7.1, RFC 6008). */
static void dkim_entries(struct msgauth *m, const struct dkim_sig_result *res, size_t n)
{
	size_t logged = 0;
	int rc = 0;

	if (n == 0)
		rc |= authres_method(&m->resinfo, "dkim", "none", NULL);
	for (size_t k = 0; k < n; k++) {
		const struct dkim_sig_result *r = &res[k];
		char comment[200], ident[DKIM_I_MAX + 2];
		snprintf(comment, sizeof(comment), "%s%s%s", r->reason,
		         r->testing ? (r->reason[0] ? "; testing key" : "testing key") : "",
		         r->beyond_limit ? "; content beyond l= not signed" : "");
		rc |= authres_method(&m->resinfo, "dkim", dkim_result_name(r->result), comment);
		if (r->d[0]) {
			snprintf(ident, sizeof(ident), "%s%s", r->i[0] ? "" : "@",
			         r->i[0] ? r->i : r->d);
			rc |= authres_prop(&m->resinfo, "header.d", r->d);
			rc |= authres_prop(&m->resinfo, "header.i", ident);
			rc |= authres_prop(&m->resinfo, "header.s", r->s);
			rc |= authres_prop(&m->resinfo, "header.a", r->a);
			if (r->b[0])
				rc |= authres_prop(&m->resinfo, "header.b", r->b);
		}
		if (r->d[0] && m->nobs_dkim < DMARC_OBS_DKIM_MAX) {
			snprintf(m->obs_dkim_d[m->nobs_dkim], sizeof(m->obs_dkim_d[0]), "%s", r->d);
			snprintf(m->obs_dkim_s[m->nobs_dkim], sizeof(m->obs_dkim_s[0]), "%s", r->s);
			m->obs_dkim_r[m->nobs_dkim++] = dkim_result_name(r->result);
		}
		if (r->result == DKIM_PASS && r->d[0] && m->ndkim_pass < MSGAUTH_DKIM_PASS_MAX)
			snprintf(m->dkim_pass[m->ndkim_pass++], sizeof(m->dkim_pass[0]), "%s",
			         r->d);
		int w = snprintf(m->dkim_log + logged, sizeof(m->dkim_log) - logged, "%s%s:%s",
		                 k ? "," : "", dkim_result_name(r->result), r->d[0] ? r->d : "-");
		if (w > 0 && (size_t)w < sizeof(m->dkim_log) - logged)
			logged += (size_t)w;
	}
	note_authres_full(m, rc);
	/* RFC 6376 6.3: a signature that fails is as if the message were
	 * unsigned; only a message whose every signature failed is judged. */
	if (n > 0 && m->ndkim_pass == 0)
		verdict_apply(&m->v, &m->env->cfg->policy, PR_DKIM_FAIL, 0, res[0].d);
}

/* The report's fo= as published (6.3): the options, colon-separated. */
static void fo_text(unsigned fo, char *out, size_t outsize)
{
	static const struct {
		unsigned bit;
		const char *name;
	} opts[] = {{DMARC_FO_0, "0"}, {DMARC_FO_1, "1"}, {DMARC_FO_D, "d"}, {DMARC_FO_S, "s"}};
	size_t len = 0;

	out[0] = '\0';
	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
		if (fo & opts[k].bit && len + 3 < outsize)
			len += (size_t)snprintf(out + len, outsize - len, "%s%s", len ? ":" : "",
			                        opts[k].name);
}

static void keep_observation(struct msgauth *m, const struct dmarc_outcome *o)
{
	const struct dmarc_record *rec = o->record;
	struct dmarc_obs *ob = &m->obs;
	size_t len = 0;

	if (m->env->dmarc == NULL || rec == NULL || rec->nrua == 0)
		return;
	for (size_t k = 0; k < rec->nrua; k++) {
		int w = rec->rua[k].max_size ? snprintf(m->obs_rua + len, sizeof(m->obs_rua) - len,
		                                        "%s%s!%llu", k ? "," : "", rec->rua[k].uri,
		                                        (unsigned long long)rec->rua[k].max_size)
		                             : snprintf(m->obs_rua + len, sizeof(m->obs_rua) - len,
		                                        "%s%s", k ? "," : "", rec->rua[k].uri);
		if (w < 0 || (size_t)w >= sizeof(m->obs_rua) - len)
			break;
		len += (size_t)w;
	}
	snprintf(m->obs_domain, sizeof(m->obs_domain), "%s", o->record_domain);
	fo_text(rec->fo, m->obs_fo, sizeof(m->obs_fo));
	const char *at = strrchr(m->txn->mail_from, '@');
	*ob = (struct dmarc_obs){
	    .when = time(NULL),
	    .policy_domain = m->obs_domain,
	    .rua = m->obs_rua,
	    .adkim = rec->adkim == DMARC_MODE_STRICT ? 's' : 'r',
	    .aspf = rec->aspf == DMARC_MODE_STRICT ? 's' : 'r',
	    .p = dmarc_policy_name(rec->p),
	    .sp = dmarc_policy_name(rec->sp),
	    .pct = rec->pct,
	    .fo = m->obs_fo,
	    .source_ip = m->ip,
	    .dkim_aligned_pass = o->dkim_aligned,
	    .spf_aligned_pass = o->spf_aligned,
	    .header_from = m->from_domain,
	    .envelope_from = at ? at + 1 : "",
	    .ndkim = m->nobs_dkim,
	    .spf_domain = m->spf_domain,
	    .spf_scope = m->spf_scope,
	    .spf_result = m->spf_result[0] ? m->spf_result : "none",
	};
	for (size_t k = 0; k < m->nobs_dkim; k++)
		ob->dkim[k] =
		    (struct dmarc_obs_dkim){m->obs_dkim_d[k], m->obs_dkim_s[k], m->obs_dkim_r[k]};
	m->policy_disposition = o->result == DMARC_FAIL ? o->disposition : DMARC_POLICY_NONE;
	m->sampled_out = o->sampled_out;
	m->report = 1;
}

static void dmarc_done(void *arg, const struct dmarc_outcome *o)
{
	struct msgauth *m = arg;
	const struct policy_conf *pc = &m->env->cfg->policy;
	int rc = buf_append_str(&m->resinfo, ";\r\n\t");
	/* RFC 7489 7.2.1.1 trusted_forwarder: the failure stands, as a
	 * result, but its policy is not applied (dis=none). */
	struct dmarc_outcome shown = *o;
	int overridden = o->result == DMARC_FAIL && m->arc_trusted_i > 0;

	if (overridden)
		shown.disposition = DMARC_POLICY_NONE;
	m->dmarc = NULL;
	note_authres_full(m, rc | dmarc_authres(&shown, &m->resinfo));
	keep_observation(m, &shown);
	snprintf(m->dmarc_log, sizeof(m->dmarc_log), "%s/%s%s", dmarc_result_name(o->result),
	         dmarc_policy_name(shown.disposition), overridden ? "/trusted_forwarder" : "");
	if (overridden) {
		m->obs.reason = "trusted_forwarder";
		m->obs.reason_comment = m->arc_trusted_note;
	} else if (o->result == DMARC_FAIL) {
		enum policy_result r = o->disposition == DMARC_POLICY_REJECT ? PR_DMARC_REJECT
		                       : o->disposition == DMARC_POLICY_QUARANTINE
		                           ? PR_DMARC_QUARANTINE
		                           : PR_DMARC_NONE_FAIL;
		verdict_apply(&m->v, pc, r, 0, o->from_domain);
		/* A domain that asked for more than delivery, and was not refused
		 * here, gets its mail marked for the mailbox to act on. */
		if (o->disposition != DMARC_POLICY_NONE)
			snprintf(
			    m->quarantine, sizeof(m->quarantine),
			    "X-Postern-Quarantine: dmarc=fail policy.dmarc=%s header.from=%s\r\n",
			    dmarc_policy_name(o->policy), o->from_domain);
	} else if (o->result == DMARC_TEMPERROR) {
		verdict_apply(&m->v, pc, PR_DMARC_TEMPERROR, 0, o->from_domain);
	}
	finished(m);
}

/* RFC 7489 6.6.1: exactly one From address, whose domain's policy is then
 * looked up (6.6.3) and applied to the SPF and DKIM results. */
static void start_dmarc(struct msgauth *m)
{
	const char *dkim_domains[MSGAUTH_DKIM_PASS_MAX];

	if (m->txn->head.state == MSGHEAD_TOO_BIG) {
		finished(m);
		return;
	}
	if (m->from_status != DMARC_FROM_OK) {
		const char *why = dmarc_from_status_text(m->from_status);
		note_authres_full(m, authres_method(&m->resinfo, "dmarc", "permerror", why));
		snprintf(m->dmarc_log, sizeof(m->dmarc_log), "permerror/from");
		verdict_apply(&m->v, &m->env->cfg->policy, PR_FROM_INVALID, 0, why);
		finished(m);
		return;
	}
	for (size_t k = 0; k < m->ndkim_pass; k++)
		dkim_domains[k] = m->dkim_pass[k];
	struct dmarc_request req = {
	    .from_domain = m->from_domain,
	    .spf_domain = strcmp(m->spf_result, "pass") == 0 ? m->spf_domain : NULL,
	    .dkim_domains = dkim_domains,
	    .ndkim = m->ndkim_pass,
	    .sample = rng_below(100),
	};
	m->dmarc = dmarc_check_start(m->env->dns, &req, dmarc_done, m);
}

/* DMARC needs the DKIM results; both lookups run side by side. */
static void fetched(struct msgauth *m)
{
	if (--m->fetching == 0)
		start_dmarc(m);
}

static void dkim_done(void *arg, const struct dkim_sig_result *res, size_t n)
{
	struct msgauth *m = arg;

	dkim_entries(m, res, n);
	fetched(m);
}

/* RFC 8617 7.2: the chain's validity is recorded; it decides nothing
 * unless the policy section says so, and a key lookup that failed for now
 * is no evidence at all. */
static void arc_done(void *arg, const struct arc_result *res)
{
	struct msgauth *m = arg;
	int rc = 0;

	if (res->sets > 0) {
		rc = buf_append_str(&m->arcinfo, ";\r\n\t") | arc_result_format(res, &m->arcinfo);
		note_authres_full(m, rc);
	}
	snprintf(m->arc_log, sizeof(m->arc_log), "%s/%u", arc_cv_name(res->cv), res->sets);
	m->arc_cv = res->cv;
	m->arc_temporary = res->temporary;
	const struct policy_conf *pc = &m->env->cfg->policy;
	if (res->cv == ARC_CV_PASS && res->chain != NULL && pc->narc_trusted_sealers > 0 &&
	    m->from_status == DMARC_FROM_OK) {
		m->arc_trusted_i =
		    arc_trusted_pass(res->chain, (const char *const *)pc->arc_trusted_sealers,
		                     pc->narc_trusted_sealers, m->from_domain);
		if (m->arc_trusted_i > 0) {
			const char *d = res->chain->sets[m->arc_trusted_i - 1].seal.sig.d;
			snprintf(m->arc_trusted_note, sizeof(m->arc_trusted_note),
			         "arc as.d=%s i=%u", d, m->arc_trusted_i);
			snprintf(m->arc_trusted_log, sizeof(m->arc_trusted_log), "%s/%u", d,
			         m->arc_trusted_i);
		}
	}
	if (res->cv == ARC_CV_FAIL && !res->temporary)
		verdict_apply(&m->v, &m->env->cfg->policy, PR_ARC_FAIL, 0, res->reason);
	fetched(m);
}

/* The signatures of one message, made on the worker's pool: an RSA-2048
 * signature takes about a millisecond, which the worker's other sessions
 * should not wait for.  The job owns the signers and a copy of the header
 * section, so the session may end meanwhile. */
struct sign_job {
	struct msgauth *m; /* NULL: the message went away meanwhile */
	struct dkim_signer *signers[MSGAUTH_SIGNERS];
	size_t nsigners;
	char *head;
	size_t hlen;
	struct buf added; /* the DKIM-Signature fields made */
	char err[MSGAUTH_SIGNERS][160];
	int failed[MSGAUTH_SIGNERS];
};

static void sign_work(void *arg)
{
	struct sign_job *j = arg;

	for (size_t k = 0; k < j->nsigners; k++)
		j->failed[k] = dkim_signer_finish(j->signers[k], j->head, j->hlen, &j->added,
		                                  j->err[k], sizeof(j->err[k])) != 0;
}

static void verify(struct msgauth *m);

static void sign_done(void *arg)
{
	struct sign_job *j = arg;
	struct msgauth *m = j->m;

	if (m != NULL) {
		m->job = NULL;
		for (size_t k = 0; k < j->nsigners; k++)
			if (j->failed[k])
				log_err("event=dkim_sign_error sid=%s error=\"%s\"", m->sid,
				        j->err[k]);
			else
				m->nsigned++;
		if (buf_append(&m->added, j->added.data, j->added.len) != 0)
			log_err("event=dkim_sign_error sid=%s error=\"signatures too large\"",
			        m->sid);
	}
	for (size_t k = 0; k < j->nsigners; k++)
		dkim_signer_free(j->signers[k]);
	buf_free(&j->added);
	free(j->head);
	free(j);
	if (m != NULL)
		verify(m);
}

/* Our signatures go on top of the message (RFC 6376 5.6).  Returns 1 when
 * they are being made (sign_done goes on), 0 when there are none. */
static int start_sign_job(struct msgauth *m)
{
	size_t hlen =
	    m->txn->head.state == MSGHEAD_DONE ? m->txn->head.hlen : m->txn->head.head.len;

	if (m->txn->head.state == MSGHEAD_OPEN)
		start_signing(m);
	if (m->txn->head.state == MSGHEAD_TOO_BIG)
		snprintf(m->sign_note, sizeof(m->sign_note), "header_too_big");
	if (m->nsigners == 0)
		return 0;
	struct sign_job *j = xcalloc(1, sizeof(*j));
	j->m = m;
	memcpy(j->signers, m->signers, m->nsigners * sizeof(m->signers[0]));
	j->nsigners = m->nsigners;
	m->nsigners = 0;
	j->head = xmalloc(hlen + 1);
	memcpy(j->head, m->txn->head.head.data, hlen);
	j->hlen = hlen;
	buf_init(&j->added, 64 * 1024);
	m->job = j;
	pool_submit(m->env->pool, sign_work, sign_done, j);
	return 1;
}

/* The ARC set of a forwarded message, made on the worker's pool like the
 * signatures: two more of them, over the whole message, which is read
 * back from the spool there.  The job owns copies of what it needs, so
 * the session may end meanwhile. */
struct seal_job {
	struct msgauth *m; /* NULL: the message went away meanwhile */
	struct filter_call *call;
	struct arc_seal_options o;
	char *authres;
	char *fields; /* our header fields, in front of the message */
	size_t fields_len;
	int fd; /* the stored message: file_len bytes of this file, then tail */
	uint64_t file_len;
	char *tail;
	size_t tail_len;
	struct buf out;
	int rc;
	char err[200];
};

/* The first n bytes of fd; NULL, or why they could not be read. */
static const char *read_at(int fd, char *p, size_t n)
{
	off_t off = 0;

	while (n > 0) {
		ssize_t r = pread(fd, p, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return strerror(errno);
		if (r == 0)
			return "shorter than written";
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return NULL;
}

static void seal_work(void *arg)
{
	struct seal_job *j = arg;
	size_t len = j->fields_len + (size_t)j->file_len + j->tail_len;
	char *msg = xmalloc(len + 1);
	const char *why = NULL;

	memcpy(msg, j->fields, j->fields_len);
	if (j->fd >= 0)
		why = read_at(j->fd, msg + j->fields_len, (size_t)j->file_len);
	if (why != NULL) {
		snprintf(j->err, sizeof(j->err), "cannot read the stored message: %s", why);
		j->rc = -1;
	} else {
		memcpy(msg + j->fields_len + j->file_len, j->tail, j->tail_len);
		j->rc = arc_seal(&j->o, msg, len, &j->out, j->err, sizeof(j->err));
	}
	free(msg);
}

static void seal_done(void *arg)
{
	struct seal_job *j = arg;
	struct msgauth *m = j->m;

	if (m != NULL) {
		m->seal_job = NULL;
		if (j->rc == ARC_SEAL_ADDED && buf_append(&m->sealed, j->out.data, j->out.len) == 0)
			snprintf(m->seal_log, sizeof(m->seal_log), "sealed cv=%s",
			         arc_cv_name(j->o.cv));
		else if (j->rc == ARC_SEAL_SKIPPED)
			snprintf(m->seal_log, sizeof(m->seal_log), "skipped reason=chain_failed");
		else
			snprintf(m->seal_log, sizeof(m->seal_log), "error reason=\"%s\"",
			         j->rc < 0 ? j->err : "fields too large");
	}
	if (j->fd >= 0)
		close(j->fd);
	free(j->authres);
	free(j->fields);
	free(j->tail);
	buf_free(&j->out);
	if (m != NULL)
		filter_call_done(j->call);
	free(j);
}

/* RFC 8617 5.1 at FS_SEAL: the set records our validation of the chain
 * (a checked session's; none for the others, whose mail is our own) and
 * our Authentication-Results.  Returns 1 when the set is being made
 * (seal_done ends the stage), 0 when there is none. */
static int start_seal(struct msgauth *m, const struct filter_view *v, struct filter_call *call)
{
	const struct txn *t = v->txn;
	enum arc_cv cv = m->dkim ? m->arc_cv : ARC_CV_NONE;
	int fd;
	uint64_t file_len;
	char *tail;
	size_t tail_len;

	/* A chain that may pass once a key can be fetched is not ended by a
	 * cv=fail of ours. */
	if (m->dkim && m->arc_temporary) {
		snprintf(m->seal_log, sizeof(m->seal_log), "skipped reason=arc_temperror");
		return 0;
	}
	if (spool_body_reader(t->body, &fd, &file_len, &tail, &tail_len) != 0) {
		snprintf(m->seal_log, sizeof(m->seal_log), "error reason=\"body unreadable\"");
		return 0;
	}
	struct seal_job *j = xcalloc(1, sizeof(*j));
	j->m = m;
	j->call = call;
	j->authres = xstrdup(t->authres ? t->authres : "");
	j->o = (struct arc_seal_options){
	    .cv = cv,
	    .authserv_id = m->env->cfg->hostname,
	    .authres = j->authres,
	    .domain = m->seal_key->domain,
	    .selector = m->seal_key->selector,
	    .key = m->seal_key->key,
	    .now = time(NULL),
	    .headers = MSGAUTH_ARC_HEADERS,
	};
	j->fields = xmalloc(t->fields.len + 1);
	memcpy(j->fields, t->fields.data, t->fields.len);
	j->fields_len = t->fields.len;
	j->fd = fd;
	j->file_len = file_len;
	j->tail = tail;
	j->tail_len = tail_len;
	buf_init(&j->out, MSGAUTH_SEALED_MAX);
	m->seal_job = j;
	pool_submit(m->env->pool, seal_work, seal_done, j);
	return 1;
}

/* The key of the domain the first forwarded recipient was addressed to
 * (an alias's, or the SRS address's): that domain is who sends it on.
 * RSA first, which every ARC verifier takes (RFC 8617 3.9). */
static const struct dkim_keyring_entry *seal_key_of(const struct filter_env *env,
                                                    const struct filter_view *v)
{
	const struct txn *t = v->txn;
	const struct dkim_keyring_entry *e;

	for (size_t i = 0; i < t->nrcpt; i++) {
		const char *at = strrchr(t->rcpts[i].orcpt, '@');
		if (!t->rcpts[i].forwarded || at == NULL)
			continue;
		size_t n = dkim_keyring_find(env->keys, at + 1, &e);
		for (size_t k = 0; k < n; k++)
			if (EVP_PKEY_get_base_id(e[k].key) == EVP_PKEY_RSA)
				return &e[k];
		if (n > 0)
			return &e[0];
		log_debug("event=arc_seal sid=%s result=skipped reason=no_key domain=%s", v->sid,
		          at + 1);
		return NULL;
	}
	return NULL;
}

/* The message's own checks, when its session is checked. */
static void verify(struct msgauth *m)
{
	if (m->dkim == NULL) {
		finished(m);
		return;
	}
	find_from(m);
	m->fetching = 2;
	arc_verify_finish(m->arc, m->env->base, m->env->dns, arc_done, m);
	dkim_verify_finish(m->dkim, m->env->base, m->env->dns, dkim_done, m);
}

/* At DATA: verification for checked sessions, signing for authenticated
 * users and trusted networks, an ARC set for a message sent on for a
 * local address; NULL when nothing runs. */
static struct msgauth *msgauth_new(const struct filter_env *env, const struct filter_view *v)
{
	struct sender_env se = {.cfg = env->cfg, .conf = env->sender};
	enum sender_exemption ex = sender_exempt(&se, v->ip, v->auth_user[0] != '\0');
	int verify = ex == SENDER_CHECKED;
	int sign = (ex == SENDER_TRUSTED || v->auth_user[0]) && env->keys->n > 0;
	const struct dkim_keyring_entry *seal = seal_key_of(env, v);
	struct msgauth *m;

	if (!verify && !sign && seal == NULL)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->env = env;
	m->sid = v->sid;
	m->ip = v->ip;
	m->txn = v->txn;
	m->sign = sign;
	m->seal_key = seal;
	buf_init(&m->sealed, MSGAUTH_SEALED_MAX);
	buf_init(&m->resinfo, 64 * 1024);
	buf_init(&m->arcinfo, 4096);
	buf_init(&m->added, 64 * 1024);
	verdict_init(&m->v);
	if (verify) {
		struct dkim_verify_options o = {
		    .now = time(NULL),
		    .max_signatures = (size_t)env->cfg->dkim_max_signatures,
		    .keys = env->dkim_keys,
		};
		struct arc_verify_options ao = {.keys = env->dkim_keys};
		m->dkim = dkim_verify_new(&o);
		m->arc = arc_verify_new(&ao);
	}
	return m;
}

static void msgauth_free(struct msgauth *m)
{
	if (m == NULL)
		return;
	if (m->job)
		m->job->m = NULL;
	if (m->seal_job)
		m->seal_job->m = NULL;
	if (m->dkim)
		dkim_verify_free(m->dkim);
	if (m->arc)
		arc_verify_free(m->arc);
	if (m->dmarc)
		dmarc_check_cancel(m->dmarc);
	for (size_t k = 0; k < m->nsigners; k++)
		dkim_signer_free(m->signers[k]);
	buf_free(&m->resinfo);
	buf_free(&m->arcinfo);
	buf_free(&m->added);
	buf_free(&m->sealed);
	free(m);
}

/* The verifiers get the one header section the session collected, once. */
static void give_header(struct msgauth *m)
{
	size_t len;

	if (m->header_given || m->dkim == NULL)
		return;
	m->header_given = 1;
	const char *head = msghead_section(&m->txn->head, &len);
	dkim_verify_header(m->dkim, head, len);
	arc_verify_header(m->arc, head, len);
}

/* The filter keeps one message's state at a time. */
struct f_msgauth {
	const struct filter_env *env;
	struct msgauth *m;
};

static void *msgauth_attach(const struct filter_env *env, const struct filter_view *v)
{
	struct f_msgauth *f = xcalloc(1, sizeof(*f));
	f->env = env;
	return f;
}

static enum filter_status msgauth_stage(void *st, enum filter_stage stage,
                                        const struct filter_view *v, struct filter_call *call)
{
	struct f_msgauth *f = st;
	struct msgauth *m = f->m;

	switch (stage) {
	case FS_DATA:
		msgauth_free(f->m);
		f->m = msgauth_new(f->env, v);
		break;
	case FS_HEADER:
		if (m == NULL)
			break;
		give_header(m);
		if (m->sign && m->txn->head.state == MSGHEAD_DONE)
			start_signing(m);
		break;
	case FS_EOM:
		if (m == NULL)
			break;
		snprintf(m->spf_result, sizeof(m->spf_result), "%s", v->spf_result);
		snprintf(m->spf_domain, sizeof(m->spf_domain), "%s", v->spf_domain);
		snprintf(m->spf_scope, sizeof(m->spf_scope), "%s", v->spf_scope);
		/* A message without an empty line is all header section. */
		give_header(m);
		m->call = call;
		m->in_stage = 1;
		if (!(m->sign && start_sign_job(m)))
			verify(m);
		m->in_stage = 0;
		return m->call == NULL ? FILTER_GO : FILTER_WAIT;
	case FS_SEAL:
		if (m != NULL && m->seal_key != NULL && start_seal(m, v, call))
			return FILTER_WAIT;
		break;
	case FS_RESET:
		msgauth_free(f->m);
		f->m = NULL;
		break;
	default:
		break;
	}
	return FILTER_GO;
}

static void msgauth_body(void *st, const void *p, size_t n)
{
	struct f_msgauth *f = st;
	struct msgauth *m = f->m;

	if (m == NULL)
		return;
	/* The verifiers and signers hash the body, which starts after the
	 * header section the session's collector has found (it has seen
	 * these bytes already). */
	size_t skip = 0;
	if (m->txn->head.state != MSGHEAD_DONE) {
		skip = n;
	} else if (m->fed < m->txn->head.head.len) {
		size_t head_left = m->txn->head.head.len - m->fed;
		skip = head_left < n ? head_left : n;
	}
	m->fed += n;
	if (skip == n)
		return;
	if (m->dkim) {
		dkim_verify_body(m->dkim, (const char *)p + skip, n - skip);
		arc_verify_body(m->arc, (const char *)p + skip, n - skip);
	}
	for (size_t k = 0; k < m->nsigners; k++)
		dkim_signer_body(m->signers[k], (const char *)p + skip, n - skip);
}

static void msgauth_verdict(void *st, enum filter_stage stage, struct verdict *v)
{
	struct f_msgauth *f = st;
	if (stage == FS_EOM && f->m && f->m->dkim)
		verdict_merge(v, &f->m->v);
}

static void msgauth_decided(void *st, enum policy_action a, int exempt)
{
	struct f_msgauth *f = st;
	struct msgauth *m = f->m;

	/* A deferred message comes again and is counted then. */
	if (m == NULL || !m->report || a == PA_TEMPFAIL)
		return;
	enum dmarc_policy applied = a == PA_REJECT     ? DMARC_POLICY_REJECT
	                            : m->quarantine[0] ? DMARC_POLICY_QUARANTINE
	                                               : DMARC_POLICY_NONE;
	m->obs.disposition = dmarc_policy_name(applied);
	/* A trusted forwarder, set by dmarc_done, explains more. */
	if (m->obs.reason == NULL && m->sampled_out)
		m->obs.reason = "sampled_out";
	else if (m->obs.reason == NULL && applied != m->policy_disposition)
		m->obs.reason = "local_policy";
	if (m->obs.reason && exempt && m->obs.reason_comment == NULL)
		m->obs.reason_comment = "postmaster or abuse recipient";
	dmarc_batch_add(m->env->dmarc, &m->obs);
}

/* A DKIM pass by the envelope sender's domain, or by one of the same
 * organizational domain (relaxed alignment, RFC 7489 3.1.1, with the
 * MAIL FROM domain in the place of the From domain): that domain took
 * responsibility for the message. */
static int msgauth_sender_verified(void *st)
{
	struct f_msgauth *f = st;
	struct msgauth *m = f->m;
	const char *at;

	if (m == NULL || (at = strrchr(m->txn->mail_from, '@')) == NULL)
		return 0;
	for (size_t k = 0; k < m->ndkim_pass; k++)
		if (dmarc_aligned(m->dkim_pass[k], at + 1, DMARC_MODE_RELAXED))
			return 1;
	return 0;
}

static int msgauth_authres(void *st, const struct filter_view *v, struct buf *entries,
                           struct buf *props)
{
	struct f_msgauth *f = st;
	struct msgauth *m = f->m;

	if (m == NULL)
		return 0;
	return buf_append(entries, m->resinfo.data, m->resinfo.len) |
	       buf_append(entries, m->arcinfo.data, m->arcinfo.len);
}

static int msgauth_fields_top(void *st, struct buf *out)
{
	struct f_msgauth *f = st;
	if (f->m == NULL || f->m->added.len == 0)
		return 0;
	return buf_append(out, f->m->added.data, f->m->added.len);
}

static int msgauth_fields_bottom(void *st, struct buf *out)
{
	struct f_msgauth *f = st;
	if (f->m == NULL || !f->m->quarantine[0])
		return 0;
	return buf_append_str(out, f->m->quarantine);
}

static int msgauth_fields_seal(void *st, struct buf *out)
{
	struct f_msgauth *f = st;
	if (f->m == NULL || f->m->sealed.len == 0)
		return 0;
	return buf_append(out, f->m->sealed.data, f->m->sealed.len);
}

static void msgauth_log(void *st, const struct filter_view *v, const char *queue_id)
{
	struct f_msgauth *f = st;
	struct msgauth *m = f->m;

	if (m == NULL)
		return;
	if (m->dkim)
		log_info("event=msgauth sid=%s queue_id=%s from_domain=%s dkim=%s dmarc=%s arc=%s "
		         "arc_trusted=%s score=%ld tags=%s",
		         v->sid, queue_id, m->from_domain[0] ? m->from_domain : "-",
		         m->dkim_log[0] ? m->dkim_log : "none",
		         m->dmarc_log[0] ? m->dmarc_log : "-", m->arc_log[0] ? m->arc_log : "-",
		         m->arc_trusted_log[0] ? m->arc_trusted_log : "-", m->v.score,
		         m->v.tags[0] ? m->v.tags : "-");
	if (m->sign)
		log_info("event=dkim_sign sid=%s queue_id=%s from_domain=%s signatures=%zu%s%s",
		         v->sid, queue_id, m->from_domain[0] ? m->from_domain : "-", m->nsigned,
		         m->sign_note[0] ? " skipped=" : "", m->sign_note);
	if (m->seal_key && m->seal_log[0])
		log_info("event=arc_seal sid=%s queue_id=%s domain=%s selector=%s result=%s",
		         v->sid, queue_id, m->seal_key->domain, m->seal_key->selector, m->seal_log);
}

static void msgauth_detach(void *st)
{
	struct f_msgauth *f = st;
	msgauth_free(f->m);
	free(f);
}

const struct filter_ops filter_msgauth = {
    .name = "msgauth",
    .attach = msgauth_attach,
    .stage = msgauth_stage,
    .body = msgauth_body,
    .verdict = msgauth_verdict,
    .decided = msgauth_decided,
    .authres = msgauth_authres,
    .sender_verified = msgauth_sender_verified,
    .fields_top = msgauth_fields_top,
    .fields_bottom = msgauth_fields_bottom,
    .fields_seal = msgauth_fields_seal,
    .log = msgauth_log,
    .detach = msgauth_detach,
};
