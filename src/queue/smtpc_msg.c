/* One message over the SMTP/LMTP client: the checks before MAIL, MAIL and
 * RCPT (pipelined when offered), the message as DATA or BDAT chunks with
 * long lines folded, the replies that settle each recipient, and RSET
 * when a transaction is left open. */
#include "queue/smtpc_priv.h"
#include "core/log.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Message bytes queued at a time, and the size of a BDAT chunk. */
#define SMTPC_SLICE (64 * 1024)
/* RFC 5321 4.5.3.1.6: 1000 octets with the CRLF. */
#define SMTPC_TEXT_LINE 998

/* What the next reply answers. */
enum rkind { RK_NONE, RK_MAIL, RK_RCPT, RK_DATA, RK_CHUNK, RK_FINAL, RK_RSET };

/* The replies that end the data: one (SMTP), or one per accepted
 * recipient (LMTP, RFC 2033 4.2); a refusal of the whole is one. */
static size_t final_expected(const struct smtpc *c)
{
	const struct smtpc_txn *t = &c->txn;

	if (c->p.proto == SMTPC_LMTP && t->mail_ok && t->nacc > 0 && !t->discard)
		return t->nacc;
	return 1;
}

static enum rkind next_kind(const struct smtpc *c)
{
	const struct smtpc_txn *t = &c->txn;

	if (t->mail_sent && !t->mail_answered)
		return RK_MAIL;
	if (t->rcpt_answered < t->rcpt_sent)
		return RK_RCPT;
	if (t->data_sent && !t->data_answered)
		return RK_DATA;
	if (t->chunks_answered < t->chunks_sent)
		return RK_CHUNK;
	if (t->final_pending && t->final_answered < final_expected(c))
		return RK_FINAL;
	if (t->rset_sent && !t->over)
		return RK_RSET;
	return RK_NONE;
}

static void settle(struct smtpc_rcpt *rc, const struct reply *r)
{
	if (rc->code != 0)
		return;
	rc->code = r->code;
	smtpc_reply_text(r, rc->reply, sizeof(rc->reply));
}

static void settle_text(struct smtpc_rcpt *rc, int code, const char *text)
{
	if (rc->code != 0)
		return;
	rc->code = code;
	snprintf(rc->reply, sizeof(rc->reply), "%s", text);
}

/* Every recipient not settled yet. */
static void settle_all(struct smtpc_msg *m, int code, const char *text)
{
	for (size_t i = 0; i < m->nrcpt; i++)
		settle_text(&m->rcpts[i], code, text);
}

static void settle_accepted(struct smtpc_txn *t, const struct reply *r)
{
	for (size_t i = 0; i < t->nacc; i++)
		settle(&t->m->rcpts[t->acc[i]], r);
}

/* done runs last: it may send the next message or close c. */
static void finish(struct smtpc *c)
{
	struct smtpc_txn *t = &c->txn;
	struct smtpc_msg *m = t->m;
	smtpc_sent_fn done = t->done;
	void *arg = t->arg;

	if (c->phase == PH_MSG) {
		if (c->broken) {
			smtpc_drop(c);
		} else {
			c->phase = PH_IDLE;
			smtpc_disarm(c);
		}
	}
	smtpc_msg_free(c);
	memset(t, 0, sizeof(*t));
	done(arg, c, m);
}

static void protocol_error(struct smtpc *c, const char *what, const struct reply *r)
{
	char theirs[SMTPC_REPLY_MAX], text[SMTPC_REPLY_MAX];

	smtpc_reply_text(r, theirs, sizeof(theirs));
	smtpc_make_reply(c, text, sizeof(text), 451, "4.5.0", "protocol error: %s: %s", what,
	                 theirs);
	smtpc_fail(c, 451, text);
}

/* --- the message on the wire --- */

/* Where encoded message bytes go: the connection's output, dot-stuffed
 * (DATA), or a chunk being built (BDAT). */
struct enc {
	struct smtpc_txn *t;
	struct evbuffer *out;
	int stuff;
};

static void enc_sink(void *arg, const char *p, size_t n)
{
	evbuffer_add(arg, p, n);
}

