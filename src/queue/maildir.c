/* Maildir delivery: path template expansion with the safety checks that
 * keep an address inside its mailbox, and the tmp -> fsync -> new dance. */
#include "core/fsutil.h"
#include "queue/maildir.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

/* Deliveries made by this process, for the Q part of unique names. */
static atomic_uint maildir_counter;

/* A path component taken from an address: refused when it could climb out
 * of the mailbox tree or hide ("..", ".x", "a/b") or is empty. */
static int part_safe(const char *p, size_t n)
{
	if (n == 0 || p[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '/' || iscntrl((unsigned char)p[i]))
			return 0;
	return 1;
}

/* Appends n bytes of p, lower-cased when lower is set, keeping room for
 * the NUL. */
static int append(char *out, size_t outsize, size_t *pos, const char *p, size_t n, int lower)
{
	if (n >= outsize - *pos)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[(*pos)++] = lower ? (char)tolower((unsigned char)p[i]) : p[i];
	return 0;
}

int maildir_path(const char *tmpl, const char *addr, char *out, size_t outsize, char *err,
                 size_t errsize)
{
	const char *at = strrchr(addr, '@');
	size_t pos = 0;

	if (outsize == 0)
		return -1;
	if (at == NULL || !part_safe(addr, (size_t)(at - addr)) ||
	    !part_safe(at + 1, strlen(at + 1))) {
		snprintf(err, errsize, "unsafe address for a Maildir path");
		return -1;
	}
	for (const char *t = tmpl; *t; t++) {
		int rc;
		if (*t != '%') {
			/* The template itself keeps its case. */
			rc = append(out, outsize, &pos, t, 1, 0);
		} else if (t[1] == 'd') {
			rc = append(out, outsize, &pos, at + 1, strlen(at + 1), 1);
			t++;
		} else if (t[1] == 'u') {
			rc = append(out, outsize, &pos, addr, (size_t)(at - addr), 1);
			t++;
		} else if (t[1] == 'a') {
			rc = append(out, outsize, &pos, addr, strlen(addr), 1);
			t++;
		} else if (t[1] == '%') {
			rc = append(out, outsize, &pos, "%", 1, 0);
			t++;
		} else {
			snprintf(err, errsize, "unknown %%-sequence in Maildir template");
			return -1;
		}
		if (rc < 0) {
			snprintf(err, errsize, "Maildir path too long");
			return -1;
		}
	}
	out[pos] = '\0';
	return 0;
}

static int make_maildir(const char *dir)
{
	static const char *const subs[] = {"tmp", "new", "cur"};
	char p[PATH_MAX];

	/* The common case: the Maildir exists; one stat instead of four mkdirs. */
	if (snprintf(p, sizeof(p), "%s/tmp", dir) >= (int)sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	struct stat st;
	if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (fs_mkdir_p(dir, 0700) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* The host part of a unique name: '/' and ':' are written as \057 and
 * \072, as the Maildir specification asks. */
static void host_part(const char *host, char *out, size_t outsize)
{
	size_t pos = 0;

	for (const char *h = host; *h && pos + 5 < outsize; h++) {
		if (*h == '/') {
			memcpy(out + pos, "\\057", 4);
			pos += 4;
		} else if (*h == ':') {
			memcpy(out + pos, "\\072", 4);
			pos += 4;
		} else {
			out[pos++] = *h;
		}
	}
	out[pos] = '\0';
}

static int write_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t w = writev(fd, iov, iovcnt);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static enum maildir_result fail(char *err, size_t errsize, const char *what, const char *path)
{
	int e = errno;
	snprintf(err, errsize, "%s %s: %s", what, path, strerror(e));
	/* Only an address that cannot be a path is permanent (see
	 * maildir_path); every I/O failure may heal (disk full, quota). */
	return MAILDIR_TEMP;
}

enum maildir_result maildir_deliver(const char *dir, const char *host, const char *unique,
                                    const char *sender, const char *rcpt, const char *body,
                                    size_t len, char *err, size_t errsize)
{
	char head[2048], name[256], hostbuf[128], tmp[PATH_MAX], new[PATH_MAX];
	struct timeval tv;
	int fd, n;

	n = snprintf(head, sizeof(head), "Return-Path: <%s>\r\nDelivered-To: %s\r\n", sender, rcpt);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		snprintf(err, errsize, "address too long");
		return MAILDIR_PERM;
	}
	if (make_maildir(dir) < 0)
		return fail(err, errsize, "cannot create Maildir", dir);
	host_part(host, hostbuf, sizeof(hostbuf));

	/* The name in new/ depends only on the message and the recipient, so
	 * that a delivery repeated after a crash (its outcome not recorded)
	 * finds its own earlier file instead of making a second copy. */
	gettimeofday(&tv, NULL);
	if (snprintf(name, sizeof(name), "%s.%s", unique, hostbuf) >= (int)sizeof(name) ||
	    snprintf(new, sizeof(new), "%s/new/%s", dir, name) >= (int)sizeof(new))
		goto too_long;
	for (int attempt = 0;; attempt++) {
		if (snprintf(tmp, sizeof(tmp), "%s/tmp/%lld.M%ldP%ldQ%u.%s", dir,
		             (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
		             atomic_fetch_add(&maildir_counter, 1) + 1,
		             hostbuf) >= (int)sizeof(tmp))
			goto too_long;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || attempt >= 3)
			return fail(err, errsize, "cannot create", tmp);
	}

	struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, len}};
	if (write_all(fd, iov, 2) < 0 || fsync(fd) < 0) {
		enum maildir_result r = fail(err, errsize, "cannot write", tmp);
		close(fd);
		unlink(tmp);
		return r;
	}
	if (close(fd) < 0) {
		enum maildir_result r = fail(err, errsize, "cannot write", tmp);
		unlink(tmp);
		return r;
	}
	/* link, not rename: a name that already exists in new/ is an error
	 * rather than a message silently replaced. */
	if (link(tmp, new) < 0 && errno != EEXIST) {
		enum maildir_result r = fail(err, errsize, "cannot link", new);
		unlink(tmp);
		return r;
	}
	unlink(tmp);
	snprintf(tmp, sizeof(tmp), "%s/new", dir);
	if (sync_dir(tmp) < 0)
		return fail(err, errsize, "cannot sync", tmp);
	return MAILDIR_OK;
too_long:
	snprintf(err, errsize, "Maildir path too long");
	return MAILDIR_PERM;
}
