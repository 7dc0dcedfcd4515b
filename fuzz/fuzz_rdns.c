/* libFuzzer target for rdns_classify and the glob patterns, with invariants on their results. */
#include "policy/rdns.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: "P" then a glob to compile and match, or the client address up to
 * the first newline and the name after it. */
#define GLOB_FUZZ_MAX 48

static struct rdns_patterns *fixed_patterns(void)
{
	static struct rdns_patterns *p;
	char err[128];

	if (p != NULL)
		return p;
	p = rdns_patterns_new();
	if (rdns_patterns_add(p, RDNS_PAT_GENERIC, "*.dyn.example.net", err, sizeof(err)) != 0 ||
	    rdns_patterns_add(p, RDNS_PAT_GENERIC, "/^(ws|pc)[0-9]+\\./", err, sizeof(err)) != 0 ||
	    rdns_patterns_add(p, RDNS_PAT_NOT_GENERIC, "mail?.*", err, sizeof(err)) != 0)
		abort();
	return p;
}

static void check_class(enum rdns_class c, const char *reason)
{
	if (c != RDNS_NONE && c != RDNS_NORMAL && c != RDNS_GENERIC && c != RDNS_STATIC_GENERIC)
		abort();
	if (strncmp(reason, "rule=", 5) != 0)
		abort();
}

/* A glob with no wildcard, compiled, matches its own text in any case. */
static void fuzz_glob(const char *glob)
{
	struct rdns_patterns *p = rdns_patterns_new();
	char err[RDNS_PATTERN_LEN_MAX + 200], why[96];
	size_t len = strlen(glob);

	if (rdns_patterns_add(p, RDNS_PAT_GENERIC, glob, err, sizeof(err)) != 0) {
		/* Only a regex between slashes may fail to compile. */
		if (len != 0 && !(len >= 2 && glob[0] == '/' && glob[len - 1] == '/'))
			abort();
	} else if (strpbrk(glob, "*?") == NULL && glob[0] != '/' && glob[len - 1] != '.') {
		if (rdns_classify(glob, NULL, p, why, sizeof(why)) != RDNS_GENERIC)
			abort();
	}
	rdns_patterns_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[1024], upper[1024], why[96], why2[96];
	const char *nl, *name, *ip;
	enum rdns_class c, c2;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if (size > 0 && buf[0] == 'P') {
		if (size - 1 <= GLOB_FUZZ_MAX)
			fuzz_glob(buf + 1);
		return 0;
	}
	nl = strchr(buf, '\n');
	if (nl != NULL) {
		buf[nl - buf] = '\0';
		ip = buf;
		name = nl + 1;
	} else {
		ip = NULL;
		name = buf;
	}

	c = rdns_classify(name, ip, NULL, why, sizeof(why));
	check_class(c, why);
	/* Pure: the same input gives the same answer. */
	c2 = rdns_classify(name, ip, NULL, why2, sizeof(why2));
	if (c2 != c || strcmp(why, why2) != 0)
		abort();
	/* Case does not matter to DNS names (RFC 4343), nor here. */
	for (size_t i = 0; name[i] != '\0'; i++)
		upper[i] = name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 'a' + 'A') : name[i];
	upper[strlen(name)] = '\0';
	if (rdns_classify(upper, ip, NULL, NULL, 0) != c)
		abort();
	c = rdns_classify(name, ip, fixed_patterns(), why, sizeof(why));
	check_class(c, why);
	return 0;
}
