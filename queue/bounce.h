/*
 * bounce.h - delivery status notifications made by qmgr: non-delivery
 * (bounce) and success notices to the sender, double-bounce notices to
 * the postmaster.  The report itself is composed by dsn.c.
 */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include <stddef.h>

#include "qfile.h"

enum bounce_kind { BOUNCE_FAILURE, BOUNCE_DELAY, BOUNCE_SUCCESS };

struct bounce_rcpt {
	size_t index;
	const struct qfile_rcpt *rcpt;
	const char *status, *text, *relay;
};

/*
 * Queue the notice about recipients rc[0..n) of message q (its file open
 * as fd) as a new message, subject to NOTIFY, the null sender and
 * notify_classes.  0 when done (queued, or none is due), -1 when it
 * could not be queued now (the caller keeps the recipients to retry).
 */
int bounce_send(const struct qfile *q, int fd, enum bounce_kind kind,
                const struct bounce_rcpt *rc, size_t n);

#endif