static void enc_put(struct enc *e, const char *p, size_t n)
{
	if (e->stuff)
		data_stuff(&e->t->ds, p, n, enc_sink, e->out);
	else
		evbuffer_add(e->out, p, n);
}

/* Encodes the next line of the message, or, for a line of more than 998
 * octets, as much as fits followed by "\r\n " (Postfix's
 * smtp_line_length_limit): the rest continues as a folded line.  LF is
 * looked for no further than a line may reach, so that a message of one
 * endless line costs linear time. */
static void enc_line(struct enc *e)
{
	struct smtpc_txn *t = e->t;
	const char *d = t->m->data;
	size_t off = t->off, left = t->m->len - off;
	size_t room = SMTPC_TEXT_LINE - t->col;
	const char *lf = memchr(d + off, '\n', left < room + 2 ? left : room + 2);
	size_t end, cend;

	if (lf != NULL) {
		end = (size_t)(lf - d) + 1;
		cend = (size_t)(lf - d);
		if (cend > off && d[cend - 1] == '\r')
			cend--;
	} else {
		end = cend = t->m->len;
	}
	if (cend - off <= room) {
		enc_put(e, d + off, end - off);
		t->col = lf != NULL ? 0 : t->col + (cend - off);
		t->off = end;
		return;
	}
	enc_put(e, d + off, room);
	enc_put(e, "\r\n ", 3);
	t->off = off + room;
	t->col = 1;
}

/* Encodes until want more bytes are in e->out or the message is all
 * encoded; returns whether it is. */
static int enc_run(struct enc *e, size_t want)
{
	size_t start = evbuffer_get_length(e->out);

	while (e->t->off < e->t->m->len && evbuffer_get_length(e->out) - start < want)
		enc_line(e);
	return e->t->off == e->t->m->len;
}

/* The next slice of the message after DATA, and the final dot after the
 * last one. */
static void queue_data(struct smtpc *c)
{
	struct smtpc_txn *t = &c->txn;
	struct enc e = {t, smtpc_out(c), 1};

	if (enc_run(&e, SMTPC_SLICE)) {
		data_stuff_end(&t->ds, enc_sink, e.out);
		t->encoded = 1;
		t->streaming = 0;
	}
}

/* The next BDAT chunk (RFC 3030 2): its exact size is known only once
 * encoded, so it is built aside and queued behind its command. */
static void queue_chunk(struct smtpc *c)
{
	struct smtpc_txn *t = &c->txn;
	struct evbuffer *chunk = evbuffer_new();
	struct enc e = {t, chunk, 0};
	int last = enc_run(&e, SMTPC_SLICE);

	if (last && t->col > 0) {
		/* The message's last line gets its CRLF, as DATA's does. */
		evbuffer_add(chunk, "\r\n", 2);
		t->col = 0;
	}
	smtpc_printf(c, "BDAT %zu%s\r\n", evbuffer_get_length(chunk), last ? " LAST" : "");
	evbuffer_add_buffer(smtpc_out(c), chunk);
	evbuffer_free(chunk);
	t->started = 1;
	if (last) {
		t->final_pending = 1;
		t->encoded = 1;
		t->streaming = 0;
	} else {
		t->chunks_sent++;
	}
}

/* Keeps about a slice queued while the message streams. */
static void fill(struct smtpc *c)
{
	struct smtpc_txn *t = &c->txn;

	while (t->streaming && evbuffer_get_length(smtpc_out(c)) < SMTPC_SLICE) {
		if (t->chunking)
			queue_chunk(c);
		else
			queue_data(c);
	}
}

static void send_mail(struct smtpc *c)
{
	struct smtpc_msg *m = c->txn.m;
	unsigned f = c->ext.flags;

	smtpc_printf(c, "MAIL FROM:<%s>", m->sender);
	if (f & EHLO_SIZE)
		smtpc_printf(c, " SIZE=%zu", m->len);
	if (m->eightbit && (f & EHLO_8BITMIME))
		smtpc_printf(c, " BODY=8BITMIME");
	if (m->smtputf8)
		smtpc_printf(c, " SMTPUTF8");
	if ((f & EHLO_DSN) && m->dsn_ret != NULL)
		smtpc_printf(c, " RET=%s", m->dsn_ret);
	if ((f & EHLO_DSN) && m->dsn_envid != NULL)
		smtpc_printf(c, " ENVID=%s", m->dsn_envid);
	smtpc_printf(c, "\r\n");
	c->txn.mail_sent = 1;
}

