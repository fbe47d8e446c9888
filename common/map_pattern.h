/*
 * map_pattern.h - what the pattern tables (regexp:, regex:, pcre:,
 * cidr:) share: opening the source (a file, or Postfix 3.7's inline
 * "{ {rule}, {rule} }" form), recognising if/endif lines, the if/endif
 * nesting stack and the "TYPE map FILE, line N: ..." messages.
 */
#ifndef POSTERN_MAP_PATTERN_H
#define POSTERN_MAP_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bounds.h"
#include "lreader.h"

/* One table source being read. */
struct map_src {
	const char *type; /* "regexp", for messages */
	char *label;      /* file name, or the inline text */
	FILE *fp;
	char *inline_text; /* backing store of fp for the inline form */
	struct lreader lr;
};

/*
 * Open name (a path or "{ ... }") for reading.  Returns false with a
 * reason in err (e.g. "open /x: No such file or directory").
 */
bool map_src_open(struct map_src *src, const char *type, const char *name,
                  char *err, size_t errlen);
/*
 * Next logical line: LR_LINE, LR_EOF, or LR_ERR for a read error (err
 * filled in).  Over-long and malformed lines are warned about and
 * skipped here, as Postfix skips a bad rule.
 */
int map_src_next(struct map_src *src, char **line, char *err, size_t errlen);
/* Line number of the line last returned. */
int map_src_line(const struct map_src *src);
void map_src_close(struct map_src *src);

/* "TYPE map LABEL, line N: text" as a warning. */
void map_src_warn(const struct map_src *src, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same for a line other than the current one. */
void map_src_warn_at(const struct map_src *src, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same text into err (for errors that fail the open). */
void map_src_err(const struct map_src *src, char *err, size_t errlen,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * If line starts with the keyword (case-insensitive) followed by a
 * non-alphanumeric character or the end, return the text after it
 * with leading white space skipped; else NULL.
 */
char *map_keyword(char *line, const char *kw);

/*
 * Open if-blocks while a table is read.  Rules are stored in one array;
 * an "if" entry records the index just past its block, filled in when
 * the endif (or end of file) is seen.
 */
struct map_ifstack {
	size_t depth;
	size_t rule[MAP_IF_DEPTH]; /* index of the if entry */
	int line[MAP_IF_DEPTH];    /* its line, for "no matching ENDIF" */
};

#endif
