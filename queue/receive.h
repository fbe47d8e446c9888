/*
 * receive.h - the receiving side of qmgr: connections on private/qmgr
 * (smtpd) and public/qmgr (local users), NEW / COMMIT transactions.
 */
#ifndef POSTERN_RECEIVE_H
#define POSTERN_RECEIVE_H

#include <stdbool.h>

/* Start accepting on a listening socket; is_public for public/qmgr. */
void receive_listen(int lfd, bool is_public);
/* Stop accepting; abandon open transactions (their tmp files go). */
void receive_shutdown(void);

#endif
