/* The SMTP/LMTP client from the greeting to ready: EHLO or LHLO (HELO when
 * an SMTP server refuses EHLO), STARTTLS as the TLS mode says and EHLO
 * again after it, AUTH PLAIN or LOGIN for a smarthost. */
#include "queue/smtpc_priv.h"
#include "core/b64.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

/* RFC 4616 2 allows 255 octets for each of authcid and passwd. */
#define SMTPC_CRED_MAX 255

static void proceed(struct smtpc *c);

/* A reply we cannot go on after, in a 4xx of ours. */
static void fail_reply(struct smtpc *c, const char *enh, const char *what, const struct reply *r)
{
	char theirs[SMTPC_REPLY_MAX], text[SMTPC_REPLY_MAX];

	smtpc_reply_text(r, theirs, sizeof(theirs));
	smtpc_make_reply(c, text, sizeof(text), 451, enh, "%s: %s", what, theirs);
	smtpc_fail(c, 451, text);
}

static void fail_ours(struct smtpc *c, const char *enh, const char *what)
{
	char text[SMTPC_REPLY_MAX];

	smtpc_make_reply(c, text, sizeof(text), 451, enh, "%s", what);
	smtpc_fail(c, 451, text);
}

/* The server's own refusal, as it said it; a reply that is no refusal
 * where one was expected is a protocol error. */
static void fail_theirs(struct smtpc *c, const struct reply *r)
{
	char text[SMTPC_REPLY_MAX];

	if (r->code / 100 != 4 && r->code / 100 != 5) {
		fail_reply(c, "4.5.0", "protocol error: unexpected reply", r);
		return;
	}
	smtpc_reply_text(r, text, sizeof(text));
	smtpc_fail(c, r->code, text);
}

static void send_hello(struct smtpc *c)
{
	const char *verb = c->p.proto == SMTPC_LMTP ? "LHLO" : "EHLO";

	ehlo_ext_init(&c->ext);
	smtpc_printf(c, "%s %s\r\n", verb, c->helo);
	c->phase = PH_EHLO;
	smtpc_arm(c, c->p.t.helo,
	          c->p.proto == SMTPC_LMTP ? "while waiting for the reply to LHLO"
	                                   : "while waiting for the reply to EHLO");
}

void smtpc_sess_connected(struct smtpc *c)
{
	c->phase = PH_GREETING;
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	smtpc_arm(c, c->p.t.greeting, "while waiting for the greeting");
}

void smtpc_sess_ehlo_line(struct smtpc *c, const char *text, size_t len)
{
	if (c->r.code / 100 == 2)
		ehlo_ext_feed(&c->ext, text, len);
}

static void on_greeting(struct smtpc *c, const struct reply *r)
{
	/* RFC 5321 4.2: 220, or 554 for a server that will not talk to us
	 * (permanent for every recipient); a 4xx is temporary. */
	if (r->code == 220)
		send_hello(c);
	else
		fail_theirs(c, r);
}

static void on_ehlo(struct smtpc *c, const struct reply *r)
{
	if (r->code / 100 == 2) {
		smtpc_reply_text(r, c->hello_reply, sizeof(c->hello_reply));
		proceed(c);
	} else if (r->code / 100 == 5 && c->p.proto == SMTPC_SMTP) {
		/* RFC 5321 4.1.4: an old server may know only HELO. */
		ehlo_ext_init(&c->ext);
		smtpc_printf(c, "HELO %s\r\n", c->helo);
		c->phase = PH_HELO;
		smtpc_arm(c, c->p.t.helo, "while waiting for the reply to HELO");
	} else {
		fail_theirs(c, r);
	}
}

static void on_helo(struct smtpc *c, const struct reply *r)
{
	if (r->code / 100 != 2) {
		fail_theirs(c, r);
		return;
	}
	smtpc_reply_text(r, c->hello_reply, sizeof(c->hello_reply));
	proceed(c);
}

static void on_starttls(struct smtpc *c, const struct reply *r)
{
	if (r->code == 220) {
		if (smtpc_start_tls(c) < 0)
			fail_ours(c, "4.7.5", "cannot set up TLS");
	} else if (c->p.tls == SMTPC_TLS_MAY) {
		/* RFC 3207 4: the session goes on as it was, in cleartext. */
		c->no_starttls = 1;
		proceed(c);
	} else {
		fail_reply(c, "4.7.0", "TLS is required, but STARTTLS was refused", r);
	}
}

void smtpc_sess_tls_done(struct smtpc *c)
{
	if (c->p.tls == SMTPC_TLS_VERIFY && c->tls != SMTPC_TLSO_VERIFIED) {
		char what[256];
		snprintf(what, sizeof(what), "TLS certificate verification failed (%s)",
		         c->tls_info);
		fail_ours(c, "4.7.5", what);
		return;
	}
	/* RFC 3207 4.2: forget what the server said before TLS. */
	send_hello(c);
}

