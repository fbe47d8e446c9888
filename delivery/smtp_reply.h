/*
 * smtp_reply.h - the smtp client's one reader of server replies: a
 * buffered line reader with a bounded line length, and the multi-line
 * reply parser with a bounded line count (the CVE-2020-8794 class of
 * bug is a reply that outgrows its buffer).  Input: bytes from a remote
 * SMTP/LMTP server, untrusted.
 */
#ifndef POSTERN_SMTP_REPLY_H
#define POSTERN_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bounds.h"

/* Reads up to len bytes; returns the count, 0 at end of file, -1 on
 * error or timeout (errno set). */
typedef ssize_t (*smtp_read_fn)(void *arg, void *buf, size_t len);

struct smtp_rbuf {
	smtp_read_fn read;
	void *arg;
	size_t off, len;
	char buf[8192];
};

struct smtp_reply {
	int code;          /* 250 */
	char dsn[16];      /* "2.1.0": from the reply, else made from the code */
	bool dsn_given;    /* the server sent an enhanced status code */
	size_t nlines;
	/* Every line as the server sent it ("250-PIPELINING"), joined with
	 * a space, cut at SMTPC_REPLY_TEXT_MAX; for logs and the DSN. */
	char text[SMTPC_REPLY_TEXT_MAX + 1];
	/* The text after "NNN " / "NNN-" of each line, joined with '\n'
	 * (EHLO keywords); cut like text. */
	char body[SMTPC_REPLY_TEXT_MAX * 2 + 1];
};

enum smtp_reply_err {
	SMTP_REPLY_OK = 0,
	SMTP_REPLY_EOF,      /* lost connection */
	SMTP_REPLY_IOERR,    /* read error or timeout (errno) */
	SMTP_REPLY_TOOLONG,  /* a line over SMTPC_LINE_MAX */
	SMTP_REPLY_TOOMANY,  /* over SMTPC_REPLY_LINES_MAX lines */
	SMTP_REPLY_SYNTAX,   /* not "NNN[ -]text", or codes differ */
};

void smtp_rbuf_init(struct smtp_rbuf *b, smtp_read_fn fn, void *arg);
/* Whether bytes are buffered (a server that talks before its turn). */
bool smtp_rbuf_pending(const struct smtp_rbuf *b);
void smtp_rbuf_discard(struct smtp_rbuf *b);

/* One whole reply. */
enum smtp_reply_err smtp_reply_read(struct smtp_rbuf *b, struct smtp_reply *r);
/* "lost connection", "reply line too long", ... */
const char *smtp_reply_errstr(enum smtp_reply_err e);

/*
 * The parser under smtp_reply_read, for tests: feed one line (without
 * its line end).  Returns 1 when the reply is complete, 0 when more
 * lines follow, -1 on error (*err set).  Start with r zeroed.
 */
int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len,
                    enum smtp_reply_err *err);

/* Whether an EHLO reply body lists keyword (case-insensitive); *param
 * gets the rest of that line (or "") when param is not NULL. */
bool smtp_reply_ehlo_has(const struct smtp_reply *r, const char *keyword,
                         const char **param, size_t *paramlen);

#endif
