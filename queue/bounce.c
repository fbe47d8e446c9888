/*
 * bounce.c - queueing delivery status notifications (see bounce.h).
 * Runs in qmgr.  Its input is a parsed queue file and the texts
 * delivery agents returned (bounded by the RESULT checks in sched.c).
 * A notice is a new message from the null sender flagged
 * PROTO_FLAG_BOUNCE, so that it is never bounced itself.
 */
#include "bounce.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "dsn.h"
#include "log.h"
#include "proto.h"
#include "qmgr.h"
#include "sched.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

static bool wanted(const struct qfile_rcpt *r, enum bounce_kind kind)
{
	if (r->notify & PROTO_NOTIFY_NEVER)
		return false;
	if (kind == BOUNCE_SUCCESS)
		return (r->notify & PROTO_NOTIFY_SUCCESS) != 0;
	if (kind == BOUNCE_DELAY)
		return r->notify == 0 || (r->notify & PROTO_NOTIFY_DELAY) != 0;
	return r->notify == 0 || (r->notify & PROTO_NOTIFY_FAILURE) != 0;
}

/* "host[addr]:port" -> "host"; NULL for local deliveries. */
static char *remote_mta(const char *relay)
{
	const char *b = relay ? strchr(relay, '[') : NULL;
	if (b == NULL || b == relay)
		return NULL;
	return xstrndup(relay, (size_t)(b - relay));
}

static int queue_notice(const struct qfile *q, int fd, enum bounce_kind kind,
                        const char *to, unsigned flags, const struct dsn_rcpt *dr,
                        size_t n, char *newid, size_t idlen)
{
	struct qfile head;
	char err[256];
	int rc = -1;

	if (!store_space_ok()) {
		log_warn("%s: no space to queue a delivery status notification", q->id);
		return -1;
	}
	qfile_init(&head);
	head.sender = xstrdup("");
	head.flags = flags;
	int nfd = store_create(&head);
	if (nfd < 0) {
		qfile_free(&head);
		return -1;
	}
	struct dsn_input in = {
		.reporting_mta = qmgr.myhostname,
		.queue_id = q->id,
		.sender = to,
		.envid = q->envid,
		.ret = q->ret,
		.arrival = q->arrival,
		.kind = kind == BOUNCE_FAILURE ? DSN_FAILURE
		      : kind == BOUNCE_DELAY ? DSN_DELAY
		                             : DSN_SUCCESS,
		.rcpts = dr,
		.nrcpts = n,
		.content_fd = fd,
		.content_off = q->content_off,
		.content_len = q->content_len,
		.max_returned = (size_t)cfg_get_long(qmgr.cfg, "bounce_size_limit"),
		.postmaster_from = "MAILER-DAEMON",
	};
	struct stat st;
	struct qfile_rcpt_in r = {.addr = to};
	errno = 0;
	if (lseek(nfd, head.content_off, SEEK_SET) < 0 ||
	    dsn_compose(&in, nfd, err, sizeof(err)) != 0) {
		log_warn("%s: cannot compose a delivery status notification: %s", q->id,
		         errno ? strerror(errno) : err);
	} else if (fstat(nfd, &st) != 0 ||
	           store_commit(nfd, &head, st.st_size - head.content_off, &r, 1) != 0) {
		log_warn("%s: cannot queue a delivery status notification: %s", q->id,
		         strerror(errno));
	} else {
		snprintf(newid, idlen, "%s", head.id);
		rc = 0;
	}
	if (rc != 0)
		store_abandon(head.id);
	close(nfd);
	qfile_free(&head);
	return rc;
}

int bounce_send(const struct qfile *q, int fd, enum bounce_kind kind,
                const struct bounce_rcpt *rc, size_t n)
{
	bool from_bounce = *q->sender == '\0' || (q->flags & PROTO_FLAG_BOUNCE);
	const char *to = q->sender, *what;
	unsigned flags = PROTO_FLAG_BOUNCE;

	if (kind == BOUNCE_SUCCESS || kind == BOUNCE_DELAY) {
		if (from_bounce)
			return 0;
		what = kind == BOUNCE_DELAY ? "sender delay notification"
		                            : "sender delivery status notification";
	} else if (!from_bounce) {
		what = "sender non-delivery notification";
	} else if ((q->flags & QMGR_FLAG_2BOUNCE) || !qmgr.notify_2bounce) {
		log_info("%s: undeliverable notification discarded", q->id);
		return 0;
	} else {
		to = cfg_get(qmgr.cfg, "2bounce_notice_recipient");
		flags |= QMGR_FLAG_2BOUNCE;
		what = "postmaster non-delivery notification";
	}

	struct dsn_rcpt *dr = xcalloc(n, sizeof(*dr));
	char **diag = xcalloc(n, sizeof(*diag)), **mta = xcalloc(n, sizeof(*mta));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		/* Postmaster notices tell about every recipient. */
		if (!(flags & QMGR_FLAG_2BOUNCE) && !wanted(rc[i].rcpt, kind))
			continue;
		struct strbuf sb;
		sb_init(&sb, 0);
		sb_printf(&sb, "X-Postfix; %s", rc[i].text);
		diag[k] = sb_steal(&sb);
		mta[k] = remote_mta(rc[i].relay);
		dr[k].addr = rc[i].rcpt->addr;
		dr[k].orig = rc[i].rcpt->orig;
		dr[k].orcpt = rc[i].rcpt->orcpt;
		dr[k].status = rc[i].status;
		dr[k].action = kind == BOUNCE_FAILURE ? "failed"
		             : kind == BOUNCE_DELAY   ? "delayed"
		             : mta[k] != NULL         ? "relayed"
		                                      : "delivered";
		dr[k].diag = diag[k];
		dr[k].remote_mta = mta[k];
		k++;
	}
	int result = 0;
	char newid[STORE_ID_SIZE];
	if (k > 0) {
		result = queue_notice(q, fd, kind, to, flags, dr, k, newid, sizeof(newid));
		if (result == 0) {
			log_info("%s: %s: %s", q->id, what, newid);
			sched_new(newid);
		}
	}
	for (size_t i = 0; i < k; i++) {
		free(diag[i]);
		free(mta[i]);
	}
	free(diag);
	free(mta);
	free(dr);
	return result;
}
