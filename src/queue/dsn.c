/* Composes delivery status notifications: the human-readable part, the
 * message/delivery-status fields and the returned message, in one
 * multipart/report (see dsn.h). */
#include "queue/dsn.h"
#include "smtp/xtext.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Outside values longer than this are cut: an address is at most 256
 * octets (RFC 5321 4.5.3.1.3), an ORCPT 500 (RFC 3461 4.2), a diagnostic
 * a server's reply. */
#define DSN_VALUE_MAX 1024
/* Lines are folded near 78 columns (RFC 5322 2.1.1); a run without a
 * space longer than DSN_RUN_MAX is broken anyway, which adds a space to
 * the unfolded text but keeps every line under 998 octets. */
#define DSN_FOLD 78
#define DSN_RUN_MAX 900
/* Boundaries tried before giving up: the queue id in each one is not
 * known to the sender before the message is in, so only a remote server
 * that saw it can plant boundaries in its reply, and a reply holds few. */
#define DSN_BOUNDARY_TRIES 100

static const char *const action_names[] = {"failed", "delayed", "delivered", "relayed"};

/* One line of text from an outside value: control characters (CR and LF
 * included) become spaces, runs of spaces one space, ill-formed UTF-8
 * '?'; cut at a character boundary to fit.  Returns 1 when it keeps
 * characters outside ASCII. */
static int clean(const char *in, char *out, size_t outsize)
{
	size_t len = 0, n = in ? strlen(in) : 0, i = 0;
	int utf8 = 0;

	while (i < n) {
		uint32_t cp;
		int used = xtext_utf8_char(in + i, n - i, &cp);
		const char *p = in + i;
		size_t w = (size_t)used;

		if (used < 0) {
			p = "?";
			w = 1;
			used = 1;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			p = " ";
			w = 1;
		}
		i += (size_t)used;
		if (p[0] == ' ' && (len == 0 || out[len - 1] == ' '))
			continue;
		if (len + w >= outsize)
			break;
		memcpy(out + len, p, w);
		len += w;
		utf8 |= w > 1;
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	out[len] = '\0';
	return utf8;
}

/* RFC 5322 3.3, in UTC: no time zone database makes the output vary. */
static void date_format(time_t t, char *out, size_t outsize)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(out, outsize, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec);
}

/* Writes the words of value (single spaces between them, as clean
 * leaves them) from column col on, and folds before a word that would
 * pass DSN_FOLD: the next line starts with lead. */
static int wrap(struct buf *out, size_t col, const char *lead, const char *value)
{
	size_t i = 0, n = strlen(value), leadlen = strlen(lead);
	int rc = 0, first = 1;

	while (i < n) {
		size_t w = 0;
		while (i + w < n && value[i + w] != ' ')
			w++;
		if (w > DSN_RUN_MAX) {
			w = DSN_RUN_MAX;
			while (w > 1 && ((unsigned char)value[i + w] & 0xc0) == 0x80)
				w--;
		}
		if (!first && col + 1 + w > DSN_FOLD) {
			rc |= buf_append_str(out, "\r\n") | buf_append_str(out, lead);
			col = leadlen;
		} else if (!first) {
			rc |= buf_append(out, " ", 1);
			col++;
		}
		rc |= buf_append(out, value + i, w);
		col += w;
		i += w;
		first = 0;
		while (i < n && value[i] == ' ')
			i++;
	}
	return rc | buf_append_str(out, "\r\n");
}

/* "Name: value" as a header field (RFC 5322 2.2.3 folding). */
static int field(struct buf *out, const char *name, const char *value)
{
	return buf_printf(out, "%s: ", name) | wrap(out, strlen(name) + 2, " ", value);
}

static int date_field(struct buf *out, const char *name, time_t t)
{
	char date[64];

	date_format(t, date, sizeof(date));
	return field(out, name, date);
}

