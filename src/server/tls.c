/* Server TLS contexts and the self-signed certificate made on first run. */
#include "server/tls.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* TLS 1.2 suites: forward secrecy only (ECDHE), AEAD only, strongest
 * first (RFC 9325 4.2).  OpenSSL's default list also offers static RSA key
 * exchange to a server with an RSA certificate, where a key stolen later
 * decrypts every recorded session.  TLS 1.3 suites are all forward secret
 * and keep OpenSSL's default. */
#define TLS12_CIPHERS                                                                              \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                               \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

static void tls_error(char *err, size_t errsize, const char *what, const char *path)
{
	char msg[256] = "";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, msg, sizeof(msg));
	snprintf(err, errsize, "%s %s: %s", what, path, msg[0] ? msg : strerror(errno));
	ERR_clear_error();
}

SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *min_version, char *err,
                        size_t errsize)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tls_error(err, errsize, "cannot create a TLS context", "");
		return NULL;
	}
	/* TLS 1.2 and 1.3 only (RFC 8996 retires the older ones). */
	SSL_CTX_set_min_proto_version(ctx, strcmp(min_version, "TLSv1.3") == 0 ? TLS1_3_VERSION
	                                                                       : TLS1_2_VERSION);
	/* Our order of suites, not the client's: a client listing a weaker
	 * suite first still gets the stronger one both support. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		tls_error(err, errsize, "cannot set the TLS 1.2 cipher list", TLS12_CIPHERS);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"postern", 7);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_error(err, errsize, "cannot load certificate", cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errsize, "cannot load private key", key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int write_pem(const char *path, int mode, int (*writer)(FILE *, void *), void *obj)
{
	char tmp[4096];
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	if (!writer(f, obj) || fflush(f) != 0 || fsync(fd) != 0) {
		fclose(f);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	return rename(tmp, path);
}

static int write_key(FILE *f, void *k)
{
	return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(FILE *f, void *x)
{
	return PEM_write_X509(f, x);
}

int tls_ensure_selfsigned(const char *state_dir, const char *hostname, char *err, size_t errsize)
{
	char dir[4096], cert[4200], key[4200];
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	int rc = -1;

	snprintf(dir, sizeof(dir), "%s/tls", state_dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if (access(cert, R_OK) == 0 && access(key, R_OK) == 0)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsize, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	pkey = EVP_EC_gen("P-256");
	x = X509_new();
	if (pkey == NULL || x == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
	X509_set_pubkey(x, pkey);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1,
	                           -1, 0);
	X509_set_issuer_name(x, name);
	char san[300];
	snprintf(san, sizeof(san), "DNS:%s", hostname);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	if (ext) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!X509_sign(x, pkey, EVP_sha256()))
		goto out;
	if (write_pem(key, 0600, write_key, pkey) < 0 || write_pem(cert, 0644, write_cert, x) < 0)
		goto out;
	log_info("event=tls_selfsigned cert=%s key=%s cn=%s", cert, key, hostname);
	rc = 0;
out:
	if (rc < 0)
		tls_error(err, errsize, "cannot make a self-signed certificate in", dir);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}
