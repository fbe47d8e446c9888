/*
 * local_leaf.h - one final delivery the expansion of a recipient came
 * down to (a mailbox, a file, a command, an address to forward to), and
 * running it as the right user.
 */
#ifndef POSTERN_LOCAL_LEAF_H
#define POSTERN_LOCAL_LEAF_H

#include <stdbool.h>

#include "local_conf.h"
#include "local_copy.h"
#include "local_priv.h"

enum local_leaf_type {
	LOCAL_LEAF_MAILBOX, /* the user's mailbox (or mailbox_command) */
	LOCAL_LEAF_FILE,    /* "/file" or "/dir/" (maildir) */
	LOCAL_LEAF_COMMAND, /* "|command" */
	LOCAL_LEAF_FORWARD, /* another address: a new message via qmgr */
};

struct local_leaf {
	enum local_leaf_type type;
	const char *target;    /* path, command or address */
	struct local_cred cred;
	/* Recipient context for the environment and headers. */
	const char *user;      /* USER/LOGNAME: login or alias name */
	const char *home;      /* NULL outside a user's context */
	const char *shell;
	const char *addr;      /* RECIPIENT: the address being delivered */
	const char *local;     /* local part with extension */
	const char *ext;       /* extension or NULL */
	const char *domain;
	const char *orig;      /* ORIGINAL_RECIPIENT, X-Original-To: */
	const char *delivered; /* Delivered-To: */
	const char *sender;
	const char *queue_id;
};

/*
 * Run the leaf: in a child as leaf->cred for mailboxes, files and
 * commands; forwarding goes to the queue manager.  msg gives the
 * content (fd, offset, length); its header fields are filled in here.
 */
void local_leaf_run(const struct local_conf *lc, const struct local_leaf *leaf,
                    const struct local_msg *content, struct local_status *st);

#endif
