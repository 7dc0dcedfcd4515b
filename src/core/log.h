/* Logging: one line per event, key=value, to stderr in the foreground or to
 * syslog as a daemon.  Whatever the arguments hold, a line never contains
 * a C0 control byte (CR and LF included) or DEL: they are written as \xhh,
 * so that nothing can end a line early or start a forged one; values from
 * outside also go through log_value(), which keeps them from forging keys.
 * fatal() is for a broken environment, panic() for a broken invariant;
 * neither is ever used for bad input from a client. */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR };

/* process: the process role written as proc=... on every line. */
void log_init(const char *process, int use_syslog, int verbose);
void log_set_process(const char *process);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);

/* One value of a key=value line from outside (a client, a peer, a
 * message), made safe to log: a value of printable ASCII other than space,
 * '"', '\\' and '=', and of well-formed UTF-8 other than the C1 controls
 * (U+0080..U+009F, NEL among them) and U+2028/U+2029, is written as it is;
 * any other value, and the empty one, is written in double quotes, with
 * '"' and '\\' escaped by a backslash and every other unsafe byte (C0
 * controls, DEL, bytes of invalid UTF-8, of C1 controls and of U+2028 or
 * U+2029) as \xhh.  So a value can neither end the line nor forge a key.
 * The result is cut to fit dstsize (at least 3) at a whole character or
 * escape, a quoted one keeping its closing quote.  Returns dst. */
const char *log_value(char *dst, size_t dstsize, const char *src);
/* A dstsize that holds any value of n bytes whole. */
#define LOG_VALUE_SIZE(n) (4 * (n) + 3)

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)

void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
