/* Unit tests of the Organizational Domain (RFC 7489 3.2) and alignment
 * (3.1): the PSL algorithm tests and the alignment cases of
 * ../conformance/dmarc, and our own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <strings.h>

#include "auth/dmarc_align.h"

struct org_case {
	const char *domain, *org; /* org NULL: none */
};

/* conformance/dmarc/psl/tests.txt (publicsuffix/list tests/tests.txt, CC0),
 * every case but the NULL input. */
static const struct org_case psl_cases[] = {
    {"COM", NULL},
    {"example.COM", "example.com"},
    {"WwW.example.COM", "example.com"},
    {".com", NULL},
    {".example", NULL},
    {".example.com", NULL},
    {".example.example", NULL},
    {"example", NULL},
    {"example.example", "example.example"},
    {"b.example.example", "example.example"},
    {"a.b.example.example", "example.example"},
    {"biz", NULL},
    {"domain.biz", "domain.biz"},
    {"b.domain.biz", "domain.biz"},
    {"a.b.domain.biz", "domain.biz"},
    {"com", NULL},
    {"example.com", "example.com"},
    {"b.example.com", "example.com"},
    {"a.b.example.com", "example.com"},
    {"uk.com", NULL},
    {"example.uk.com", "example.uk.com"},
    {"b.example.uk.com", "example.uk.com"},
    {"a.b.example.uk.com", "example.uk.com"},
    {"test.ac", "test.ac"},
    {"mm", NULL},
    {"c.mm", NULL},
    {"b.c.mm", "b.c.mm"},
    {"a.b.c.mm", "b.c.mm"},
    {"jp", NULL},
    {"test.jp", "test.jp"},
    {"www.test.jp", "test.jp"},
    {"ac.jp", NULL},
    {"test.ac.jp", "test.ac.jp"},
    {"www.test.ac.jp", "test.ac.jp"},
    {"kyoto.jp", NULL},
    {"test.kyoto.jp", "test.kyoto.jp"},
    {"ide.kyoto.jp", NULL},
    {"b.ide.kyoto.jp", "b.ide.kyoto.jp"},
    {"a.b.ide.kyoto.jp", "b.ide.kyoto.jp"},
    {"c.kobe.jp", NULL},
    {"b.c.kobe.jp", "b.c.kobe.jp"},
    {"a.b.c.kobe.jp", "b.c.kobe.jp"},
    {"city.kobe.jp", "city.kobe.jp"},
    {"www.city.kobe.jp", "city.kobe.jp"},
    {"ck", NULL},
    {"test.ck", NULL},
    {"b.test.ck", "b.test.ck"},
    {"a.b.test.ck", "b.test.ck"},
    {"www.ck", "www.ck"},
    {"www.www.ck", "www.ck"},
    {"us", NULL},
    {"test.us", "test.us"},
    {"www.test.us", "test.us"},
    {"ak.us", NULL},
    {"test.ak.us", "test.ak.us"},
    {"www.test.ak.us", "test.ak.us"},
    {"k12.ak.us", NULL},
    {"test.k12.ak.us", "test.k12.ak.us"},
    {"www.test.k12.ak.us", "test.k12.ak.us"},
    {"食狮.com.cn", "食狮.com.cn"},
    {"食狮.公司.cn", "食狮.公司.cn"},
    {"www.食狮.公司.cn", "食狮.公司.cn"},
    {"shishi.公司.cn", "shishi.公司.cn"},
    {"公司.cn", NULL},
    {"食狮.中国", "食狮.中国"},
    {"www.食狮.中国", "食狮.中国"},
    {"shishi.中国", "shishi.中国"},
    {"中国", NULL},
    {"xn--85x722f.com.cn", "xn--85x722f.com.cn"},
    {"xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"},
    {"www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"},
    {"shishi.xn--55qx5d.cn", "shishi.xn--55qx5d.cn"},
    {"xn--55qx5d.cn", NULL},
    {"xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s"},
    {"www.xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s"},
    {"shishi.xn--fiqs8s", "shishi.xn--fiqs8s"},
    {"xn--fiqs8s", NULL},
};

/* conformance org_domain_opendmarc (educ.ar gives the same answer through
 * the rule "ar" as through OpenDMARC's old "!educ.ar"), and our own. */
static const struct org_case own_cases[] = {
    {"a.b.c.bcx.com", "bcx.com"},
    {"a.b.c.educ.ar", "educ.ar"},
    {"a.b.c.xn--mgba3a4f16a.ir", "c.xn--mgba3a4f16a.ir"},
    {"Mail.Example.ORG", "Example.ORG"},
    {"", NULL},
    {"example.com.", "example.com."},
};

static void run(const struct org_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = dmarc_org_domain(cases[i].domain);
		if (cases[i].org == NULL && got != NULL)
			fail_msg("%s: %s, expected none", cases[i].domain, got);
		/* got points into the input, whose case it keeps */
		if (cases[i].org != NULL && (got == NULL || strcasecmp(got, cases[i].org) != 0))
			fail_msg("%s: %s, expected %s", cases[i].domain, got ? got : "none",
			         cases[i].org);
	}
}

static void test_psl(void **state)
{
	run(psl_cases, sizeof(psl_cases) / sizeof(psl_cases[0]));
}

static void test_org_own(void **state)
{
	char longname[400];

	run(own_cases, sizeof(own_cases) / sizeof(own_cases[0]));
	memset(longname, 'a', sizeof(longname) - 5);
	memcpy(longname + sizeof(longname) - 5, ".com", 5);
	assert_null(dmarc_org_domain(longname));
}

struct align_case {
	const char *a, *b;
	enum dmarc_mode mode;
	int aligned;
};

#define R DMARC_MODE_RELAXED
#define S DMARC_MODE_STRICT

/* conformance alignment (OpenDMARC test_alignment.c), then our own. */
static const struct align_case align_cases[] = {
    {"a.b.c.bcx.com", "bcx.com", R, 1},
    {"a.b.c.edu.ar", "edr.au", S, 0},
    {"oooo.com", "ooo.com", S, 0},
    {"a.foo.com", "b.foo.com", R, 1},
    {".mac.com.", "mac.com", S, 1},
    {"....mac.com....", "mac.com", S, 1},
    {"mac...com", "..com", S, 0},
    {"a.b.com", "b.com", R, 1},
    {"b.com", "a.b.com", R, 1},
    {"a.b.de", "a.b.de", S, 1},
    /* 3.1.1 and 3.1.2: strict needs the exact name */
    {"a.foo.com", "b.foo.com", S, 0},
    {"a.b.com", "b.com", S, 0},
    {"Example.COM", "example.com", S, 1},
    {"Example.COM", "mail.example.com", R, 1},
    /* different Organizational Domains under one public suffix */
    {"example.co.uk", "other.co.uk", R, 0},
    {"a.example.co.uk", "b.example.co.uk", R, 1},
    /* a public suffix has no Organizational Domain and stands for itself */
    {"co.uk", "example.co.uk", R, 0},
    {"co.uk", "co.uk", R, 1},
    {"", "", R, 0},
    {"...", "example.com", R, 0},
};

static void test_align(void **state)
{
	for (size_t i = 0; i < sizeof(align_cases) / sizeof(align_cases[0]); i++) {
		const struct align_case *c = &align_cases[i];
		if (dmarc_aligned(c->a, c->b, c->mode) != c->aligned)
			fail_msg("%s / %s (%s): expected %d", c->a, c->b,
			         c->mode == R ? "relaxed" : "strict", c->aligned);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_psl),
	    cmocka_unit_test(test_org_own),
	    cmocka_unit_test(test_align),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
