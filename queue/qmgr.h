/*
 * qmgr.h - the queue manager's process-wide state (settings read once
 * from main.cf, the event base, peer identities), shared by the files of
 * queue/.  Runs in qmgr only.
 */
#ifndef POSTERN_QMGR_H
#define POSTERN_QMGR_H

#include <stdbool.h>
#include <sys/types.h>

#include "daemon.h"

struct event_base;

/* A flag of our own in a queue file's F record (beside PROTO_FLAG_*): a
 * notice to the postmaster about an undeliverable bounce; when it fails
 * too it is dropped. */
/* How long a starting qmgr waits for a previous one to end (ms). */
#define QMGR_LOCK_WAIT_MS 30000

#define QMGR_FLAG_2BOUNCE 0x100

struct qmgr {
	struct daemon d;
	struct cfg *cfg;
	struct event_base *base;
	uid_t self_uid, net_uid, owner_uid;
	bool have_net_uid, have_owner_uid;
	long message_size_limit, queue_minfree;
	long min_backoff, max_backoff, run_delay, max_lifetime, bounce_lifetime;
	long active_limit, process_limit, ipc_timeout;
	bool soft_bounce, notify_2bounce;
	const char *myhostname;
	char **mydestination; /* literal domains, lower case */
	bool stopping;
};

extern struct qmgr qmgr;

#endif
