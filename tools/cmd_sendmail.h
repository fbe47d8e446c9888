/*
 * cmd_sendmail.h - the state of one postern sendmail submission, shared
 * by the command-line mode (cmd_sendmail.c) and the SMTP mode of -bs
 * (sendmail_smtp.c).
 */
#ifndef POSTERN_CMD_SENDMAIL_H
#define POSTERN_CMD_SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "strbuf.h"

struct cfg;
struct htable;

struct sm {
	struct cfg *cfg;
	bool opt_t, opt_i;
	const char *sender;   /* as given with -f/-r, NULL: the user's login */
	const char *fullname; /* -F, else $NAME, else the password entry */
	unsigned notify;      /* -N as PROTO_NOTIFY_*, 0 when not given */
	const char *ret, *envid, *body;
	char **rcpts;
	size_t nrcpts;
	struct htable *seen; /* recipients already listed */
	bool too_many;
	/* The header block as read (LF line ends), Bcc: removed under -t. */
	struct strbuf head;
	bool have_from, have_date, have_msgid;
	bool head_ended_by_blank; /* else a non-header line began the body */
	bool eof;                 /* input ended within the headers */
	struct strbuf pending;    /* first body line, read while looking for headers */
	/* -bs: the message is SMTP DATA (dot-stuffed, ends at "."). */
	bool smtp;
	bool saw_dot;             /* the ending "." was read */
	unsigned *rnotify;        /* per recipient NOTIFY (0: s->notify) */
	char **rorcpt;            /* per recipient ORCPT (NULL: rfc822;ADDR) */
	char qid[64];             /* queue id of the last message queued */
	char err[512];            /* why the last submission failed */
};

/* Add a recipient (qualified with $myorigin, duplicates dropped);
 * false when there are too many. */
bool sendmail_add_rcpt(struct sm *s, const char *addr, unsigned notify,
                       const char *orcpt);
/* Forget the recipients, the envelope and the message of the last
 * transaction (the SMTP RSET). */
void sendmail_reset(struct sm *s);
/* Read the message on in and queue it; 0 or a sysexits status, with
 * s->qid or s->err set. */
int sendmail_submit(struct sm *s, FILE *in);
/* One input line, at most max bytes (see cmd_sendmail.c). */
bool sendmail_read_line(FILE *in, struct strbuf *line, size_t max, bool *complete);
/* SMTP on standard input and output (-bs); returns the exit status. */
int sendmail_smtp(struct sm *s);
/* -bv: resolve the recipients and mail a status report to the sender
 * (sendmail_verify.c); returns the exit status. */
int sendmail_verify(struct sm *s);

#endif