static void send_rcpt(struct smtpc *c)
{
	struct smtpc_txn *t = &c->txn;
	const struct smtpc_rcpt *rc = &t->m->rcpts[t->order[t->rcpt_sent++]];

	smtpc_printf(c, "RCPT TO:<%s>", rc->addr);
	if ((c->ext.flags & EHLO_DSN) && rc->dsn_notify != NULL)
		smtpc_printf(c, " NOTIFY=%s", rc->dsn_notify);
	if ((c->ext.flags & EHLO_DSN) && rc->dsn_orcpt != NULL)
		smtpc_printf(c, " ORCPT=%s", rc->dsn_orcpt);
	smtpc_printf(c, "\r\n");
}

/* DATA, or the first chunk. */
static void send_data(struct smtpc *c)
{
	if (c->txn.chunking) {
		queue_chunk(c);
		return;
	}
	smtpc_printf(c, "DATA\r\n");
	c->txn.data_sent = 1;
}

static void send_rset(struct smtpc *c)
{
	smtpc_printf(c, "RSET\r\n");
	c->txn.rset_sent = 1;
}

/* --- replies --- */

static void on_mail(struct smtpc *c, const struct reply *r)
{
	struct smtpc_txn *t = &c->txn;
	char text[SMTPC_REPLY_MAX];

	t->mail_answered = 1;
	if (r->code / 100 == 2) {
		t->mail_ok = 1;
		return;
	}
	smtpc_reply_text(r, text, sizeof(text));
	settle_all(t->m, r->code, text);
}

static void on_rcpt(struct smtpc *c, const struct reply *r)
{
	struct smtpc_txn *t = &c->txn;
	size_t i = t->order[t->rcpt_answered++];

	/* After a refused MAIL, pipelined RCPTs get 503s that say nothing
	 * of the recipients: the MAIL reply stands. */
	if (!t->mail_ok)
		return;
	if (r->code / 100 == 2)
		t->acc[t->nacc++] = i;
	else
		settle(&t->m->rcpts[i], r);
}

static void on_data(struct smtpc *c, const struct reply *r)
{
	struct smtpc_txn *t = &c->txn;

	t->data_answered = 1;
	if (r->code == 354) {
		t->final_pending = 1;
		if (!t->mail_ok || t->nacc == 0) {
			/* A pipelined DATA the server should have refused
			 * (RFC 2920 3.1): an empty message ends it. */
			t->discard = 1;
			t->encoded = 1;
			smtpc_printf(c, ".\r\n");
			return;
		}
		data_stuffer_init(&t->ds);
		t->started = 1;
		t->streaming = 1;
		fill(c);
		return;
	}
	if (r->code / 100 == 2) {
		protocol_error(c, "DATA answered without 354", r);
		return;
	}
	if (t->mail_ok)
		settle_accepted(t, r);
	t->refused = 1;
}

static void on_chunk(struct smtpc *c, const struct reply *r)
{
	struct smtpc_txn *t = &c->txn;

	t->chunks_answered++;
	if (r->code / 100 == 2) {
		/* A chunk taken without recipients: end it with RSET. */
		if (!t->mail_ok || t->nacc == 0)
			t->refused = 1;
		return;
	}
	if (t->mail_ok)
		settle_accepted(t, r);
	t->streaming = 0;
	/* RFC 3030 4: no more chunks after a refused one.  Those already
	 * on their way would each get a reply we cannot count on, so the
	 * connection is not used again. */
	if (t->chunks_answered < t->chunks_sent || t->final_pending) {
		c->broken = 1;
		t->over = 1;
	} else {
		t->refused = 1;
	}
}

