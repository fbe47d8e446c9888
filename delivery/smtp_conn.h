/*
 * smtp_conn.h - one connection of the smtp/lmtp client to a server:
 * TCP or unix-domain connect with a deadline, reads and writes with a
 * per-operation timeout, and the STARTTLS handshake with libtls.
 * Sockets are non-blocking; every wait is a poll() with a timeout.
 */
#ifndef POSTERN_SMTP_CONN_H
#define POSTERN_SMTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "smtp_reply.h"

struct tls;
struct tls_config;

struct smtp_conn {
	int fd;
	struct tls *tls;       /* after STARTTLS */
	int timeout_ms;        /* for the next read or write */
	struct smtp_rbuf rb;
	char host[256];        /* name we connected to ("127.0.0.1" for [127.0.0.1]) */
	char addr[64];         /* printed address, or the socket path */
	unsigned port;         /* 0 for unix-domain */
	char relay[400];       /* "host[addr]:port" or the socket path */
	char hostaddr[340];    /* "host[addr]" */
};

/*
 * Connect to sa (TCP, optionally from bind address bindaddr, may be
 * NULL) within timeout_s seconds.  On failure returns false with a
 * Postfix-style reason in why ("connect to host[addr]:port: Connection
 * refused").
 */
bool smtp_conn_tcp(struct smtp_conn *c, const char *host, const struct sockaddr *sa,
                   socklen_t salen, const char *bindaddr, long timeout_s, char *why,
                   size_t whylen);
bool smtp_conn_unix(struct smtp_conn *c, const char *path, long timeout_s, char *why,
                    size_t whylen);

/* Write all of buf; false on error or timeout (errno). */
bool smtp_conn_write(struct smtp_conn *c, const void *buf, size_t len);

/*
 * TLS handshake on the connection with cfg; servername for SNI (NULL
 * for none).  false with a reason in why.
 */
bool smtp_conn_starttls(struct smtp_conn *c, struct tls_config *cfg, const char *servername,
                        char *why, size_t whylen);

void smtp_conn_close(struct smtp_conn *c);

#endif
