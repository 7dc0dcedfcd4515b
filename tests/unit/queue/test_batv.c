/* Unit tests of BATV prvs tags and of the key files behind them and SRS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/batv.h"
#include "queue/hmac_key.h"

/* Noon of day d since the epoch. */
#define DAY(d) ((time_t)86400 * (d) + 43200)

static const unsigned char key[HMAC_KEY_LEN] = {
    1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

static enum batv_result check(const char *addr, time_t now, char *orig)
{
	return batv_check(key, addr, now, 7, orig, 300);
}

static void test_sign_known_construction(void **state)
{
	char out[300], expect[300];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	const char *msg = "0345alice@example.org";
	(void)state;

	/* Day 20345 is DDD 345; the HMAC covers "KDDD" and the address. */
	assert_int_equal(batv_sign(key, "alice@example.org", DAY(20345), out, sizeof(out)), 0);
	assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)msg,
	                     strlen(msg), md, &mdlen));
	snprintf(expect, sizeof(expect), "prvs=0345%02x%02x%02x=alice@example.org", md[0], md[1],
	         md[2]);
	assert_string_equal(out, expect);
	/* The domain is hashed in lower case and written as given. */
	assert_int_equal(batv_sign(key, "alice@EXAMPLE.Org", DAY(20345), out, sizeof(out)), 0);
	assert_int_equal(strncmp(out, expect, 16), 0);
	assert_string_equal(out + 16, "alice@EXAMPLE.Org");
}

static void test_round_trip(void **state)
{
	const char *addrs[] = {"alice@example.org", "a.b+c=d@sub.example.net",
	                       "prvs=nested@example.org", "\xc3\xa9l\xc3\xa8ve@example.org"};
	char out[300], orig[300];
	(void)state;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		assert_int_equal(batv_sign(key, addrs[i], DAY(20000), out, sizeof(out)), 0);
		assert_int_equal(strlen(out), strlen(addrs[i]) + BATV_TAG_LEN);
		assert_int_equal(check(out, DAY(20000), orig), BATV_VALID);
		assert_string_equal(orig, addrs[i]);
	}
}

static void test_expiry(void **state)
{
	char out[300], orig[300];
	(void)state;

	assert_int_equal(batv_sign(key, "bob@example.org", DAY(20100), out, sizeof(out)), 0);
	assert_int_equal(check(out, DAY(20107), orig), BATV_VALID);
	assert_int_equal(check(out, DAY(20108), orig), BATV_EXPIRED);
	/* Expired is still ours: the caller learns which address it was. */
	assert_string_equal(orig, "bob@example.org");
	assert_int_equal(batv_check(key, out, DAY(20108), 8, orig, sizeof(orig)), BATV_VALID);
	assert_int_equal(batv_check(key, out, DAY(20100), 0, orig, sizeof(orig)), BATV_VALID);
	assert_int_equal(batv_check(key, out, DAY(20101), 0, orig, sizeof(orig)), BATV_EXPIRED);
	/* A tag of tomorrow is 999 days old. */
	assert_int_equal(check(out, DAY(20099), orig), BATV_EXPIRED);
	/* The first and last second of the day of signing. */
	assert_int_equal(check(out, (time_t)20100 * 86400, orig), BATV_VALID);
	assert_int_equal(check(out, (time_t)20108 * 86400 - 1, orig), BATV_VALID);
	assert_int_equal(check(out, (time_t)20108 * 86400, orig), BATV_EXPIRED);
}

static void test_day_wraps(void **state)
{
	char out[300], orig[300];
	(void)state;

	/* Day 19999 is DDD 999; four days later DDD is 003. */
	assert_int_equal(batv_sign(key, "carol@example.org", DAY(19999), out, sizeof(out)), 0);
	assert_int_equal(strncmp(out, "prvs=0999", 9), 0);
	assert_int_equal(check(out, DAY(20003), orig), BATV_VALID);
	assert_int_equal(check(out, DAY(20006), orig), BATV_VALID);
	assert_int_equal(check(out, DAY(20007), orig), BATV_EXPIRED);
	assert_int_equal(batv_sign(key, "carol@example.org", DAY(20000), out, sizeof(out)), 0);
	assert_int_equal(strncmp(out, "prvs=0000", 9), 0);
	assert_int_equal(check(out, DAY(20000), orig), BATV_VALID);
}

