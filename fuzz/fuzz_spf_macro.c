/* libFuzzer target for the SPF macro expander: check and expand agree,
 * and the output stays within its buffer. */
#include "policy/spf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char ip4[4] = {192, 0, 2, 3};
	static const unsigned char ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0xcb, [15] = 0x01};
	const char *s = (const char *)data;

	for (int k = 0; k < 4; k++) {
		unsigned flags = (k & 1) ? SPF_MACRO_EXP : 0;
		struct spf_macro_vars v = {
		    .sender = "strong-bad@email.example.com",
		    .local = "strong-bad",
		    .sender_domain = "email.example.com",
		    .domain = "email.example.com",
		    .ip = (k & 2) ? ip6 : ip4,
		    .family = (k & 2) ? AF_INET6 : AF_INET,
		    .ptr = "mx.example.org",
		    .helo = "mail.example.org",
		    .receiver = "mx.example.net",
		    .now = 1700000000,
		};
		struct buf out;
		int uses_p = 0;

		buf_init(&out, 2048);
		enum spf_macro_status chk = spf_macro_check(s, size, flags, &uses_p);
		enum spf_macro_status st = spf_macro_expand(s, size, &v, flags, &out);
		if (chk == SPF_MACRO_TOO_LONG || (st != chk && st != SPF_MACRO_TOO_LONG))
			abort();
		if (out.len > out.max || (st != SPF_MACRO_OK && out.len != 0))
			abort();
		if (st == SPF_MACRO_OK && out.len > 0) {
			char *name = strndup(out.data, out.len);
			if (name == NULL)
				abort();
			/* 7.3: over 253 octets only when one label is left. */
			const char *t = spf_domain_truncate(name);
			if (strlen(t) > 253 && strchr(t, '.') != NULL)
				abort();
			free(name);
		}
		buf_free(&out);
	}
	return 0;
}
