/* Loading, or making at the first start, the 32-byte keys of BATV and SRS. */
#include "queue/hmac_key.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsize, fmt, ap);
	va_end(ap);
	return -1;
}

static int read_key(int fd, const char *path, unsigned char *key, char *err, size_t errsize)
{
	struct stat st;
	size_t got = 0;

	if (fstat(fd, &st) != 0)
		return fail(err, errsize, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errsize, "%s: not a regular file", path);
	if ((st.st_mode & 077) != 0)
		return fail(err, errsize,
		            "%s: mode %04o gives group or others access to a secret key "
		            "(chmod 600 it)",
		            path, (unsigned)(st.st_mode & 07777));
	if (st.st_size != HMAC_KEY_LEN)
		return fail(err, errsize,
		            "%s: %lld bytes, a key file holds exactly %d (remove it to have a new "
		            "key made; addresses made with the old one then fail)",
		            path, (long long)st.st_size, HMAC_KEY_LEN);
	while (got < HMAC_KEY_LEN) {
		ssize_t n = read(fd, key + got, HMAC_KEY_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(err, errsize, "%s: %s", path, strerror(errno));
		if (n == 0)
			return fail(err, errsize, "%s: changed while read (%d bytes expected)",
			            path, HMAC_KEY_LEN);
		got += (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory entry of a new file is durable only once its directory
 * is synced. */
static int sync_dir(const char *path, char *err, size_t errsize)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errsize, "%s: %s", dir, strerror(errno));
	rc = fsync(fd);
	close(fd);
	if (rc != 0)
		return fail(err, errsize, "%s: fsync: %s", dir, strerror(errno));
	return 0;
}

/* Written under a temporary name and linked into place, so that a crash
 * leaves at worst a stray path.XXXXXX, never a short key.  link(2), unlike
 * rename(2), fails when path exists: of two processes making the key at
 * once, the second returns 1 and reads the first's. */
static int create_key(const char *path, unsigned char *key, char *err, size_t errsize)
{
	char tmp[PATH_MAX];
	ssize_t n;
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return fail(err, errsize, "%s: path too long", path);
	/* mkostemp creates the file with O_EXCL and mode 0600. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return fail(err, errsize, "%s: cannot create: %s", path, strerror(errno));
	/* Up to 256 bytes come whole once the kernel's pool is ready; only the
	 * wait for it, early at boot, can be interrupted. */
	while ((n = getrandom(key, HMAC_KEY_LEN, 0)) < 0 && errno == EINTR)
		;
	if (n != HMAC_KEY_LEN) {
		rc = fail(err, errsize, "%s: getrandom: %s", path, strerror(errno));
	} else if (write_all(fd, key, HMAC_KEY_LEN) != 0 || fsync(fd) != 0) {
		rc = fail(err, errsize, "%s: cannot write: %s", path, strerror(errno));
	} else if (link(tmp, path) != 0) {
		rc = errno == EEXIST ? 1 : fail(err, errsize, "%s: %s", path, strerror(errno));
	} else {
		rc = 0;
	}
	close(fd);
	unlink(tmp);
	if (rc == 0)
		rc = sync_dir(path, err, errsize);
	return rc;
}

int hmac_key_load(const char *path, unsigned char key[HMAC_KEY_LEN], char *err, size_t errsize)
{
	int fd, rc;

	/* O_NONBLOCK: a FIFO put in the key's place must not hang the start;
	 * read_key refuses anything but a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		rc = create_key(path, key, err, errsize);
		if (rc <= 0)
			return rc;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	}
	if (fd < 0)
		return fail(err, errsize, "%s: %s", path, strerror(errno));
	rc = read_key(fd, path, key, err, errsize);
	close(fd);
	return rc;
}
