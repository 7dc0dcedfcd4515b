/* Unit tests of the accounts store against a real SQLite state database in
 * a fresh temporary directory per test. */
#include "store/accounts.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture {
	char dir[64];
	char state_dir[96]; /* dir/state: accounts_open must create it */
	struct accounts *a;
};

static void remove_state(const struct fixture *f)
{
	static const char *const files[] = {"state.db", "state.db-wal", "state.db-shm"};
	char path[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->state_dir, files[i]);
		unlink(path);
	}
	rmdir(f->state_dir);
	rmdir(f->dir);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256] = "";

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/postern-accounts-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->dir);
	f->a = accounts_open(f->state_dir, err, sizeof(err));
	if (f->a == NULL)
		fail_msg("accounts_open: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	accounts_close(f->a);
	remove_state(f);
	free(f);
	return 0;
}

static void add(struct accounts *a, const char *address, const char *password)
{
	assert_int_equal(accounts_add(a, address, password, NULL, 0), ACCOUNTS_OK);
}

static void test_open_creates_private_state(void **state)
{
	struct fixture *f = *state;
	char path[160];
	struct stat st;

	assert_int_equal(stat(f->state_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/state.db", f->state_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_add_exists_case_insensitive(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	assert_int_equal(accounts_exists(a, "alice@example.org"), ACCOUNTS_NOT_FOUND);
	add(a, "Alice@Example.ORG", "pw1");
	assert_int_equal(accounts_exists(a, "Alice@Example.ORG"), ACCOUNTS_OK);
	assert_int_equal(accounts_exists(a, "alice@example.org"), ACCOUNTS_OK);
	assert_int_equal(accounts_exists(a, "ALICE@EXAMPLE.org"), ACCOUNTS_OK);
	assert_int_equal(accounts_exists(a, "bob@example.org"), ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_exists(a, "alice@example.net"), ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_exists(a, "alice"), ACCOUNTS_NOT_FOUND);
}

static void collect(void *arg, const char *address, const char *const *senders)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 512 - len, "%s", address);
	for (size_t i = 0; senders[i] != NULL; i++) {
		len = strlen(out);
		snprintf(out + len, 512 - len, " %s", senders[i]);
	}
	len = strlen(out);
	snprintf(out + len, 512 - len, "\n");
}

static void test_stored_form_and_list(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	const char *senders[] = {"Team@Example.ORG", "@Example.NET", "team@example.org"};
	char out[512] = "";

	assert_int_equal(accounts_add(a, "Carol@Example.ORG", "pw", senders, 3), ACCOUNTS_OK);
	add(a, "bob@example.org", "pw");
	assert_int_equal(accounts_list(a, collect, out), ACCOUNTS_OK);
	/* The domain is lower-cased, the local part kept; the duplicate sender
	 * is stored once. */
	assert_string_equal(out, "bob@example.org\n"
	                         "Carol@example.org @example.net Team@example.org\n");
}

static void test_list_empty(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	char out[512] = "";

	assert_int_equal(accounts_list(a, collect, out), ACCOUNTS_OK);
	assert_string_equal(out, "");
}

static void test_hash_is_yescrypt(void **state)
{
	struct fixture *f = *state;
	char path[160];
	sqlite3 *db;
	sqlite3_stmt *st;

	add(f->a, "dave@example.org", "secret-password");
	snprintf(path, sizeof(path), "%s/state.db", f->state_dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT hash, created FROM accounts", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_memory_equal(sqlite3_column_text(st, 0), "$y$", 3);
	assert_null(strstr((const char *)sqlite3_column_text(st, 0), "secret"));
	assert_true(sqlite3_column_int64(st, 1) > 1600000000);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_duplicate(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	add(a, "alice@example.org", "pw1");
	assert_int_equal(accounts_add(a, "alice@example.org", "pw2", NULL, 0), ACCOUNTS_EXISTS);
	assert_int_equal(accounts_add(a, "ALICE@example.ORG", "pw2", NULL, 0), ACCOUNTS_EXISTS);
	/* The refused add did not replace the password. */
	assert_int_equal(accounts_authenticate(a, "alice@example.org", "pw1"), ACCOUNTS_OK);
}

static void test_delete(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	const char *senders[] = {"team@example.org"};

	assert_int_equal(accounts_add(a, "alice@example.org", "pw", senders, 1), ACCOUNTS_OK);
	add(a, "bob@example.org", "pw");
	assert_int_equal(accounts_delete(a, "Alice@EXAMPLE.org"), ACCOUNTS_OK);
	assert_int_equal(accounts_exists(a, "alice@example.org"), ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_exists(a, "bob@example.org"), ACCOUNTS_OK);
	assert_int_equal(accounts_delete(a, "alice@example.org"), ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_authenticate(a, "alice@example.org", "pw"), ACCOUNTS_NOT_FOUND);
	/* Its senders went with it: a new account of that name starts clean. */
	add(a, "alice@example.org", "pw");
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "team@example.org"),
	                 ACCOUNTS_NOT_FOUND);
}

