/*
 * smtpd_session.h - one SMTP session: the command state machine,
 * replies, DATA/BDAT reception into the queue.  Owned by smtpd.c's
 * accept loop.
 */
#ifndef POSTERN_SMTPD_SESSION_H
#define POSTERN_SMTPD_SESSION_H

#include <sys/socket.h>

struct smtpd_server;

/* Take over a connected socket; the session frees itself at the end. */
void session_start(struct smtpd_server *srv, int fd, const struct sockaddr *sa,
                   socklen_t salen);

/* Shutting down: every session gets "421 4.3.2 ... Service shutting
 * down" (an open transaction is abandoned, nothing was acknowledged for
 * it) and ends once the reply is written. */
void session_shutdown_all(void);

#endif
