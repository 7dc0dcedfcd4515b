/* TLS contexts for the listeners (OpenSSL 3): TLS 1.2 and 1.3 only, a
 * certificate and key per listener, and a self-signed certificate made on
 * first run when none is configured. */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include "core/config.h"

#include <openssl/ssl.h>

/* Creates the server context for cert/key (PEM files).  NULL and err on
 * failure. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, const char *min_version, char *err,
                        size_t errsize);
/* Makes <state_dir>/tls/{cert,key}.pem for hostname unless they exist. */
int tls_ensure_selfsigned(const char *state_dir, const char *hostname, char *err, size_t errsize);

#endif
