/*
 * smtpd_anvil.c - client counters through qmgr's anvil (see
 * smtpd_anvil.h).  One blocking request-reply on a local socket with a
 * short timeout: qmgr answers from memory.  Untrusted input: none (qmgr
 * is trusted; its records still go through ipc_parse).
 */
#include "smtpd_anvil.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "smtpd.h"
#include "smtpd_route.h"

static int sock = -1;
static time_t next_try;
static long limits[5];
static bool warned;

void smtpd_anvil_init(struct smtpd_server *srv)
{
	struct cfg *c = srv->d->cfg;
	limits[LIMIT_CONNECT] = cfg_get_long(c, "smtpd_client_connection_rate_limit");
	limits[LIMIT_MESSAGE] = cfg_get_long(c, "smtpd_client_message_rate_limit");
	limits[LIMIT_RCPT] = cfg_get_long(c, "smtpd_client_recipient_rate_limit");
	limits[LIMIT_NEWTLS] = cfg_get_long(c, "smtpd_client_new_tls_session_rate_limit");
	limits[LIMIT_AUTH] = cfg_get_long(c, "smtpd_client_auth_rate_limit");
}

static bool anvil_open(void)
{
	if (sock >= 0)
		return true;
	if (time(NULL) < next_try)
		return false;
	next_try = time(NULL) + 10;
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	snprintf(un.sun_path, sizeof(un.sun_path), "private/qmgr");
	struct timeval tv = {2, 0};
	if (sock < 0 || setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(sock, (struct sockaddr *)&un, sizeof(un)) != 0) {
		if (!warned)
			log_warn("cannot reach the client counters in qmgr (private/qmgr: %s); rate "
			         "limits are not enforced until it answers",
			         strerror(errno));
		warned = true;
		if (sock >= 0)
			close(sock);
		sock = -1;
		return false;
	}
	warned = false;
	return true;
}

/* false: no answer (the counters are unavailable). */
static bool request(const char *action, const char *addr, bool answer, long *count, long *rate)
{
	if (!anvil_open())
		return false;
	struct ipc_out o;
	ipc_out_init(&o, PROTO_ANVIL);
	ipc_add_str(&o, T_ACTION, action);
	ipc_add_str(&o, T_CLIENT_ADDR, addr);
	int rc = ipc_send(sock, &o, -1);
	ipc_out_free(&o);
	if (rc == 0 && !answer)
		return true;
	uint8_t buf[512];
	struct ipc_in in;
	char err[128];
	int fd = -1;
	long n = rc == 0 ? ipc_recv(sock, buf, sizeof(buf), &fd) : -1;
	if (fd >= 0)
		close(fd);
	uint64_t c = 0, r = 0;
	if (n <= 0 || !ipc_parse(buf, (size_t)n, &in, err, sizeof(err)) ||
	    in.type != PROTO_ANVIL_OK || !ipc_u64(&in, T_COUNT, &c) || !ipc_u64(&in, T_RATE, &r)) {
		log_warn("client counters: no valid answer from qmgr");
		close(sock);
		sock = -1;
		return false;
	}
	*count = (long)c;
	*rate = (long)r;
	return true;
}

const char *smtpd_anvil_event(struct smtpd_server *srv, enum smtpd_limit what, const char *name,
                              const char *addr, const struct netaddr_net *client, bool *counted)
{
	static const char *const action[] = {"connect", "message", "rcpt", "newtls", "auth"};
	static const char *const label[] = {"Connection rate", "Message delivery request rate",
	                                    "Recipient address rate", "New TLS session rate",
	                                    "AUTH command rate"};
	static char rep[300];
	long count, rate;
	if (counted)
		*counted = false;
	bool need = limits[what] > 0 || (what == LIMIT_CONNECT && srv->conn_limit > 0);
	if (!need || route_limit_exempt(srv->route, client))
		return NULL;
	if (!request(action[what], addr, true, &count, &rate))
		return NULL;
	if (what == LIMIT_CONNECT) {
		if (counted)
			*counted = true;
		if (srv->conn_limit > 0 && count > srv->conn_limit) {
			log_warn("Connection concurrency limit exceeded: %ld from %s[%s] for service %s",
			         count, name, addr, srv->service);
			snprintf(rep, sizeof(rep), "421 4.7.0 %s Error: too many connections from %s",
			         srv->myhostname, addr);
			return rep;
		}
	}
	if (limits[what] <= 0 || rate <= limits[what])
		return NULL;
	log_warn("%s limit exceeded: %ld from %s[%s] for service %s", label[what], rate, name, addr,
	         srv->service);
	switch (what) {
	case LIMIT_CONNECT:
		snprintf(rep, sizeof(rep), "421 4.7.0 %s Error: too many connections from %s",
		         srv->myhostname, addr);
		break;
	case LIMIT_MESSAGE:
		snprintf(rep, sizeof(rep), "450 4.7.1 Error: too much mail from %s", addr);
		break;
	case LIMIT_RCPT:
		snprintf(rep, sizeof(rep), "450 4.7.1 Error: too many recipients from %s", addr);
		break;
	case LIMIT_NEWTLS:
		snprintf(rep, sizeof(rep), "421 4.7.0 %s Error: too many new TLS sessions from %s",
		         srv->myhostname, addr);
		break;
	case LIMIT_AUTH:
		snprintf(rep, sizeof(rep), "450 4.7.1 Error: too many AUTH commands from %s", addr);
		break;
	}
	return rep;
}

void smtpd_anvil_disconnect(const char *addr)
{
	long c, r;
	request("disconnect", addr, false, &c, &r);
}
