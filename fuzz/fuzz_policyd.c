/* libFuzzer target for the policy delegation request parser (and the
 * PREPEND unfolding): requests one after another as a connection would
 * hand them over, with every invariant the server relies on checked. */
#include "policyd/action.h"
#include "policyd/request.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct policyd_request req;

static void check_request(size_t used, size_t avail)
{
	if (used == 0 || used > avail || used > POLICYD_REQUEST_MAX)
		abort();
	if (req.nattrs > POLICYD_ATTRS_MAX)
		abort();
	for (size_t i = 0; i < req.nattrs; i++) {
		const char *n = req.attrs[i].name, *v = req.attrs[i].value;
		size_t nl = strlen(n), vl = strlen(v);
		if (nl == 0 || nl > POLICYD_NAME_MAX || vl > POLICYD_VALUE_MAX)
			abort();
		if (strchr(n, '=') != NULL || strchr(n, '\n') != NULL || strchr(v, '\n') != NULL)
			abort();
		/* Views into the request's own copy. */
		if (n < req.text || v + vl >= req.text + sizeof(req.text))
			abort();
	}
	if (strcmp(req.request, "smtpd_access_policy") != 0)
		abort();
	const char *last = policyd_request_get(&req, "sender");
	if (last != NULL ? strcmp(last, req.sender) != 0 : req.sender[0] != '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t off = 0;

	while (off < size) {
		size_t used = 0;
		enum policyd_status st = policyd_request_parse(p + off, size - off, &req, &used);
		if (st == POLICYD_INCOMPLETE) {
			/* Nothing over a limit may be waiting for more. */
			if (size - off > POLICYD_REQUEST_MAX)
				abort();
			break;
		}
		if (st != POLICYD_OK)
			break; /* the server closes the connection */
		check_request(used, size - off);
		off += used;
	}

	struct buf out;
	buf_init(&out, 4 * size + 64);
	if (policyd_action_prepend(p, size, &out) == 0 &&
	    (memchr(out.data, '\r', out.len) != NULL || memchr(out.data, '\n', out.len) != NULL ||
	     strncmp(out.data, "action=PREPEND ", 15) != 0))
		abort();
	buf_free(&out);
	return 0;
}
