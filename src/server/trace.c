/* The Received trace header (RFC 5321 4.4) with the protocol keywords of
 * RFC 3848 and RFC 6531, and the TLS version and cipher. */
#include "server/trace.h"
#include "queue/spool.h"
#include "server/session.h"
#include "server/txn.h"

#include <stdio.h>
#include <time.h>

static const char *trace_protocol(const struct session *s)
{
	/* RFC 3848 2 and RFC 6531 3.7.3. */
	static const char *const names[2][2][2] = {
	    {{"ESMTP", "ESMTPA"}, {"ESMTPS", "ESMTPSA"}},
	    {{"UTF8SMTP", "UTF8SMTPA"}, {"UTF8SMTPS", "UTF8SMTPSA"}}};
	if (!s->esmtp)
		return "SMTP";
	return names[s->txn->mail.smtputf8 ? 1 : 0][s->tls ? 1 : 0][s->auth_user[0] ? 1 : 0];
}

int trace_received(const struct session *s, struct buf *out)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	int rc = 0;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* The client's own HELO is quoted as given; what we know for certain
	 * (its address and PTR name) follows in parentheses. */
	rc |= buf_printf(out, "Received: from %s (%s [%s])\r\n\tby %s (postern) with %s id %s\r\n",
	                 s->helo[0] ? s->helo : "unknown", s->rdns[0] ? s->rdns : "unknown", s->ip,
	                 s->env->shared.cfg->hostname, trace_protocol(s), s->txn->queue_id);
	if (s->tls)
		rc |= buf_printf(out, "\t(using %s with cipher %s)\r\n", s->tls_version,
		                 s->tls_cipher);
	/* One recipient only: naming several would disclose the others. */
	if (s->txn->nrcpt == 1)
		rc |= buf_printf(out, "\tfor <%s>; %s\r\n", s->txn->rcpts[0].orcpt, date);
	else
		rc |= buf_printf(out, "\t; %s\r\n", date);
	return rc;
}
