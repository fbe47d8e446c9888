/*
 * agent.h - what every delivery agent (local, smtp/lmtp) does the same
 * way around its deliveries: the listening socket qmgr connects to, the
 * peer check, and the delay figures of the Postfix log line.
 */
#ifndef POSTERN_AGENT_H
#define POSTERN_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct daemon;
struct ipc_in;
struct local_req;

/* private/SERVICE, non-blocking SOCK_SEQPACKET, mode 0600, owned by
 * owner when we are root (fatal on failure, at start-up only). */
int agent_bind_socket(const struct daemon *d, uid_t owner);

/* Wait up to a second for a connection on ls (signals interrupt the
 * wait): the connected socket, or -1.  Only uid want may connect, and
 * root too when allow_root; others are logged and refused. */
int agent_accept(int ls, uid_t want, bool allow_root);

/* The connecting process's uid (SO_PEERCRED); false if unknown. */
bool agent_peer_uid(int sock, uid_t *uid);

/*
 * Wait for the next DELIVER from qmgr on sock and check it: the request
 * and its queue file descriptor (read-only, a regular file holding the
 * content) in *fd.  NULL at end of file or on a bad request (logged;
 * the caller drops the connection).  *rec (if not NULL) is the parsed
 * record, valid until the next call.
 */
struct local_req *agent_next_request(int sock, int *fd, const struct ipc_in **rec);

/* Wall-clock seconds, fractional. */
double agent_now(void);

/* A delay as Postfix prints it: 0, 0.03, 1.2, 15. */
void agent_fmt_delay(char *buf, size_t len, double v);

/*
 * The total delay of a delivery: qmgr's precise "a/b" figures (the
 * DELIVER request's delays) plus ours, or now - arrival when those do
 * not add up (ARRIVAL alone has whole seconds).
 */
double agent_total_delay(const char *delays, long long arrival, double ours, double now);

#endif
