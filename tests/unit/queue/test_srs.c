/* Unit tests of the Sender Rewriting Scheme (SRS0, SRS1, libsrs2's hash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "core/b64.h"
#include "queue/srs.h"

/* Noon of day d since the epoch. */
#define DAY(d) ((time_t)86400 * (d) + 43200)
#define FWD "fwd.example"

static const unsigned char key[HMAC_KEY_LEN] = {
    32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
    16, 15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,
};

static int forward(const char *sender, time_t now, char *out)
{
	return srs_forward(key, sender, FWD, now, out, 300);
}

static enum srs_result reverse(const char *addr, time_t now, char *out)
{
	return srs_reverse(key, addr, now, 21, out, 300);
}

/* libsrs2's hash of msg, written independently of srs.c. */
static void libsrs2_hash(const char *msg, char out[5])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	assert_non_null(HMAC(EVP_sha1(), key, sizeof(key), (const unsigned char *)msg, strlen(msg),
	                     md, &mdlen));
	assert_int_equal(b64_encode(md, 3, out, 5), 4);
}

static void test_srs0_known_construction(void **state)
{
	char out[300], expect[300], hash[5];
	(void)state;

	/* Day 20000 is 544 modulo 1024: 17 and 0 in base32, "RA". */
	libsrs2_hash("raexample.orgalice", hash);
	snprintf(expect, sizeof(expect), "SRS0=%s=RA=example.org=alice@" FWD, hash);
	assert_int_equal(forward("alice@example.org", DAY(20000), out), 0);
	assert_string_equal(out, expect);
	/* The hash covers the parts lower-cased; the address keeps its case. */
	snprintf(expect, sizeof(expect), "SRS0=%s=RA=Example.ORG=Alice@" FWD, hash);
	assert_int_equal(forward("Alice@Example.ORG", DAY(20000), out), 0);
	assert_string_equal(out, expect);
	/* Day 20000 + 479 is 1023: "77". */
	assert_int_equal(forward("alice@example.org", DAY(20479), out), 0);
	assert_int_equal(strncmp(out + 10, "77=", 3), 0);
}

static void test_round_trip(void **state)
{
	const char *senders[] = {
	    "alice@example.org",  "a.b+c=d@sub.example.net",         "SRS1=junk@example.org",
	    "srs2=x@example.org", "\xc3\xa9l\xc3\xa8ve@example.org", "x@y.z"};
	char out[300], back[300];
	(void)state;

	for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
		assert_int_equal(forward(senders[i], DAY(20000), out), 0);
		assert_int_equal(strncmp(out, "SRS0=", 5), 0);
		assert_int_equal(reverse(out, DAY(20000), back), SRS_VALID);
		assert_string_equal(back, senders[i]);
	}
}

static void test_expiry(void **state)
{
	char out[300], back[300];
	(void)state;

	assert_int_equal(forward("bob@example.org", DAY(20100), out), 0);
	assert_int_equal(reverse(out, DAY(20121), back), SRS_VALID);
	assert_int_equal(reverse(out, DAY(20122), back), SRS_EXPIRED);
	/* Expired is still ours: the caller learns which address it was. */
	assert_string_equal(back, "bob@example.org");
	assert_int_equal(srs_reverse(key, out, DAY(20122), 22, back, sizeof(back)), SRS_VALID);
	assert_int_equal(srs_reverse(key, out, DAY(20100), 0, back, sizeof(back)), SRS_VALID);
	assert_int_equal(srs_reverse(key, out, DAY(20101), 0, back, sizeof(back)), SRS_EXPIRED);
	/* A stamp of tomorrow is 1023 days old, as libsrs2 reads it. */
	assert_int_equal(reverse(out, DAY(20099), back), SRS_EXPIRED);
	assert_int_equal(reverse(out, (time_t)20122 * 86400 - 1, back), SRS_VALID);
	assert_int_equal(reverse(out, (time_t)20122 * 86400, back), SRS_EXPIRED);
}

