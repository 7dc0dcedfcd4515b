/* Per-day DMARC observations in <state_dir>/state.db for aggregate
 * reports (RFC 7489 7.2): one counted row per distinct report row, and the
 * record each policy domain last published that day. */
#include "store/dmarc_store.h"
#include "store/statedb.h"
#include "core/dmarc_vocab.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Up to DMARC_URI_MAX (8) URIs of a few hundred octets each. */
#define RUA_MAX 2048
/* The DKIM results of a row, serialized: three length-prefixed fields per
 * signature ("11:example.com3:sel4:pass"), which no value can break. */
#define DKIM_COL_MAX (DMARC_OBS_DKIM_MAX * 3 * (DMARC_STORE_DOMAIN_MAX + 8))

/* The row key is every reported field: the primary key makes two
 * identical observations one row, counted.  Domains are stored
 * lower-case (DNS names compare without case) and addresses in the
 * canonical inet_ntop form, so that spelling does not split a row. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS dmarc_rows("
    " day INTEGER NOT NULL, policy_domain TEXT NOT NULL, source_ip TEXT NOT NULL,"
    " disposition TEXT NOT NULL, dkim_pass INTEGER NOT NULL, spf_pass INTEGER NOT NULL,"
    " reason TEXT NOT NULL, reason_comment TEXT NOT NULL, header_from TEXT NOT NULL,"
    " envelope_from TEXT NOT NULL, dkim TEXT NOT NULL, spf_domain TEXT NOT NULL,"
    " spf_scope TEXT NOT NULL, spf_result TEXT NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY(day, policy_domain, source_ip, disposition, dkim_pass, spf_pass, reason,"
    "  reason_comment, header_from, envelope_from, dkim, spf_domain, spf_scope, spf_result)"
    ") WITHOUT ROWID;"
    /* A report has one policy_published: the record of the latest
     * observation of the day (seen), whatever the order of the batches. */
    "CREATE TABLE IF NOT EXISTS dmarc_policies("
    " day INTEGER NOT NULL, policy_domain TEXT NOT NULL, seen INTEGER NOT NULL,"
    " rua TEXT NOT NULL, adkim TEXT NOT NULL, aspf TEXT NOT NULL, p TEXT NOT NULL,"
    " sp TEXT NOT NULL, pct INTEGER NOT NULL, fo TEXT NOT NULL,"
    " PRIMARY KEY(day, policy_domain));";

static const char sql_row[] =
    "INSERT INTO dmarc_rows VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 1)"
    " ON CONFLICT(day, policy_domain, source_ip, disposition, dkim_pass, spf_pass, reason,"
    "  reason_comment, header_from, envelope_from, dkim, spf_domain, spf_scope, spf_result)"
    " DO UPDATE SET count = count + 1";

static const char sql_policy[] =
    "INSERT INTO dmarc_policies VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT(day, policy_domain) DO UPDATE SET seen = excluded.seen, rua = excluded.rua,"
    "  adkim = excluded.adkim, aspf = excluded.aspf, p = excluded.p, sp = excluded.sp,"
    "  pct = excluded.pct, fo = excluded.fo"
    " WHERE excluded.seen >= dmarc_policies.seen";

struct dmarc_store {
	sqlite3 *db;
	/* A transaction and a statement's bind/step/reset span many calls
	 * on the connection; other threads must not run inside them. */
	pthread_mutex_t lock;
	sqlite3_stmt *st_row, *st_policy;
};

int64_t dmarc_store_day(int64_t t)
{
	int64_t r = t % DMARC_STORE_DAY;
	return t - (r < 0 ? r + DMARC_STORE_DAY : r);
}

/* A printable string of at most max octets: no control character, which
 * also keeps log lines and the report free of them.  UTF-8 is let through;
 * the report generator checks it. */
