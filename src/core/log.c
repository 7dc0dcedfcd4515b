/* Logging to stderr or syslog, one key=value line per event, and the
 * escaping that keeps a line one line (see log.h). */
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

/* Longest process name written; every one is a short constant ("master",
 * "smtp", "qmgr", "policyd", "cli"), a longer one would be cut. */
#define PROCESS_NAME_MAX 32

static char log_process[PROCESS_NAME_MAX + 1] = "postern";
static int log_syslog;
static int log_verbose;

static void build_head(void);
static void head_once_init(void);
static pthread_once_t head_once = PTHREAD_ONCE_INIT;

void log_init(const char *process, int use_syslog, int verbose)
{
	log_set_process(process);
	log_syslog = use_syslog;
	log_verbose = verbose;
	if (use_syslog)
		openlog("postern", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_process(const char *process)
{
	pthread_once(&head_once, head_once_init);
	snprintf(log_process, sizeof(log_process), "%s", process);
	build_head();
}

static const char *level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG:
		return "debug";
	case LOG_LVL_INFO:
		return "info";
	case LOG_LVL_WARN:
		return "warn";
	case LOG_LVL_ERR:
		return "err";
	}
	return "info";
}

static const char hex[] = "0123456789abcdef";

/* Appends "\xhh" for byte c at out + *o when it fits before limit. */
static int put_hex(char *out, size_t *o, size_t limit, unsigned char c)
{
	if (*o + 4 > limit)
		return -1;
	out[(*o)++] = '\\';
	out[(*o)++] = 'x';
	out[(*o)++] = hex[c >> 4];
	out[(*o)++] = hex[c & 15];
	return 0;
}

/* Length of the well-formed UTF-8 sequence that starts at s (RFC 3629 4:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0.  Stops
 * at the first byte that is not a continuation, so never reads past the
 * NUL. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Bytes at s that may stand unescaped in a value: a well-formed
 * multi-byte character other than the C1 controls (U+0080..U+009F, NEL
 * U+0085 among them) and the line and paragraph separators U+2028 and
 * U+2029, which some log viewers take for line ends.  0 when none. */
static size_t safe_utf8(const unsigned char *s)
{
	size_t n = utf8_len(s);

	if (n == 2 && s[0] == 0xC2 && s[1] <= 0x9F)
		return 0;
	if (n == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9))
		return 0;
	return n;
}

/* ASCII that may stand unquoted: printable, and none of the characters
 * that delimit a key=value pair or a quoted value. */
static int bare_ascii(unsigned char c)
{
	return c > 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '=';
}

const char *log_value(char *dst, size_t dstsize, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, n;
	int quote = s[0] == '\0';

	if (dstsize == 0)
		return dst;
	while (!quote && s[i] != '\0') {
		if (bare_ascii(s[i]))
			i++;
		else if ((n = safe_utf8(s + i)) > 0)
			i += n;
		else
			quote = 1;
	}
	if (!quote && i < dstsize) {
		/* Whole: i is its length. */
		memcpy(dst, s, i + 1);
		return dst;
	}
	if (!quote) {
		/* Cut at a character boundary, never inside a sequence. */
		for (i = 0; s[i] != '\0'; i += n) {
			n = s[i] < 0x80 ? 1 : safe_utf8(s + i);
			if (o + n >= dstsize)
				break;
			memcpy(dst + o, s + i, n);
			o += n;
		}
		dst[o] = '\0';
		return dst;
	}
	if (dstsize < 3) {
		dst[0] = '\0';
		return dst;
	}
	/* Room is kept for the closing quote and the NUL. */
	size_t limit = dstsize - 2;
	dst[o++] = '"';
	for (i = 0; s[i] != '\0'; i += n) {
		unsigned char c = s[i];
		n = 1;
		if (c == '"' || c == '\\') {
			if (o + 2 > limit)
				break;
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7F) {
			if (o + 1 > limit)
				break;
			dst[o++] = (char)c;
		} else if (c >= 0x80 && (n = safe_utf8(s + i)) > 0) {
			if (o + n > limit)
				break;
			memcpy(dst + o, s + i, n);
			o += n;
		} else {
			/* One escape per byte, even inside a sequence that is
			 * refused as a whole. */
			n = 1;
			if (put_hex(dst, &o, limit, c) < 0)
				break;
		}
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return dst;
}

/* The last line of defence: whatever a format argument held, no C0
 * control byte (CR and LF above all) and no DEL reaches the output, so a
 * line cannot be ended early nor a forged one started.  Cut at a whole
 * escape when out is full. */
static size_t escape_controls(const char *in, char *out, size_t outsize)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	while (*p != '\0') {
		/* A run of bytes that stand as they are, copied at once. */
		size_t n = 0;
		while (p[n] >= 0x20 && p[n] != 0x7F)
			n++;
		if (n > outsize - 1 - o)
			n = outsize - 1 - o;
		memcpy(out + o, p, n);
		o += n;
		p += n;
		if (*p == '\0')
			break;
		if (*p >= 0x20 && *p != 0x7F)
			break; /* out is full */
		if (put_hex(out, &o, outsize - 1, *p) < 0)
			break;
		p++;
	}
	out[o] = '\0';
	return o;
}