static void test_day_wraps(void **state)
{
	char out[300], back[300];
	(void)state;

	/* 1023 modulo 1024 ("77"); ten days later the stamp reads 9 ("AJ"). */
	assert_int_equal(forward("carol@example.org", DAY(20479), out), 0);
	assert_int_equal(reverse(out, DAY(20489), back), SRS_VALID);
	assert_string_equal(back, "carol@example.org");
	assert_int_equal(reverse(out, DAY(20500), back), SRS_VALID);
	assert_int_equal(reverse(out, DAY(20501), back), SRS_EXPIRED);
	/* A whole cycle later the stamp is valid again: libsrs2's limit. */
	assert_int_equal(reverse(out, DAY(20479 + 1024), back), SRS_VALID);
}

static void test_tampered(void **state)
{
	static const unsigned char other[HMAC_KEY_LEN] = {7};
	char out[300], bad[300], back[300];
	(void)state;

	assert_int_equal(forward("dave@example.org", DAY(20000), out), 0);
	/* Every character of the hash and of the stamp. */
	for (size_t i = 5; i < 12; i++) {
		if (i == 9)
			continue;
		strcpy(bad, out);
		bad[i] = bad[i] == 'B' || bad[i] == 'b' ? 'C' : 'B';
		assert_int_equal(reverse(bad, DAY(20000), back), SRS_BAD);
		assert_string_equal(back, "");
	}
	strcpy(bad, out);
	memcpy(strstr(bad, "example.org"), "examplf", 7);
	assert_int_equal(reverse(bad, DAY(20000), back), SRS_BAD);
	strcpy(bad, out);
	strstr(bad, "=dave@")[1] = 'e';
	assert_int_equal(reverse(bad, DAY(20000), back), SRS_BAD);
	assert_int_equal(srs_reverse(other, out, DAY(20000), 21, back, sizeof(back)), SRS_BAD);
	/* Neither do an SRS1 hash and its parts survive a change. */
	assert_int_equal(forward("SRS0=abcd=RA=orig.example=x@hop.example", DAY(20000), out), 0);
	strcpy(bad, out);
	bad[5] = bad[5] == 'B' ? 'C' : 'B';
	assert_int_equal(reverse(bad, DAY(20000), back), SRS_BAD);
	strcpy(bad, out);
	memcpy(strstr(bad, "hop.example"), "hoq", 3);
	assert_int_equal(reverse(bad, DAY(20000), back), SRS_BAD);
	strcpy(bad, out);
	strstr(bad, "=x@")[1] = 'y';
	assert_int_equal(reverse(bad, DAY(20000), back), SRS_BAD);
}

