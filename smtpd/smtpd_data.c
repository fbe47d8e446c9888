/*
 * smtpd_data.c - message content decoder (see smtpd_data.h).  Runs in
 * smtpd on bytes straight from the client: it keeps a few flags per
 * line and never holds more than the output the caller has not taken
 * yet, so a line without end cannot grow anything but the output.
 */
#include "smtpd_data.h"

#include <string.h>
#include <strings.h>

#include "log.h"

void sdata_init(struct sdata *d, bool dot_mode, bool reject_bare_lf, uint64_t limit)
{
	memset(d, 0, sizeof(*d));
	d->dot_mode = dot_mode;
	d->reject_bare_lf = reject_bare_lf;
	d->limit = limit;
	d->bol = true;
	d->prev_crlf = true; /* the DATA command line ended the previous line */
	d->in_header = true;
	sb_init(&d->out, 0);
}

void sdata_free(struct sdata *d)
{
	sb_free(&d->out);
}

static void header_byte(struct sdata *d, char ch)
{
	if (d->linelen == 0) {
		if (d->msgid_state == 1 && ch != ' ' && ch != '\t')
			d->msgid_state = 2;
		d->msgid_line = d->msgid_state == 1;
		d->name_done = d->msgid_line;
		d->hdrnamelen = 0;
	}
	if (d->msgid_line) {
		if (d->msgidlen < SMTP_MSGID_MAX)
			d->msgid[d->msgidlen++] = ch == '\t' ? ' ' : ch;
	} else if (!d->name_done) {
		if (ch == ':') {
			d->name_done = true;
			if (d->msgid_state == 0 && d->hdrnamelen == 10 &&
			    strncasecmp(d->hdrname, "message-id", 10) == 0) {
				d->msgid_state = 1;
				d->msgid_line = true;
			}
		} else if (d->hdrnamelen < sizeof(d->hdrname)) {
			d->hdrname[d->hdrnamelen++] = ch;
		} else {
			d->name_done = true;
		}
	}
}

static void emit(struct sdata *d, char ch)
{
	if (d->in_header && ch != '\n')
		header_byte(d, ch);
	d->linelen++;
	d->size++;
	if (d->limit && d->size > d->limit)
		d->too_big = true;
	if (!d->too_big && !sb_addc(&d->out, ch))
		log_fatal("content buffer overflow"); /* the caller drains it */
}

static void line_end(struct sdata *d, bool crlf)
{
	if (d->in_header && d->linelen == 0) {
		d->in_header = false;
		if (d->msgid_state == 1)
			d->msgid_state = 2;
	}
	emit(d, '\n');
	d->linelen = 0;
	d->prev_crlf = crlf;
	d->bol = true;
	d->dot = 0;
}

enum sdata_result sdata_feed(struct sdata *d, const char *p, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (d->pending_cr) {
			d->pending_cr = false;
			if (ch == '\n') {
				if (d->dot_mode && d->dot == 1 && d->prev_crlf) {
					d->dot = 0;
					d->bol = true;
					*used = i + 1;
					return SDATA_END;
				}
				if (d->dot == 1)
					emit(d, '.');
				line_end(d, true);
				continue;
			}
			/* A bare CR is content. */
			if (d->dot == 1) {
				emit(d, '.');
				d->dot = 0;
			}
			d->bol = false;
			emit(d, '\r');
		}
		if (ch == '\r') {
			d->pending_cr = true;
			continue;
		}
		if (ch == '\n') {
			d->saw_bare_lf = true;
			if (d->reject_bare_lf && d->dot_mode) {
				*used = i + 1;
				return SDATA_BARE_LF;
			}
			/* normalize: ends the line, never the message */
			if (d->dot == 1)
				emit(d, '.');
			line_end(d, false);
			continue;
		}
		if (d->dot_mode && d->bol && ch == '.') {
			d->bol = false;
			d->dot = 1;
			continue;
		}
		if (d->dot == 1)
			d->dot = 0; /* the stuffed dot is dropped */
		d->bol = false;
		emit(d, ch);
	}
	*used = n;
	return SDATA_MORE;
}

void sdata_finish(struct sdata *d)
{
	if (d->pending_cr) {
		d->pending_cr = false;
		emit(d, '\r');
		d->bol = false;
	}
	if (d->dot == 1) {
		emit(d, '.');
		d->dot = 0;
		d->bol = false;
	}
	if (!d->bol)
		line_end(d, true);
}

const char *sdata_msgid(struct sdata *d)
{
	size_t s = 0, e = d->msgidlen;
	while (s < e && d->msgid[s] == ' ')
		s++;
	while (e > s && d->msgid[e - 1] == ' ')
		e--;
	memmove(d->msgid, d->msgid + s, e - s);
	d->msgid[e - s] = '\0';
	d->msgidlen = e - s;
	return d->msgid;
}
