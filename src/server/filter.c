/* What filters call back: refusals and the end of a stage they waited in. */
#include "server/filter.h"

#include <stdarg.h>
#include <stdio.h>

void filter_refuse(struct filter_reply *r, int code, const char *ecode, const char *fmt, ...)
{
	va_list ap;
	r->code = code;
	r->ecode = ecode;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

struct filter_reply *filter_call_reply(struct filter_call *call)
{
	return &call->reply;
}

void filter_call_done(struct filter_call *call)
{
	call->resume(call);
}
