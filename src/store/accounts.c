/* Accounts in the SQLite state database: yescrypt password hashes and the
 * senders each account may use, behind one connection shared by threads. */
#include "store/accounts.h"
#include "store/statedb.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* RFC 5321 section 4.5.3.1.3 limits a path to 256 octets including the
 * angle brackets, which leaves 254 for the address itself. */
#define ADDR_MAX 254
#define ADDR_BUF (ADDR_MAX + 1)

/* Both columns compare case-insensitively, so that "Bob@Example.org" and
 * "bob@example.org" are one account and one sender. */
static const char schema[] = "CREATE TABLE IF NOT EXISTS accounts("
                             " address TEXT PRIMARY KEY COLLATE NOCASE,"
                             " hash TEXT NOT NULL,"
                             " created INTEGER NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS senders("
                             " account TEXT NOT NULL COLLATE NOCASE,"
                             " address TEXT NOT NULL COLLATE NOCASE,"
                             " PRIMARY KEY(account, address));";

struct accounts {
	sqlite3 *db;
	/* SQLite serializes single calls on the connection (FULLMUTEX), but a
	 * statement's bind/step/reset sequence and a BEGIN...COMMIT span many
	 * calls, and other threads must not run inside them. */
	pthread_mutex_t lock;
	/* The statements SMTP sessions run on every RCPT, AUTH and MAIL. */
	sqlite3_stmt *st_exists;
	sqlite3_stmt *st_hash;
	sqlite3_stmt *st_sender;
	/* A yescrypt setting to hash against when the user is unknown, so that
	 * the time taken does not tell which accounts exist. */
	char dummy_setting[CRYPT_GENSALT_OUTPUT_SIZE];
};

/* Copies in to out (ADDR_BUF bytes) with its domain lower-cased.  Returns
 * 0, or -1 when in is not an address: exactly one '@', a non-empty local
 * part and domain, no space or control character, at most ADDR_MAX bytes.
 * With wildcard, "@domain" is accepted too: as a sender it means any
 * address in that domain. */
static int addr_normalize(const char *in, char *out, int wildcard)
{
	size_t len = strnlen(in, ADDR_BUF);
	size_t at = len;

	if (len == 0 || len > ADDR_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= ' ' || c == 0x7f)
			return -1;
		if (c == '@') {
			if (at != len)
				return -1;
			at = i;
		}
	}
	if (at == len || at + 1 == len || (at == 0 && !wildcard))
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		/* ASCII only, like NOCASE: the locale must not change a key. */
		out[i] = (i > at && c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	return 0;
}

/* libxcrypt refuses passphrases of CRYPT_MAX_PASSPHRASE_SIZE bytes or more
 * counting the NUL. */
_Static_assert(ACCOUNTS_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE, "password limit");

/* An empty password would let anyone in. */
static int password_valid(const char *password)
{
	size_t len = strnlen(password, ACCOUNTS_PASSWORD_MAX + 1);
	return len > 0 && len <= ACCOUNTS_PASSWORD_MAX;
}

/* Hashes password with setting (a crypt_gensalt result or a stored hash)
 * into out.  Returns 0 or -1.  struct crypt_data is 32 KiB: too big for a
 * pool thread's stack, and one per call so that threads never share it. */
static int crypt_hash(const char *password, const char *setting, char *out, size_t outsize)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	int rc = -1;

	/* Failure is NULL or, in some builds, a token starting with '*'. */
	if (h != NULL && h[0] != '*' && strlen(h) < outsize) {
		memcpy(out, h, strlen(h) + 1);
		rc = 0;
	}
	/* It held the password. */
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return rc;
}

static int hash_new(const char *password, char *out, size_t outsize)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	/* NULL random bytes: libxcrypt reads the system's random source. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) == NULL) {
		log_err("event=accounts_error op=gensalt error=\"%s\"", strerror(errno));
		return -1;
	}
	if (crypt_hash(password, setting, out, outsize) < 0) {
		log_err("event=accounts_error op=crypt");
		return -1;
	}
	return 0;
}

/* Logs the connection's last error; call with the lock held, before the
 * next call on the connection replaces the message. */
