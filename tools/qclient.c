/*
 * qclient.c - connection of a local command (postern sendmail, queue,
 * super) to the queue manager's public socket.  Runs as the invoking
 * user.  Untrusted input: none beyond the queue manager's records,
 * which go through the one record parser (ipc_parse).
 */
#include "qclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "proto.h"
#include "xalloc.h"

bool qclient_open(struct qclient *q, struct cfg *c, char *err, size_t errlen)
{
	q->sock = -1;
	q->buf = NULL;
	q->in = NULL;
	q->fd = -1;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/public/qmgr",
	                 cfg_get(c, "queue_directory"));
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "queue_directory is too long for a socket path");
		return false;
	}
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return false;
	}
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "connect to %s: %s (is postern running?)", sun.sun_path,
		         strerror(errno));
		close(s);
		return false;
	}
	q->sock = s;
	q->buf = xmalloc(IPC_RECORD_MAX);
	q->in = xmalloc(sizeof(*q->in));
	return true;
}

void qclient_close(struct qclient *q)
{
	if (q->sock >= 0)
		close(q->sock);
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	free(q->in);
	q->sock = q->fd = -1;
	q->buf = NULL;
	q->in = NULL;
}

bool qclient_send(struct qclient *q, const struct ipc_out *o, int fd, char *err,
                  size_t errlen)
{
	if (ipc_send(q->sock, o, fd) != 0) {
		snprintf(err, errlen, "sending to the queue manager: %s", strerror(errno));
		return false;
	}
	return true;
}

bool qclient_recv(struct qclient *q, char *err, size_t errlen)
{
	if (q->fd >= 0) {
		close(q->fd);
		q->fd = -1;
	}
	long n = ipc_recv(q->sock, q->buf, IPC_RECORD_MAX, &q->fd);
	if (n < 0) {
		snprintf(err, errlen, "reading from the queue manager: %s", strerror(errno));
		return false;
	}
	if (n == 0) {
		snprintf(err, errlen, "the queue manager closed the connection");
		return false;
	}
	char perr[128];
	if (!ipc_parse(q->buf, (size_t)n, q->in, perr, sizeof(perr))) {
		snprintf(err, errlen, "malformed record from the queue manager: %s", perr);
		return false;
	}
	return true;
}

void qclient_fail_text(const struct qclient *q, char *buf, size_t len)
{
	const char *text = ipc_str(q->in, T_TEXT);
	const char *status = ipc_str(q->in, T_STATUS);
	snprintf(buf, len, "%s%s%s%s", text != NULL ? text : "refused",
	         status != NULL ? " (" : "", status != NULL ? status : "",
	         status != NULL ? ")" : "");
}
