/*
 * listen.h - the listening sockets master binds and hands to daemons:
 * TCP for inet services (inet_interfaces, inet_protocols, the
 * host:port / [v6]:port / port forms), SOCK_SEQPACKET unix sockets
 * under queue_directory for unix services.
 */
#ifndef POSTERN_LISTEN_H
#define POSTERN_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cfg;

/*
 * Bind every address of an inet service (host NULL: per
 * inet_interfaces) on port, at most max sockets, into fds with a
 * printable address each in names (allocated).  Returns how many, or -1
 * with err set (nothing left open).
 */
int listen_inet(struct cfg *c, const char *host, const char *port, int *fds,
                char **names, size_t max, char *err, size_t errlen);

/*
 * Create the unix listener path (relative to the working directory,
 * i.e. queue_directory) with mode, owned by uid:gid when chown is set.
 * Replaces an old socket of that name, refuses anything else.  Returns
 * the descriptor or -1 with err set.
 */
int listen_unix(const char *path, mode_t mode, bool chown, uid_t uid, gid_t gid,
                char *err, size_t errlen);
/* The same with a socket type: SOCK_STREAM for a spawn service, whose
 * commands (policy servers) speak a byte stream. */
int listen_unix_type(const char *path, int type, mode_t mode, bool chown, uid_t uid,
                     gid_t gid, char *err, size_t errlen);

#endif
