/* Unit tests of the trusted ARC sealer rule (RFC 7489 7.2.1.1
 * trusted_forwarder) over chains built from compact descriptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "auth/arc_trust.h"
#include "core/buf.h"

/* One set, instance i, sealed by d, whose AAR carries results. */
static void add_set(struct buf *b, unsigned i, const char *d, const char *results)
{
	buf_printf(b, "ARC-Seal: a=rsa-sha256; b=ZGVm; cv=%s; d=%s; s=sel; i=%u\r\n",
	           i == 1 ? "none" : "pass", d, i);
	buf_printf(b,
	           "ARC-Message-Signature: a=rsa-sha256; b=ZGVm; bh=YWJj; d=%s;\r\n"
	           " s=sel; h=from:to; i=%u\r\n",
	           d, i);
	buf_printf(b, "ARC-Authentication-Results: i=%u; %s;\r\n\t%s\r\n", i, d, results);
}

static unsigned trusted_instance(struct buf *b, const char *from_domain)
{
	static const char *const trusted[] = {"lists.example.org", "Relay.Example.NET"};
	static struct msghdr_field f[64];
	static struct arc_chain c;
	char err[200];

	buf_append_str(b, "From: a@sender.example\r\nTo: b@example.net\r\n");
	long n = msghdr_split(b->data, b->len, f, 64);
	assert_true(n >= 0);
	assert_int_equal(arc_chain_collect(f, (size_t)n, &c, err, sizeof(err)), ARC_CV_PASS);
	unsigned i = arc_trusted_pass(&c, trusted, 2, from_domain);
	buf_reset(b);
	return i;
}

static void test_trusted(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 1 << 16);

	/* A trusted list saw dmarc=pass for the From domain. */
	add_set(&b, 1, "lists.example.org",
	        "spf=fail smtp.mailfrom=sender.example; dkim=pass header.d=sender.example;\r\n"
	        "\tdmarc=pass (p=reject) header.from=sender.example");
	assert_int_equal(trusted_instance(&b, "sender.example"), 1);

	/* Case does not matter, for the sealer nor for header.from. */
	add_set(&b, 1, "relay.example.net", "dmarc=pass header.from=Sender.Example");
	assert_int_equal(trusted_instance(&b, "sender.example"), 1);

	/* The newest trusted set that passed, above an untrusted one. */
	add_set(&b, 3, "elsewhere.example", "dmarc=fail header.from=sender.example");
	add_set(&b, 2, "lists.example.org", "dmarc=pass header.from=sender.example");
	add_set(&b, 1, "relay.example.net", "dmarc=pass header.from=sender.example");
	assert_int_equal(trusted_instance(&b, "sender.example"), 2);

	buf_free(&b);
}

static void test_not_trusted(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 1 << 16);

	/* An untrusted sealer's pass counts for nothing. */
	add_set(&b, 1, "elsewhere.example", "dmarc=pass header.from=sender.example");
	assert_int_equal(trusted_instance(&b, "sender.example"), 0);
	/* A trusted sealer that saw a failure, or no DMARC at all. */
	add_set(&b, 1, "lists.example.org", "dmarc=fail header.from=sender.example");
	assert_int_equal(trusted_instance(&b, "sender.example"), 0);
	add_set(&b, 1, "lists.example.org", "dkim=pass header.d=sender.example");
	assert_int_equal(trusted_instance(&b, "sender.example"), 0);
	/* A pass for another From domain, or without header.from. */
	add_set(&b, 1, "lists.example.org", "dmarc=pass header.from=other.example");
	assert_int_equal(trusted_instance(&b, "sender.example"), 0);
	add_set(&b, 1, "lists.example.org", "dmarc=pass");
	assert_int_equal(trusted_instance(&b, "sender.example"), 0);
	/* "dmarc=pass" only inside a comment. */
	add_set(&b, 1, "lists.example.org",
	        "dkim=fail (dmarc=pass header.from=sender.example) header.d=sender.example");
	assert_int_equal(trusted_instance(&b, "sender.example"), 0);
	/* A trusted name as a suffix of another is another name. */
	add_set(&b, 1, "evil-lists.example.org", "dmarc=pass header.from=sender.example");
	assert_int_equal(trusted_instance(&b, "sender.example"), 0);

	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trusted),
	    cmocka_unit_test(test_not_trusted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
