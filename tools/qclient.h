/*
 * qclient.h - the local commands' side of public/qmgr: connect, send a
 * record, receive one (common/ipc.h records, common/proto.h types).
 * Used by postern sendmail, queue and super.
 */
#ifndef POSTERN_QCLIENT_H
#define POSTERN_QCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

struct cfg;

struct qclient {
	int sock;
	uint8_t *buf;      /* IPC_RECORD_MAX bytes */
	struct ipc_in *in; /* the last record received */
	int fd;            /* descriptor passed with it, or -1 */
};

/* Connect to $queue_directory/public/qmgr; false with err set. */
bool qclient_open(struct qclient *q, struct cfg *c, char *err, size_t errlen);
void qclient_close(struct qclient *q);
/* Send o (with fd attached when fd >= 0); false with err set. */
bool qclient_send(struct qclient *q, const struct ipc_out *o, int fd, char *err,
                  size_t errlen);
/*
 * Receive and parse one record into q->in (q->fd gets a passed
 * descriptor, the previous one closed).  False with err set on end of
 * file, a read error or a malformed record.
 */
bool qclient_recv(struct qclient *q, char *err, size_t errlen);
/* "TEXT (STATUS)" of a PROTO_FAIL record, for messages. */
void qclient_fail_text(const struct qclient *q, char *buf, size_t len);

#endif
