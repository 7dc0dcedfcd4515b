/* The public suffix list (libpsl), loaded once for the whole process:
 * the HELO checks and DMARC's organizational domains both ask it. */
#ifndef POSTERN_SUFFIX_LIST_H
#define POSTERN_SUFFIX_LIST_H

#include <libpsl.h>

/* The list compiled into libpsl, or else the system's list; fatal() when
 * there is neither. */
const psl_ctx_t *suffix_list(void);

#endif
