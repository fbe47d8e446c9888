/*
 * diag.c - route configuration findings to a collector or the log.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void diag_report(struct diag *d, const char *file, int line, enum diag_sev sev,
                 const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (d != NULL) {
		d->count[sev]++;
		if (d->emit != NULL) {
			d->emit(d->arg, file, line, sev, text);
			return;
		}
	}
	char where[1024] = "";
	if (file != NULL && line > 0)
		snprintf(where, sizeof(where), "%s, line %d: ", file, line);
	else if (file != NULL)
		snprintf(where, sizeof(where), "%s: ", file);
	if (sev == DIAG_ERROR)
		log_error("%s%s", where, text);
	else if (sev == DIAG_WARNING)
		log_warn("%s%s", where, text);
	else
		log_info("%s%s", where, text);
}
