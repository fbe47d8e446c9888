/*
 * smtp_conn.c - sockets and TLS for the smtp/lmtp client (see
 * smtp_conn.h).  Runs in the client's per-connection process as
 * network_user.  Untrusted input: bytes from the remote server, passed
 * on untouched to smtp_reply.c's bounded reader.
 */
#include "smtp_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <tls.h>
#include <unistd.h>

static bool wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r > 0)
			return true;
		if (r == 0) {
			errno = ETIMEDOUT;
			return false;
		}
		if (errno != EINTR)
			return false;
	}
}

static ssize_t conn_read(void *arg, void *buf, size_t len)
{
	struct smtp_conn *c = arg;
	for (;;) {
		if (c->tls != NULL) {
			ssize_t n = tls_read(c->tls, buf, len);
			if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
				if (!wait_fd(c->fd, n == TLS_WANT_POLLIN ? POLLIN : POLLOUT,
				             c->timeout_ms))
					return -1;
				continue;
			}
			if (n < 0)
				errno = EPROTO;
			return n;
		}
		ssize_t n = read(c->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (!wait_fd(c->fd, POLLIN, c->timeout_ms))
			return -1;
	}
}

bool smtp_conn_write(struct smtp_conn *c, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n;
		if (c->tls != NULL) {
			n = tls_write(c->tls, p, len);
			if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
				if (!wait_fd(c->fd, n == TLS_WANT_POLLIN ? POLLIN : POLLOUT,
				             c->timeout_ms))
					return false;
				continue;
			}
			if (n < 0) {
				errno = EPROTO;
				return false;
			}
		} else {
			n = write(c->fd, p, len);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK)
					return false;
				if (!wait_fd(c->fd, POLLOUT, c->timeout_ms))
					return false;
				continue;
			}
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void init(struct smtp_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = 300000;
	smtp_rbuf_init(&c->rb, conn_read, c);
}

static bool finish_connect(int fd, long timeout_s)
{
	if (!wait_fd(fd, POLLOUT, timeout_s > 0 ? (int)(timeout_s * 1000) : -1))
		return false;
	int err = 0;
	socklen_t el = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
		return false;
	if (err != 0) {
		errno = err;
		return false;
	}
	return true;
}

bool smtp_conn_tcp(struct smtp_conn *c, const char *host, const struct sockaddr *sa,
                   socklen_t salen, const char *bindaddr, long timeout_s, char *why,
                   size_t whylen)
{
	init(c);
	snprintf(c->host, sizeof(c->host), "%s", host);
	char serv[16];
	if (getnameinfo(sa, salen, c->addr, sizeof(c->addr), serv, sizeof(serv),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(c->addr, sizeof(c->addr), "?"), snprintf(serv, sizeof(serv), "0");
	c->port = (unsigned)atoi(serv);
	snprintf(c->hostaddr, sizeof(c->hostaddr), "%s[%s]", c->host, c->addr);
	snprintf(c->relay, sizeof(c->relay), "%s:%u", c->hostaddr, c->port);
	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	if (bindaddr != NULL && *bindaddr) {
		struct addrinfo hints = {.ai_family = sa->sa_family,
		                         .ai_flags = AI_NUMERICHOST | AI_PASSIVE}, *res;
		if (getaddrinfo(bindaddr, NULL, &hints, &res) != 0) {
			snprintf(why, whylen, "smtp_bind_address %s: not an address of this "
			         "family", bindaddr);
			smtp_conn_close(c);
			return false;
		}
		int rc = bind(c->fd, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
		if (rc != 0) {
			int e = errno;
			snprintf(why, whylen, "bind %s: %s", bindaddr, strerror(e));
			smtp_conn_close(c);
			return false;
		}
	}
	if (connect(c->fd, sa, salen) != 0 &&
	    (errno != EINPROGRESS || !finish_connect(c->fd, timeout_s)))
		goto fail;
	return true;
fail:;
	int e = errno;
	snprintf(why, whylen, "connect to %s: %s", c->relay,
	         e == ETIMEDOUT ? "Connection timed out" : strerror(e));
	smtp_conn_close(c);
	return false;
}

bool smtp_conn_unix(struct smtp_conn *c, const char *path, long timeout_s, char *why,
                    size_t whylen)
{
	init(c);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, whylen, "connect to %.200s: path too long", path);
		return false;
	}
	strcpy(sun.sun_path, path);
	snprintf(c->host, sizeof(c->host), "%s", path);
	snprintf(c->addr, sizeof(c->addr), "%s", "unix");
	snprintf(c->hostaddr, sizeof(c->hostaddr), "%s", path);
	snprintf(c->relay, sizeof(c->relay), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 &&
	                  (errno != EINPROGRESS && errno != EAGAIN ? true
	                   : !finish_connect(c->fd, timeout_s)))) {
		int e = errno;
		snprintf(why, whylen, "connect to %s: %s", path, strerror(e));
		smtp_conn_close(c);
		return false;
	}
	return true;
}

bool smtp_conn_starttls(struct smtp_conn *c, struct tls_config *cfg, const char *servername,
                        char *why, size_t whylen)
{
	c->tls = tls_client();
	if (c->tls == NULL || tls_configure(c->tls, cfg) != 0 ||
	    tls_connect_socket(c->tls, c->fd, servername) != 0) {
		snprintf(why, whylen, "%s", c->tls ? tls_error(c->tls) : "out of memory");
		goto fail;
	}
	for (;;) {
		int r = tls_handshake(c->tls);
		if (r == 0)
			return true;
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
			if (!wait_fd(c->fd, r == TLS_WANT_POLLIN ? POLLIN : POLLOUT, c->timeout_ms)) {
				snprintf(why, whylen, "TLS handshake timed out");
				goto fail;
			}
			continue;
		}
		const char *e = tls_error(c->tls);
		snprintf(why, whylen, "%s", e ? e : "TLS handshake failed");
		goto fail;
	}
fail:
	if (c->tls != NULL) {
		tls_free(c->tls);
		c->tls = NULL;
	}
	return false;
}

void smtp_conn_close(struct smtp_conn *c)
{
	if (c->tls != NULL) {
		/* One try: a close_notify that would block is not worth waiting for. */
		(void)tls_close(c->tls);
		tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