static int text_ok(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len > max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Copies a domain lower-cased (ASCII only: the locale must not change a
 * key) into out, DMARC_STORE_DOMAIN_MAX + 1 bytes. */
static int domain_copy(const char *in, char *out)
{
	if (in == NULL)
		in = "";
	if (!text_ok(in, DMARC_STORE_DOMAIN_MAX) || strchr(in, ' ') != NULL)
		return -1;
	size_t i = 0;
	for (; in[i] != '\0'; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
	out[i] = '\0';
	return 0;
}

/* The policy domain names report files (7.2.1.1), so it is held to
 * letters, digits, '-', '_' and dots between labels. */
static int policy_domain_ok(const char *d)
{
	if (d[0] == '\0' || d[0] == '.')
		return 0;
	for (const char *p = d; *p != '\0'; p++) {
		int ldh =
		    (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_';
		if (!ldh && !(*p == '.' && p[1] != '.' && p[1] != '\0'))
			return 0;
	}
	return 1;
}

/* IPv4 stays dotted; an IPv4-mapped IPv6 address is the IPv4 client. */
static int ip_canon(const char *in, char *out, size_t outsize)
{
	unsigned char a[16];

	if (in == NULL)
		return -1;
	if (inet_pton(AF_INET, in, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)outsize) ? 0 : -1;
	if (inet_pton(AF_INET6, in, a) != 1)
		return -1;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return inet_ntop(AF_INET, a + 12, out, (socklen_t)outsize) ? 0 : -1;
	return inet_ntop(AF_INET6, a, out, (socklen_t)outsize) ? 0 : -1;
}

/* An observation checked and normalized, ready to bind. */
struct norm {
	int64_t day;
	char policy_domain[DMARC_STORE_DOMAIN_MAX + 1];
	char header_from[DMARC_STORE_DOMAIN_MAX + 1];
	char envelope_from[DMARC_STORE_DOMAIN_MAX + 1];
	char spf_domain[DMARC_STORE_DOMAIN_MAX + 1];
	char source_ip[INET6_ADDRSTRLEN];
	char dkim[DKIM_COL_MAX];
	char adkim[2], aspf[2];
	const char *rua, *fo, *reason, *reason_comment;
};

static int dkim_serialize(const struct dmarc_obs *o, struct norm *n, const char **why)
{
	size_t off = 0;

	n->dkim[0] = '\0';
	if (o->ndkim > DMARC_OBS_DKIM_MAX) {
		*why = "too many dkim results";
		return -1;
	}
	for (size_t i = 0; i < o->ndkim; i++) {
		char d[DMARC_STORE_DOMAIN_MAX + 1];
		const struct dmarc_obs_dkim *k = &o->dkim[i];
		if (k->domain == NULL || domain_copy(k->domain, d) < 0 || d[0] == '\0') {
			*why = "bad dkim domain";
			return -1;
		}
		if (k->selector == NULL || !text_ok(k->selector, DMARC_STORE_DOMAIN_MAX)) {
			*why = "bad dkim selector";
			return -1;
		}
		if (!dmarc_vocab_name(DMARC_VOCAB_DKIM_RESULT, k->result)) {
			*why = "bad dkim result";
			return -1;
		}
		int w =
		    snprintf(n->dkim + off, sizeof(n->dkim) - off, "%zu:%s%zu:%s%zu:%s", strlen(d),
		             d, strlen(k->selector), k->selector, strlen(k->result), k->result);
		/* Cannot happen within the bounds above; checked all the same. */
		if (w < 0 || (size_t)w >= sizeof(n->dkim) - off) {
			*why = "dkim results too long";
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* Returns 0, or -1 with *why naming the bad field (never its value, which
 * may be anything). */
static int obs_normalize(const struct dmarc_obs *o, struct norm *n, const char **why)
{
	*why = NULL;
	if (o->when < 0)
		*why = "bad time";
	else if (o->policy_domain == NULL || domain_copy(o->policy_domain, n->policy_domain) < 0 ||
	         !policy_domain_ok(n->policy_domain))
		*why = "bad policy domain";
	else if (o->rua != NULL && !text_ok(o->rua, RUA_MAX))
		*why = "bad rua";
	else if ((o->adkim != 'r' && o->adkim != 's') || (o->aspf != 'r' && o->aspf != 's'))
		*why = "bad adkim or aspf";
	else if (!dmarc_vocab_name(DMARC_VOCAB_DISPOSITION, o->p) ||
	         !dmarc_vocab_name(DMARC_VOCAB_DISPOSITION, o->sp))
		*why = "bad p or sp";
	else if (o->pct > 100)
		*why = "bad pct";
	else if (o->fo != NULL && !text_ok(o->fo, DMARC_STORE_TEXT_MAX))
		*why = "bad fo";
	else if (ip_canon(o->source_ip, n->source_ip, sizeof(n->source_ip)) < 0)
		*why = "bad source ip";
	else if (!dmarc_vocab_name(DMARC_VOCAB_DISPOSITION, o->disposition))
		*why = "bad disposition";
	else if (o->reason != NULL && o->reason[0] != '\0' &&
	         !dmarc_vocab_name(DMARC_VOCAB_REASON, o->reason))
		*why = "bad reason";
	else if (o->reason_comment != NULL && !text_ok(o->reason_comment, DMARC_STORE_TEXT_MAX))
		*why = "bad reason comment";
	else if (o->header_from == NULL || domain_copy(o->header_from, n->header_from) < 0 ||
	         n->header_from[0] == '\0')
		*why = "bad header_from";
	else if (domain_copy(o->envelope_from, n->envelope_from) < 0)
		*why = "bad envelope_from";
	else if (domain_copy(o->spf_domain, n->spf_domain) < 0)
		*why = "bad spf domain";
	else if (!dmarc_vocab_name(DMARC_VOCAB_SPF_SCOPE, o->spf_scope) ||
	         !dmarc_vocab_name(DMARC_VOCAB_SPF_RESULT, o->spf_result))
		*why = "bad spf scope or result";
	if (*why != NULL || dkim_serialize(o, n, why) < 0)
		return -1;
	n->day = dmarc_store_day(o->when);
	n->adkim[0] = o->adkim;
	n->aspf[0] = o->aspf;
	n->adkim[1] = n->aspf[1] = '\0';
	n->rua = o->rua ? o->rua : "";
	n->fo = o->fo ? o->fo : "0";
	/* Stored as the report writes it, so that RFC 7489's "forwarded" and
	 * its successor "trusted_forwarder" are one row, not two that the
	 * report would show alike. */
	n->reason =
	    o->reason && o->reason[0] ? dmarc_vocab_name(DMARC_VOCAB_REASON, o->reason) : "";
	/* A comment without a reason would not be reported: drop it so that
	 * it does not split rows. */
	n->reason_comment = (n->reason[0] && o->reason_comment) ? o->reason_comment : "";
	return 0;
}

static int bind_t(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int put_row(struct dmarc_store *s, const struct dmarc_obs *o, const struct norm *n)
{
	sqlite3_stmt *st = s->st_row;
	int rc = sqlite3_bind_int64(st, 1, n->day);

	if (rc == SQLITE_OK)
		rc = bind_t(st, 2, n->policy_domain);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 3, n->source_ip);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 4, o->disposition);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 5, o->dkim_aligned_pass != 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 6, o->spf_aligned_pass != 0);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 7, n->reason);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 8, n->reason_comment);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 9, n->header_from);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 10, n->envelope_from);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 11, n->dkim);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 12, n->spf_domain);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 13, o->spf_scope);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 14, o->spf_result);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_OK ? 0 : -1;
}