static void test_tampered(void **state)
{
	static const unsigned char other[HMAC_KEY_LEN] = {9};
	char out[300], bad[300], orig[300];
	(void)state;

	assert_int_equal(batv_sign(key, "dave@example.org", DAY(20000), out, sizeof(out)), 0);
	/* Every hex digit of the hash, and every digit of the day. */
	for (size_t i = 6; i < 15; i++) {
		strcpy(bad, out);
		bad[i] = bad[i] == '1' ? '2' : '1';
		assert_int_equal(check(bad, DAY(20000), orig), BATV_BAD);
		assert_string_equal(orig, "");
	}
	strcpy(bad, out);
	bad[16] = 'e'; /* "eave@" */
	assert_int_equal(check(bad, DAY(20000), orig), BATV_BAD);
	strcpy(bad, out);
	strcpy(bad + strlen(bad) - 3, "net");
	assert_int_equal(check(bad, DAY(20000), orig), BATV_BAD);
	assert_int_equal(batv_check(other, out, DAY(20000), 7, orig, sizeof(orig)), BATV_BAD);
	/* Only key number 0 is ours. */
	strcpy(bad, out);
	bad[5] = '1';
	assert_int_equal(check(bad, DAY(20000), orig), BATV_BAD);
}

static void test_case(void **state)
{
	char out[300], var[300], orig[300];
	(void)state;

	assert_int_equal(batv_sign(key, "Erin@Example.org", DAY(20000), out, sizeof(out)), 0);
	/* The prefix and the hex in any case, the domain in any case. */
	strcpy(var, out);
	for (size_t i = 0; i < BATV_TAG_LEN; i++)
		var[i] = (char)(var[i] >= 'a' && var[i] <= 'z' ? var[i] - 32 : var[i]);
	assert_int_equal(strncmp(var, "PRVS=0", 6), 0);
	assert_int_equal(check(var, DAY(20000), orig), BATV_VALID);
	assert_string_equal(orig, "Erin@Example.org");
	strcpy(var, out);
	memcpy(var + strlen(var) - 11, "EXAMPLE.ORG", 11);
	assert_int_equal(check(var, DAY(20000), orig), BATV_VALID);
	assert_string_equal(orig, "Erin@EXAMPLE.ORG");
	/* The local part is hashed as it stands. */
	strcpy(var, out);
	var[BATV_TAG_LEN] = 'e';
	assert_int_equal(check(var, DAY(20000), orig), BATV_BAD);
}

static void test_malformed(void **state)
{
	char long_addr[400], orig[300];
	const char *bad[] = {
	    "prvs=",
	    "PRVS=",
	    "prvs=0000abcdef",
	    "prvs=0000abcdef=",
	    "prvs=0000abcdef=@example.org",
	    "prvs=0000abcdef=user@",
	    "prvs=0000abcdef=user",
	    "prvs=0000abcdefuser@example.org",
	    "prvs=000abcdef=user@example.org",
	    "prvs=0000abcdeg=user@example.org",
	    "prvs=0a00abcdef=user@example.org",
	    "prvs=0000abcdef0=user@example.org",
	    "prvs=x000abcdef=user@example.org",
	};
	const char *none[] = {"", "user@example.org", "prv=0000abcdef=user@example.org",
	                      "prvsx0000abcdef=user@example.org", "xprvs=0000abcdef=u@example.org"};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(orig, "junk");
		assert_int_equal(check(bad[i], DAY(20000), orig), BATV_BAD);
		assert_string_equal(orig, "");
	}
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		strcpy(orig, "junk");
		assert_int_equal(check(none[i], DAY(20000), orig), BATV_NONE);
		assert_string_equal(orig, "");
	}
	/* Longer than any path: refused before it is hashed. */
	memset(long_addr, 'a', sizeof(long_addr));
	memcpy(long_addr, "prvs=0000abcdef=", BATV_TAG_LEN);
	strcpy(long_addr + 380, "@example.org");
	assert_int_equal(check(long_addr, DAY(20000), orig), BATV_BAD);
}

