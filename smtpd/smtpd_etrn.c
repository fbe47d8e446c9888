/*
 * smtpd_etrn.c - ETRN's syntax check, fast_flush_domains and the flush
 * request to qmgr (see smtpd_etrn.h).  Runs in smtpd.  Untrusted input:
 * the ETRN argument (bounded to SMTP_HOST_MAX, checked as a host name or
 * address literal before anything else sees it).
 */
#include "smtpd_etrn.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bounds.h"
#include "ipc.h"
#include "log.h"
#include "netaddr.h"
#include "proto.h"
#include "smtpd_check.h"
#include "smtpd_route.h"

static bool address_literal(const char *h, size_t l)
{
	if (l < 3 || h[0] != '[' || h[l - 1] != ']')
		return false;
	char ip[SMTP_HOST_MAX + 1];
	snprintf(ip, sizeof(ip), "%.*s", (int)(l - 2), h + 1);
	struct netaddr_net n;
	const char *p = strncasecmp(ip, "ipv6:", 5) == 0 ? ip + 5 : ip;
	return netaddr_parse_addr(p, &n);
}

const char *smtpd_etrn_parse(const char *arg, size_t arglen, char *dom, size_t domlen)
{
	if (arglen == 0 || memchr(arg, ' ', arglen) || memchr(arg, '\t', arglen))
		return "500 Syntax: ETRN domain";
	if (arg[0] == '@' || arg[0] == '#')
		arg++, arglen--;
	if (arglen == 0 || arglen > SMTP_HOST_MAX || arglen >= domlen)
		return "501 Error: invalid parameter syntax";
	memcpy(dom, arg, arglen);
	dom[arglen] = '\0';
	if (strlen(dom) != arglen) /* a NUL inside */
		return "501 Error: invalid parameter syntax";
	/* a trailing dot is invalid here, as in Postfix */
	if (dom[0] == '[' ? !address_literal(dom, arglen)
	                  : (dom[arglen - 1] == '.' || !chk_valid_hostname(dom, false)))
		return "501 Error: invalid parameter syntax";
	return NULL;
}

/* 1 queued (count set), 0 qmgr refused or did not answer. */
static int ask_qmgr(const char *dom, uint64_t *count)
{
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	snprintf(un.sun_path, sizeof(un.sun_path), "private/qmgr");
	struct timeval tv = {10, 0};
	if (sock < 0 || setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(sock, (struct sockaddr *)&un, sizeof(un)) != 0) {
		log_warn("ETRN %s: cannot reach the queue manager (private/qmgr: %s)", dom,
		         strerror(errno));
		if (sock >= 0)
			close(sock);
		return 0;
	}
	struct ipc_out o;
	ipc_out_init(&o, PROTO_ETRN);
	ipc_add_str(&o, T_NEXTHOP, dom);
	int rc = ipc_send(sock, &o, -1);
	ipc_out_free(&o);
	uint8_t buf[512];
	struct ipc_in in;
	char err[128];
	int fd = -1;
	long n = rc == 0 ? ipc_recv(sock, buf, sizeof(buf), &fd) : -1;
	if (fd >= 0)
		close(fd);
	close(sock);
	if (n <= 0 || !ipc_parse(buf, (size_t)n, &in, err, sizeof(err)) ||
	    in.type != PROTO_ADMIN_OK || !ipc_u64(&in, T_COUNT, count)) {
		log_warn("ETRN %s: no valid answer from the queue manager", dom);
		return 0;
	}
	return 1;
}

const char *smtpd_etrn_flush(struct route *r, const char *dom, const char *client_name,
                             const char *client_addr, char *rep, size_t replen)
{
	int in_list = route_fast_flush(r, dom);
	if (in_list < 0) {
		log_warn("ETRN %s: fast_flush_domains lookup failed", dom);
		snprintf(rep, replen, "458 Unable to queue messages");
		return rep;
	}
	if (in_list == 0) {
		log_warn("reject: ETRN %s... from %s[%s]", dom, client_name, client_addr);
		snprintf(rep, replen, "459 <%s>: service unavailable", dom);
		return rep;
	}
	uint64_t count = 0;
	if (!ask_qmgr(dom, &count)) {
		snprintf(rep, replen, "458 Unable to queue messages");
		return rep;
	}
	snprintf(rep, replen, "250 Queuing started");
	return rep;
}