static void test_passwd(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	add(a, "alice@example.org", "old");
	assert_int_equal(accounts_set_password(a, "alice@EXAMPLE.ORG", "new"), ACCOUNTS_OK);
	assert_int_equal(accounts_authenticate(a, "alice@example.org", "old"),
	                 ACCOUNTS_BAD_PASSWORD);
	assert_int_equal(accounts_authenticate(a, "alice@example.org", "new"), ACCOUNTS_OK);
	assert_int_equal(accounts_set_password(a, "nobody@example.org", "x"), ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_set_password(a, "alice@example.org", ""), ACCOUNTS_INVALID);
	assert_int_equal(accounts_authenticate(a, "alice@example.org", "new"), ACCOUNTS_OK);
}

static void test_authenticate(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	add(a, "Alice@example.org", "correct horse");
	assert_int_equal(accounts_authenticate(a, "Alice@example.org", "correct horse"),
	                 ACCOUNTS_OK);
	assert_int_equal(accounts_authenticate(a, "alice@EXAMPLE.ORG", "correct horse"),
	                 ACCOUNTS_OK);
	assert_int_equal(accounts_authenticate(a, "alice@example.org", "correct hors"),
	                 ACCOUNTS_BAD_PASSWORD);
	assert_int_equal(accounts_authenticate(a, "alice@example.org", "correct horse "),
	                 ACCOUNTS_BAD_PASSWORD);
	assert_int_equal(accounts_authenticate(a, "alice@example.org", "Correct horse"),
	                 ACCOUNTS_BAD_PASSWORD);
	assert_int_equal(accounts_authenticate(a, "alice@example.org", ""), ACCOUNTS_INVALID);
	assert_int_equal(accounts_authenticate(a, "bob@example.org", "correct horse"),
	                 ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_authenticate(a, "alice", "correct horse"), ACCOUNTS_NOT_FOUND);
}

static void test_long_password(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	char pw[ACCOUNTS_PASSWORD_MAX + 2];

	memset(pw, 'p', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	assert_int_equal(accounts_add(a, "alice@example.org", pw, NULL, 0), ACCOUNTS_INVALID);
	assert_int_equal(accounts_exists(a, "alice@example.org"), ACCOUNTS_NOT_FOUND);
	pw[ACCOUNTS_PASSWORD_MAX] = '\0';
	add(a, "alice@example.org", pw);
	assert_int_equal(accounts_authenticate(a, "alice@example.org", pw), ACCOUNTS_OK);
	pw[ACCOUNTS_PASSWORD_MAX - 1] = 'q';
	assert_int_equal(accounts_authenticate(a, "alice@example.org", pw), ACCOUNTS_BAD_PASSWORD);
}

static void test_senders(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	const char *senders[] = {"team@example.org"};

	assert_int_equal(accounts_add(a, "alice@example.org", "pw", senders, 1), ACCOUNTS_OK);
	add(a, "bob@example.org", "pw");
	/* Its own address, in any case. */
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "alice@example.org"),
	                 ACCOUNTS_OK);
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "ALICE@Example.Org"),
	                 ACCOUNTS_OK);
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "Team@EXAMPLE.org"),
	                 ACCOUNTS_OK);
	/* Someone else's address, or a sender granted to someone else. */
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "bob@example.org"),
	                 ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_sender_allowed(a, "bob@example.org", "team@example.org"),
	                 ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "team@example.net"),
	                 ACCOUNTS_NOT_FOUND);
	/* Unknown user, even for "its own" address; malformed sender. */
	assert_int_equal(accounts_sender_allowed(a, "carol@example.org", "carol@example.org"),
	                 ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", ""), ACCOUNTS_INVALID);
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "@example.org"),
	                 ACCOUNTS_INVALID);

	assert_int_equal(accounts_add_sender(a, "BOB@example.org", "sales@example.org"),
	                 ACCOUNTS_OK);
	assert_int_equal(accounts_add_sender(a, "bob@example.org", "Sales@Example.org"),
	                 ACCOUNTS_EXISTS);
	assert_int_equal(accounts_sender_allowed(a, "bob@example.org", "sales@example.org"),
	                 ACCOUNTS_OK);
	assert_int_equal(accounts_add_sender(a, "carol@example.org", "sales@example.org"),
	                 ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_add_sender(a, "bob@example.org", "sales"), ACCOUNTS_INVALID);
}