/* status-code = DIGIT "." 1*3DIGIT "." 1*3DIGIT (RFC 3464 2.3.4), the
 * class 2, 4 or 5 (RFC 3463 3.1). */
static int status_valid(const char *s)
{
	size_t i = 0;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	s += 2;
	for (int part = 0; part < 2; part++) {
		for (i = 0; i < 3 && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == 0 || s[i] != (part == 0 ? '.' : '\0'))
			return 0;
		s += i + 1;
	}
	return 1;
}

static const char *status_of(const struct dsn_rcpt *rc)
{
	if (status_valid(rc->status))
		return rc->status;
	return rc->action == DSN_ACTION_FAILED    ? "5.0.0"
	       : rc->action == DSN_ACTION_DELAYED ? "4.0.0"
	                                          : "2.0.0";
}

static int any_action(const struct dsn_report *r, enum dsn_action a)
{
	for (size_t i = 0; i < r->nrcpt; i++)
		if (r->rcpts[i].action == a)
			return 1;
	return 0;
}

/* RFC 6533 3: the global forms are needed when a value the report
 * carries is UTF-8. */
static int needs_global(const struct dsn_report *r)
{
	char v[DSN_VALUE_MAX];
	int utf8 = clean(r->to, v, sizeof(v)) | clean(r->reporting_mta, v, sizeof(v));

	for (size_t i = 0; i < r->nrcpt; i++) {
		const struct dsn_rcpt *rc = &r->rcpts[i];
		utf8 |= clean(rc->final_rcpt, v, sizeof(v)) | clean(rc->orcpt, v, sizeof(v)) |
		        clean(rc->remote_mta, v, sizeof(v)) | clean(rc->diagnostic, v, sizeof(v));
	}
	return utf8;
}

static int has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/* The length of the header section at the start of m, its last CRLF
 * included: up to the empty line, or the last whole line when there is
 * none (a message cut by the caller, or all header). */
static size_t header_len(const char *m, size_t n)
{
	const char *e;

	if (n >= 2 && m[0] == '\r' && m[1] == '\n')
		return 0;
	e = n >= 4 ? memmem(m, n, "\r\n\r\n", 4) : NULL;
	if (e != NULL)
		return (size_t)(e - m) + 2;
	for (size_t k = n; k >= 2; k--)
		if (m[k - 2] == '\r' && m[k - 1] == '\n')
			return k;
	return 0;
}

/* Part 1, for people. */
static const struct {
	enum dsn_action action;
	const char *text;
} explanations[] = {
    {DSN_ACTION_FAILED, "Your message could not be delivered to the recipients below. This is "
                        "a permanent error: it will not be tried again."},
    {DSN_ACTION_DELAYED, "Your message could not be delivered yet to the recipients below. It "
                         "will be tried again; you do not need to send it again."},
    {DSN_ACTION_DELIVERED, "Your message was delivered to the recipients below."},
    {DSN_ACTION_RELAYED, "Your message was passed on to the recipients below through a mail "
                         "system that does not report on delivery: you may hear no more of "
                         "it."},
};

/* One recipient in part 1: the address, then what the server said (or
 * the status), then until when a delayed one is tried. */
static int human_rcpt(const struct dsn_rcpt *d, struct buf *out)
{
	char v[DSN_VALUE_MAX], mta[DSN_VALUE_MAX], line[2 * DSN_VALUE_MAX + 16];
	int rc;

	clean(d->final_rcpt, v, sizeof(v));
	rc = buf_append_str(out, "\r\n  ") | wrap(out, 2, "  ", v);
	clean(d->diagnostic, v, sizeof(v));
	clean(d->remote_mta, mta, sizeof(mta));
	if (v[0] && mta[0])
		snprintf(line, sizeof(line), "%s said: %s", mta, v);
	else if (v[0])
		snprintf(line, sizeof(line), "%s", v);
	else
		snprintf(line, sizeof(line), "status %s", status_of(d));
	rc |= buf_append_str(out, "    ") | wrap(out, 4, "    ", line);
	if (d->action == DSN_ACTION_DELAYED && d->retry_until) {
		char date[64];
		date_format(d->retry_until, date, sizeof(date));
		snprintf(line, sizeof(line), "tried until %s", date);
		rc |= buf_append_str(out, "    ") | wrap(out, 4, "    ", line);
	}
	return rc;
}

