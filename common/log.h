/*
 * log.h - Postfix-style log lines ("name/daemon[pid]: warning: text")
 * to syslog and/or stderr.  Every process logs through here.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>

#define LOG_TO_STDERR 0x1
#define LOG_TO_SYSLOG 0x2
#define LOG_TO_FILE   0x4 /* maillog_file: see log_set_file() */

/* progname is e.g. "postern" or "postfix/smtpd"; facility a syslog name. */
void log_init(const char *progname, int where, const char *facility);
const char *log_progname(void);
/*
 * Also append each line to fd (maillog_file, opened O_APPEND by master)
 * in the syslog file format "Mmm dd hh:mm:ss host name[pid]: text".
 */
void log_set_file(int fd, const char *hostname);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_info() under another daemon name of the same system ("cleanup":
 * "postern/smtpd" logs as "postern/cleanup"). */
void log_info_as(const char *daemon, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1). */
void log_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
/* A broken invariant: log and abort(). */
void log_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
