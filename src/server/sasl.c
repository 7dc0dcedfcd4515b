/* SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms,
 * offered only under TLS on the submission listeners.  Password checks
 * run on the worker's pool (yescrypt is deliberately slow); failures are
 * delayed and counted per client address across all workers. */
#include "server/sasl.h"
#include "core/b64.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "server/session.h"
#include "store/accounts.h"
#include "store/counters.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AUTH_DECODED_MAX 9216 /* 12288 base64 octets */

struct auth_job {
	struct session *s;
	char key[80];
	long max_failures, window;
	int blocked;
	char user[256];
	char password[1024];
	enum accounts_status result;
	struct event *delay;
};

static void auth_finish(struct auth_job *j)
{
	struct session *s = j->s;

	if (j->delay)
		event_free(j->delay);
	OPENSSL_cleanse(j->password, sizeof(j->password));
	if (session_release(s)) {
		free(j);
		return;
	}
	s->state = ST_READY;
	/* The name is the client's choice, logged before it is known good. */
	char user[LOG_VALUE_SIZE(64)];
	log_value(user, sizeof(user), j->user);
	if (j->blocked) {
		log_info("event=auth sid=%s ip=%s user=%s result=blocked", s->sid, s->ip, user);
		session_reply(s, 454, "4.7.0", "Too many failed authentications from %s, try later",
		              s->ip);
	} else if (j->result == ACCOUNTS_OK) {
		snprintf(s->auth_user, sizeof(s->auth_user), "%s", j->user);
		log_info("event=auth sid=%s ip=%s user=%s result=pass", s->sid, s->ip, user);
		stages_run(&s->stages, FS_AUTH, NULL);
		session_reply(s, 235, "2.7.0", "Authentication successful");
	} else if (j->result == ACCOUNTS_ERROR) {
		session_reply(s, 454, "4.7.0", "Temporary authentication failure");
	} else {
		log_info("event=auth sid=%s ip=%s user=%s result=fail", s->sid, s->ip, user);
		session_reply(s, 535, "5.7.8", "Authentication credentials invalid");
	}
	free(j);
	session_resume(s);
}

static void auth_delay_done(evutil_socket_t fd, short what, void *arg)
{
	auth_finish(arg);
}

/* The failure count is kept in the state database so that it holds
 * across every worker process, whichever one takes the connection. */
static void auth_work(void *arg)
{
	struct auth_job *j = arg;
	struct counters *c = j->s->env->counters;
	time_t now = time(NULL);

	if (counters_hit(c, j->key, 0, j->window, now) >= j->max_failures) {
		j->blocked = 1;
		return;
	}
	j->result = accounts_authenticate(j->s->env->shared.accounts, j->user, j->password);
	if (j->result != ACCOUNTS_OK && j->result != ACCOUNTS_ERROR)
		counters_hit(c, j->key, 1, j->window, now);
}

static void auth_checked(void *arg)
{
	struct auth_job *j = arg;
	struct session *s = j->s;
	const struct config *cfg = s->env->shared.cfg;

	if (j->result == ACCOUNTS_OK || j->result == ACCOUNTS_ERROR || j->blocked || s->dead) {
		auth_finish(j);
		return;
	}
	/* The delay slows down guessing; it holds no thread, only a timer. */
	struct timeval tv = {.tv_sec = cfg->auth_failure_delay_ms / 1000,
	                     .tv_usec = (cfg->auth_failure_delay_ms % 1000) * 1000};
	j->delay = evtimer_new(s->env->shared.base, auth_delay_done, j);
	evtimer_add(j->delay, &tv);
}

