/* The request parser of the policy delegation protocol: limits first,
 * then the line's shape, then the request as a whole. */
#include "policyd/request.h"

#include <string.h>

/* The attributes kept by name in struct policyd_request. */
static const char **known_slot(struct policyd_request *req, const char *name)
{
	switch (name[0]) {
	case 'c':
		if (strcmp(name, "client_address") == 0)
			return &req->client_address;
		if (strcmp(name, "client_name") == 0)
			return &req->client_name;
		break;
	case 'e':
		if (strcmp(name, "encryption_protocol") == 0)
			return &req->encryption_protocol;
		break;
	case 'h':
		if (strcmp(name, "helo_name") == 0)
			return &req->helo_name;
		break;
	case 'i':
		if (strcmp(name, "instance") == 0)
			return &req->instance;
		break;
	case 'p':
		if (strcmp(name, "protocol_state") == 0)
			return &req->protocol_state;
		break;
	case 'q':
		if (strcmp(name, "queue_id") == 0)
			return &req->queue_id;
		break;
	case 'r':
		if (strcmp(name, "request") == 0)
			return &req->request;
		if (strcmp(name, "recipient") == 0)
			return &req->recipient;
		break;
	case 's':
		if (strcmp(name, "sender") == 0)
			return &req->sender;
		if (strcmp(name, "sasl_username") == 0)
			return &req->sasl_username;
		break;
	default:
		break;
	}
	return NULL;
}

static void reset(struct policyd_request *req)
{
	req->nattrs = 0;
	req->request = req->protocol_state = req->client_address = req->client_name = "";
	req->helo_name = req->sender = req->recipient = req->instance = "";
	req->sasl_username = req->encryption_protocol = req->queue_id = "";
}

enum policyd_status policyd_request_parse(const char *data, size_t len, struct policyd_request *req,
                                          size_t *used)
{
	size_t pos = 0, out = 0;

	reset(req);
	*used = 0;
	for (;;) {
		/* Only the part of the input a request may occupy is looked at:
		 * a limit is hit before anything past it matters. */
		size_t avail = len - pos;
		size_t window = POLICYD_REQUEST_MAX - pos;
		const char *line = data + pos;
		const char *lf;
		size_t n;

		if (pos >= POLICYD_REQUEST_MAX)
			return POLICYD_TOO_LARGE;
		lf = memchr(line, '\n', avail < window ? avail : window);
		if (lf == NULL) {
			size_t partial = avail < window ? avail : window;
			if (partial > POLICYD_LINE_MAX + 1) /* + 1: a CR may precede the LF */
				return POLICYD_LINE_LONG;
			if (avail >= window)
				return POLICYD_TOO_LARGE;
			return POLICYD_INCOMPLETE;
		}
		n = (size_t)(lf - line);
		pos += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the empty line: the request is complete */
		if (n > POLICYD_LINE_MAX)
			return POLICYD_LINE_LONG;
		if (memchr(line, '\0', n) != NULL)
			return POLICYD_GARBLED;
		const char *eq = memchr(line, '=', n);
		if (eq == NULL || eq == line)
			return POLICYD_GARBLED;
		size_t nlen = (size_t)(eq - line), vlen = n - nlen - 1;
		if (nlen > POLICYD_NAME_MAX)
			return POLICYD_NAME_LONG;
		if (vlen > POLICYD_VALUE_MAX)
			return POLICYD_VALUE_LONG;
		if (req->nattrs == POLICYD_ATTRS_MAX)
			return POLICYD_TOO_MANY;
		/* "name\0value\0" takes as many bytes as "name=value\n" did, so
		 * text (the size of the largest request) cannot overflow. */
		char *name = req->text + out;
		memcpy(name, line, nlen);
		name[nlen] = '\0';
		char *value = name + nlen + 1;
		memcpy(value, eq + 1, vlen);
		value[vlen] = '\0';
		out += n + 1;
		req->attrs[req->nattrs].name = name;
		req->attrs[req->nattrs].value = value;
		req->nattrs++;
		const char **slot = known_slot(req, name);
		if (slot != NULL)
			*slot = value;
	}
	*used = pos;
	if (req->request[0] == '\0')
		return POLICYD_NO_REQUEST;
	if (strcmp(req->request, "smtpd_access_policy") != 0)
		return POLICYD_BAD_REQUEST;
	return POLICYD_OK;
}

const char *policyd_request_get(const struct policyd_request *req, const char *name)
{
	for (size_t i = req->nattrs; i-- > 0;)
		if (strcmp(req->attrs[i].name, name) == 0)
			return req->attrs[i].value;
	return NULL;
}

const char *policyd_status_name(enum policyd_status st)
{
	switch (st) {
	case POLICYD_OK:
		return "ok";
	case POLICYD_INCOMPLETE:
		return "incomplete";
	case POLICYD_GARBLED:
		return "garbled_line";
	case POLICYD_LINE_LONG:
		return "line_too_long";
	case POLICYD_NAME_LONG:
		return "name_too_long";
	case POLICYD_VALUE_LONG:
		return "value_too_long";
	case POLICYD_TOO_MANY:
		return "too_many_attributes";
	case POLICYD_TOO_LARGE:
		return "request_too_large";
	case POLICYD_NO_REQUEST:
		return "missing_request";
	case POLICYD_BAD_REQUEST:
		return "unknown_request";
	}
	return "unknown";
}
