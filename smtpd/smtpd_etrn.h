/*
 * smtpd_etrn.h - ETRN (RFC 1985) as Postfix answers it: the argument's
 * syntax, fast_flush_domains, and the request to qmgr that schedules the
 * domain's deferred mail now.  The restriction stage
 * (smtpd_etrn_restrictions) runs in between, in smtpd_session.c.
 */
#ifndef POSTERN_SMTPD_ETRN_H
#define POSTERN_SMTPD_ETRN_H

#include <stddef.h>

struct route;

/*
 * The domain of "ETRN arg" into dom ("@" or "#" in front removed, as
 * Postfix).  NULL when it is good, else the reply to send.
 */
const char *smtpd_etrn_parse(const char *arg, size_t arglen, char *dom, size_t domlen);

/*
 * After the restrictions permitted it: the final reply ("250 Queuing
 * started", "459 <dom>: service unavailable", "458 Unable to queue
 * messages"), logging as Postfix does.  Talks to qmgr on private/qmgr
 * (a blocking exchange with a short timeout: qmgr answers at once).
 */
const char *smtpd_etrn_flush(struct route *r, const char *dom, const char *client_name,
                             const char *client_addr, char *rep, size_t replen);

#endif