static int put_policy(struct dmarc_store *s, const struct dmarc_obs *o, const struct norm *n)
{
	sqlite3_stmt *st = s->st_policy;
	int rc = sqlite3_bind_int64(st, 1, n->day);

	if (rc == SQLITE_OK)
		rc = bind_t(st, 2, n->policy_domain);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, o->when);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 4, n->rua);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 5, n->adkim);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 6, n->aspf);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 7, o->p);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 8, o->sp);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 9, (int)o->pct);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 10, n->fo);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_OK ? 0 : -1;
}

struct dmarc_store *dmarc_store_open(const char *state_dir, char *err, size_t errsize)
{
	struct dmarc_store *s;
	sqlite3 *db = statedb_open(state_dir, err, errsize);

	if (db == NULL)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->db = db;
	if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, sql_row, -1, SQLITE_PREPARE_PERSISTENT, &s->st_row, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, sql_policy, -1, SQLITE_PREPARE_PERSISTENT, &s->st_policy,
	                       NULL) != SQLITE_OK) {
		snprintf(err, errsize, "cannot set up %s/state.db: %s", state_dir,
		         sqlite3_errmsg(s->db));
		dmarc_store_close(s);
		return NULL;
	}
	return s;
}

void dmarc_store_close(struct dmarc_store *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->st_row);
	sqlite3_finalize(s->st_policy);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

long dmarc_store_purge(struct dmarc_store *s, int64_t day, char *err, size_t errsize)
{
	static const char *const sql[] = {"DELETE FROM dmarc_rows WHERE day < ?1",
	                                  "DELETE FROM dmarc_policies WHERE day < ?1"};
	long removed = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t k = 0; k < sizeof(sql) / sizeof(sql[0]); k++) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(s->db, sql[k], -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_bind_int64(st, 1, day) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE) {
			snprintf(err, errsize, "purge: %s", sqlite3_errmsg(s->db));
			sqlite3_finalize(st);
			pthread_mutex_unlock(&s->lock);
			return -1;
		}
		if (k == 0)
			removed = (long)sqlite3_changes(s->db);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return removed;
}