static enum accounts_status db_fail(struct accounts *a, const char *op)
{
	log_err("event=accounts_error op=%s error=\"%s\"", op, sqlite3_errmsg(a->db));
	return ACCOUNTS_ERROR;
}

static int bind_texts(sqlite3_stmt *st, const char *const *params, int n)
{
	for (int i = 0; i < n; i++) {
		int rc = sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Runs one statement that returns no row, with params bound as ?1..?n.
 * Returns the primary result code: SQLITE_DONE on success. */
static int db_exec(struct accounts *a, const char *sql, const char *const *params, int n)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(a->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = bind_texts(st, params, n);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc & 0xff;
}

/* Steps a cached statement once after binding; the caller reads the row,
 * then calls stmt_done. */
static int stmt_run(sqlite3_stmt *st, const char *const *params, int n)
{
	int rc = bind_texts(st, params, n);
	return rc == SQLITE_OK ? sqlite3_step(st) : rc;
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Writes take the database's write lock up front: a deferred transaction
 * that later upgrades can fail with SQLITE_BUSY without waiting. */
static int tx_begin(struct accounts *a)
{
	return sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static enum accounts_status tx_end(struct accounts *a, enum accounts_status st, const char *op)
{
	if (st == ACCOUNTS_OK && sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		st = db_fail(a, op);
	if (st != ACCOUNTS_OK)
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return st;
}

static int prepare_cached(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
}

struct accounts *accounts_open(const char *state_dir, char *err, size_t errsize)
{
	struct accounts *a;
	sqlite3 *db = statedb_open(state_dir, err, errsize);

	if (db == NULL)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	a->db = db;
	if (sqlite3_exec(a->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    prepare_cached(a->db, "SELECT 1 FROM accounts WHERE address = ?1", &a->st_exists) ||
	    prepare_cached(a->db, "SELECT hash FROM accounts WHERE address = ?1", &a->st_hash) ||
	    prepare_cached(a->db,
	                   "SELECT EXISTS(SELECT 1 FROM accounts WHERE address = ?1),"
	                   " ?1 = ?2 COLLATE NOCASE OR EXISTS(SELECT 1 FROM senders"
	                   "  WHERE account = ?1 AND address IN (?2, ?3))",
	                   &a->st_sender)) {
		snprintf(err, errsize, "cannot set up %s/state.db: %s", state_dir,
		         sqlite3_errmsg(a->db));
		accounts_close(a);
		return NULL;
	}
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, a->dummy_setting, sizeof(a->dummy_setting)) ==
	    NULL) {
		snprintf(err, errsize, "cannot make a yescrypt salt: %s", strerror(errno));
		accounts_close(a);
		return NULL;
	}
	return a;
}

void accounts_close(struct accounts *a)
{
	if (a == NULL)
		return;
	sqlite3_finalize(a->st_exists);
	sqlite3_finalize(a->st_hash);
	sqlite3_finalize(a->st_sender);
	sqlite3_close(a->db);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

enum accounts_status accounts_add(struct accounts *a, const char *address, const char *password,
                                  const char *const *senders, size_t nsenders)
{
	char addr[ADDR_BUF], sender[ADDR_BUF];
	char hash[CRYPT_OUTPUT_SIZE];
	enum accounts_status st = ACCOUNTS_OK;
	int rc;

	if (addr_normalize(address, addr, 0) < 0 || !password_valid(password))
		return ACCOUNTS_INVALID;
	for (size_t i = 0; i < nsenders; i++)
		if (addr_normalize(senders[i], sender, 1) < 0)
			return ACCOUNTS_INVALID;
	/* Hashing is slow by design: do it before taking the lock. */
	if (hash_new(password, hash, sizeof(hash)) < 0)
		return ACCOUNTS_ERROR;

	pthread_mutex_lock(&a->lock);
	if (tx_begin(a) < 0) {
		st = db_fail(a, "add");
		pthread_mutex_unlock(&a->lock);
		return st;
	}
	rc = db_exec(a,
	             "INSERT INTO accounts(address, hash, created)"
	             " VALUES(?1, ?2, CAST(strftime('%s', 'now') AS INTEGER))",
	             (const char *[]){addr, hash}, 2);
	if (rc == SQLITE_CONSTRAINT)
		st = ACCOUNTS_EXISTS;
	else if (rc != SQLITE_DONE)
		st = db_fail(a, "add");
	for (size_t i = 0; st == ACCOUNTS_OK && i < nsenders; i++) {
		addr_normalize(senders[i], sender, 1);
		/* A sender listed twice is still one permission. */
		if (db_exec(a, "INSERT OR IGNORE INTO senders(account, address) VALUES(?1, ?2)",
		            (const char *[]){addr, sender}, 2) != SQLITE_DONE)
			st = db_fail(a, "add");
	}
	st = tx_end(a, st, "add");
	pthread_mutex_unlock(&a->lock);
	return st;
}

enum accounts_status accounts_delete(struct accounts *a, const char *address)
{
	char addr[ADDR_BUF];
	enum accounts_status st = ACCOUNTS_OK;

	if (addr_normalize(address, addr, 0) < 0)
		return ACCOUNTS_INVALID;
	pthread_mutex_lock(&a->lock);
	if (tx_begin(a) < 0) {
		st = db_fail(a, "delete");
		pthread_mutex_unlock(&a->lock);
		return st;
	}
	if (db_exec(a, "DELETE FROM senders WHERE account = ?1", (const char *[]){addr}, 1) !=
	        SQLITE_DONE ||
	    db_exec(a, "DELETE FROM accounts WHERE address = ?1", (const char *[]){addr}, 1) !=
	        SQLITE_DONE)
		st = db_fail(a, "delete");
	else if (sqlite3_changes(a->db) == 0)
		st = ACCOUNTS_NOT_FOUND;
	st = tx_end(a, st, "delete");
	pthread_mutex_unlock(&a->lock);
	return st;
}

enum accounts_status accounts_set_password(struct accounts *a, const char *address,
                                           const char *password)
{
	char addr[ADDR_BUF];
	char hash[CRYPT_OUTPUT_SIZE];
	enum accounts_status st = ACCOUNTS_OK;

	if (addr_normalize(address, addr, 0) < 0 || !password_valid(password))
		return ACCOUNTS_INVALID;
	if (hash_new(password, hash, sizeof(hash)) < 0)
		return ACCOUNTS_ERROR;
	pthread_mutex_lock(&a->lock);
	if (db_exec(a, "UPDATE accounts SET hash = ?2 WHERE address = ?1",
	            (const char *[]){addr, hash}, 2) != SQLITE_DONE)
		st = db_fail(a, "passwd");
	else if (sqlite3_changes(a->db) == 0)
		st = ACCOUNTS_NOT_FOUND;
	pthread_mutex_unlock(&a->lock);
	return st;
}

enum accounts_status accounts_add_sender(struct accounts *a, const char *address,
                                         const char *sender)
{
	char addr[ADDR_BUF], snd[ADDR_BUF];
	enum accounts_status st = ACCOUNTS_OK;
	int rc;

	if (addr_normalize(address, addr, 0) < 0 || addr_normalize(sender, snd, 1) < 0)
		return ACCOUNTS_INVALID;
	pthread_mutex_lock(&a->lock);
	/* One statement checks that the account exists and records the
	 * sender under the account's address as stored. */
	rc = db_exec(a,
	             "INSERT INTO senders(account, address)"
	             " SELECT address, ?2 FROM accounts WHERE address = ?1",
	             (const char *[]){addr, snd}, 2);
	if (rc == SQLITE_CONSTRAINT)
		st = ACCOUNTS_EXISTS;
	else if (rc != SQLITE_DONE)
		st = db_fail(a, "add_sender");
	else if (sqlite3_changes(a->db) == 0)
		st = ACCOUNTS_NOT_FOUND;
	pthread_mutex_unlock(&a->lock);
	return st;
}

struct list_entry {
	char *address;
	char **senders; /* NULL-terminated */
	size_t nsenders;
};

static void list_free(struct list_entry *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < list[i].nsenders; j++)
			free(list[i].senders[j]);
		free(list[i].senders);
		free(list[i].address);
	}
	free(list);
}

/* Reads every account into memory, so that fn runs without the lock and
 * may call back into this module. */
static enum accounts_status list_read(struct accounts *a, struct list_entry **out, size_t *nout)
{
	sqlite3_stmt *st = NULL;
	struct list_entry *list = NULL, *e = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (sqlite3_prepare_v2(a->db,
	                       "SELECT a.address, s.address FROM accounts a"
	                       " LEFT JOIN senders s ON s.account = a.address"
	                       " ORDER BY a.address, s.address",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_fail(a, "list");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *addr = (const char *)sqlite3_column_text(st, 0);
		const char *sender = (const char *)sqlite3_column_text(st, 1);
		/* The join gives one row per sender, grouped by account. */
		if (e == NULL || strcmp(e->address, addr) != 0) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				list = xrealloc(list, cap * sizeof(*list));
			}
			e = &list[n++];
			e->address = xstrdup(addr);
			e->senders = xcalloc(1, sizeof(*e->senders));
			e->nsenders = 0;
		}
		if (sender != NULL) {
			e->senders = xrealloc(e->senders, (e->nsenders + 2) * sizeof(*e->senders));
			e->senders[e->nsenders++] = xstrdup(sender);
			e->senders[e->nsenders] = NULL;
		}
	}
	if (rc != SQLITE_DONE) {
		enum accounts_status fail = db_fail(a, "list");
		sqlite3_finalize(st);
		list_free(list, n);
		return fail;
	}
	sqlite3_finalize(st);
	*out = list;
	*nout = n;
	return ACCOUNTS_OK;
}

enum accounts_status
accounts_list(struct accounts *a,
              void (*fn)(void *arg, const char *address, const char *const *senders), void *arg)
{
	struct list_entry *list = NULL;
	size_t n = 0;
	enum accounts_status st;

	pthread_mutex_lock(&a->lock);
	st = list_read(a, &list, &n);
	pthread_mutex_unlock(&a->lock);
	if (st != ACCOUNTS_OK)
		return st;
	for (size_t i = 0; i < n; i++)
		fn(arg, list[i].address, (const char *const *)list[i].senders);
	list_free(list, n);
	return ACCOUNTS_OK;
}

enum accounts_status accounts_exists(struct accounts *a, const char *address)
{
	char addr[ADDR_BUF];
	enum accounts_status st;
	int rc;

	if (addr_normalize(address, addr, 0) < 0)
		return ACCOUNTS_NOT_FOUND;
	pthread_mutex_lock(&a->lock);
	rc = stmt_run(a->st_exists, (const char *[]){addr}, 1);
	if (rc == SQLITE_ROW)
		st = ACCOUNTS_OK;
	else if (rc == SQLITE_DONE)
		st = ACCOUNTS_NOT_FOUND;
	else
		st = db_fail(a, "exists");
	stmt_done(a->st_exists);
	pthread_mutex_unlock(&a->lock);
	return st;
}

/* Copies the stored hash of addr into out. */
static enum accounts_status hash_lookup(struct accounts *a, const char *addr, char *out,
                                        size_t outsize)
{
	enum accounts_status st;
	int rc;

	pthread_mutex_lock(&a->lock);
	rc = stmt_run(a->st_hash, (const char *[]){addr}, 1);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(a->st_hash, 0);
		st = ACCOUNTS_OK;
		if (h == NULL || strlen(h) >= outsize) {
			log_err("event=accounts_error op=authenticate user=%s error=\"bad hash\"",
			        addr);
			st = ACCOUNTS_ERROR;
		} else {
			memcpy(out, h, strlen(h) + 1);
		}
	} else if (rc == SQLITE_DONE) {
		st = ACCOUNTS_NOT_FOUND;
	} else {
		st = db_fail(a, "authenticate");
	}
	stmt_done(a->st_hash);
	pthread_mutex_unlock(&a->lock);
	return st;
}

enum accounts_status accounts_authenticate(struct accounts *a, const char *user,
                                           const char *password)
{
	char addr[ADDR_BUF];
	char stored[CRYPT_OUTPUT_SIZE], computed[CRYPT_OUTPUT_SIZE];
	enum accounts_status st;
	size_t len;

	if (!password_valid(password))
		return ACCOUNTS_INVALID;
	st = addr_normalize(user, addr, 0) < 0 ? ACCOUNTS_NOT_FOUND
	                                       : hash_lookup(a, addr, stored, sizeof(stored));
	if (st == ACCOUNTS_NOT_FOUND) {
		/* Take as long as for a real account. */
		crypt_hash(password, a->dummy_setting, computed, sizeof(computed));
		return st;
	}
	if (st != ACCOUNTS_OK)
		return st;
	/* The stored hash carries its own algorithm, cost and salt. */
	if (crypt_hash(password, stored, computed, sizeof(computed)) < 0) {
		log_err("event=accounts_error op=authenticate user=%s error=\"crypt failed\"",
		        addr);
		return ACCOUNTS_ERROR;
	}
	/* Lengths are not secret; the bytes are compared in constant time. */
	len = strlen(stored);
	if (strlen(computed) != len || CRYPTO_memcmp(stored, computed, len) != 0)
		return ACCOUNTS_BAD_PASSWORD;
	return ACCOUNTS_OK;
}

enum accounts_status accounts_sender_allowed(struct accounts *a, const char *user,
                                             const char *sender)
{
	char addr[ADDR_BUF], snd[ADDR_BUF];
	const char *domain;
	enum accounts_status st;
	int rc;

	if (addr_normalize(sender, snd, 0) < 0)
		return ACCOUNTS_INVALID;
	if (addr_normalize(user, addr, 0) < 0)
		return ACCOUNTS_NOT_FOUND;
	/* The account's own address is always allowed (compared as the
	 * accounts table compares it), and "@domain" in senders allows every
	 * address in the domain. */
	domain = strchr(snd, '@');
	pthread_mutex_lock(&a->lock);
	rc = stmt_run(a->st_sender, (const char *[]){addr, snd, domain}, 3);
	if (rc != SQLITE_ROW)
		st = db_fail(a, "sender_allowed");
	else if (sqlite3_column_int(a->st_sender, 0) == 0)
		st = ACCOUNTS_NOT_FOUND;
	else if (sqlite3_column_int(a->st_sender, 1) != 0)
		st = ACCOUNTS_OK;
	else
		st = ACCOUNTS_NOT_FOUND;
	stmt_done(a->st_sender);
	pthread_mutex_unlock(&a->lock);
	return st;
}

const char *accounts_status_text(enum accounts_status st)
{
	switch (st) {
	case ACCOUNTS_OK:
		return "ok";
	case ACCOUNTS_NOT_FOUND:
		return "not found";
	case ACCOUNTS_EXISTS:
		return "already exists";
	case ACCOUNTS_BAD_PASSWORD:
		return "wrong password";
	case ACCOUNTS_INVALID:
		return "invalid address or password";
	case ACCOUNTS_ERROR:
		return "database or crypt error";
	}
	return "unknown status";
}
