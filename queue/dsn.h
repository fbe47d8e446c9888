/*
 * dsn.h - composing delivery status notifications (RFC 3464
 * multipart/report messages): bounces, delay warnings and success
 * reports.  A pure function of its input: it knows nothing of the
 * queue; the caller gathers the facts and the original content.
 */
#ifndef POSTERN_DSN_H
#define POSTERN_DSN_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum { DSN_FAILURE, DSN_DELAY, DSN_SUCCESS };

struct dsn_rcpt {
	const char *addr;       /* final recipient */
	const char *orig;       /* recipient before rewriting, or NULL */
	const char *orcpt;      /* RFC 3461 ORCPT ("rfc822;addr" form), or NULL */
	const char *status;     /* RFC 3463 "X.Y.Z" */
	const char *action;     /* failed, delayed, delivered, relayed, expanded */
	const char *diag;       /* e.g. "smtp; 550 5.1.1 no such user", or NULL */
	const char *remote_mta; /* host name of the remote MTA, or NULL */
};

struct dsn_input {
	const char *reporting_mta;   /* $myhostname */
	const char *queue_id;        /* of the original message */
	const char *sender;          /* original envelope sender: the DSN's To: */
	const char *envid;           /* RFC 3461 ENVID, or NULL */
	const char *ret;             /* "FULL", "HDRS" or NULL */
	time_t arrival;              /* of the original message */
	int kind;                    /* DSN_FAILURE, DSN_DELAY, DSN_SUCCESS */
	const struct dsn_rcpt *rcpts;
	size_t nrcpts;
	int content_fd;              /* original message (LF line ends), read with pread */
	off_t content_off, content_len;
	size_t max_returned;         /* $bounce_size_limit */
	const char *postmaster_from; /* local part of From:, "MAILER-DAEMON" if NULL */
};

/*
 * Write a complete DSN message (LF line ends, headers first, no
 * envelope) to out_fd.  Returns 0, or -1 with a reason in err (bad
 * input, a read or write error).  Envelope values are untrusted: CR,
 * LF and other control characters never reach a header.
 */
int dsn_compose(const struct dsn_input *in, int out_fd, char *err, size_t errlen);

#endif