void smtpc_sess_tls_failed(struct smtpc *c, const char *why)
{
	char what[320];

	if (c->p.tls == SMTPC_TLS_MAY && !c->tls_retried) {
		smtpc_reconnect(c);
		return;
	}
	snprintf(what, sizeof(what), "TLS handshake failed: %s", why);
	fail_ours(c, "4.7.5", what);
}

/* AUTH PLAIN with an initial response (RFC 4954 4, RFC 4616 2):
 * base64 of "\0user\0password". */
static void send_auth_plain(struct smtpc *c)
{
	unsigned char raw[2 * SMTPC_CRED_MAX + 2];
	char b64[4 * sizeof(raw) / 3 + 5];
	size_t ul = strlen(c->auth_user), pl = strlen(c->auth_pass);

	raw[0] = '\0';
	memcpy(raw + 1, c->auth_user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, c->auth_pass, pl);
	b64_encode(raw, 2 + ul + pl, b64, sizeof(b64));
	smtpc_printf(c, "AUTH PLAIN %s\r\n", b64);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
}

/* One AUTH LOGIN response: base64 of s. */
static void send_b64_line(struct smtpc *c, const char *s)
{
	char b64[4 * SMTPC_CRED_MAX / 3 + 5];

	b64_encode((const unsigned char *)s, strlen(s), b64, sizeof(b64));
	smtpc_printf(c, "%s\r\n", b64);
	OPENSSL_cleanse(b64, sizeof(b64));
}

static void start_auth(struct smtpc *c)
{
	if (c->tls == SMTPC_TLSO_NONE) {
		fail_ours(c, "4.7.0", "no AUTH over a connection without TLS");
		return;
	}
	if (!(c->ext.flags & EHLO_AUTH) || !(c->ext.auth & (EHLO_AUTH_PLAIN | EHLO_AUTH_LOGIN))) {
		fail_ours(c, "4.7.0", "the server offers no AUTH PLAIN or LOGIN");
		return;
	}
	if (strlen(c->auth_user) > SMTPC_CRED_MAX || strlen(c->auth_pass) > SMTPC_CRED_MAX) {
		fail_ours(c, "4.7.0", "AUTH user name or password too long");
		return;
	}
	c->auth_login = !(c->ext.auth & EHLO_AUTH_PLAIN);
	if (c->auth_login)
		smtpc_printf(c, "AUTH LOGIN\r\n");
	else
		send_auth_plain(c);
	c->phase = PH_AUTH;
	smtpc_arm(c, c->p.t.helo, "while waiting for the reply to AUTH");
}

static void on_auth(struct smtpc *c, const struct reply *r)
{
	/* AUTH LOGIN asks with 334 for the user name, then the password
	 * (the challenge texts are not read); 235 is success. */
	if (r->code == 334 && c->phase == PH_AUTH && c->auth_login) {
		send_b64_line(c, c->auth_user);
		c->phase = PH_AUTH_USER;
	} else if (r->code == 334 && c->phase == PH_AUTH_USER) {
		send_b64_line(c, c->auth_pass);
		c->phase = PH_AUTH_PASS;
	} else if (r->code == 235 && c->phase != PH_AUTH_USER) {
		c->authed = 1;
		proceed(c);
		return;
	} else {
		if (r->code == 334)
			/* End the exchange (RFC 4954 4) before failing. */
			smtpc_printf(c, "*\r\n");
		fail_reply(c, "4.7.0", "authentication failed", r);
		return;
	}
	smtpc_arm(c, c->p.t.helo, "while waiting for the reply to AUTH");
}

/* After EHLO/HELO (and again after STARTTLS and AUTH): the next step. */
static void proceed(struct smtpc *c)
{
	if (c->p.tls != SMTPC_TLS_NONE && c->tls == SMTPC_TLSO_NONE && !c->no_starttls) {
		if (c->ext.flags & EHLO_STARTTLS) {
			smtpc_printf(c, "STARTTLS\r\n");
			c->phase = PH_STARTTLS;
			smtpc_arm(c, c->p.t.helo, "while waiting for the reply to STARTTLS");
			return;
		}
		if (c->p.tls != SMTPC_TLS_MAY) {
			fail_ours(c, "4.7.0", "TLS is required, but was not offered");
			return;
		}
	}
	if (c->auth_user != NULL && !c->authed) {
		start_auth(c);
		return;
	}
	smtpc_ready_ok(c, 250, c->hello_reply);
}

void smtpc_sess_reply(struct smtpc *c, const struct reply *r)
{
	/* RFC 5321 3.8: whatever it answers, the server is leaving. */
	if (r->code == 421) {
		fail_theirs(c, r);
		return;
	}
	switch (c->phase) {
	case PH_GREETING:
		on_greeting(c, r);
		break;
	case PH_EHLO:
		on_ehlo(c, r);
		break;
	case PH_HELO:
		on_helo(c, r);
		break;
	case PH_STARTTLS:
		on_starttls(c, r);
		break;
	case PH_AUTH:
	case PH_AUTH_USER:
	case PH_AUTH_PASS:
		on_auth(c, r);
		break;
	default:
		break;
	}
}
