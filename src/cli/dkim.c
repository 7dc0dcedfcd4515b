/* `postern dkim keygen|sign|verify`: make a DKIM key pair, sign a message
 * file, or verify one (through the resolver or a zone file) explaining
 * each signature. */
#include "core/b64.h"
#include "auth/dkim_keyring.h"
#include "auth/dkim_sig.h"
#include "auth/dkim_sign.h"
#include "auth/dkim_verify.h"
#include "auth/msghead.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "dns/dns.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CLI_DKIM_MESSAGE_MAX (64 * 1024 * 1024)
#define CLI_DKIM_CHUNK 4096
#define CLI_DKIM_MAX_SIGNATURES 16
#define CLI_DKIM_HEADER_MAX (1024 * 1024)
#define CLI_DKIM_RSA_BITS 2048

const char cli_dkim_usage[] =
    "usage: postern dkim keygen DOMAIN SELECTOR [--ed25519] [--dir KEYDIR]\n"
    "       postern dkim sign FILE --key KEYFILE --domain DOMAIN --selector SELECTOR\n"
    "           [--canon simple|relaxed[/simple|relaxed]]\n"
    "       postern dkim verify FILE [--zone ZONEFILE] [--now SECONDS]\n"
    "       FILE is read with LF line ends turned into CRLF\n";

static int usage(void)
{
	return cli_usage_error(cli_dkim_usage);
}

static int write_file(const char *path, mode_t mode, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len) {
		fprintf(stderr, "postern dkim: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

/* RFC 6376 3.6.1 p=: SubjectPublicKeyInfo for RSA; RFC 8463 4: the raw
 * 32-byte key for Ed25519. */
static int txt_record(EVP_PKEY *key, int ed, struct buf *out)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	char b64[4096];
	long n;

	if (ed) {
		if (EVP_PKEY_get_raw_public_key(key, raw, &rawlen) != 1)
			return -1;
		n = b64_encode(raw, rawlen, b64, sizeof(b64));
	} else {
		int dlen = i2d_PUBKEY(key, &der);
		if (dlen <= 0)
			return -1;
		n = b64_encode(der, (size_t)dlen, b64, sizeof(b64));
		OPENSSL_free(der);
	}
	if (n < 0)
		return -1;
	return buf_printf(out, "v=DKIM1; k=%s; p=%s", ed ? "ed25519" : "rsa", b64);
}

static int keygen(int argc, char **argv, const struct config *cfg)
{
	const char *pos[2] = {NULL, NULL}, *dir = NULL;
	size_t npos = 0;
	int ed = 0, rc = 1;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ed25519") == 0)
			ed = 1;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (npos < 2)
			pos[npos++] = argv[i];
		else
			return usage();
	}
	if (npos != 2)
		return usage();
	if (!dkim_domain_valid(pos[0], strlen(pos[0]), 0) ||
	    !dkim_domain_valid(pos[1], strlen(pos[1]), 1)) {
		fprintf(stderr, "postern dkim: invalid domain or selector\n");
		return 1;
	}
	struct buf keypath, txtpath;
	char defdir[4096];
	buf_init(&keypath, 8192);
	buf_init(&txtpath, 8192);
	if (dir == NULL) {
		if (dkim_key_dir(cfg, defdir, sizeof(defdir)) < 0) {
			fprintf(stderr, "postern dkim: dkim.key_dir is too long\n");
			return 1;
		}
		dir = defdir;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "postern dkim: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	buf_printf(&keypath, "%s/%s.%s.key", dir, pos[1], pos[0]);
	buf_printf(&txtpath, "%s/%s.%s.txt", dir, pos[1], pos[0]);

	EVP_PKEY *key = ed ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
	                   : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)CLI_DKIM_RSA_BITS);
	BIO *mem = BIO_new(BIO_s_mem());
	struct buf txt;
	char *pem = NULL;
	long pemlen;

	buf_init(&txt, 8192);
	if (key == NULL || mem == NULL ||
	    PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (pemlen = BIO_get_mem_data(mem, &pem)) <= 0 || txt_record(key, ed, &txt) != 0) {
		fprintf(stderr, "postern dkim: key generation failed\n");
	} else if (write_file(keypath.data, 0600, pem, (size_t)pemlen) == 0 &&
	           buf_append(&txt, "\n", 1) == 0 &&
	           write_file(txtpath.data, 0644, txt.data, txt.len) == 0) {
		printf("private key: %s\n", keypath.data);
		/* RFC 1035 3.3: character-strings of at most 255 octets each. */
		printf("%s._domainkey.%s. IN TXT", pos[1], pos[0]);
		for (size_t off = 0; off + 1 < txt.len; off += 255)
			printf(" \"%.*s\"",
			       (int)(txt.len - 1 - off < 255 ? txt.len - 1 - off : 255),
			       txt.data + off);
		printf("\n");
		/* Key paths in the configuration start from dkim.key_dir. */
		if (dir == defdir)
			printf("configuration: dkim_signing = ( { domain = \"%s\"; selector = "
			       "\"%s\"; key = \"%s.%s.key\"; } );\n",
			       pos[0], pos[1], pos[1], pos[0]);
		else
			printf("configuration: dkim_signing = ( { domain = \"%s\"; selector = "
			       "\"%s\"; key = \"%s\"; } );\n",
			       pos[0], pos[1], keypath.data);
		rc = 0;
	}
	buf_free(&txt);
	buf_free(&keypath);
	buf_free(&txtpath);
	BIO_free(mem);
	EVP_PKEY_free(key);
	return rc;
}