static void auth_verify(struct session *s, const char *user, size_t ulen, const char *pass,
                        size_t plen)
{
	struct auth_job *j;

	if (ulen == 0 || ulen >= 256 || plen >= 1024) {
		s->state = ST_READY;
		session_reply(s, 535, "5.7.8", "Authentication credentials invalid");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	snprintf(j->key, sizeof(j->key), "auth_fail:%s", s->ip);
	j->max_failures = s->env->shared.cfg->auth_max_failures;
	j->window = s->env->shared.cfg->auth_failure_window;
	memcpy(j->user, user, ulen);
	memcpy(j->password, pass, plen);
	session_hold(s);
	session_wait(s);
	pool_submit(s->env->shared.pool, auth_work, auth_checked, j);
}

/* RFC 4616 2: [authzid] NUL authcid NUL passwd. */
static void auth_plain(struct session *s, const char *b64, size_t len)
{
	unsigned char dec[AUTH_DECODED_MAX];
	long n = b64_decode_sasl(b64, len, dec, sizeof(dec));
	const unsigned char *nul1, *nul2;

	if (n <= 0 || (nul1 = memchr(dec, '\0', (size_t)n)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', (size_t)(dec + n - nul1 - 1))) == NULL) {
		s->state = ST_READY;
		session_reply(s, 501, "5.5.2", "Cannot decode AUTH PLAIN response");
		return;
	}
	const char *authzid = (const char *)dec;
	const char *user = (const char *)nul1 + 1;
	size_t ulen = (size_t)(nul2 - nul1 - 1);
	/* Acting for someone else (an authzid other than oneself) is refused. */
	if (authzid[0] && (strlen(authzid) != ulen || strncasecmp(authzid, user, ulen) != 0)) {
		s->state = ST_READY;
		session_reply(s, 535, "5.7.8", "Authorization identity not permitted");
		return;
	}
	auth_verify(s, user, ulen, (const char *)nul2 + 1, (size_t)(dec + n - nul2 - 1));
	OPENSSL_cleanse(dec, sizeof(dec));
}

void sasl_start(struct session *s, const char *arg, size_t len)
{
	const char *sp = memchr(arg, ' ', len);
	size_t mlen = sp ? (size_t)(sp - arg) : len;
	const char *initial = sp ? sp + 1 : NULL;
	size_t ilen = sp ? len - mlen - 1 : 0;

	s->state = ST_AUTH;
	s->auth_step = 0;
	if (mlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0) {
		s->auth_mech = SASL_PLAIN;
		if (initial) {
			auth_plain(s, initial, ilen);
			return;
		}
		session_reply(s, 334, NULL, " ");
		return;
	}
	if (mlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
		s->auth_mech = SASL_LOGIN;
		if (initial) {
			sasl_continue(s, initial, ilen);
			return;
		}
		session_reply(s, 334, NULL, "VXNlcm5hbWU6"); /* "Username:" */
		return;
	}
	s->state = ST_READY;
	session_reply(s, 504, "5.5.4", "Unrecognized authentication mechanism");
}

void sasl_continue(struct session *s, const char *line, size_t len)
{
	unsigned char dec[1024];
	long n;

	if (len == 1 && line[0] == '*') {
		/* RFC 4954 4: the client cancels. */
		s->state = ST_READY;
		session_reply(s, 501, "5.7.0", "Authentication cancelled");
		return;
	}
	if (s->auth_mech == SASL_PLAIN) {
		auth_plain(s, line, len);
		return;
	}
	n = b64_decode_sasl(line, len, dec, sizeof(dec) - 1);
	if (n < 0 || memchr(dec, '\0', (size_t)n) != NULL) {
		s->state = ST_READY;
		session_reply(s, 501, "5.5.2", "Cannot decode AUTH LOGIN response");
		return;
	}
	if (s->auth_step == 0) {
		if ((size_t)n >= sizeof(s->auth_login_user)) {
			s->state = ST_READY;
			session_reply(s, 535, "5.7.8", "Authentication credentials invalid");
			return;
		}
		memcpy(s->auth_login_user, dec, (size_t)n);
		s->auth_login_user[n] = '\0';
		s->auth_step = 1;
		session_reply(s, 334, NULL, "UGFzc3dvcmQ6"); /* "Password:" */
		return;
	}
	auth_verify(s, s->auth_login_user, strlen(s->auth_login_user), (const char *)dec,
	            (size_t)n);
	OPENSSL_cleanse(dec, sizeof(dec));
	s->auth_login_user[0] = '\0';
}
