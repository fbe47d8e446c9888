/*
 * local_pass.c - mailbox delivery through mailbox_transport (see
 * local_pass.h).  Runs in the local agent's per-connection process
 * (root), before any change of identity: it connects to
 * private/<transport> in the queue directory, sends one DELIVER record
 * for the one recipient with the read-only queue file descriptor it was
 * given, and reads the agent's RESULT and DONE.  Input: those records
 * (checked as qmgr checks them: type, index, status form).
 */
#include "local_pass.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "proto.h"

static uint8_t buf[IPC_RECORD_MAX];
static struct ipc_in in;

static bool status_ok(const char *s)
{
	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	size_t n = strspn(s + 2, "0123456789.");
	return n >= 3 && s[2 + n] == '\0' && strchr(s + 2, '.') != NULL;
}

void local_pass(const char *spec, const struct local_leaf *leaf, const struct local_msg *m,
                struct local_status *st)
{
	char tname[65];
	const char *colon = strchr(spec, ':');
	size_t tl = colon ? (size_t)(colon - spec) : strlen(spec);
	const char *nexthop = colon ? colon + 1 : "";
	if (tl == 0 || tl >= sizeof(tname)) {
		local_status_set(st, "4.3.5", "bad mailbox_transport \"%.100s\"", spec);
		return;
	}
	memcpy(tname, spec, tl);
	tname[tl] = '\0';
	for (const char *p = tname; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
			local_status_set(st, "4.3.5", "bad mailbox_transport \"%.100s\"", spec);
			return;
		}
	if (*nexthop == '\0')
		nexthop = leaf->domain ? leaf->domain : "";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "private/%s", tname);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		local_status_set(st, "4.3.0", "mail transport unavailable: connect to %s: %s",
		                 sa.sun_path, strerror(errno));
		if (s >= 0)
			close(s);
		return;
	}
	/* The agent answers within its own timeouts; this one only guards
	 * against an agent that hangs. */
	struct timeval tv = {.tv_sec = 3600};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct ipc_out o;
	ipc_out_init(&o, PROTO_DELIVER);
	ipc_add_str(&o, T_ID, leaf->queue_id);
	ipc_add_str(&o, T_SENDER, leaf->sender ? leaf->sender : "");
	ipc_add_u64(&o, T_ARRIVAL, (uint64_t)time(NULL));
	ipc_add_u64(&o, T_OFFSET, m->offset);
	ipc_add_u64(&o, T_LENGTH, m->length);
	ipc_add_str(&o, T_NEXTHOP, nexthop);
	ipc_add_str(&o, T_RCPT, leaf->addr);
	if (leaf->orig)
		ipc_add_str(&o, T_ORIG_RCPT, leaf->orig);
	int rc = ipc_send(s, &o, m->fd);
	ipc_out_free(&o);
	if (rc != 0) {
		local_status_set(st, "4.3.0", "mail transport unavailable: send to %s: %s",
		                 sa.sun_path, strerror(errno));
		close(s);
		return;
	}
	bool got = false;
	for (int k = 0; k < 2; k++) {
		int fd = -1;
		char err[128];
		long n = ipc_recv(s, buf, sizeof(buf), &fd);
		if (fd >= 0)
			close(fd);
		if (n <= 0 || !ipc_parse(buf, (size_t)n, &in, err, sizeof(err)))
			break;
		if (in.type == PROTO_DONE)
			break;
		uint64_t idx;
		const char *status = ipc_str(&in, T_STATUS), *text = ipc_str(&in, T_TEXT);
		if (in.type != PROTO_RESULT || !ipc_u64(&in, T_RCPT_INDEX, &idx) || idx != 0 ||
		    !status_ok(status) || got)
			break;
		local_status_set(st, status, "delivered via %s service (%.1500s)", tname,
		                 text ? text : "");
		if (status[0] != '2')
			local_status_set(st, status, "%.1800s", text ? text : "");
		got = true;
	}
	close(s);
	if (!got)
		local_status_set(st, "4.3.0", "mail transport %s gave no result", tname);
}
