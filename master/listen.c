/*
 * listen.c - binding listeners.  Runs in master as root.  Input: the
 * addresses in main.cf (inet_interfaces) and master.cf service names,
 * resolved with getaddrinfo; no network input is read here.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "master.h"
#include "strlist.h"
#include "xalloc.h"

#define PROTO_V4 0x1
#define PROTO_V6 0x2

static bool kernel_has_ipv6(void)
{
	int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return false;
	close(s);
	return true;
}

/* inet_protocols: ipv4, ipv6, all (ipv6 only where the kernel has it). */
static int protocols(struct cfg *c, char *err, size_t errlen)
{
	char **items = NULL, e[128];
	int n = strlist_split(cfg_get(c, "inet_protocols"), NULL, 16, &items, e,
	                      sizeof(e));
	if (n < 0) {
		snprintf(err, errlen, "inet_protocols: %s", e);
		return -1;
	}
	int p = 0;
	for (int i = 0; i < n && p >= 0; i++) {
		if (strcasecmp(items[i], "ipv4") == 0)
			p |= PROTO_V4;
		else if (strcasecmp(items[i], "ipv6") == 0)
			p |= PROTO_V6;
		else if (strcasecmp(items[i], "all") == 0)
			p |= PROTO_V4 | (kernel_has_ipv6() ? PROTO_V6 : 0);
		else {
			snprintf(err, errlen, "inet_protocols: unknown protocol \"%s\" "
			         "(specify ipv4, ipv6 or all)", items[i]);
			p = -1;
		}
	}
	strlist_free(items);
	if (p == 0) {
		snprintf(err, errlen, "inet_protocols: no protocol enabled");
		return -1;
	}
	return p;
}

static char *addr_name(const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 16];
	int port;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(buf, sizeof(buf), "[%s]:%d", host, port);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(buf, sizeof(buf), "%s:%d", host, port);
	}
	return xstrdup(buf);
}

static int bind_one(const struct addrinfo *ai, char *name, char *err, size_t errlen)
{
	int s = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errlen, "cannot bind %s: socket: %s", name, strerror(errno));
		return -1;
	}
	int on = 1;
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
	    bind(s, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(s, MASTER_LISTEN_BACKLOG) != 0) {
		snprintf(err, errlen, "cannot bind %s: %s", name, strerror(errno));
		close(s);
		return -1;
	}
	return s;
}

/* Resolve one host (NULL: the wildcard address) for the families in p
 * and append its addresses to *list. */
static int resolve(const char *host, const char *port, int p,
                   struct addrinfo ***list, size_t *n, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE,
	                         .ai_family = p == PROTO_V4   ? AF_INET
	                                      : p == PROTO_V6 ? AF_INET6
	                                                      : AF_UNSPEC};
	char h[256];
	if (host != NULL) { /* "[::1]" as well as "::1" */
		size_t l = strlen(host);
		if (l >= sizeof(h)) {
			snprintf(err, errlen, "host name too long: %.40s...", host);
			return -1;
		}
		if (host[0] == '[' && l > 2 && host[l - 1] == ']') {
			memcpy(h, host + 1, l - 2);
			h[l - 2] = '\0';
		} else
			memcpy(h, host, l + 1);
		host = h;
	}
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s%s%s: %s", host ? host : "",
		         host ? " port " : "port ", port, gai_strerror(rc));
		return -1;
	}
	/* The wildcard lookup gives both families when p has both. */
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = res;
	return 0;
}

int listen_inet(struct cfg *c, const char *host, const char *port, int *fds,
                char **names, size_t max, char *err, size_t errlen)
{
	int p = protocols(c, err, errlen);
	if (p < 0)
		return -1;
	struct addrinfo **lists = NULL;
	size_t nlists = 0;
	int rc = 0;
	if (host != NULL) {
		rc = resolve(host, port, p, &lists, &nlists, err, errlen);
	} else {
		char **items = NULL, e[128];
		int n = strlist_split(cfg_get(c, "inet_interfaces"), NULL, 256, &items,
		                      e, sizeof(e));
		if (n <= 0) {
			snprintf(err, errlen, "inet_interfaces: %s", n < 0 ? e : "empty");
			rc = -1;
		}
		for (int i = 0; i < n && rc == 0; i++) {
			if (strcasecmp(items[i], "all") == 0) {
				if (p & PROTO_V4)
					rc = resolve(NULL, port, PROTO_V4, &lists, &nlists, err, errlen);
				if (rc == 0 && (p & PROTO_V6))
					rc = resolve(NULL, port, PROTO_V6, &lists, &nlists, err, errlen);
			} else if (strcasecmp(items[i], "loopback-only") == 0) {
				if (p & PROTO_V4)
					rc = resolve("127.0.0.1", port, PROTO_V4, &lists, &nlists,
					             err, errlen);
				if (rc == 0 && (p & PROTO_V6))
					rc = resolve("::1", port, PROTO_V6, &lists, &nlists, err,
					             errlen);
			} else {
				rc = resolve(items[i], port, p, &lists, &nlists, err, errlen);
			}
		}
		strlist_free(items);
	}
	size_t nfds = 0;
	for (size_t i = 0; i < nlists && rc == 0; i++) {
		for (struct addrinfo *ai = lists[i]; ai != NULL && rc == 0; ai = ai->ai_next) {
			if ((ai->ai_family == AF_INET && !(p & PROTO_V4)) ||
			    (ai->ai_family == AF_INET6 && !(p & PROTO_V6)) ||
			    (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
				continue;
			char *name = addr_name(ai->ai_addr);
			bool dup = false; /* a host with the same address twice */
			for (size_t j = 0; j < nfds && !dup; j++)
				dup = strcmp(names[j], name) == 0;
			if (dup) {
				free(name);
				continue;
			}
			if (nfds == max) {
				snprintf(err, errlen, "more than %zu addresses to listen on", max);
				free(name);
				rc = -1;
				break;
			}
			int s = bind_one(ai, name, err, errlen);
			if (s < 0) {
				free(name);
				rc = -1;
				break;
			}
			fds[nfds] = s;
			names[nfds++] = name;
		}
	}
	for (size_t i = 0; i < nlists; i++)
		freeaddrinfo(lists[i]);
	free(lists);
	if (rc == 0 && nfds == 0) {
		snprintf(err, errlen, "no address to listen on for port %s (see "
		         "inet_interfaces and inet_protocols)", port);
		rc = -1;
	}
	if (rc != 0) {
		for (size_t i = 0; i < nfds; i++) {
			close(fds[i]);
			free(names[i]);
			names[i] = NULL;
		}
		return -1;
	}
	return (int)nfds;
}

int listen_unix(const char *path, mode_t mode, bool chown, uid_t uid, gid_t gid,
                char *err, size_t errlen)
{
	return listen_unix_type(path, SOCK_SEQPACKET, mode, chown, uid, gid, err, errlen);
}

int listen_unix_type(const char *path, int type, mode_t mode, bool chown, uid_t uid,
                     gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t l = strlen(path);
	if (l >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, l + 1);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -1;
		}
		if (unlink(path) != 0) {
			snprintf(err, errlen, "cannot remove old %s: %s", path, strerror(errno));
			return -1;
		}
	}
	int s = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* The socket is born with its final mode: no window where it is
	 * wider, and no chmod through a path someone may have replaced. */
	mode_t old = umask(0777 & ~mode);
	int rc = bind(s, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0 || listen(s, MASTER_LISTEN_BACKLOG) != 0 ||
	    (chown && fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		close(s);
		return -1;
	}
	return s;
}