static void test_wildcard_sender(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;

	add(a, "alice@example.org", "pw");
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "anyone@lists.example"),
	                 ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_add_sender(a, "alice@example.org", "@Lists.Example"),
	                 ACCOUNTS_OK);
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "anyone@lists.example"),
	                 ACCOUNTS_OK);
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "Other@LISTS.example"),
	                 ACCOUNTS_OK);
	/* Exactly that domain: neither a subdomain nor a suffix match. */
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "x@sub.lists.example"),
	                 ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "x@otherlists.example"),
	                 ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_sender_allowed(a, "alice@example.org", "x@example.org"),
	                 ACCOUNTS_NOT_FOUND);
}

static void test_invalid_addresses(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	static const char *const bad[] = {
	    "",           "alice",          "@example.org",    "alice@",     "a@b@example.org",
	    "a b@x.y",    "alice@exa mple", "alice\t@example", "al\x7f@x.y", "alice@x.y\n",
	    "alice@@x.y",
	};
	const char *bad_sender[] = {"ok@example.org", "bad sender@example.org"};
	char long_addr[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(accounts_add(a, bad[i], "pw", NULL, 0), ACCOUNTS_INVALID);
		assert_int_equal(accounts_exists(a, bad[i]), ACCOUNTS_NOT_FOUND);
	}
	/* 254 bytes is the longest address; 255 is refused. */
	memset(long_addr, 'a', sizeof(long_addr));
	memcpy(long_addr + 254 - 12, "@example.org", 13);
	add(a, long_addr, "pw");
	memset(long_addr, 'a', sizeof(long_addr));
	memcpy(long_addr + 255 - 12, "@example.org", 13);
	assert_int_equal(accounts_add(a, long_addr, "pw", NULL, 0), ACCOUNTS_INVALID);

	assert_int_equal(accounts_add(a, "alice@example.org", "", NULL, 0), ACCOUNTS_INVALID);
	assert_int_equal(accounts_add(a, "alice@example.org", "pw", bad_sender, 2),
	                 ACCOUNTS_INVALID);
	/* Nothing of a refused add was stored. */
	assert_int_equal(accounts_exists(a, "alice@example.org"), ACCOUNTS_NOT_FOUND);
	assert_int_equal(accounts_delete(a, "alice"), ACCOUNTS_INVALID);
}

static void test_reopen_keeps_accounts(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";

	add(f->a, "alice@example.org", "pw");
	assert_int_equal(accounts_add_sender(f->a, "alice@example.org", "@example.net"),
	                 ACCOUNTS_OK);
	accounts_close(f->a);
	f->a = accounts_open(f->state_dir, err, sizeof(err));
	assert_non_null(f->a);
	assert_int_equal(accounts_authenticate(f->a, "alice@example.org", "pw"), ACCOUNTS_OK);
	assert_int_equal(accounts_sender_allowed(f->a, "alice@example.org", "x@example.net"),
	                 ACCOUNTS_OK);
}

static void test_open_failure(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(accounts_open("/nonexistent-postern-dir/state", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-postern-dir/state"));
}

#define THREADS 4
#define ROUNDS 3

struct worker {
	struct accounts *a;
	int index;
	int failures;
};

static void *auth_worker(void *arg)
{
	struct worker *w = arg;
	char user[64];

	/* Every thread checks its own account and a shared one, both with the
	 * right and a wrong password, while the others do the same. */
	snprintf(user, sizeof(user), "user%d@example.org", w->index);
	for (int i = 0; i < ROUNDS; i++) {
		if (accounts_authenticate(w->a, user, "pw") != ACCOUNTS_OK)
			w->failures++;
		if (accounts_authenticate(w->a, "shared@example.org", "shared") != ACCOUNTS_OK)
			w->failures++;
		if (accounts_authenticate(w->a, user, "shared") != ACCOUNTS_BAD_PASSWORD)
			w->failures++;
		if (accounts_exists(w->a, "shared@example.org") != ACCOUNTS_OK)
			w->failures++;
		if (accounts_sender_allowed(w->a, user, user) != ACCOUNTS_OK)
			w->failures++;
	}
	return NULL;
}

static void test_concurrent_authenticate(void **state)
{
	struct accounts *a = ((struct fixture *)*state)->a;
	pthread_t tids[THREADS];
	struct worker workers[THREADS];
	char user[64];

	add(a, "shared@example.org", "shared");
	for (int i = 0; i < THREADS; i++) {
		snprintf(user, sizeof(user), "user%d@example.org", i);
		add(a, user, "pw");
	}
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){.a = a, .index = i};
		assert_int_equal(pthread_create(&tids[i], NULL, auth_worker, &workers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(tids[i], NULL), 0);
		assert_int_equal(workers[i].failures, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_creates_private_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_exists_case_insensitive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stored_form_and_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hash_is_yescrypt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_passwd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authenticate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_password, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_senders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wildcard_sender, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_addresses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_accounts, setup, teardown),
	    cmocka_unit_test(test_open_failure),
	    cmocka_unit_test_setup_teardown(test_concurrent_authenticate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