static int human_part(const struct dsn_report *r, int full, struct buf *out)
{
	char host[DSN_VALUE_MAX], line[DSN_VALUE_MAX + 64];
	int rc;

	clean(r->reporting_mta, host, sizeof(host));
	snprintf(line, sizeof(line), "This is the mail system at %s.", host);
	rc = wrap(out, 0, "", line);
	for (size_t k = 0; k < sizeof(explanations) / sizeof(explanations[0]); k++) {
		if (!any_action(r, explanations[k].action))
			continue;
		rc |= buf_append_str(out, "\r\n") | wrap(out, 0, "", explanations[k].text);
		for (size_t i = 0; i < r->nrcpt; i++)
			if (r->rcpts[i].action == explanations[k].action)
				rc |= human_rcpt(&r->rcpts[i], out);
	}
	if (any_action(r, DSN_ACTION_FAILED))
		rc |= buf_append_str(out, "\r\n") |
		      wrap(out, 0, "",
		           full ? "Your message is attached below."
		                : "The header section of your message is attached below.");
	return rc;
}

/* ORCPT as stored, "type;address", for the Original-Recipient field
 * (RFC 3464 2.3.1).  A utf-8 address in a report that is not global
 * takes RFC 6533's escapes.  Writes nothing for a value that cannot be
 * given. */
static int original_recipient(const char *orcpt, int global, struct buf *out)
{
	char v[DSN_VALUE_MAX], enc[DSN_VALUE_MAX * 6];
	const char *semi;

	clean(orcpt, v, sizeof(v));
	semi = strchr(v, ';');
	if (semi == NULL || semi == v || semi[1] == '\0')
		return 0;
	if (global || strncmp(v, "utf-8;", 6) != 0)
		return field(out, "Original-Recipient", v);
	if (xtext_utf8_encode(semi + 1, strlen(semi + 1), enc, sizeof(enc)) < 0)
		return 0;
	return buf_append_str(out, "Original-Recipient: utf-8;") | wrap(out, 26, " ", enc);
}

/* RFC 3464 2.3.6: diagnostic type smtp is for a server's reply (a
 * three-digit code first); our own findings (a connection that failed, a
 * local error) are of a type of our own, as other MTAs do. */
static int smtp_reply(const char *v)
{
	return v[0] >= '2' && v[0] <= '5' && v[1] >= '0' && v[1] <= '9' && v[2] >= '0' &&
	       v[2] <= '9' && (v[3] == '\0' || v[3] == ' ' || v[3] == '-');
}

/* One recipient's block of part 2 (RFC 3464 2.3). */
static int status_rcpt(const struct dsn_rcpt *d, int global, struct buf *out)
{
	char v[DSN_VALUE_MAX], line[DSN_VALUE_MAX + 16];
	int rc = buf_append_str(out, "\r\n");
	int utf8;

	if (d->orcpt)
		rc |= original_recipient(d->orcpt, global, out);
	utf8 = clean(d->final_rcpt, v, sizeof(v));
	snprintf(line, sizeof(line), "%s; %s", utf8 ? "utf-8" : "rfc822", v);
	rc |= field(out, "Final-Recipient", line);
	rc |= field(out, "Action", action_names[d->action]);
	rc |= field(out, "Status", status_of(d));
	clean(d->remote_mta, v, sizeof(v));
	if (v[0]) {
		snprintf(line, sizeof(line), "dns; %s", v);
		rc |= field(out, "Remote-MTA", line);
	}
	clean(d->diagnostic, v, sizeof(v));
	if (v[0]) {
		snprintf(line, sizeof(line), "%s; %s", smtp_reply(v) ? "smtp" : "X-Postern", v);
		rc |= field(out, "Diagnostic-Code", line);
	}
	if (d->last_attempt)
		rc |= date_field(out, "Last-Attempt-Date", d->last_attempt);
	if (d->action == DSN_ACTION_DELAYED && d->retry_until)
		rc |= date_field(out, "Will-Retry-Until", d->retry_until);
	return rc;
}

