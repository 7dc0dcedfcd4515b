/* Allocation wrappers that never return NULL: running out of memory is a
 * broken environment, handled once here with fatal(). */
#ifndef POSTERN_XMALLOC_H
#define POSTERN_XMALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
