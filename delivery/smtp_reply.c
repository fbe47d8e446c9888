/*
 * smtp_reply.c - reads and parses replies of remote SMTP/LMTP servers
 * (see smtp_reply.h).  Runs in the smtp client's per-connection process
 * as network_user.  Untrusted input: everything here.  No line is ever
 * longer than SMTPC_LINE_MAX in memory and no reply has more than
 * SMTPC_REPLY_LINES_MAX lines; past either the session ends cleanly.
 */
#include "smtp_reply.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void smtp_rbuf_init(struct smtp_rbuf *b, smtp_read_fn fn, void *arg)
{
	b->read = fn;
	b->arg = arg;
	b->off = b->len = 0;
}

bool smtp_rbuf_pending(const struct smtp_rbuf *b)
{
	return b->off < b->len;
}

void smtp_rbuf_discard(struct smtp_rbuf *b)
{
	b->off = b->len = 0;
}

/* One line into line[SMTPC_LINE_MAX + 2], CR LF or LF stripped; the
 * limit counts the line without its line end. */
static enum smtp_reply_err get_line(struct smtp_rbuf *b, char *line, size_t *lenp)
{
	size_t n = 0;
	for (;;) {
		if (b->off == b->len) {
			ssize_t got = b->read(b->arg, b->buf, sizeof(b->buf));
			if (got == 0)
				return SMTP_REPLY_EOF;
			if (got < 0)
				return SMTP_REPLY_IOERR;
			b->off = 0;
			b->len = (size_t)got;
		}
		char *start = b->buf + b->off;
		size_t avail = b->len - b->off;
		char *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) : avail;
		if (n + take > SMTPC_LINE_MAX + 1) /* + 1: a CR before the LF */
			return SMTP_REPLY_TOOLONG;
		memcpy(line + n, start, take);
		n += take;
		b->off += take + (nl ? 1 : 0);
		if (nl) {
			if (n > 0 && line[n - 1] == '\r')
				n--;
			if (n > SMTPC_LINE_MAX)
				return SMTP_REPLY_TOOLONG;
			line[n] = '\0';
			*lenp = n;
			return SMTP_REPLY_OK;
		}
	}
}

static void append(char *dst, size_t cap, const char *sep, const char *s, size_t n)
{
	size_t have = strlen(dst);
	if (have > 0) {
		size_t sl = strlen(sep);
		if (have + sl >= cap)
			return;
		memcpy(dst + have, sep, sl);
		have += sl;
	}
	if (have + n >= cap)
		n = cap - 1 - have;
	memcpy(dst + have, s, n);
	dst[have + n] = '\0';
}

/* "X.Y.Z" (X the reply's class, Y and Z up to three digits) at s. */
static size_t enhanced_len(const char *s, size_t len, int cls)
{
	size_t i = 0;
	if (len < 5 || s[0] != '0' + cls || s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (i < len && isdigit((unsigned char)s[i]) && d < 3)
			i++, d++;
		if (d == 0)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ' && s[i] != '\t')
		return 0;
	return i;
}

int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len,
                    enum smtp_reply_err *err)
{
	if (r->nlines >= SMTPC_REPLY_LINES_MAX) {
		*err = SMTP_REPLY_TOOMANY;
		return -1;
	}
	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		*err = SMTP_REPLY_SYNTAX;
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\0') {
			*err = SMTP_REPLY_SYNTAX;
			return -1;
		}
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines > 0 && code != r->code) {
		*err = SMTP_REPLY_SYNTAX;
		return -1;
	}
	r->code = code;
	const char *txt = len > 4 ? line + 4 : "";
	size_t tlen = len > 4 ? len - 4 : 0;
	if (r->nlines == 0) {
		size_t e = enhanced_len(txt, tlen, line[0] - '0');
		if (e > 0 && e < sizeof(r->dsn)) {
			memcpy(r->dsn, txt, e);
			r->dsn[e] = '\0';
			r->dsn_given = true;
		} else {
			snprintf(r->dsn, sizeof(r->dsn), "%c.0.0", line[0]);
		}
	}
	r->nlines++;
	append(r->text, sizeof(r->text), " ", line, len);
	append(r->body, sizeof(r->body), "\n", txt, tlen);
	*err = SMTP_REPLY_OK;
	return len > 3 && line[3] == '-' ? 0 : 1;
}

enum smtp_reply_err smtp_reply_read(struct smtp_rbuf *b, struct smtp_reply *r)
{
	static char line[SMTPC_LINE_MAX + 2];
	memset(r, 0, sizeof(*r));
	for (;;) {
		size_t len;
		enum smtp_reply_err e = get_line(b, line, &len);
		if (e != SMTP_REPLY_OK)
			return e;
		int rc = smtp_reply_line(r, line, len, &e);
		if (rc < 0)
			return e;
		if (rc == 1)
			return SMTP_REPLY_OK;
	}
}

const char *smtp_reply_errstr(enum smtp_reply_err e)
{
	switch (e) {
	case SMTP_REPLY_OK: return "ok";
	case SMTP_REPLY_EOF: return "lost connection";
	case SMTP_REPLY_IOERR:
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT
		       ? "conversation timed out" : "read error";
	case SMTP_REPLY_TOOLONG: return "reply line too long";
	case SMTP_REPLY_TOOMANY: return "too many reply lines";
	case SMTP_REPLY_SYNTAX: return "malformed reply";
	}
	return "?";
}

bool smtp_reply_ehlo_has(const struct smtp_reply *r, const char *keyword,
                         const char **param, size_t *paramlen)
{
	size_t kl = strlen(keyword);
	/* The first line is the greeting name; keywords follow. */
	const char *p = strchr(r->body, '\n');
	while (p != NULL) {
		p++;
		const char *end = strchr(p, '\n');
		size_t ll = end ? (size_t)(end - p) : strlen(p);
		if (ll >= kl && strncasecmp(p, keyword, kl) == 0 &&
		    (ll == kl || p[kl] == ' ' || p[kl] == '=')) {
			if (param != NULL) {
				*param = ll > kl ? p + kl + 1 : "";
				*paramlen = ll > kl ? ll - kl - 1 : 0;
			}
			return true;
		}
		p = end;
	}
	return false;
}
