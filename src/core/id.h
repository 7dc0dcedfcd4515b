/* Queue ids and session ids: unique across restarts and hosts, short
 * enough to read aloud. */
#ifndef POSTERN_ID_H
#define POSTERN_ID_H

#include <stdint.h>

#define ID_LEN 16 /* characters, without the NUL */

/* host_tag: a small number that tells hosts of one fleet apart. */
void id_init(uint32_t host_tag);
/* Writes ID_LEN characters of Crockford base32 and a NUL. */
void id_new(char out[ID_LEN + 1]);

#endif