static void test_case_and_separators(void **state)
{
	char out[300], var[300], back[300];
	(void)state;

	assert_int_equal(forward("Erin@Example.org", DAY(20000), out), 0);
	/* A hop that upper-cases or lower-cases the whole address. */
	strcpy(var, out);
	for (char *p = var; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	assert_int_equal(reverse(var, DAY(20000), back), SRS_VALID);
	assert_string_equal(back, "ERIN@EXAMPLE.ORG");
	strcpy(var, out);
	for (char *p = var; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	assert_int_equal(strncmp(var, "srs0=", 5), 0);
	assert_int_equal(reverse(var, DAY(20000), back), SRS_VALID);
	assert_string_equal(back, "erin@example.org");
	/* libsrs2 accepts '-' and '+' after the tag. */
	strcpy(var, out);
	var[4] = '-';
	assert_int_equal(reverse(var, DAY(20000), back), SRS_VALID);
	assert_string_equal(back, "Erin@Example.org");
	var[4] = '+';
	assert_int_equal(reverse(var, DAY(20000), back), SRS_VALID);
	var[4] = '.';
	assert_int_equal(reverse(var, DAY(20000), back), SRS_NONE);
}

static void test_srs1_from_srs0(void **state)
{
	const char *srs0 = "SRS0=HHHH=TT=orig.example=bob@hop1.example";
	char out[300], again[300], back[300], hash[5], expect[300];
	(void)state;

	libsrs2_hash("hop1.example=hhhh=tt=orig.example=bob", hash);
	snprintf(expect, sizeof(expect), "SRS1=%s=hop1.example==HHHH=TT=orig.example=bob@" FWD,
	         hash);
	assert_int_equal(forward(srs0, DAY(20000), out), 0);
	assert_string_equal(out, expect);
	/* SRS1 carries no day: valid whenever it comes back. */
	assert_int_equal(reverse(out, DAY(29000), back), SRS_VALID);
	assert_string_equal(back, srs0);

	/* Another separator after SRS0, and the tag in lower case. */
	assert_int_equal(forward("srs0-HHHH=TT=orig.example=bob@hop1.example", DAY(20000), out), 0);
	assert_int_equal(strncmp(out, "SRS1=", 5), 0);
	assert_non_null(strstr(out, "=hop1.example=-HHHH="));
	assert_int_equal(reverse(out, DAY(20000), back), SRS_VALID);
	assert_string_equal(back, "SRS0-HHHH=TT=orig.example=bob@hop1.example");

	/* An SRS1 forwarded again keeps its first hop and gets our hash. */
	assert_int_equal(forward(srs0, DAY(20000), out), 0);
	strcpy(strrchr(out, '@'), "@hop2.example");
	assert_int_equal(forward(out, DAY(20000), again), 0);
	assert_string_equal(again, expect);
	snprintf(expect, sizeof(expect), "SRS1=zzzz=hop1.example==HHHH=TT=orig.example=bob@hop2");
	assert_int_equal(forward(expect, DAY(20000), again), 0);
	assert_int_equal(strncmp(again, "SRS1=", 5), 0);
	assert_int_equal(reverse(again, DAY(20000), back), SRS_VALID);
	assert_string_equal(back, srs0);

	/* An SRS0 of our own domain, and any other sender of ours, stay. */
	assert_int_equal(forward("SRS0=HHHH=TT=orig.example=bob@FWD.example", DAY(20000), out), 1);
	assert_string_equal(out, "SRS0=HHHH=TT=orig.example=bob@FWD.example");
	assert_int_equal(forward("alice@fwd.example", DAY(20000), out), 1);
	assert_string_equal(out, "alice@fwd.example");
	assert_int_equal(forward("\"a b\"@fwd.example", DAY(20000), out), 1);
	/* So does the null sender. */
	strcpy(out, "junk");
	assert_int_equal(forward("", DAY(20000), out), 1);
	assert_string_equal(out, "");
}

static void test_forward_refused(void **state)
{
	char sender[300], out[300], back[300];
	(void)state;

	/* "SRS0=HHHH=TT=example.org=" is 25 octets: 39 more fill the 64 of
	 * RFC 5321 4.5.3.1.1. */
	memset(sender, 'l', 39);
	strcpy(sender + 39, "@example.org");
	assert_int_equal(forward(sender, DAY(20000), out), 0);
	assert_int_equal(strchr(out, '@') - out, 64);
	assert_int_equal(reverse(out, DAY(20000), back), SRS_VALID);
	assert_string_equal(back, sender);
	memset(sender, 'l', 40);
	strcpy(sender + 40, "@example.org");
	strcpy(out, "junk");
	assert_int_equal(forward(sender, DAY(20000), out), -1);
	assert_string_equal(out, "");

	/* 256 octets with the brackets (RFC 5321 4.5.3.1.3): with a local
	 * part of 64, our domain may have 189. */
	memset(sender, 'l', 39);
	strcpy(sender + 39, "@example.org");
	for (size_t flen = 161; flen < 200; flen += 2) {
		char fwd[256];

		for (size_t i = 0; i < flen; i++)
			fwd[i] = i % 2 ? '.' : 'a';
		fwd[flen] = '\0';
		assert_int_equal(srs_forward(key, sender, fwd, DAY(20000), out, sizeof(out)),
		                 flen <= 189 ? 0 : -1);
	}

	assert_int_equal(forward("\"a b\"@example.org", DAY(20000), out), -1);
	assert_int_equal(forward("user@[192.0.2.1]", DAY(20000), out), -1);
	assert_int_equal(forward("user", DAY(20000), out), -1);
	assert_int_equal(forward("Postmaster", DAY(20000), out), -1);
	assert_int_equal(forward("user@", DAY(20000), out), -1);
	assert_int_equal(forward("@example.org", DAY(20000), out), -1);
	assert_int_equal(forward("<user@example.org>", DAY(20000), out), -1);
	assert_int_equal(srs_forward(key, "user@example.org", "", DAY(20000), out, 300), -1);
	assert_int_equal(srs_forward(key, "user@example.org", "bad..domain", DAY(20000), out, 300),
	                 -1);

	/* outsize: the result and its NUL; the unchanged copy likewise. */
	assert_int_equal(forward("u@example.org", DAY(20000), out), 0);
	assert_int_equal(srs_forward(key, "u@example.org", FWD, DAY(20000), out, strlen(out)), -1);
	assert_int_equal(srs_forward(key, "u@example.org", FWD, DAY(20000), out, 40), 0);
	assert_int_equal(srs_forward(key, "u@fwd.example", FWD, DAY(20000), out, 13), -1);
	assert_int_equal(srs_forward(key, "u@fwd.example", FWD, DAY(20000), out, 14), 1);
	assert_int_equal(srs_forward(key, "", FWD, DAY(20000), out, 0), -1);
}

static void test_reverse_malformed(void **state)
{
	char hash[5], addr[400], back[300];
	const char *bad[] = {
	    "SRS0=",
	    "SRS0=@x",
	    "SRS0=abcd@x",
	    "SRS0=abcd=RA@x",
	    "SRS0=abcd=RA=host@x",
	    "SRS0=abcd=RA=host=@x",
	    "SRS0=abcd=RA==user@x",
	    "SRS0==RA=host=user@x",
	    "SRS0=abcd==host=user@x",
	    "SRS0=abcd=R=host=user@x",
	    "SRS0=abcd=RAA=host=user@x",
	    "SRS0=abcd=R1=host=user@x",
	    "SRS0=abc=RA=host=user@x",
	    "SRS0=abcde=RA=host=user@x",
	    "SRS0=abcd=RA=host=user",
	    "SRS1=",
	    "SRS1=abcd@x",
	    "SRS1=abcd=host@x",
	    "SRS1=abcd=host=@x",
	    "SRS1=abcd==x@y",
	    "SRS1==host=x@y",
	};
	const char *none[] = {"",
	                      "S",
	                      "SRS",
	                      "SRS0",
	                      "SRS1",
	                      "SRS2=abcd=RA=host=user@x",
	                      "SRS0.abcd=RA=host=user@x",
	                      "user@example.org",
	                      "xSRS0=a=b=c=d@x"};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(back, "junk");
		assert_int_equal(reverse(bad[i], DAY(20000), back), SRS_BAD);
		assert_string_equal(back, "");
	}
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		strcpy(back, "junk");
		assert_int_equal(reverse(none[i], DAY(20000), back), SRS_NONE);
		assert_string_equal(back, "");
	}

	/* A good hash over an empty host or user still makes no address. */
	libsrs2_hash("rahost", hash);
	snprintf(addr, sizeof(addr), "SRS0=%s=RA=host=@x", hash);
	assert_int_equal(reverse(addr, DAY(20000), back), SRS_BAD);
	/* Longer than any path: refused before it is hashed. */
	snprintf(addr, sizeof(addr), "SRS0=%s=RA=host=%0300d@x", hash, 0);
	assert_int_equal(reverse(addr, DAY(20000), back), SRS_BAD);

	/* out: the result and its NUL. */
	assert_int_equal(forward("u@example.org", DAY(20000), addr), 0);
	assert_int_equal(srs_reverse(key, addr, DAY(20000), 21, back, 13), SRS_BAD);
	assert_string_equal(back, "");
	assert_int_equal(srs_reverse(key, addr, DAY(20000), 21, back, 14), SRS_VALID);
	assert_string_equal(back, "u@example.org");
}

static void test_result_text(void **state)
{
	(void)state;
	assert_string_equal(srs_result_text(SRS_NONE), "none");
	assert_string_equal(srs_result_text(SRS_VALID), "valid");
	assert_string_equal(srs_result_text(SRS_EXPIRED), "expired");
	assert_string_equal(srs_result_text(SRS_BAD), "bad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_srs0_known_construction),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_day_wraps),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_case_and_separators),
	    cmocka_unit_test(test_srs1_from_srs0),
	    cmocka_unit_test(test_forward_refused),
	    cmocka_unit_test(test_reverse_malformed),
	    cmocka_unit_test(test_result_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
