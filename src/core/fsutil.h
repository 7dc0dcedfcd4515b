/* File-system helpers shared by the processes that create directories. */
#ifndef POSTERN_FSUTIL_H
#define POSTERN_FSUTIL_H

#include <sys/types.h>

/* Creates path and its missing parents with mode (like mkdir -p).
 * Returns 0, or -1 with errno set. */
int fs_mkdir_p(const char *path, mode_t mode);
/* Bytes an unprivileged user may still write on path's file system; the
 * largest value when that cannot be told (the write itself will say). */
unsigned long long fs_free_space(const char *path);

#endif
