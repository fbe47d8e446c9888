/*
 * local_fwd.h - forwarding: a recipient that expands to a non-local
 * address becomes a new message, submitted to the queue manager on
 * public/qmgr with the NEW/COMMIT exchange of docs/architecture.md.
 */
#ifndef POSTERN_LOCAL_FWD_H
#define POSTERN_LOCAL_FWD_H

#include "local_conf.h"
#include "local_copy.h"
#include "local_priv.h"

/* Submit m (sender m->sender, Delivered-To: m->delivered_to prepended)
 * to addr.  st: 2.0.0 "forwarded as ID" or a 4.3.0 failure. */
void local_fwd_submit(const struct local_conf *lc, const struct local_msg *m,
                      const char *addr, struct local_status *st);

#endif
