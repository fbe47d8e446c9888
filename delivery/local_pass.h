/*
 * local_pass.h - mailbox_transport: after alias and .forward expansion,
 * local hands a mailbox delivery to another transport's agent (e.g.
 * lmtp:unix:private/dovecot-lmtp) the way qmgr would, and reports its
 * result as the mailbox delivery's status (Postfix's model).
 */
#ifndef POSTERN_LOCAL_PASS_H
#define POSTERN_LOCAL_PASS_H

#include "local_copy.h"
#include "local_leaf.h"
#include "local_priv.h"

void local_pass(const char *transport_spec, const struct local_leaf *leaf,
                const struct local_msg *m, struct local_status *st);

#endif