static void on_final(struct smtpc *c, const struct reply *r)
{
	struct smtpc_txn *t = &c->txn;

	t->final_answered++;
	if (t->discard) {
		t->over = 1;
		return;
	}
	if (!t->mail_ok || t->nacc == 0) {
		/* A LAST chunk sent with MAIL and RCPT: its refusal leaves
		 * the transaction open, as DATA's does. */
		if (r->code / 100 == 2)
			t->over = 1;
		else
			t->refused = 1;
		return;
	}
	if (c->p.proto == SMTPC_LMTP)
		settle(&t->m->rcpts[t->acc[t->final_answered - 1]], r);
	else
		settle_accepted(t, r);
	if (t->final_answered == final_expected(c)) {
		t->over = 1;
		/* An answer before the end of our data: out of step. */
		if (!t->encoded)
			c->broken = 1;
	}
}

static void on_rset(struct smtpc *c, const struct reply *r)
{
	c->txn.over = 1;
	if (r->code / 100 != 2)
		c->broken = 1;
}

/* Nothing is outstanding and the transaction goes on: what to send. */
static void step(struct smtpc *c)
{
	struct smtpc_txn *t = &c->txn;

	if (t->refused || (t->rcpt_sent == t->norder && t->nacc == 0)) {
		send_rset(c);
	} else if (t->rcpt_sent < t->norder) {
		send_rcpt(c);
	} else if (!t->data_sent && !t->started) {
		send_data(c);
	} else if (t->chunking && !t->encoded && !t->streaming) {
		/* RFC 3030 4: chunks go pipelined only where PIPELINING
		 * is offered; the first one's reply comes first, so that a
		 * transaction without recipients costs one chunk. */
		if (t->pipelining) {
			t->streaming = 1;
			fill(c);
		} else {
			queue_chunk(c);
		}
	}
}

/* The deadline for what the message waits for now. */
static void msg_arm(struct smtpc *c)
{
	const struct smtpc_timeouts *to = &c->p.t;
	const struct smtpc_txn *t = &c->txn;

	if (t->streaming || (t->started && evbuffer_get_length(smtpc_out(c)) > 0)) {
		smtpc_arm(c, to->data_block, "while sending the message");
		return;
	}
	switch (next_kind(c)) {
	case RK_MAIL:
		smtpc_arm(c, to->mail, "while waiting for the reply to MAIL FROM");
		break;
	case RK_RCPT:
		smtpc_arm(c, to->rcpt, "while waiting for the reply to RCPT TO");
		break;
	case RK_DATA:
		smtpc_arm(c, to->data_init, "while waiting for the reply to DATA");
		break;
	case RK_CHUNK:
		smtpc_arm(c, to->data_block, "while waiting for the reply to BDAT");
		break;
	case RK_FINAL:
		smtpc_arm(c, to->data_done,
		          "while waiting for the reply to the end of the message");
		break;
	case RK_RSET:
		smtpc_arm(c, to->helo, "while waiting for the reply to RSET");
		break;
	default:
		smtpc_disarm(c);
		break;
	}
}

void smtpc_msg_reply(struct smtpc *c, const struct reply *r)
{
	struct smtpc_txn *t = &c->txn;
	enum rkind k = next_kind(c);

	if (k == RK_NONE) {
		protocol_error(c, "unexpected reply", r);
		return;
	}
	if (r->code / 100 == 3 && !(k == RK_DATA && r->code == 354)) {
		protocol_error(c, "unexpected intermediate reply", r);
		return;
	}
	switch (k) {
	case RK_MAIL:
		on_mail(c, r);
		break;
	case RK_RCPT:
		on_rcpt(c, r);
		break;
	case RK_DATA:
		on_data(c, r);
		break;
	case RK_CHUNK:
		on_chunk(c, r);
		break;
	case RK_FINAL:
		on_final(c, r);
		break;
	default:
		on_rset(c, r);
		break;
	}
	if (c->phase != PH_MSG)
		return;
	if (t->over || (!t->mail_ok && next_kind(c) == RK_NONE)) {
		finish(c);
		return;
	}
	if (next_kind(c) == RK_NONE)
		step(c);
	msg_arm(c);
}

void smtpc_msg_writable(struct smtpc *c)
{
	if (c->txn.streaming)
		fill(c);
	msg_arm(c);
}

void smtpc_msg_fail(struct smtpc *c, int code, const char *reply)
{
	settle_all(c->txn.m, code, reply);
	finish(c);
}

void smtpc_msg_deferred(struct smtpc *c)
{
	if (!c->txn.deferred)
		return;
	finish(c);
}