static int parse_canon_opt(const char *s, struct dkim_sign_options *o)
{
	const char *slash = strchr(s, '/');
	size_t hn = slash != NULL ? (size_t)(slash - s) : strlen(s);
	const char *b = slash != NULL ? slash + 1 : "simple";

	if (hn == 6 && strncmp(s, "simple", 6) == 0)
		o->hcanon = CANON_SIMPLE;
	else if (hn == 7 && strncmp(s, "relaxed", 7) == 0)
		o->hcanon = CANON_RELAXED;
	else
		return -1;
	if (strcmp(b, "simple") == 0)
		o->bcanon = CANON_SIMPLE;
	else if (strcmp(b, "relaxed") == 0)
		o->bcanon = CANON_RELAXED;
	else
		return -1;
	return 0;
}

static int sign(int argc, char **argv)
{
	struct dkim_sign_options o = {.hcanon = CANON_RELAXED, .bcanon = CANON_RELAXED};
	const char *file = NULL, *keyfile = NULL;
	char err[160];
	struct buf msg, out;
	int rc = 1;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			keyfile = argv[++i];
		else if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc)
			o.domain = argv[++i];
		else if (strcmp(argv[i], "--selector") == 0 && i + 1 < argc)
			o.selector = argv[++i];
		else if (strcmp(argv[i], "--canon") == 0 && i + 1 < argc) {
			if (parse_canon_opt(argv[++i], &o) != 0)
				return usage();
		} else if (file == NULL)
			file = argv[i];
		else
			return usage();
	}
	if (file == NULL || keyfile == NULL || o.domain == NULL || o.selector == NULL)
		return usage();
	FILE *kf = fopen(keyfile, "r");
	if (kf == NULL) {
		fprintf(stderr, "postern dkim: %s: %s\n", keyfile, strerror(errno));
		return 1;
	}
	o.key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
	fclose(kf);
	if (o.key == NULL) {
		fprintf(stderr, "postern dkim: %s: not a PEM private key\n", keyfile);
		return 1;
	}
	o.now = (int64_t)time(NULL);
	if (cli_read_crlf("dkim", file, CLI_DKIM_MESSAGE_MAX, &msg) == 0) {
		buf_init(&out, CLI_DKIM_MESSAGE_MAX);
		if (dkim_sign(&o, msg.data, msg.len, &out, err, sizeof(err)) != 0) {
			fprintf(stderr, "postern dkim: %s\n", err);
		} else {
			fwrite(out.data, 1, out.len, stdout);
			fwrite(msg.data, 1, msg.len, stdout);
			rc = 0;
		}
		buf_free(&out);
	}
	buf_free(&msg);
	EVP_PKEY_free(o.key);
	return rc;
}

