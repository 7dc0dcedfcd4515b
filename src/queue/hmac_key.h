/* The secret keys of BATV and SRS (state_dir/batv.key, state_dir/srs.key):
 * 32 random bytes each, made at the first start and read at start by
 * every process that uses them (the queue manager, to tag senders and
 * rewrite them; each SMTP worker, to check the tags and SRS addresses of
 * recipients), whichever comes first making them. */
#ifndef POSTERN_QUEUE_HMAC_KEY_H
#define POSTERN_QUEUE_HMAC_KEY_H

#include <stddef.h>

#define HMAC_KEY_LEN 32

/* Reads the key at path into key, or, when path does not exist, makes one
 * from getrandom(2) and writes it there with mode 0600: the file appears
 * whole (written and synced under a temporary name, then linked into
 * place, the directory synced), so a crash never leaves a short key, and
 * when two processes race the one that links second reads the first's.
 * Returns 0, or -1 with a message naming path in err: path is not a
 * regular file, is not exactly HMAC_KEY_LEN bytes, has any permission for
 * group or others (a readable key lets anyone forge addresses, a writable
 * one lets anyone replace it), or cannot be read, created or synced. */
int hmac_key_load(const char *path, unsigned char key[HMAC_KEY_LEN], char *err, size_t errsize);

#endif