/* "Z proc=NAME pid=PID level=": the part of every line that changes only
 * with the process, built by log_init and log_set_process and again in a
 * child after fork (pthread_atfork), so that no line asks the kernel for
 * its pid.  Written only while the process has one thread (at start, in
 * a child just forked), read by every thread. */
#define LINE_HEAD_MAX (7 + PROCESS_NAME_MAX + 5 + 20 + 7 + 1)
static char line_head[LINE_HEAD_MAX];
static size_t line_head_len;

static void build_head(void)
{
	int n = snprintf(line_head, sizeof(line_head), "Z proc=%s pid=%ld level=", log_process,
	                 (long)getpid());

	line_head_len = n < 0                           ? 0
	                : (size_t)n < sizeof(line_head) ? (size_t)n
	                                                : sizeof(line_head) - 1;
}

/* Once per process, whether log_init or a first line comes first. */
static void head_once_init(void)
{
	pthread_atfork(NULL, NULL, build_head);
	build_head();
}

/* "YYYY-MM-DDTHH:MM:SS" of the second last written, per thread: formatted
 * again only when the second changes. */
static _Thread_local time_t stamp_sec = (time_t)-1;
static _Thread_local char stamp[32];
static _Thread_local size_t stamp_len;

static size_t put_str(char *out, size_t o, const char *s, size_t n)
{
	memcpy(out + o, s, n);
	return o + n;
}

/* The decimal digits of v (at least width of them, zero-padded). */
static size_t put_uint(char *out, size_t o, unsigned long v, int width)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 || n < width);
	while (n > 0)
		out[o++] = digits[--n];
	return o;
}

/* "YYYY-MM-DDTHH:MM:SS.mmm", the head, the level and a space. */
#define PREFIX_MAX (32 + LINE_HEAD_MAX + 8)

/* "2024-01-01T00:00:00.000Z proc=smtp pid=1 level=info " at out; returns
 * its length. */
static size_t line_prefix(char *out, enum log_level lvl)
{
	struct timeval tv;
	size_t o = 0;
	const char *level = level_name(lvl);

	pthread_once(&head_once, head_once_init);
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != stamp_sec || stamp_len == 0) {
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		stamp_len = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		stamp_sec = tv.tv_sec;
	}
	o = put_str(out, o, stamp, stamp_len);
	out[o++] = '.';
	o = put_uint(out, o, (unsigned long)(tv.tv_usec / 1000), 3);
	o = put_str(out, o, line_head, line_head_len);
	o = put_str(out, o, level, strlen(level));
	out[o++] = ' ';
	return o;
}

/* The whole line in one write(2), as an unbuffered stderr would do. */
static void write_line(const char *line, size_t len)
{
	int fd = fileno(stderr);

	while (len > 0) {
		ssize_t n = write(fd, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	/* line: the prefix, the message with its control bytes escaped (each
	 * byte of raw at most 4), the LF. */
	char raw[4096], line[PREFIX_MAX + 4 * sizeof(raw) + 1];
	size_t o;
	int n;

	if (lvl == LOG_LVL_DEBUG && !log_verbose)
		return;
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	if (log_syslog) {
		static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
		escape_controls(raw, line, 4 * sizeof(raw));
		syslog(prio[lvl], "proc=%s level=%s %s", log_process, level_name(lvl), line);
		return;
	}
	o = line_prefix(line, lvl);
	o += escape_controls(raw, line + o, 4 * sizeof(raw));
	line[o++] = '\n';
	/* One write per line so that lines from several processes do not
	 * interleave inside a line. */
	write_line(line, o);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	abort();
}
