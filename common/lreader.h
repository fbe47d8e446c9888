/*
 * lreader.h - the one reader of Postfix-style "logical lines", shared by
 * main.cf, master.cf and every map source format (postmap input,
 * aliases, regexp, pcre, cidr).
 *
 * Rules (postconf(5), postmap(1)): blank lines and lines whose first
 * non-white-space character is '#' are skipped; a line that starts with
 * white space continues the current logical line; trailing white space
 * (including CR) is removed.  Physical lines are read with a hard
 * length limit, so a file without newlines cannot exhaust memory.
 */
#ifndef POSTERN_LREADER_H
#define POSTERN_LREADER_H

#include <stdbool.h>
#include <stdio.h>

#include "strbuf.h"

enum { LR_EOF = 0, LR_LINE = 1, LR_ERR = -1 };

struct lreader {
	FILE *fp;
	const char *name;   /* file name for messages */
	size_t max;         /* longest logical line */
	int lineno;         /* physical lines consumed so far */
	int start;          /* first physical line of the line just returned */
	struct strbuf line; /* logical line being returned */
	struct strbuf next; /* look-ahead physical line */
	int next_lineno;
	bool have_next;
	bool eof;
	bool io_error;
	bool pending_err;
	char err[256];
	char pending_msg[256];
};

void lr_init(struct lreader *lr, FILE *fp, const char *name, size_t max);
void lr_free(struct lreader *lr);
/*
 * LR_LINE: *line is the logical line (modifiable, valid until the next
 * call), lr->start its first line number.  LR_ERR: lr->err says what
 * was wrong with the line at lr->start, which was skipped; reading may
 * continue unless lr->io_error.  LR_EOF: done.
 */
int lr_next(struct lreader *lr, char **line);

#endif