struct verify_run {
	struct event_base *base;
	size_t npass;
};

static void verified(void *arg, const struct dkim_sig_result *res, size_t n)
{
	struct verify_run *run = arg;

	if (n == 0)
		printf("dkim=none (no signatures)\n");
	for (size_t k = 0; k < n; k++) {
		const struct dkim_sig_result *r = &res[k];
		printf("signature %zu: dkim=%s", k + 1, dkim_result_name(r->result));
		if (r->reason[0] != '\0')
			printf(" (%s)", r->reason);
		if (r->d[0] != '\0')
			printf(" header.d=%s header.i=%s%s header.s=%s header.a=%s header.b=%s",
			       r->d, r->i[0] != '\0' ? "" : "@", r->i[0] != '\0' ? r->i : r->d,
			       r->s, r->a, r->b);
		if (r->testing)
			printf(" [testing key]");
		if (r->beyond_limit)
			printf(" [content beyond l= not signed]");
		printf("\n");
		run->npass += r->result == DKIM_PASS;
	}
	event_base_loopbreak(run->base);
}

static int verify(int argc, char **argv, const struct config *cfg)
{
	const char *file = NULL, *zone = NULL;
	struct dkim_verify_options opt = {
	    .now = (int64_t)time(NULL),
	    .max_signatures = CLI_DKIM_MAX_SIGNATURES,
	};
	struct buf msg;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc)
			zone = argv[++i];
		else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
			opt.now = strtoll(argv[++i], NULL, 10);
		else if (file == NULL)
			file = argv[i];
		else
			return usage();
	}
	if (file == NULL)
		return usage();
	if (cli_read_crlf("dkim", file, CLI_DKIM_MESSAGE_MAX, &msg) != 0)
		return 1;
	struct verify_run run = {event_base_new(), 0};
	if (run.base == NULL) {
		buf_free(&msg);
		return 1;
	}
	struct dns_resolver *r = cli_resolver("dkim", run.base, zone, NULL, cfg);
	if (r == NULL) {
		event_base_free(run.base);
		buf_free(&msg);
		return 1;
	}
	/* The header section through the collector the server uses, then the
	 * body in chunks, as the SMTP DATA reader would give it. */
	struct dkim_verifier *v = dkim_verify_new(&opt);
	struct msghead mh;
	size_t hlen;
	msghead_init(&mh, CLI_DKIM_HEADER_MAX);
	size_t off = msghead_feed(&mh, msg.data, msg.len);
	const char *head = msghead_section(&mh, &hlen);
	if (head == NULL)
		fprintf(stderr, "postern dkim: header section too large\n");
	dkim_verify_header(v, head, hlen);
	for (; off < msg.len; off += CLI_DKIM_CHUNK) {
		size_t n = msg.len - off < CLI_DKIM_CHUNK ? msg.len - off : CLI_DKIM_CHUNK;
		dkim_verify_body(v, msg.data + off, n);
	}
	dkim_verify_finish(v, run.base, r, verified, &run);
	event_base_dispatch(run.base);
	dkim_verify_free(v);
	msghead_free(&mh);
	dns_resolver_free(r);
	event_base_free(run.base);
	buf_free(&msg);
	return 0;
}

int cli_dkim(int argc, char **argv, const struct config *cfg)
{
	if (argc >= 1 && strcmp(argv[0], "keygen") == 0)
		return keygen(argc - 1, argv + 1, cfg);
	if (argc >= 1 && strcmp(argv[0], "sign") == 0)
		return sign(argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "verify") == 0)
		return verify(argc - 1, argv + 1, cfg);
	return usage();
}