static int status_part(const struct dsn_report *r, int global, struct buf *out)
{
	char v[DSN_VALUE_MAX], line[DSN_VALUE_MAX + 16];
	int rc;

	clean(r->reporting_mta, v, sizeof(v));
	snprintf(line, sizeof(line), "dns; %s", v);
	rc = field(out, "Reporting-MTA", line);
	clean(r->queue_id, v, sizeof(v));
	if (v[0])
		rc |= field(out, "X-Postern-Queue-ID", v);
	clean(r->envid, v, sizeof(v));
	if (v[0])
		rc |= field(out, "Original-Envelope-Id", v);
	if (r->arrival)
		rc |= date_field(out, "Arrival-Date", r->arrival);
	for (size_t i = 0; i < r->nrcpt; i++)
		rc |= status_rcpt(&r->rcpts[i], global, out);
	return rc;
}

/* The report around the returned message. */
struct parts {
	struct buf human;  /* part 1 */
	struct buf status; /* part 2 */
	struct buf head;   /* everything before the returned message */
	char boundary[96];
	size_t msg_len; /* how much of r->message is returned */
	int tail_crlf;  /* the returned message needs a line end */
	int global;     /* RFC 6533 forms */
	int full;       /* the whole message is returned */
};

static int contains(const char *p, size_t n, const char *s)
{
	return n > 0 && memmem(p, n, s, strlen(s)) != NULL;
}

/* RFC 2046 5.1.1: the boundary must not occur in any part.  It is made
 * of the queue id and a counter, and checked against every part. */
static int choose_boundary(const struct dsn_report *r, struct parts *p)
{
	char id[64];

	clean(r->queue_id, id, sizeof(id));
	for (unsigned k = 0; k < DSN_BOUNDARY_TRIES; k++) {
		snprintf(p->boundary, sizeof(p->boundary), "=_postern-dsn/%.40s/%u", id, k);
		if (!contains(p->human.data, p->human.len, p->boundary) &&
		    !contains(p->status.data, p->status.len, p->boundary) &&
		    !contains(r->fields, r->fields_len, p->boundary) &&
		    !contains(r->message, p->msg_len, p->boundary))
			return 0;
	}
	return -1;
}

/* The fields of the report itself, its preamble, parts 1 and 2 and the
 * heading of part 3. */
