/*
 * strbuf.h - growable, always NUL-terminated byte strings with a hard
 * cap.  Every append is checked against the cap and size_t overflow.
 */
#ifndef POSTERN_STRBUF_H
#define POSTERN_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *s;      /* always NUL-terminated once initialised */
	size_t len;   /* bytes in use, excluding the NUL */
	size_t cap;   /* bytes allocated */
	size_t limit; /* largest len allowed; 0 means SIZE_MAX/2 */
};

void sb_init(struct strbuf *sb, size_t limit);
void sb_free(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
/* Appends fail (return false, string unchanged) past the limit. */
bool sb_add(struct strbuf *sb, const char *p, size_t n);
bool sb_adds(struct strbuf *sb, const char *s);
bool sb_addc(struct strbuf *sb, char c);
bool sb_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
void sb_truncate(struct strbuf *sb, size_t len);
/* Removes trailing white space. */
void sb_rtrim(struct strbuf *sb);
/* Gives the caller the string.  The buffer is left without storage:
 * sb_free() is harmless, appends start a new string. */
char *sb_steal(struct strbuf *sb);
const char *sb_str(const struct strbuf *sb);

#endif
