/*
 * strbuf.c - bounded growable strings (see strbuf.h).
 */
#include "strbuf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static size_t sb_limit(const struct strbuf *sb)
{
	return sb->limit ? sb->limit : SIZE_MAX / 2;
}

void sb_init(struct strbuf *sb, size_t limit)
{
	sb->cap = 64;
	sb->s = xmalloc(sb->cap);
	sb->s[0] = '\0';
	sb->len = 0;
	sb->limit = limit;
}

void sb_free(struct strbuf *sb)
{
	free(sb->s);
	sb->s = NULL;
	sb->len = sb->cap = 0;
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->s[0] = '\0';
}

static bool sb_reserve(struct strbuf *sb, size_t extra)
{
	size_t need;
	if (!size_add(sb->len, extra, &need) || need > sb_limit(sb))
		return false;
	if (need + 1 <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need + 1)
		cap = cap > SIZE_MAX / 4 ? need + 1 : cap * 2;
	sb->s = xrealloc(sb->s, cap);
	sb->cap = cap;
	return true;
}

bool sb_add(struct strbuf *sb, const char *p, size_t n)
{
	if (!sb_reserve(sb, n))
		return false;
	memcpy(sb->s + sb->len, p, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
	return true;
}

bool sb_adds(struct strbuf *sb, const char *s)
{
	return sb_add(sb, s, strlen(s));
}

bool sb_addc(struct strbuf *sb, char c)
{
	return sb_add(sb, &c, 1);
}

bool sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || !sb_reserve(sb, (size_t)n))
		return false;
	vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return true;
}

bool sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool ok = sb_vprintf(sb, fmt, ap);
	va_end(ap);
	return ok;
}

void sb_truncate(struct strbuf *sb, size_t len)
{
	if (len < sb->len) {
		sb->len = len;
		sb->s[len] = '\0';
	}
}

void sb_rtrim(struct strbuf *sb)
{
	while (sb->len > 0 && isspace((unsigned char)sb->s[sb->len - 1]))
		sb->len--;
	sb->s[sb->len] = '\0';
}

char *sb_steal(struct strbuf *sb)
{
	char *s = sb->s;
	sb->s = NULL;
	sb->len = sb->cap = 0;
	return s;
}

const char *sb_str(const struct strbuf *sb)
{
	return sb->s;
}