int dmarc_store_add(struct dmarc_store *s, const struct dmarc_obs *obs, size_t n, char *err,
                    size_t errsize)
{
	/* About 8 KiB: kept off a pool thread's stack. */
	struct norm *nm = xmalloc(sizeof(*nm));
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	/* IMMEDIATE: take the write lock now; a deferred transaction that
	 * upgrades later can fail with SQLITE_BUSY without waiting. */
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "dmarc store: begin: %s", sqlite3_errmsg(s->db));
		pthread_mutex_unlock(&s->lock);
		free(nm);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *why;
		if (obs_normalize(&obs[i], nm, &why) < 0) {
			log_warn("event=dmarc_store_skip index=%zu error=\"%s\"", i, why);
			continue;
		}
		if (put_row(s, &obs[i], nm) < 0 || put_policy(s, &obs[i], nm) < 0) {
			snprintf(err, errsize, "dmarc store: insert: %s", sqlite3_errmsg(s->db));
			rc = -1;
		}
	}
	if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errsize, "dmarc store: commit: %s", sqlite3_errmsg(s->db));
		rc = -1;
	}
	if (rc < 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->lock);
	free(nm);
	return rc;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "";
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	return xstrdup(col_text(st, i));
}

/* Copies s to *w, advances *w past its NUL, and returns the copy. */
static const char *put(char **w, const char *s)
{
	size_t len = strlen(s) + 1;
	char *at = memcpy(*w, s, len);
	*w += len;
	return at;
}

void dmarc_store_domains_free(struct dmarc_store_domain *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].policy_domain);
		free(d[i].rua);
		free(d[i].p);
		free(d[i].sp);
		free(d[i].fo);
	}
	free(d);
}

int dmarc_store_domains(struct dmarc_store *s, int64_t day, struct dmarc_store_domain **out,
                        size_t *n, char *err, size_t errsize)
{
	sqlite3_stmt *st = NULL;
	struct dmarc_store_domain *d = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(
	    s->db,
	    "SELECT r.policy_domain, SUM(r.count), COUNT(*), p.rua, p.adkim,"
	    " p.aspf, p.p, p.sp, p.pct, p.fo FROM dmarc_rows r"
	    " JOIN dmarc_policies p ON p.day = r.day"
	    "  AND p.policy_domain = r.policy_domain"
	    " WHERE r.day = ?1 GROUP BY r.policy_domain ORDER BY r.policy_domain",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, day);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			d = xrealloc(d, cap * sizeof(*d));
		}
		struct dmarc_store_domain *x = &d[len++];
		x->policy_domain = col_dup(st, 0);
		x->day = day;
		x->messages = (uint64_t)sqlite3_column_int64(st, 1);
		x->rows = (size_t)sqlite3_column_int64(st, 2);
		x->rua = col_dup(st, 3);
		x->adkim = col_text(st, 4)[0];
		x->aspf = col_text(st, 5)[0];
		x->p = col_dup(st, 6);
		x->sp = col_dup(st, 7);
		x->pct = (unsigned)sqlite3_column_int(st, 8);
		x->fo = col_dup(st, 9);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errsize, "dmarc store: list domains: %s", sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		pthread_mutex_unlock(&s->lock);
		dmarc_store_domains_free(d, len);
		return -1;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	*out = d;
	*n = len;
	return 0;
}

/* Reads one "<length>:<text>" field of the dkim column at *p into dst,
 * NUL-terminated, and advances *p.  Returns -1 on a malformed column. */
static int dkim_field(const char **p, char **dst)
{
	char *end;
	errno = 0;
	unsigned long len = strtoul(*p, &end, 10);

	if (end == *p || *end != ':' || errno != 0 || len > DMARC_STORE_DOMAIN_MAX ||
	    strnlen(end + 1, len) < len)
		return -1;
	memcpy(*dst, end + 1, len);
	(*dst)[len] = '\0';
	*p = end + 1 + len;
	*dst += len + 1;
	return 0;
}

/* Fills r from the current row of st; every string of r->obs points into
 * one allocation, r->mem. */
