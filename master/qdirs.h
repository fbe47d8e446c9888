/*
 * qdirs.h - the users daemons run as, and the queue directory tree
 * master prepares before it binds anything (see docs/architecture.md
 * "Queue directory").
 */
#ifndef POSTERN_QDIRS_H
#define POSTERN_QDIRS_H

#include <stddef.h>

#include "master.h"

struct cfg;

/*
 * Look up mail_owner and network_user (root only; otherwise every id is
 * the invoking user's).  Returns 0, or -1 with a message in err naming
 * the command that creates a missing user.
 */
int qdirs_users(struct cfg *c, struct master_ids *ids, char *err, size_t errlen);

/*
 * Create what is missing of queue_directory and its subdirectories with
 * their owners and modes, and warn about existing ones owned by someone
 * else.  Returns 0, or -1 with err set.
 */
int qdirs_prepare(const char *queue_dir, const struct master_ids *ids,
                  char *err, size_t errlen);

#endif
