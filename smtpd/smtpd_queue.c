/*
 * smtpd_queue.c - client of qmgr's private/qmgr socket (see
 * smtpd_queue.h).  Runs in smtpd, after privileges are dropped.  Input:
 * qmgr's records, parsed by ipc_parse; a reply we do not expect ends
 * the transaction with a temporary error.  Answers are read only when
 * the caller's event loop saw the socket readable; sends are small
 * records on a local socket, with a send timeout as the bound.
 */
#include "smtpd_queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "proto.h"

#define SQUEUE_TIMEOUT 60

static uint8_t rbuf[IPC_RECORD_MAX];
static struct ipc_in rin;

void squeue_init(struct squeue *q)
{
	q->sock = q->fd = -1;
	q->id[0] = '\0';
	q->written = 0;
	q->write_error = false;
	q->hold = false;
}

void squeue_abort(struct squeue *q)
{
	if (q->fd >= 0)
		close(q->fd);
	if (q->sock >= 0)
		close(q->sock);
	squeue_init(q);
}

static void temp_fail(char *reply, size_t len)
{
	snprintf(reply, len, "451 4.3.0 Error: queue file write error");
}

/* FAIL record: STATUS and TEXT into a reply, codes as Postfix uses them. */
static void fail_reply(char *reply, size_t len)
{
	const char *st = ipc_str(&rin, T_STATUS);
	const char *tx = ipc_str(&rin, T_TEXT);
	char text[200];
	size_t o = 0;
	if (st == NULL || strlen(st) != 5 || (st[0] != '4' && st[0] != '5') || st[1] != '.' ||
	    st[3] != '.') {
		temp_fail(reply, len);
		return;
	}
	for (; tx && *tx && o + 1 < sizeof(text); tx++)
		text[o++] = (*tx >= 32 && *tx < 127) ? *tx : '?';
	text[o] = '\0';
	const char *code = st[0] == '5' ? "554" : "451";
	if (strncmp(st, "4.3.1", 5) == 0)
		code = "452";
	else if (strncmp(st, "5.3.4", 5) == 0)
		code = "552";
	snprintf(reply, len, "%s %s %s", code, st, o ? text : "Error: queue file write error");
}

static long recv_record(struct squeue *q, int *fd)
{
	char err[128];
	long n = ipc_recv(q->sock, rbuf, sizeof(rbuf), fd);
	if (n <= 0) {
		log_warn("qmgr: %s", n == 0 ? "connection closed" : strerror(errno));
		return -1;
	}
	if (!ipc_parse(rbuf, (size_t)n, &rin, err, sizeof(err))) {
		log_warn("qmgr: malformed record: %s", err);
		return -1;
	}
	return n;
}
/* Send o (freed here); on failure abort the transaction and put a
 * temporary-failure reply in reply. */
static int send_or_fail(struct squeue *q, struct ipc_out *o, const char *what,
                        char *reply, size_t len)
{
	int rc = ipc_send(q->sock, o, -1);
	ipc_out_free(o);
	if (rc == 0)
		return 0;
	log_warn("%s%ssend %s to qmgr: %s", q->id, *q->id ? ": " : "", what,
	         strerror(errno));
	squeue_abort(q);
	temp_fail(reply, len);
	return -1;
}


