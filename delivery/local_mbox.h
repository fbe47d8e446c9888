/*
 * local_mbox.h - appending a message to a UNIX mbox file (a mailbox in
 * mail_spool_directory, home_mailbox, or a /file destination) and
 * writing one into a maildir.  Called in a child that already runs as
 * the recipient.
 */
#ifndef POSTERN_LOCAL_MBOX_H
#define POSTERN_LOCAL_MBOX_H

#include <stdbool.h>

#include "local_copy.h"
#include "local_priv.h"

/* mailbox_delivery_lock methods. */
#define LOCAL_LOCK_FCNTL   0x1
#define LOCAL_LOCK_DOTLOCK 0x2
#define LOCAL_LOCK_FLOCK   0x4

struct local_mbox_opts {
	int locks;            /* LOCAL_LOCK_* */
	long size_limit;      /* mailbox_size_limit, 0 = none */
	int lock_attempts;    /* deliver_lock_attempts */
	long lock_delay;      /* deliver_lock_delay, seconds */
	long stale_lock_time; /* stale_lock_time, seconds */
};

/*
 * Parse a mailbox_delivery_lock value ("fcntl, dotlock").  False for an
 * unknown method.
 */
bool local_mbox_parse_locks(const char *value, int *locks);

/*
 * Append the message to the mbox file path (created 0600 when missing)
 * with the headers and quoting of LOCAL_COPY_MBOX, locked as o says,
 * fsync'd.  On success st is 2.0.0 and the caller sets the text; on
 * failure st holds the DSN and the reason (without the "cannot update
 * mailbox" prefix, which the caller adds).  The file must be a regular
 * file with one link owned by the effective uid; symbolic links are
 * refused.  The file is cut back to its old size after a failed write.
 */
bool local_mbox_deliver(const struct local_msg *m, const char *path,
                        const struct local_mbox_opts *o, struct local_status *st);

/*
 * Write the message into the maildir dir (ending in "/"), creating the
 * maildir and its tmp, new and cur when missing: a unique file in tmp,
 * fsync, link into new, remove from tmp, fsync new.
 */
bool local_maildir_deliver(const struct local_msg *m, const char *dir,
                           long size_limit, struct local_status *st);

#endif
