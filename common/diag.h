/*
 * diag.h - findings about configuration and tables, each tied to a
 * file and line: "file:line: severity: text".  postern check prints
 * them; daemons log them.
 */
#ifndef POSTERN_DIAG_H
#define POSTERN_DIAG_H

enum diag_sev { DIAG_ERROR, DIAG_WARNING, DIAG_NOTICE };

struct diag {
	/* NULL: log through log.h. */
	void (*emit)(void *arg, const char *file, int line, enum diag_sev sev,
	             const char *text);
	void *arg;
	int count[3]; /* per severity */
};

/* file may be NULL, line 0 for "no line". d may be NULL (log). */
void diag_report(struct diag *d, const char *file, int line, enum diag_sev sev,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
