/* Builds and checks the policy objects of a configuration. */
#include "policy/policy_config.h"
#include "core/xmalloc.h"
#include "policy/rdns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "SPEC[=WEIGHT][:meaning]", SPEC as dnsbl_code_parse takes it. */
static int code_parse(const char *text, long default_weight, struct dnsbl_code *out)
{
	char spec[64];
	const char *colon = strchr(text, ':');
	const char *eq = strchr(text, '=');
	size_t speclen;

	if (eq && colon && eq > colon)
		eq = NULL;
	speclen = eq ? (size_t)(eq - text) : colon ? (size_t)(colon - text) : strlen(text);
	if (speclen == 0 || speclen >= sizeof(spec))
		return -1;
	memcpy(spec, text, speclen);
	spec[speclen] = '\0';
	if (dnsbl_code_parse(spec, out) < 0)
		return -1;
	out->weight = (int)default_weight;
	if (eq) {
		char *end;
		long w = strtol(eq + 1, &end, 10);
		if (end == eq + 1 || (*end != '\0' && *end != ':') || w < -1000 || w > 1000)
			return -1;
		out->weight = (int)w;
	}
	out->meaning = colon && colon[1] ? xstrdup(colon + 1) : NULL;
	return 0;
}

static void list_free(struct dnsbl_list *lists, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < lists[i].ncodes; k++)
			free((char *)lists[i].codes[k].meaning);
		free((struct dnsbl_code *)lists[i].codes);
	}
	free(lists);
}

int policy_objects_build(const struct config *cfg, struct policy_objects *out, struct buf *errors)
{
	const struct policy_conf *pc = &cfg->policy;
	size_t before = errors->len;
	char err[256];

	memset(out, 0, sizeof(*out));
	if (pc->nrdns_generic || pc->nrdns_not_generic) {
		out->rdns = rdns_patterns_new();
		for (int kind = 0; kind < 2; kind++) {
			char **list = kind ? pc->rdns_not_generic : pc->rdns_generic;
			size_t n = kind ? pc->nrdns_not_generic : pc->nrdns_generic;
			for (size_t i = 0; i < n; i++)
				if (rdns_patterns_add(
				        out->rdns, kind ? RDNS_PAT_NOT_GENERIC : RDNS_PAT_GENERIC,
				        list[i], err, sizeof(err)) < 0)
					buf_printf(
					    errors, "%s:%d: policy.rdns_%sgeneric_patterns: %s\n",
					    cfg->source, pc->rdns_line, kind ? "not_" : "", err);
		}
	}
	out->ip_lists = xcalloc(cfg->ndnsbls + 1, sizeof(*out->ip_lists));
	out->rhs_lists = xcalloc(cfg->ndnsbls + 1, sizeof(*out->rhs_lists));
	for (size_t i = 0; i < cfg->ndnsbls; i++) {
		const struct dnsbl_conf *dc = &cfg->dnsbls[i];
		struct dnsbl_list *l =
		    dc->rhs ? &out->rhs_lists[out->nrhs++] : &out->ip_lists[out->nip++];
		struct dnsbl_code *codes = xcalloc(dc->ncodes + 1, sizeof(*codes));
		l->zone = dc->zone;
		l->kind = dc->rhs ? DNSBL_RHS : DNSBL_IP;
		l->default_weight = (int)dc->weight;
		l->want_txt = 1;
		l->codes = codes;
		for (size_t k = 0; k < dc->ncodes; k++) {
			if (code_parse(dc->codes[k], dc->weight, &codes[l->ncodes]) < 0) {
				buf_printf(
				    errors,
				    "%s:%d: dnsbl %s: code '%s' is not ADDRESS, ADDRESS-ADDRESS "
				    "or &MASK, then =WEIGHT and :meaning, both optional\n",
				    cfg->source, dc->line, dc->zone, dc->codes[k]);
				continue;
			}
			l->ncodes++;
		}
	}
	if (errors->len != before) {
		policy_objects_free(out);
		return -1;
	}
	return 0;
}

void policy_objects_free(struct policy_objects *o)
{
	if (o->rdns)
		rdns_patterns_free(o->rdns);
	list_free(o->ip_lists, o->nip);
	list_free(o->rhs_lists, o->nrhs);
	memset(o, 0, sizeof(*o));
}
