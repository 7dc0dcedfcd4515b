/* `postern arc verify|seal`: validate a message's ARC chain (through the
 * resolver or a zone file) explaining each set, or add a new ARC set. */
#include "auth/arc_seal.h"
#include "auth/arc_verify.h"
#include "auth/msghead.h"
#include "auth/msghdr.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "dns/dns.h"

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CLI_ARC_MESSAGE_MAX (64 * 1024 * 1024)
#define CLI_ARC_CHUNK 4096
#define CLI_ARC_HEADER_MAX (1024 * 1024)
#define CLI_ARC_MAX_FIELDS 1000
/* What a forwarder's AMS should cover (RFC 8617 4.1.2 asks for any
 * DKIM-Signature too); names absent from the message select nothing. */
#define CLI_ARC_HEADERS                                                                            \
	"from:to:cc:subject:date:message-id:reply-to:in-reply-to:references:mime-version:"         \
	"content-type:content-transfer-encoding:dkim-signature"

const char cli_arc_usage[] =
    "usage: postern arc verify FILE [--zone ZONEFILE] [--now SECONDS]\n"
    "       postern arc seal FILE --key KEYFILE --domain DOMAIN --selector SELECTOR\n"
    "           --authserv-id ID [--authres TEXT] [--headers h1:h2:...] [--now SECONDS]\n"
    "           [--cv none|pass|fail] [--zone ZONEFILE] [--output-message]\n"
    "       FILE is read with LF line ends turned into CRLF; without --cv, seal\n"
    "       validates the chain first; without --authres, it gathers the results\n"
    "       of the message's Authentication-Results fields for ID\n";

static int usage(void)
{
	return cli_usage_error(cli_arc_usage);
}

struct verify_run {
	struct event_base *base;
	struct arc_result *res;
};

static void verified(void *arg, const struct arc_result *res)
{
	struct verify_run *run = arg;

	*run->res = *res;
	event_base_loopbreak(run->base);
}

/* Validates msg's chain into res; -1 when no resolver could be made. */
static int validate(const struct buf *msg, const char *zone, const struct config *cfg,
                    struct arc_result *res)
{
	struct arc_verify_options opt = {.keys = NULL};
	struct verify_run run = {event_base_new(), res};
	struct dns_resolver *r;

	if (run.base == NULL)
		return -1;
	if ((r = cli_resolver("arc", run.base, zone, NULL, cfg)) == NULL) {
		event_base_free(run.base);
		return -1;
	}
	/* The header section through the collector the server uses, then the
	 * body in chunks, as the SMTP DATA reader would give it.  mh outlives
	 * the verifier, which keeps views into it. */
	struct arc_verifier *v = arc_verify_new(&opt);
	struct msghead mh;
	size_t hlen;
	msghead_init(&mh, CLI_ARC_HEADER_MAX);
	size_t off = msghead_feed(&mh, msg->data, msg->len);
	const char *head = msghead_section(&mh, &hlen);
	if (head == NULL)
		fprintf(stderr, "postern arc: header section too large\n");
	arc_verify_header(v, head, hlen);
	for (; off < msg->len; off += CLI_ARC_CHUNK) {
		size_t n = msg->len - off < CLI_ARC_CHUNK ? msg->len - off : CLI_ARC_CHUNK;
		arc_verify_body(v, msg->data + off, n);
	}
	arc_verify_finish(v, run.base, r, verified, &run);
	event_base_dispatch(run.base);
	arc_verify_free(v);
	msghead_free(&mh);
	dns_resolver_free(r);
	event_base_free(run.base);
	return 0;
}

static const char *sig_status(enum arc_sig_status s)
{
	return s == ARC_SIG_PASS ? "pass" : s == ARC_SIG_FAIL ? "fail" : "not checked";
}

