/*
 * smtpd_anvil.h - smtpd's side of the shared client counters (qmgr's
 * anvil, queue/anvil.c): connection count and rate, message, recipient,
 * new TLS session and AUTH rates, with Postfix's replies and warnings.
 * Runs in smtpd; talks to qmgr only.
 */
#ifndef POSTERN_SMTPD_ANVIL_H
#define POSTERN_SMTPD_ANVIL_H

#include <stdbool.h>

#include "netaddr.h"

struct smtpd_server;

enum smtpd_limit { LIMIT_CONNECT, LIMIT_MESSAGE, LIMIT_RCPT, LIMIT_NEWTLS, LIMIT_AUTH };

/* Read the *_rate_limit parameters. */
void smtpd_anvil_init(struct smtpd_server *srv);

/*
 * Count one event of a client and check its limit.  NULL: go on; else
 * the SMTP reply to send (the warning is logged).  LIMIT_CONNECT also
 * checks smtpd_client_connection_count_limit across all smtpd
 * processes and sets *counted (call smtpd_anvil_disconnect later).
 * Clients in smtpd_client_event_limit_exceptions are never limited.
 * Without qmgr (tests, qmgr restarting) nothing is limited here.
 * TLS: call with LIMIT_NEWTLS for each new (not resumed) session; SASL:
 * with LIMIT_AUTH at each AUTH command.
 */
const char *smtpd_anvil_event(struct smtpd_server *srv, enum smtpd_limit what, const char *name,
                              const char *addr, const struct netaddr_net *client, bool *counted);
void smtpd_anvil_disconnect(const char *addr);

#endif
