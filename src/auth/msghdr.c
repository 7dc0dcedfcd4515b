/* Header section splitting: a field runs on while lines start with WSP. */
#include "auth/msghdr.h"

#include "core/xmalloc.h"

#include <string.h>
#include <strings.h>

/* End of the line that starts at i (after its LF), or len. */
static size_t line_end(const char *h, size_t i, size_t len)
{
	const char *nl = memchr(h + i, '\n', len - i);
	return nl != NULL ? (size_t)(nl - h) + 1 : len;
}

long msghdr_split(const char *h, size_t len, struct msghdr_field *out, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		size_t start = i;
		i = line_end(h, i, len);
		/* RFC 5322 2.2.3: a line starting with WSP continues the field. */
		while (i < len && (h[i] == ' ' || h[i] == '\t'))
			i = line_end(h, i, len);
		if (n == max)
			return -1;
		const char *colon = memchr(h + start, ':', i - start);
		size_t name_len = 0;
		if (colon != NULL) {
			name_len = (size_t)(colon - (h + start));
			while (name_len > 0 &&
			       (h[start + name_len - 1] == ' ' || h[start + name_len - 1] == '\t'))
				name_len--;
		}
		out[n++] = (struct msghdr_field){h + start, i - start, name_len};
	}
	return (long)n;
}

size_t msghdr_count(const char *h, size_t len)
{
	size_t n = 0;

	/* A field starts at every line that does not start with WSP. */
	for (size_t i = 0; i < len; i = line_end(h, i, len))
		n += h[i] != ' ' && h[i] != '\t';
	/* A first line with WSP still starts a field. */
	return n + (len > 0 && (h[0] == ' ' || h[0] == '\t'));
}

struct msghdr_field *msghdr_split_new(const char *h, size_t len, size_t max, size_t front, long *n)
{
	size_t count = msghdr_count(h, len);
	struct msghdr_field *f = xcalloc(front + (count > 0 ? count : 1), sizeof(*f));

	*n = count > max ? -1 : msghdr_split(h, len, f + front, count);
	return f;
}

int msghdr_name_is(const struct msghdr_field *f, const char *name, size_t name_len)
{
	return f->name_len == name_len && strncasecmp(f->p, name, name_len) == 0;
}