static void explain(const struct arc_result *res)
{
	struct buf line;

	buf_init(&line, 4096);
	arc_result_format(res, &line);
	printf("%s\n", line.data);
	buf_free(&line);
	for (unsigned i = 1; i <= res->sets && res->cv != ARC_CV_NONE; i++) {
		const struct arc_set_report *s = &res->set[i - 1];
		printf("set %u: ARC-Message-Signature %s%s%s%s, ARC-Seal %s%s%s%s\n", i,
		       sig_status(s->ams), s->ams_reason[0] != '\0' ? " (" : "", s->ams_reason,
		       s->ams_reason[0] != '\0' ? ")" : "", sig_status(s->as),
		       s->as_reason[0] != '\0' ? " (" : "", s->as_reason,
		       s->as_reason[0] != '\0' ? ")" : "");
	}
	if (res->temporary)
		printf("a key lookup failed temporarily: the result may change on a retry\n");
}

static int verify(int argc, char **argv, const struct config *cfg)
{
	const char *file = NULL, *zone = NULL;
	struct arc_result *res;
	struct buf msg;
	int rc = 1;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc)
			zone = argv[++i];
		else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
			i++; /* ARC has no expiry (RFC 8617 4.1.2 drops x=); kept for dkim's syntax
			      */
		else if (file == NULL && argv[i][0] != '-')
			file = argv[i];
		else
			return usage();
	}
	if (file == NULL)
		return usage();
	if (cli_read_crlf("arc", file, CLI_ARC_MESSAGE_MAX, &msg) != 0)
		return 1;
	res = xcalloc(1, sizeof(*res));
	if (validate(&msg, zone, cfg, res) == 0) {
		explain(res);
		rc = res->cv == ARC_CV_FAIL ? 1 : 0;
	}
	free(res);
	buf_free(&msg);
	return rc;
}

/* Drops CR and LF, so that a folded value becomes one line. */
static void unfold(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (*s != '\r' && *s != '\n')
			*w++ = *s;
	}
	*w = '\0';
}

/* Skips CFWS (RFC 5322 3.2.2), nested comments included. */
static const char *skip_cfws(const char *p)
{
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && depth > 0 && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !isspace((unsigned char)*p))
			break;
	}
	return p;
}

/* The results of every Authentication-Results field of this ADMD, in
 * order, one "; "-separated list: the consolidation the ValiMail ARC
 * suite assumes (its README, "AR Consolidation"). */
static void gather_results(const struct buf *msg, const char *id, struct buf *out)
{
	if (msg->len == 0)
		return;
	const char *end = strstr(msg->data, "\r\n\r\n");
	size_t hlen = end != NULL ? (size_t)(end - msg->data) + 2 : msg->len;
	long n;
	struct msghdr_field *f = msghdr_split_new(msg->data, hlen, CLI_ARC_MAX_FIELDS, 0, &n);

	for (long k = 0; k < n; k++) {
		if (!msghdr_name_is(&f[k], "Authentication-Results", 22))
			continue;
		const char *colon = memchr(f[k].p, ':', f[k].len);
		char *v = xstrndup(colon + 1, f[k].len - (size_t)(colon + 1 - f[k].p));
		unfold(v);
		const char *p = skip_cfws(v);
		size_t idlen = strcspn(p, " \t(;");
		const char *semi = strchr(p + idlen, ';');
		if (idlen == strlen(id) && strncasecmp(p, id, idlen) == 0 && semi != NULL) {
			char *save = NULL;
			for (char *r = strtok_r((char *)semi + 1, ";", &save); r != NULL;
			     r = strtok_r(NULL, ";", &save)) {
				r = (char *)skip_cfws(r);
				size_t rl = strlen(r);
				while (rl > 0 && isspace((unsigned char)r[rl - 1]))
					rl--;
				if (rl == 0 || (rl == 4 && strncasecmp(r, "none", 4) == 0))
					continue;
				buf_printf(out, "%s%.*s", out->len > 0 ? "; " : "", (int)rl, r);
			}
		}
		free(v);
	}
	free(f);
}

struct seal_args {
	const char *file, *keyfile, *zone, *authres;
	int output_message, cv_given;
	struct arc_seal_options o;
};

static int parse_cv(const char *s, enum arc_cv *cv)
{
	if (strcmp(s, "none") == 0)
		*cv = ARC_CV_NONE;
	else if (strcmp(s, "pass") == 0)
		*cv = ARC_CV_PASS;
	else if (strcmp(s, "fail") == 0)
		*cv = ARC_CV_FAIL;
	else
		return -1;
	return 0;
}

