/*
 * local_fwd.c - submits a forwarded copy of a message to the queue
 * manager (public/qmgr, relative to queue_directory, the agent's working
 * directory).  Runs in the local agent's per-connection process.  Input:
 * the queue manager's replies (records checked by ipc_parse and field
 * by field here).
 */
#include "local_fwd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "proto.h"
#include "xalloc.h"

#define QMGR_SOCKET "public/qmgr"

static struct ipc_in rin; /* large: off the stack */
static uint8_t rbuf[IPC_RECORD_MAX];

static bool reply(int sock, uint16_t want, int *fd, struct local_status *st)
{
	char err[256];
	long n = ipc_recv(sock, rbuf, sizeof(rbuf), fd);
	if (n <= 0 || !ipc_parse(rbuf, (size_t)n, &rin, err, sizeof(err))) {
		local_status_set(st, "4.3.0", "queue manager did not answer the forwarding "
		                 "request: %s", n < 0 ? strerror(errno) : n == 0 ? "end of file" : err);
		return false;
	}
	if (rin.type == PROTO_FAIL) {
		const char *s = ipc_str(&rin, T_STATUS), *t = ipc_str(&rin, T_TEXT);
		local_status_set(st, s != NULL && s[0] == '5' ? "5.3.0" : "4.3.0",
		                 "forwarding refused by the queue manager: %s",
		                 t != NULL ? t : "no reason given");
		return false;
	}
	if (rin.type != want) {
		local_status_set(st, "4.3.0", "unexpected record %u from the queue manager",
		                 rin.type);
		return false;
	}
	return true;
}

void local_fwd_submit(const struct local_conf *lc, const struct local_msg *m,
                      const char *addr, struct local_status *st)
{
	(void)lc;
	int fd = -1;
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", QMGR_SOCKET);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		local_status_set(st, "4.3.0", "cannot forward: queue manager not reachable "
		                 "on %s: %s", QMGR_SOCKET, strerror(errno));
		if (sock >= 0)
			close(sock);
		return;
	}
	struct ipc_out o;
	ipc_out_init(&o, PROTO_NEW);
	ipc_add_str(&o, T_SENDER, m->sender);
	ipc_add_str(&o, T_PROTOCOL, "LOCAL");
	bool ok = ipc_send(sock, &o, -1) == 0;
	ipc_out_free(&o);
	if (!ok) {
		local_status_set(st, "4.3.0", "cannot forward: %s", strerror(errno));
		goto out;
	}
	if (!reply(sock, PROTO_NEW_OK, &fd, st))
		goto out;
	const char *id = ipc_str(&rin, T_ID);
	if (id == NULL || fd < 0) {
		local_status_set(st, "4.3.0", "queue manager sent NEW_OK without %s",
		                 id == NULL ? "an ID" : "a descriptor");
		goto out;
	}
	char newid[64];
	if (strlen(id) >= sizeof(newid) ||
	    strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") !=
	        strlen(id)) {
		local_status_set(st, "4.3.0", "queue manager sent a malformed queue ID");
		goto out;
	}
	snprintf(newid, sizeof(newid), "%s", id);
	/* The size is what we add to the file (the queue manager may have
	 * written its envelope head before the content). */
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		local_status_set(st, "4.3.0", "cannot forward: %s", strerror(errno));
		goto out;
	}
	off_t size0 = sb.st_size;
	if (!local_copy(m, fd, m->delivered_to != NULL ? LOCAL_COPY_DELIVERED : 0,
	                time(NULL))) {
		local_status_set(st, "4.3.0", "cannot write forwarded copy: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		local_status_set(st, "4.3.0", "cannot forward: %s", strerror(errno));
		goto out;
	}
	off_t size = sb.st_size - size0;
	ipc_out_init(&o, PROTO_COMMIT);
	ipc_add_u64(&o, T_SIZE, (uint64_t)size);
	ipc_add_str(&o, T_RCPT, addr);
	ok = ipc_send(sock, &o, -1) == 0;
	ipc_out_free(&o);
	if (!ok) {
		local_status_set(st, "4.3.0", "cannot forward: %s", strerror(errno));
		goto out;
	}
	int fd2 = -1;
	if (!reply(sock, PROTO_COMMIT_OK, &fd2, st)) {
		if (fd2 >= 0)
			close(fd2);
		goto out;
	}
	if (fd2 >= 0)
		close(fd2);
	local_status_set(st, "2.0.0", "forwarded as %s", newid);
out:
	if (fd >= 0)
		close(fd);
	close(sock);
}