static int row_load(sqlite3_stmt *st, int64_t day, const char *policy_domain,
                    struct dmarc_store_row *r)
{
	/* Text columns in the order of the SELECT in dmarc_store_rows. */
	enum {
		C_IP,
		C_DISP,
		C_DKP,
		C_SPFP,
		C_REASON,
		C_COMMENT,
		C_HFROM,
		C_EFROM,
		C_DKIM,
		C_SPFD,
		C_SCOPE,
		C_SPFR,
		C_COUNT
	};
	size_t total = strlen(policy_domain) + 1;

	static const int text_cols[] = {C_IP,    C_DISP, C_REASON, C_COMMENT, C_HFROM,
	                                C_EFROM, C_DKIM, C_SPFD,   C_SCOPE,   C_SPFR};
	for (size_t i = 0; i < sizeof(text_cols) / sizeof(text_cols[0]); i++)
		total += strlen(col_text(st, text_cols[i])) + 1;
	char *m = xmalloc(total), *w = m;
	memset(r, 0, sizeof(*r));
	r->mem = m;

	r->obs.when = day;
	r->obs.policy_domain = put(&w, policy_domain);
	r->obs.source_ip = put(&w, col_text(st, C_IP));
	r->obs.disposition = put(&w, col_text(st, C_DISP));
	r->obs.dkim_aligned_pass = sqlite3_column_int(st, C_DKP);
	r->obs.spf_aligned_pass = sqlite3_column_int(st, C_SPFP);
	/* "" in the database stands for NULL in the observation. */
	r->obs.reason = col_text(st, C_REASON)[0] ? put(&w, col_text(st, C_REASON)) : NULL;
	r->obs.reason_comment =
	    col_text(st, C_COMMENT)[0] ? put(&w, col_text(st, C_COMMENT)) : NULL;
	r->obs.header_from = put(&w, col_text(st, C_HFROM));
	r->obs.envelope_from = put(&w, col_text(st, C_EFROM));
	r->obs.spf_domain = put(&w, col_text(st, C_SPFD));
	r->obs.spf_scope = put(&w, col_text(st, C_SCOPE));
	r->obs.spf_result = put(&w, col_text(st, C_SPFR));
	r->count = (uint64_t)sqlite3_column_int64(st, C_COUNT);
	/* Each field of the dkim column needs its length plus a NUL, which
	 * the "<length>:" prefix it drops always covers. */
	const char *p = col_text(st, C_DKIM);
	while (*p != '\0') {
		struct dmarc_obs_dkim *k = &r->obs.dkim[r->obs.ndkim];
		if (r->obs.ndkim == DMARC_OBS_DKIM_MAX)
			return -1;
		k->domain = w;
		if (dkim_field(&p, &w) < 0)
			return -1;
		k->selector = w;
		if (dkim_field(&p, &w) < 0)
			return -1;
		k->result = w;
		if (dkim_field(&p, &w) < 0)
			return -1;
		r->obs.ndkim++;
	}
	return 0;
}

void dmarc_store_rows_free(struct dmarc_store_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].mem);
	free(rows);
}

int dmarc_store_rows(struct dmarc_store *s, int64_t day, const char *policy_domain,
                     struct dmarc_store_row **out, size_t *n, char *err, size_t errsize)
{
	sqlite3_stmt *st = NULL;
	struct dmarc_store_row *r = NULL;
	size_t len = 0, cap = 0;
	int rc;
	const char *why = NULL;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(
	    s->db,
	    "SELECT source_ip, disposition, dkim_pass, spf_pass, reason,"
	    " reason_comment, header_from, envelope_from, dkim, spf_domain,"
	    " spf_scope, spf_result, count FROM dmarc_rows"
	    " WHERE day = ?1 AND policy_domain = ?2"
	    " ORDER BY count DESC, source_ip, header_from, envelope_from, disposition,"
	    "  dkim_pass, spf_pass, reason, reason_comment, dkim, spf_domain,"
	    "  spf_scope, spf_result",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 1, day);
	if (rc == SQLITE_OK)
		rc = bind_t(st, 2, policy_domain);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			r = xrealloc(r, cap * sizeof(*r));
		}
		rc = SQLITE_OK;
		if (row_load(st, day, policy_domain, &r[len++]) < 0) {
			why = "malformed dkim column";
			rc = SQLITE_CORRUPT;
		}
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errsize, "dmarc store: rows of %s: %s", policy_domain,
		         why ? why : sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		pthread_mutex_unlock(&s->lock);
		dmarc_store_rows_free(r, len);
		return -1;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	*out = r;
	*n = len;
	return 0;
}