void smtpc_msg_free(struct smtpc *c)
{
	free(c->txn.order);
	free(c->txn.acc);
	c->txn.order = c->txn.acc = NULL;
}

/* --- the checks before MAIL --- */

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* A DSN value goes on the command line as given: xtext (RFC 3461 4) or a
 * keyword list, printable ASCII without spaces, so nothing else can. */
static int dsn_ok(const char *s)
{
	if (s == NULL)
		return 1;
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int envelope_ok(const struct smtpc_msg *m)
{
	if (has_control(m->sender) || !dsn_ok(m->dsn_envid) || !dsn_ok(m->dsn_ret))
		return 0;
	for (size_t i = 0; i < m->nrcpt; i++)
		if (!dsn_ok(m->rcpts[i].dsn_notify) || !dsn_ok(m->rcpts[i].dsn_orcpt))
			return 0;
	return 1;
}

/* Settles what can be settled without the server; returns the number of
 * recipients left to send RCPT for (in t->order). */
static size_t precheck(struct smtpc *c)
{
	struct smtpc_txn *t = &c->txn;
	struct smtpc_msg *m = t->m;
	char text[SMTPC_REPLY_MAX];

	if (!envelope_ok(m)) {
		smtpc_make_reply(c, text, sizeof(text), 501, "5.5.4",
		                 "sender or DSN parameter that cannot be sent");
		settle_all(m, 501, text);
	} else if (m->smtputf8 && !(c->ext.flags & EHLO_SMTPUTF8)) {
		/* RFC 6531 3.2: no downgrade. */
		smtpc_make_reply(c, text, sizeof(text), 553, "5.6.7",
		                 "the server does not support SMTPUTF8");
		settle_all(m, 553, text);
	} else if ((c->ext.flags & EHLO_SIZE) && c->ext.size > 0 && m->len > c->ext.size) {
		/* RFC 1870 6.1: known too big, not sent. */
		smtpc_make_reply(c, text, sizeof(text), 552, "5.3.4",
		                 "message size %zu exceeds the server's limit of %llu", m->len,
		                 (unsigned long long)c->ext.size);
		settle_all(m, 552, text);
	}
	for (size_t i = 0; i < m->nrcpt; i++) {
		if (m->rcpts[i].code == 0 && has_control(m->rcpts[i].addr)) {
			smtpc_make_reply(c, text, sizeof(text), 553, "5.1.3",
			                 "control character in the recipient address");
			settle_text(&m->rcpts[i], 553, text);
		}
		if (m->rcpts[i].code == 0)
			t->order[t->norder++] = i;
	}
	return t->norder;
}

void smtpc_send(struct smtpc *c, struct smtpc_msg *m, smtpc_sent_fn done, void *arg)
{
	struct smtpc_txn *t = &c->txn;

	if (t->m != NULL)
		panic("smtpc_send: a message is already in flight");
	t->m = m;
	t->done = done;
	t->arg = arg;
	for (size_t i = 0; i < m->nrcpt; i++) {
		m->rcpts[i].code = 0;
		m->rcpts[i].reply[0] = '\0';
	}
	if (!smtpc_usable(c)) {
		char text[SMTPC_REPLY_MAX];
		smtpc_make_reply(c, text, sizeof(text), 451, "4.4.2",
		                 "the connection is no longer usable");
		settle_all(m, 451, text);
		t->deferred = 1;
		smtpc_defer(c);
		return;
	}
	c->phase = PH_MSG;
	t->pipelining = (c->ext.flags & EHLO_PIPELINING) != 0;
	t->chunking = (c->ext.flags & EHLO_CHUNKING) != 0;
	t->order = xcalloc(m->nrcpt, sizeof(*t->order));
	t->acc = xcalloc(m->nrcpt, sizeof(*t->acc));
	if (precheck(c) == 0) {
		t->deferred = 1;
		smtpc_defer(c);
		return;
	}
	send_mail(c);
	if (t->pipelining) {
		/* RFC 2920 3.1: DATA (or BDAT) ends the group. */
		while (t->rcpt_sent < t->norder)
			send_rcpt(c);
		send_data(c);
	}
	msg_arm(c);
}