static void test_sign_limits(void **state)
{
	char addr[300], out[300], orig[300];
	(void)state;

	/* RFC 5321 4.5.3.1.1: 48 octets of local part leave room for the tag. */
	memset(addr, 'l', 48);
	strcpy(addr + 48, "@example.org");
	assert_int_equal(batv_sign(key, addr, DAY(20000), out, sizeof(out)), 0);
	assert_int_equal(strchr(out, '@') - out, 64);
	assert_int_equal(check(out, DAY(20000), orig), BATV_VALID);
	memset(addr, 'l', 49);
	strcpy(addr + 49, "@example.org");
	strcpy(out, "junk");
	assert_int_equal(batv_sign(key, addr, DAY(20000), out, sizeof(out)), -1);
	assert_string_equal(out, "");

	/* RFC 5321 4.5.3.1.3: 256 octets with the brackets, so 254 for the
	 * tagged address: a 238-octet one fits, 239 does not. */
	strcpy(addr, "u@");
	for (size_t n = 2; n < 238; n += 2)
		strcpy(addr + n, n + 2 < 238 ? "a." : "a");
	assert_int_equal(strlen(addr), 237);
	assert_int_equal(batv_sign(key, addr, DAY(20000), out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 253);
	strcpy(addr, "uu@");
	for (size_t n = 3; n < 239; n += 2)
		strcpy(addr + n, n + 2 < 239 ? "a." : "a");
	assert_int_equal(strlen(addr), 238);
	assert_int_equal(batv_sign(key, addr, DAY(20000), out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 254);
	assert_int_equal(check(out, DAY(20000), orig), BATV_VALID);
	strcpy(addr, "uuu@");
	for (size_t n = 4; n < 240; n += 2)
		strcpy(addr + n, n + 2 < 240 ? "a." : "a");
	assert_int_equal(strlen(addr), 239);
	assert_int_equal(batv_sign(key, addr, DAY(20000), out, sizeof(out)), -1);

	/* Not a Mailbox that a tag keeps valid. */
	assert_int_equal(batv_sign(key, "", DAY(20000), out, sizeof(out)), -1);
	assert_int_equal(batv_sign(key, "user", DAY(20000), out, sizeof(out)), -1);
	assert_int_equal(batv_sign(key, "Postmaster", DAY(20000), out, sizeof(out)), -1);
	assert_int_equal(batv_sign(key, "user@", DAY(20000), out, sizeof(out)), -1);
	assert_int_equal(batv_sign(key, "\"a b\"@example.org", DAY(20000), out, sizeof(out)), -1);
	assert_int_equal(batv_sign(key, "user@[192.0.2.1]", DAY(20000), out, sizeof(out)), -1);
	assert_int_equal(batv_sign(key, "a..b@example.org", DAY(20000), out, sizeof(out)), -1);
	assert_int_equal(batv_sign(key, "<user@example.org>", DAY(20000), out, sizeof(out)), -1);

	/* outsize: the result and its NUL. */
	assert_int_equal(batv_sign(key, "u@example.org", DAY(20000), out, 13 + 16), -1);
	assert_int_equal(batv_sign(key, "u@example.org", DAY(20000), out, 13 + 17), 0);
	assert_int_equal(batv_check(key, out, DAY(20000), 7, orig, 13), BATV_BAD);
	assert_int_equal(batv_check(key, out, DAY(20000), 7, orig, 14), BATV_VALID);
	assert_string_equal(orig, "u@example.org");
}

static void test_result_text(void **state)
{
	(void)state;
	assert_string_equal(batv_result_text(BATV_NONE), "none");
	assert_string_equal(batv_result_text(BATV_VALID), "valid");
	assert_string_equal(batv_result_text(BATV_EXPIRED), "expired");
	assert_string_equal(batv_result_text(BATV_BAD), "bad");
}

/* The key files: a fresh directory for each test. */
static int make_dir(void **state)
{
	char *dir = strdup("/tmp/postern-hmac-key.XXXXXX");

	if (dir == NULL || mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

static int remove_dir(void **state)
{
	char *dir = *state, path[512];
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (remove(path) != 0)
			return -1;
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	free(dir);
	return 0;
}

static void write_file(const char *path, const void *p, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_key_created_then_read(void **state)
{
	const char *dir = *state;
	char path[512], path2[512], err[256];
	unsigned char k1[HMAC_KEY_LEN], k2[HMAC_KEY_LEN], k3[HMAC_KEY_LEN], disk[HMAC_KEY_LEN + 1];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/batv.key", dir);
	snprintf(path2, sizeof(path2), "%s/srs.key", dir);
	assert_int_equal(hmac_key_load(path, k1, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, HMAC_KEY_LEN);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, disk, sizeof(disk)), HMAC_KEY_LEN);
	close(fd);
	assert_memory_equal(disk, k1, HMAC_KEY_LEN);
	/* No temporary file is left behind. */
	assert_int_equal(entries(dir), 1);

	assert_int_equal(hmac_key_load(path, k2, err, sizeof(err)), 0);
	assert_memory_equal(k1, k2, HMAC_KEY_LEN);
	assert_int_equal(hmac_key_load(path2, k3, err, sizeof(err)), 0);
	assert_memory_not_equal(k1, k3, HMAC_KEY_LEN);
	assert_int_equal(entries(dir), 2);
}

static void test_key_refused(void **state)
{
	const char *dir = *state;
	char path[512], err[256];
	unsigned char k[HMAC_KEY_LEN], bytes[HMAC_KEY_LEN + 1] = {0};

	snprintf(path, sizeof(path), "%s/short.key", dir);
	write_file(path, bytes, HMAC_KEY_LEN - 1, 0600);
	assert_int_equal(hmac_key_load(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "31 bytes, a key file holds exactly 32"));

	snprintf(path, sizeof(path), "%s/long.key", dir);
	write_file(path, bytes, HMAC_KEY_LEN + 1, 0600);
	assert_int_equal(hmac_key_load(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "33 bytes"));

	snprintf(path, sizeof(path), "%s/empty.key", dir);
	write_file(path, bytes, 0, 0600);
	assert_int_equal(hmac_key_load(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "0 bytes"));

	snprintf(path, sizeof(path), "%s/open.key", dir);
	write_file(path, bytes, HMAC_KEY_LEN, 0644);
	assert_int_equal(hmac_key_load(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0644 gives group or others access"));
	write_file(path, bytes, HMAC_KEY_LEN, 0620);
	assert_int_equal(hmac_key_load(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0620"));
	/* Stricter than 0600 is fine. */
	write_file(path, bytes, HMAC_KEY_LEN, 0400);
	assert_int_equal(hmac_key_load(path, k, err, sizeof(err)), 0);

	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(hmac_key_load(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(rmdir(path), 0);

	snprintf(path, sizeof(path), "%s/fifo.key", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(hmac_key_load(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));

	/* A directory that does not exist: nothing can be made there. */
	snprintf(path, sizeof(path), "%s/missing/batv.key", dir);
	assert_int_equal(hmac_key_load(path, k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing/batv.key"));
	assert_non_null(strstr(err, "No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_known_construction),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_day_wraps),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_case),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_sign_limits),
	    cmocka_unit_test(test_result_text),
	    cmocka_unit_test_setup_teardown(test_key_created_then_read, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_key_refused, make_dir, remove_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
