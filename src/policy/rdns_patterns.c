/* Operator patterns for the rdns classifier: globs and POSIX regular
 * expressions compiled once at configuration time, matched per name. */
#include "policy/rdns.h"
#include "core/xmalloc.h"

#include <regex.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct rdns_pattern {
	enum rdns_pattern_kind kind;
	char *text; /* as configured, for the log reason */
	regex_t re;
};

struct rdns_patterns {
	struct rdns_pattern items[RDNS_PATTERNS_MAX * 2];
	size_t n, count[2];
};

struct rdns_patterns *rdns_patterns_new(void)
{
	return xcalloc(1, sizeof(struct rdns_patterns));
}

/* A glob becomes an anchored ERE: every character that ERE treats
 * specially is escaped with a bracket so that the glob means only '*' and
 * '?'.  out holds at least 4 * RDNS_PATTERN_LEN_MAX + 3 octets. */
static void glob_to_ere(const char *glob, char *out)
{
	size_t o = 0;

	out[o++] = '^';
	for (const char *g = glob; *g != '\0'; g++) {
		if (*g == '*') {
			out[o++] = '.';
			out[o++] = '*';
		} else if (*g == '?') {
			out[o++] = '.';
		} else if (strchr(".[]()|+{}^$\\", *g) != NULL) {
			/* [x] needs care for ']', '^' and '\\': "[]]" and
			 * "[\\]" are literal in POSIX brackets, "[^]" is not. */
			if (*g == '^') {
				out[o++] = '\\';
				out[o++] = '^';
			} else {
				out[o++] = '[';
				out[o++] = *g;
				out[o++] = ']';
			}
		} else {
			out[o++] = *g;
		}
	}
	out[o++] = '$';
	out[o] = '\0';
}

int rdns_patterns_add(struct rdns_patterns *p, enum rdns_pattern_kind kind, const char *pattern,
                      char *err, size_t errsize)
{
	char ere[4 * RDNS_PATTERN_LEN_MAX + 3];
	size_t len = strlen(pattern);
	struct rdns_pattern *it;
	int rc;

	if (len == 0 || len > RDNS_PATTERN_LEN_MAX) {
		snprintf(err, errsize, "pattern length must be 1..%d", RDNS_PATTERN_LEN_MAX);
		return -1;
	}
	if (p->count[kind] >= RDNS_PATTERNS_MAX) {
		snprintf(err, errsize, "more than %d patterns", RDNS_PATTERNS_MAX);
		return -1;
	}
	if (len >= 2 && pattern[0] == '/' && pattern[len - 1] == '/') {
		memcpy(ere, pattern + 1, len - 2);
		ere[len - 2] = '\0';
	} else {
		glob_to_ere(pattern, ere);
	}
	it = &p->items[p->n];
	rc = regcomp(&it->re, ere, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		char msg[128];
		regerror(rc, &it->re, msg, sizeof(msg));
		snprintf(err, errsize, "bad pattern %s: %s", pattern, msg);
		return -1;
	}
	it->kind = kind;
	it->text = xstrdup(pattern);
	p->n++;
	p->count[kind]++;
	return 0;
}

void rdns_patterns_free(struct rdns_patterns *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		regfree(&p->items[i].re);
		free(p->items[i].text);
	}
	free(p);
}

int rdns_patterns_match(const struct rdns_patterns *p, enum rdns_pattern_kind kind,
                        const char *name, const char **which)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->items[i].kind == kind && regexec(&p->items[i].re, name, 0, NULL, 0) == 0) {
			*which = p->items[i].text;
			return 1;
		}
	}
	return 0;
}