int squeue_new_start(struct squeue *q, const char *path, const struct squeue_env *env,
                     char *reply, size_t len)
{
	struct sockaddr_un sun;
	struct timeval tv = {SQUEUE_TIMEOUT, 0};
	squeue_abort(q);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >= (int)sizeof(sun.sun_path))
		log_fatal("qmgr socket path too long: %s", path);
	q->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (q->sock < 0 || setsockopt(q->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(q->sock, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		log_warn("connect to %s: %s", path, strerror(errno));
		squeue_abort(q);
		temp_fail(reply, len);
		return -1;
	}
	struct ipc_out o;
	ipc_out_init(&o, PROTO_NEW);
	ipc_add_str(&o, T_SENDER, env->sender);
	ipc_add_str(&o, T_CLIENT_NAME, env->client_name);
	ipc_add_str(&o, T_CLIENT_ADDR, env->client_addr);
	ipc_add_str(&o, T_CLIENT_PORT, env->client_port);
	if (env->helo && *env->helo)
		ipc_add_str(&o, T_HELO, env->helo);
	ipc_add_str(&o, T_PROTOCOL, env->protocol);
	if (env->ret)
		ipc_add_str(&o, T_RET, env->ret);
	if (env->envid)
		ipc_add_str(&o, T_ENVID, env->envid);
	if (env->body)
		ipc_add_str(&o, T_BODY, env->body);
	if (env->smtputf8)
		ipc_add_u64(&o, T_SMTPUTF8, 1);
	if (env->size)
		ipc_add_u64(&o, T_SIZE, env->size);
	return send_or_fail(q, &o, "NEW", reply, len);
}

int squeue_new_finish(struct squeue *q, char *reply, size_t len)
{
	int fd = -1;
	if (recv_record(q, &fd) < 0) {
		if (fd >= 0)
			close(fd);
		squeue_abort(q);
		temp_fail(reply, len);
		return -1;
	}
	const char *id = ipc_str(&rin, T_ID);
	if (rin.type == PROTO_NEW_OK && fd >= 0 && id && *id && strlen(id) < sizeof(q->id) &&
	    strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
	        strlen(id)) {
		q->fd = fd;
		snprintf(q->id, sizeof(q->id), "%s", id);
		return 0;
	}
	if (fd >= 0)
		close(fd);
	if (rin.type == PROTO_FAIL)
		fail_reply(reply, len);
	else {
		log_warn("qmgr: unexpected answer to NEW (type %u)", rin.type);
		temp_fail(reply, len);
	}
	squeue_abort(q);
	return -1;
}

void squeue_write(struct squeue *q, const char *p, size_t n)
{
	while (n > 0 && !q->write_error && q->fd >= 0) {
		ssize_t w = write(q->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("%s: write queue file: %s", q->id, w < 0 ? strerror(errno) : "short write");
			q->write_error = true;
			return;
		}
		q->written += (uint64_t)w;
		p += w;
		n -= (size_t)w;
	}
}

int squeue_commit_start(struct squeue *q, const char *msgid, const struct squeue_rcpt *r,
                        size_t n, char *reply, size_t len)
{
	if (q->sock < 0 || q->write_error) {
		squeue_abort(q);
		temp_fail(reply, len);
		return -1;
	}
	close(q->fd);
	q->fd = -1;
	struct ipc_out o;
	ipc_out_init(&o, PROTO_COMMIT);
	ipc_add_u64(&o, T_SIZE, q->written);
	if (q->hold)
		ipc_add_str(&o, T_ACTION, "hold");
	if (msgid && *msgid)
		ipc_add_str(&o, T_MSGID, msgid);
	for (size_t i = 0; i < n; i++) {
		ipc_add_str(&o, T_RCPT, r[i].addr);
		if (r[i].orcpt)
			ipc_add_str(&o, T_ORCPT, r[i].orcpt);
		if (r[i].notify)
			ipc_add_u64(&o, T_NOTIFY, r[i].notify);
	}
	return send_or_fail(q, &o, "COMMIT", reply, len);
}

int squeue_commit_finish(struct squeue *q, char *reply, size_t len)
{
	int fd = -1;
	if (recv_record(q, &fd) < 0) {
		if (fd >= 0)
			close(fd);
		squeue_abort(q);
		temp_fail(reply, len);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	if (rin.type == PROTO_COMMIT_OK) {
		/* Keep the id for the caller's reply; close the transaction. */
		char id[sizeof(q->id)];
		memcpy(id, q->id, sizeof(id));
		squeue_abort(q);
		memcpy(q->id, id, sizeof(id));
		return 0;
	}
	if (rin.type == PROTO_FAIL)
		fail_reply(reply, len);
	else
		temp_fail(reply, len);
	squeue_abort(q);
	return -1;
}
