/*
 * admin.h - queue administration on public/qmgr: listing (postern queue
 * -p / -j) for any local user, flush / delete / hold / release /
 * requeue for root and mail_owner.
 */
#ifndef POSTERN_ADMIN_H
#define POSTERN_ADMIN_H

#include <sys/types.h>

struct ipc_in;

/* Take over a connection whose first record (in) is QUEUE_LIST or
 * ADMIN; uid is the peer's.  The connection is closed after the reply. */
void admin_take(int sock, uid_t uid, const struct ipc_in *in);
/* An ETRN from smtpd (private/qmgr): flush the domain's deferred mail,
 * answer, close sock. */
void admin_etrn(int sock, const struct ipc_in *in);

#endif
