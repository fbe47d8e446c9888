/*
 * map_pattern.c - source handling shared by the pattern tables
 * (regexp:, regex:, pcre:, cidr:).  Runs in every process that opens
 * such a table, before privileges are dropped; the table text is
 * untrusted input from disk or from main.cf (the inline form).
 */
#include "map_pattern.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

/*
 * Postfix 3.7 inline tables: "{ {rule-1}, {rule-2} }" is read as a file
 * with one rule per line.  Each rule must itself be braced.
 */
static FILE *open_inline(const char *type, const char *name, char **text,
                         char *err, size_t errlen)
{
	char *copy = xstrdup(name), *bp, *tok;
	struct strbuf sb;
	int bad = 0;

	if (strlist_unbrace(copy) == NULL) {
		snprintf(err, errlen, "%s map: unbalanced '{' or '}' in \"%.200s\"",
		         type, name);
		free(copy);
		return NULL;
	}
	sb_init(&sb, 0);
	bp = copy;
	while ((tok = strlist_token(&bp, NULL, &bad)) != NULL) {
		if (tok[0] != '{' || strlist_unbrace(tok) == NULL) {
			snprintf(err, errlen,
			         "%s map: no '{' at start of text in \"%.200s\"",
			         type, tok);
			goto fail;
		}
		if (!sb_adds(&sb, tok) || !sb_addc(&sb, '\n')) {
			snprintf(err, errlen, "%s map: inline table too long", type);
			goto fail;
		}
	}
	if (bad) {
		snprintf(err, errlen, "%s map: unbalanced '{' or '}' in \"%.200s\"",
		         type, name);
		goto fail;
	}
	if (sb.len == 0)
		sb_addc(&sb, '\n'); /* fmemopen wants a non-empty buffer */
	free(copy);
	*text = sb_steal(&sb);
	sb_free(&sb);
	FILE *fp = fmemopen(*text, strlen(*text), "r");
	if (fp == NULL) {
		snprintf(err, errlen, "%s map: fmemopen: %s", type, strerror(errno));
		free(*text);
		*text = NULL;
	}
	return fp;
fail:
	free(copy);
	sb_free(&sb);
	return NULL;
}

bool map_src_open(struct map_src *src, const char *type, const char *name,
                  char *err, size_t errlen)
{
	memset(src, 0, sizeof(*src));
	if (name[0] == '\0') {
		snprintf(err, errlen, "%s: missing table name", type);
		return false;
	}
	src->type = type;
	src->label = xstrdup(name);
	if (name[0] == '{') {
		char *text = NULL;
		src->fp = open_inline(type, name, &text, err, errlen);
		src->inline_text = text;
	} else {
		src->fp = fopen(name, "re");
		if (src->fp == NULL)
			snprintf(err, errlen, "open %s: %s", name, strerror(errno));
	}
	if (src->fp == NULL) {
		free(src->label);
		src->label = NULL;
		return false;
	}
	lr_init(&src->lr, src->fp, src->label, MAP_LINE_MAX);
	return true;
}

int map_src_next(struct map_src *src, char **line, char *err, size_t errlen)
{
	for (;;) {
		int r = lr_next(&src->lr, line);
		if (r != LR_ERR)
			return r;
		if (src->lr.io_error) {
			snprintf(err, errlen, "%s map %s: %s", src->type, src->label,
			         src->lr.err);
			return LR_ERR;
		}
		map_src_warn(src, "%s: skipping this rule", src->lr.err);
	}
}

int map_src_line(const struct map_src *src)
{
	return src->lr.start;
}

void map_src_close(struct map_src *src)
{
	if (src->fp != NULL) {
		lr_free(&src->lr);
		fclose(src->fp);
	}
	free(src->inline_text);
	free(src->label);
	memset(src, 0, sizeof(*src));
}

static void vwarn(const struct map_src *src, int line, const char *fmt,
                  va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_warn("%s map %s, line %d: %s", src->type, src->label, line, msg);
}

void map_src_warn(const struct map_src *src, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(src, src->lr.start, fmt, ap);
	va_end(ap);
}

void map_src_warn_at(const struct map_src *src, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(src, line, fmt, ap);
	va_end(ap);
}

void map_src_err(const struct map_src *src, char *err, size_t errlen,
                 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s map %s, line %d: %s", src->type, src->label,
	         src->lr.start, msg);
}

char *map_keyword(char *line, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(line, kw, n) != 0 || isalnum((unsigned char)line[n]))
		return NULL;
	line += n;
	while (isspace((unsigned char)*line))
		line++;
	return line;
}
