/*
 * lreader.c - bounded logical-line reader (see lreader.h).  Runs in
 * every process that reads configuration or map sources; the input is
 * untrusted text from disk.
 */
#include "lreader.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

void lr_init(struct lreader *lr, FILE *fp, const char *name, size_t max)
{
	memset(lr, 0, sizeof(*lr));
	lr->fp = fp;
	lr->name = name;
	lr->max = max;
	sb_init(&lr->line, 0);
	sb_init(&lr->next, 0);
}

void lr_free(struct lreader *lr)
{
	sb_free(&lr->line);
	sb_free(&lr->next);
}

/*
 * Read one physical line into sb without its newline.  Returns 1 for a
 * line, 0 at EOF, -1 for a line longer than max (the rest is consumed)
 * or a NUL byte, -2 for a read error.
 */
static int read_physical(struct lreader *lr, struct strbuf *sb)
{
	int c, bad = 0;
	bool any = false;

	sb_reset(sb);
	while ((c = getc_unlocked(lr->fp)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (c == '\0')
			bad = bad ? bad : 2;
		else if (!bad && (sb->len >= lr->max || !sb_addc(sb, (char)c)))
			bad = 1;
	}
	if (c == EOF && ferror(lr->fp)) {
		snprintf(lr->err, sizeof(lr->err), "read error: %s", strerror(errno));
		return -2;
	}
	if (!any)
		return 0;
	lr->lineno++;
	if (bad == 1) {
		snprintf(lr->err, sizeof(lr->err), "line longer than %zu bytes", lr->max);
		return -1;
	}
	if (bad == 2) {
		snprintf(lr->err, sizeof(lr->err), "NUL byte in line");
		return -1;
	}
	sb_rtrim(sb);
	return 1;
}

static bool is_skippable(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0' || *s == '#';
}

/* Fetch the next non-skippable physical line into lr->next. */
static int fill_next(struct lreader *lr)
{
	for (;;) {
		int r = read_physical(lr, &lr->next);
		if (r == -2) {
			lr->io_error = true;
			lr->eof = true;
			return LR_ERR;
		}
		if (r == 0) {
			lr->eof = true;
			return LR_EOF;
		}
		lr->next_lineno = lr->lineno;
		if (r == -1)
			return LR_ERR;
		if (!is_skippable(lr->next.s)) {
			lr->have_next = true;
			return LR_LINE;
		}
	}
}

int lr_next(struct lreader *lr, char **line)
{
	if (lr->pending_err) {
		/* A bad line found while looking for continuations. */
		lr->pending_err = false;
		lr->start = lr->next_lineno;
		snprintf(lr->err, sizeof(lr->err), "%s", lr->pending_msg);
		return LR_ERR;
	}
	if (!lr->have_next) {
		if (lr->eof)
			return LR_EOF;
		int r = fill_next(lr);
		if (r != LR_LINE) {
			lr->start = lr->next_lineno;
			return r;
		}
	}
	lr->have_next = false;
	lr->start = lr->next_lineno;
	if (isspace((unsigned char)lr->next.s[0])) {
		snprintf(lr->err, sizeof(lr->err),
		         "logical line must not start with white space");
		/* Skip this orphan and any continuation of it. */
		while (!lr->eof && fill_next(lr) == LR_LINE &&
		       isspace((unsigned char)lr->next.s[0]))
			lr->have_next = false;
		return LR_ERR;
	}
	sb_reset(&lr->line);
	sb_add(&lr->line, lr->next.s, lr->next.len);
	bool too_long = false;
	lr->err[0] = '\0';
	while (!lr->eof) {
		int r = fill_next(lr);
		if (r == LR_EOF)
			break;
		if (r == LR_ERR) {
			if (lr->io_error)
				return LR_ERR;
			if (isspace((unsigned char)lr->next.s[0])) {
				too_long = true; /* a bad continuation spoils the line */
				continue;
			}
			/* A bad line of its own: report it on the next call. */
			lr->pending_err = true;
			snprintf(lr->pending_msg, sizeof(lr->pending_msg), "%s", lr->err);
			lr->err[0] = '\0';
			break;
		}
		if (!isspace((unsigned char)lr->next.s[0]))
			break;
		lr->have_next = false;
		if (lr->line.len + lr->next.len > lr->max ||
		    !sb_add(&lr->line, lr->next.s, lr->next.len)) {
			too_long = true;
			snprintf(lr->err, sizeof(lr->err),
			         "logical line longer than %zu bytes", lr->max);
		}
	}
	if (too_long) {
		if (lr->err[0] == '\0')
			snprintf(lr->err, sizeof(lr->err), "bad continuation line");
		return LR_ERR;
	}
	*line = lr->line.s;
	return LR_LINE;
}
