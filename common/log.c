/*
 * log.c - the logging sink shared by all processes.  Messages are
 * formatted once into a bounded buffer; control characters are
 * replaced so outside input cannot forge extra log lines.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char log_name[128] = "postern";
static int log_where = LOG_TO_STDERR;
static int log_fd = -1;
static char log_host[256] = "localhost";

static const struct {
	const char *name;
	int value;
} facilities[] = {
	{"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
	{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

void log_init(const char *progname, int where, const char *facility)
{
	int fac = LOG_MAIL;
	snprintf(log_name, sizeof(log_name), "%s", progname);
	log_where = where;
	if (facility != NULL)
		for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
			if (strcasecmp(facility, facilities[i].name) == 0)
				fac = facilities[i].value;
	if (where & LOG_TO_SYSLOG)
		openlog(log_name, LOG_PID | LOG_NDELAY, fac);
}

void log_set_file(int fd, const char *hostname)
{
	log_fd = fd;
	snprintf(log_host, sizeof(log_host), "%s", hostname);
	/* maillog_file replaces syslog, as in Postfix */
	if (log_where & LOG_TO_SYSLOG)
		closelog();
	log_where = (log_where & ~LOG_TO_SYSLOG) | LOG_TO_FILE;
}

/* One write(2) per line so that lines from several processes appending
 * to the same file do not interleave. */
static void log_file_line(const char *label, const char *text)
{
	char line[4608], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	int n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s%s\n", stamp,
	                 log_host, log_name, (long)getpid(), label, text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w; /* nowhere to report a failure to log */
}

const char *log_progname(void)
{
	return log_name;
}

static void log_emit(int prio, const char *label, const char *fmt, va_list ap)
{
	char buf[4096];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_where & LOG_TO_SYSLOG)
		syslog(prio, "%s%s", label, buf);
	if (log_where & LOG_TO_STDERR)
		fprintf(stderr, "%s: %s%s\n", log_name, label, buf);
	if ((log_where & LOG_TO_FILE) && log_fd >= 0)
		log_file_line(label, buf);
}

#define LOG_FN(fn, prio, label)                                                \
	void fn(const char *fmt, ...)                                          \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_emit(prio, label, fmt, ap);                                \
		va_end(ap);                                                    \
	}

LOG_FN(log_info, LOG_INFO, "")
LOG_FN(log_warn, LOG_WARNING, "warning: ")
LOG_FN(log_error, LOG_ERR, "error: ")

void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	exit(1);
}

void log_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_CRIT, "panic: ", fmt, ap);
	va_end(ap);
	abort();
}

/*
 * Postfix's cleanup logs the header/body checks; postern's smtpd does
 * that work, and logs those lines under "<syslog_name>/cleanup" (its own
 * pid) so that log analysers (pflogsumm) count them as Postfix's.
 */
void log_info_as(const char *daemon, const char *fmt, ...)
{
	char saved[sizeof(log_name)];
	memcpy(saved, log_name, sizeof(saved));
	char *slash = strrchr(log_name, '/');
	size_t keep = slash ? (size_t)(slash - log_name) : strlen(log_name);
	snprintf(log_name + keep, sizeof(log_name) - keep, "/%s", daemon);
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_INFO, "", fmt, ap);
	va_end(ap);
	memcpy(log_name, saved, sizeof(saved));
}
