/*
 * anvil.h - client connection and rate counters shared by every smtpd
 * process and service (Postfix's anvil(8), kept inside qmgr).  An smtpd
 * opens one long-lived connection on private/qmgr and sends PROTO_ANVIL
 * records; see docs/architecture.md.
 */
#ifndef POSTERN_ANVIL_H
#define POSTERN_ANVIL_H

#include "ipc.h"

void anvil_init(long rate_time_unit);
/* Take over a private/qmgr connection whose first record was PROTO_ANVIL. */
void anvil_take(int sock, const struct ipc_in *first);

#endif