static int parse_seal_args(int argc, char **argv, struct seal_args *a)
{
	for (int i = 0; i < argc; i++) {
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--output-message") == 0) {
			a->output_message = 1;
			continue;
		}
		if (argv[i][0] != '-') {
			if (a->file != NULL)
				return -1;
			a->file = argv[i];
			continue;
		}
		if (next == NULL)
			return -1;
		i++;
		if (strcmp(argv[i - 1], "--key") == 0)
			a->keyfile = next;
		else if (strcmp(argv[i - 1], "--domain") == 0)
			a->o.domain = next;
		else if (strcmp(argv[i - 1], "--selector") == 0)
			a->o.selector = next;
		else if (strcmp(argv[i - 1], "--authserv-id") == 0)
			a->o.authserv_id = next;
		else if (strcmp(argv[i - 1], "--authres") == 0)
			a->authres = next;
		else if (strcmp(argv[i - 1], "--headers") == 0)
			a->o.headers = next;
		else if (strcmp(argv[i - 1], "--zone") == 0)
			a->zone = next;
		else if (strcmp(argv[i - 1], "--now") == 0)
			a->o.now = strtoll(next, NULL, 10);
		else if (strcmp(argv[i - 1], "--cv") == 0 && parse_cv(next, &a->o.cv) == 0)
			a->cv_given = 1;
		else
			return -1;
	}
	return a->file == NULL || a->keyfile == NULL || a->o.domain == NULL ||
	               a->o.selector == NULL || a->o.authserv_id == NULL
	           ? -1
	           : 0;
}

static EVP_PKEY *load_key(const char *path)
{
	FILE *kf = fopen(path, "r");
	EVP_PKEY *key;

	if (kf == NULL) {
		fprintf(stderr, "postern arc: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
	fclose(kf);
	if (key == NULL)
		fprintf(stderr, "postern arc: %s: not a PEM private key\n", path);
	return key;
}

static int seal(int argc, char **argv, const struct config *cfg)
{
	struct seal_args a = {.o = {.now = (int64_t)time(NULL), .headers = CLI_ARC_HEADERS}};
	struct buf msg, out, results;
	char err[200];
	int rc = 1;

	if (parse_seal_args(argc, argv, &a) != 0)
		return usage();
	if ((a.o.key = load_key(a.keyfile)) == NULL)
		return 1;
	if (cli_read_crlf("arc", a.file, CLI_ARC_MESSAGE_MAX, &msg) != 0) {
		EVP_PKEY_free(a.o.key);
		return 1;
	}
	buf_init(&out, CLI_ARC_MESSAGE_MAX);
	buf_init(&results, CLI_ARC_HEADER_MAX);
	if (!a.cv_given) {
		struct arc_result *res = xcalloc(1, sizeof(*res));
		int ok = validate(&msg, a.zone, cfg, res) == 0;
		a.o.cv = res->cv;
		if (ok && res->temporary)
			fprintf(stderr,
			        "postern arc: warning: chain fails on a temporary DNS error\n");
		free(res);
		if (!ok)
			goto done;
	}
	if (a.authres == NULL)
		gather_results(&msg, a.o.authserv_id, &results);
	a.o.authres = a.authres != NULL ? a.authres : results.data;
	rc = arc_seal(&a.o, msg.data, msg.len, &out, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "postern arc: %s\n", err);
		rc = 1;
	} else {
		if (rc == ARC_SEAL_SKIPPED)
			fprintf(stderr, "postern arc: the latest ARC-Seal says cv=fail: no new set "
			                "(RFC 8617 5.1)\n");
		fwrite(out.data, 1, out.len, stdout);
		if (a.output_message)
			fwrite(msg.data, 1, msg.len, stdout);
		rc = 0;
	}
done:
	buf_free(&results);
	buf_free(&out);
	buf_free(&msg);
	EVP_PKEY_free(a.o.key);
	return rc;
}

int cli_arc(int argc, char **argv, const struct config *cfg)
{
	if (argc >= 1 && strcmp(argv[0], "verify") == 0)
		return verify(argc - 1, argv + 1, cfg);
	if (argc >= 1 && strcmp(argv[0], "seal") == 0)
		return seal(argc - 1, argv + 1, cfg);
	return usage();
}
