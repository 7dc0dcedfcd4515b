/* libFuzzer target for authres_find, with invariants on what it reports.
 * The input is the payload itself (seeds are real payloads); a fixed set of
 * method and property questions is asked of each. */
#include "auth/authres_read.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const questions[][2] = {
    {"dmarc", "header.from"},   {"dkim", "header.d"},
    {"spf", "smtp.mailfrom"},   {"arc", NULL},
    {"auth", "smtp.auth"},      {"iprev", "policy.iprev"},
    {"dkim", "reason"},         {"dkim", "header.i"},
    {"DMARC", "Header.From"},   {"none", NULL},
    {"dkim", "policy.expired"}, {"compauth", "reason"},
};

/* The result and value of a 1 answer are what the API promises. */
static void check_found(const struct authres_found *f)
{
	size_t rn = strnlen(f->result, sizeof(f->result));
	if (rn == 0 || rn == sizeof(f->result))
		abort();
	for (size_t j = 0; j < rn; j++) {
		char c = f->result[j];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			abort();
	}
	if (strnlen(f->value, sizeof(f->value)) == sizeof(f->value))
		abort();
}

static int same(int r1, const struct authres_found *a, int r2, const struct authres_found *b)
{
	return r1 == r2 && strcmp(a->result, b->result) == 0 && strcmp(a->value, b->value) == 0;
}

/* The payload with "(x)" after its first ";", or NULL when a comment,
 * quoted string or quoted-pair could come first, where the ";" might not
 * be the one that starts the first resinfo (and a comment could nest one
 * level too deep). */
static char *with_comment(const char *p, size_t size, size_t *outlen)
{
	const char *semi = memchr(p, ';', size);
	if (semi == NULL)
		return NULL;
	for (const char *q = p; q < semi; q++) {
		if (*q == '(' || *q == '"' || *q == '\\')
			return NULL;
	}
	size_t at = (size_t)(semi - p) + 1;
	char *buf = malloc(size + 3);
	if (buf == NULL)
		abort();
	memcpy(buf, p, at);
	memcpy(buf + at, "(x)", 3);
	memcpy(buf + at + 3, p + at, size - at);
	*outlen = size + 3;
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t clen = 0;
	char *commented = with_comment(p, size, &clen);

	for (size_t k = 0; k < sizeof(questions) / sizeof(questions[0]); k++) {
		const char *method = questions[k][0], *prop = questions[k][1];
		struct authres_found a, b;

		int r = authres_find(p, size, method, prop, &a);
		if (r < -1 || r > 1)
			abort();
		if (r == 1)
			check_found(&a);
		else if (a.result[0] != '\0' || a.value[0] != '\0')
			abort();
		if (!same(r, &a, authres_find(p, size, method, prop, &b), &b))
			abort();
		/* Without a property: the same verdict and result, except that
		 * a too long value (found method, -1) is no longer an error. */
		int rn = authres_find(p, size, method, NULL, &b);
		if (b.value[0] != '\0' || (r >= 0 && rn != r) || (r < 0 && rn == 0) ||
		    (r == 1 && strcmp(a.result, b.result) != 0))
			abort();
		if (prop == NULL && !same(r, &a, rn, &b))
			abort();
		/* A comment at the start of the first resinfo changes nothing. */
		if (commented != NULL && r == 1 &&
		    !same(r, &a, authres_find(commented, clen, method, prop, &b), &b))
			abort();
	}
	free(commented);
	return 0;
}