static int head(const struct dsn_report *r, struct parts *p, size_t hlen)
{
	struct buf *out = &p->head;
	const char *b = p->boundary;
	char v[DSN_VALUE_MAX], line[DSN_VALUE_MAX + 32], date[64];
	int eight1 = has_8bit(p->human.data, p->human.len);
	int eight3 = has_8bit(r->fields, r->fields_len) || has_8bit(r->message, p->msg_len);
	int head8 = has_8bit(r->fields, r->fields_len) || has_8bit(r->message, hlen);
	int rc;

	clean(r->from, v, sizeof(v));
	snprintf(line, sizeof(line), "Mail Delivery System <%s>", v);
	rc = field(out, "From", line);
	clean(r->to, v, sizeof(v));
	snprintf(line, sizeof(line), "<%s>", v);
	rc |= field(out, "To", line);
	rc |= field(out, "Subject",
	            any_action(r, DSN_ACTION_FAILED)    ? "Undelivered Mail Returned to Sender"
	            : any_action(r, DSN_ACTION_DELAYED) ? "Delayed Mail (still being retried)"
	                                                : "Successful Mail Delivery Report");
	date_format(r->date, date, sizeof(date));
	rc |= field(out, "Date", date);
	clean(r->message_id, v, sizeof(v));
	rc |= field(out, "Message-ID", v);
	/* RFC 3834 5: a report is a reply made by software. */
	rc |= field(out, "Auto-Submitted", "auto-replied");
	rc |= field(out, "MIME-Version", "1.0");
	rc |= buf_printf(out,
	                 "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	                 "\tboundary=\"%s\"\r\n",
	                 b);
	/* RFC 2045 6.4: a multipart with an 8bit part is 8bit itself. */
	if (eight1 || p->global || eight3)
		rc |= field(out, "Content-Transfer-Encoding", "8bit");
	rc |= buf_printf(out, "\r\nThis is a MIME-encapsulated message.\r\n\r\n--%s\r\n", b);
	rc |= buf_printf(out,
	                 "Content-Description: Notification\r\n"
	                 "Content-Type: text/plain; charset=%s\r\n%s\r\n",
	                 eight1 ? "utf-8" : "us-ascii",
	                 eight1 ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	rc |= buf_append(out, p->human.data, p->human.len);
	rc |= buf_printf(out,
	                 "\r\n--%s\r\nContent-Description: Delivery report\r\n"
	                 "Content-Type: message/%sdelivery-status\r\n%s\r\n",
	                 b, p->global ? "global-" : "",
	                 p->global ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	rc |= buf_append(out, p->status.data, p->status.len);
	/* RFC 6532 3.7 and RFC 6533 6: a header section with UTF-8 travels
	 * as message/global or message/global-headers. */
	rc |= buf_printf(out, "\r\n--%s\r\nContent-Description: %s\r\nContent-Type: %s\r\n%s\r\n",
	                 b, p->full ? "Undelivered message" : "Message headers",
	                 p->full ? (head8 ? "message/global" : "message/rfc822")
	                         : (head8 ? "message/global-headers" : "text/rfc822-headers"),
	                 eight3 ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	return rc;
}

static int compose(const struct dsn_report *r, struct parts *p)
{
	size_t hlen = header_len(r->message, r->message_len);

	p->global = needs_global(r);
	p->full = any_action(r, DSN_ACTION_FAILED) && r->ret == DSN_RET_FULL;
	p->msg_len = p->full ? r->message_len : hlen;
	/* The returned message keeps its own last line end; a cut one gets
	 * one before the boundary. */
	if (p->msg_len > 0)
		p->tail_crlf = r->message[p->msg_len - 1] != '\n';
	else if (r->fields_len > 0)
		p->tail_crlf = r->fields[r->fields_len - 1] != '\n';
	if (human_part(r, p->full, &p->human) != 0 || status_part(r, p->global, &p->status) != 0 ||
	    choose_boundary(r, p) < 0 || head(r, p, hlen) != 0)
		return -1;
	return 0;
}

int dsn_compose(const struct dsn_report *r, struct buf *out)
{
	struct parts p = {0};
	char tail[sizeof(p.boundary) + 16];
	int rc = -1;

	buf_init(&p.human, out->max);
	buf_init(&p.status, out->max);
	buf_init(&p.head, out->max);
	if (r->nrcpt > 0 && compose(r, &p) == 0) {
		snprintf(tail, sizeof(tail), "%s\r\n--%s--\r\n", p.tail_crlf ? "\r\n" : "",
		         p.boundary);
		/* Room for all of it first: out is either complete or as it was. */
		if (buf_reserve(out, p.head.len + r->fields_len + p.msg_len + strlen(tail)) == 0)
			rc = buf_append(out, p.head.data, p.head.len) |
			     buf_append(out, r->fields, r->fields_len) |
			     buf_append(out, r->message, p.msg_len) | buf_append_str(out, tail);
	}
	buf_free(&p.human);
	buf_free(&p.status);
	buf_free(&p.head);
	return rc;
}
