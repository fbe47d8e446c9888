/*
 * agent.c - the parts the delivery agents share (see agent.h).  Runs in
 * local and smtp.  Untrusted input: none (the socket path comes from
 * master.cf's service name, checked; the delays text is qmgr's).
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "daemon.h"
#include "ipc.h"
#include "local_req.h"
#include "log.h"

int agent_bind_socket(const struct daemon *d, uid_t owner)
{
	char path[108];
	int n = snprintf(path, sizeof(path), "private/%s", d->service);
	if (n < 0 || (size_t)n >= sizeof(path) || strchr(d->service, '/') != NULL)
		log_fatal("service name \"%s\" does not make a socket path", d->service);
	if (mkdir("private", 0710) != 0 && errno != EEXIST)
		log_fatal("mkdir private: %s", strerror(errno));
	/* Non-blocking, as master creates its listeners. */
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path, path, (size_t)n + 1);
	unlink(path);
	mode_t old = umask(0177);
	if (s < 0 || bind(s, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(s, 64) != 0)
		log_fatal("bind %s: %s", path, strerror(errno));
	umask(old);
	if (geteuid() == 0 && chown(path, owner, (gid_t)-1) != 0)
		log_fatal("chown %s: %s", path, strerror(errno));
	return s;
}

bool agent_peer_uid(int sock, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		log_warn("SO_PEERCRED: %s", strerror(errno));
		return false;
	}
	*uid = (uid_t)cr.uid;
	return true;
}

static uint8_t rbuf[IPC_RECORD_MAX];
static struct ipc_in rin;

struct local_req *agent_next_request(int sock, int *fd, const struct ipc_in **rec)
{
	char err[256];
	*fd = -1;
	long n = ipc_recv(sock, rbuf, sizeof(rbuf), fd);
	if (n == 0)
		return NULL;
	if (n < 0) {
		log_warn("read from queue manager: %s", strerror(errno));
		return NULL;
	}
	if (!ipc_parse(rbuf, (size_t)n, &rin, err, sizeof(err))) {
		log_warn("malformed record from queue manager: %s; dropping connection", err);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return NULL;
	}
	struct local_req *req = local_req_parse(&rin, err, sizeof(err));
	struct stat sb;
	if (req == NULL || *fd < 0 || fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (fcntl(*fd, F_GETFL) & O_ACCMODE) != O_RDONLY ||
	    req->offset + req->length > (uint64_t)sb.st_size) {
		log_warn("bad DELIVER request from queue manager: %s; dropping connection",
		         req == NULL ? err
		         : *fd < 0 ? "no queue file descriptor"
		                   : "queue file descriptor is not a read-only regular file "
		                     "holding the content");
		free(req);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return NULL;
	}
	if (rec != NULL)
		*rec = &rin;
	return req;
}

int agent_accept(int ls, uid_t want, bool allow_root)
{
	/* The listener may be non-blocking (master makes them so): wait for
	 * a connection, and let SIGCHLD and SIGTERM interrupt. */
	struct pollfd p = {.fd = ls, .events = POLLIN};
	int r = poll(&p, 1, 1000);
	if (r < 0 && errno != EINTR)
		log_fatal("poll: %s", strerror(errno));
	if (r <= 0)
		return -1;
	int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN &&
		    errno != EWOULDBLOCK)
			log_warn("accept: %s", strerror(errno));
		return -1;
	}
	uid_t peer = (uid_t)-1;
	if (!agent_peer_uid(c, &peer) || (peer != want && !(allow_root && peer == 0))) {
		log_warn("connection from uid %ld refused: only the queue manager (uid %ld) "
		         "may connect", (long)peer, (long)want);
		close(c);
		return -1;
	}
	return c;
}

double agent_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void agent_fmt_delay(char *buf, size_t len, double v)
{
	if (v < 0.005)
		snprintf(buf, len, "0");
	else if (v < 1)
		snprintf(buf, len, "%.2f", v);
	else if (v < 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
	char *dot = strchr(buf, '.');
	if (dot != NULL) {
		char *e = buf + strlen(buf);
		while (e > dot && (e[-1] == '0' || e[-1] == '.')) {
			char c = e[-1];
			*--e = '\0';
			if (c == '.')
				break;
		}
	}
}

double agent_total_delay(const char *delays, long long arrival, double ours, double now)
{
	double a, b;
	char junk;
	double total = now - (double)arrival;
	if (sscanf(delays, "%lf/%lf%c", &a, &b, &junk) == 2 && a >= 0 && b >= 0 &&
	    a + b + ours <= total + 1)
		total = a + b + ours;
	return total;
}
