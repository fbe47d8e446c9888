/*
 * smtp_session.h - one delivery request of the smtp/lmtp client: the
 * next-hop list, address lookup, the SMTP/LMTP dialogue (EHLO/HELO/LHLO,
 * STARTTLS per policy, MAIL/RCPT/DATA with PIPELINING), and a result
 * per recipient with the DSN status and the server's own words.
 */
#ifndef POSTERN_SMTP_SESSION_H
#define POSTERN_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

struct local_req;
struct smtp_conf;

struct smtp_result {
	bool done;
	char dsn[16];
	char text[SMTPC_REPLY_TEXT_MAX + 512];
	char relay[400];       /* "host[addr]:port" or "none" */
	double t_conn, t_xfer; /* delays= c and d */
	bool dsn_passed;       /* NOTIFY went on to a server with DSN */
};

struct smtp_job {
	const struct smtp_conf *sc;
	const struct local_req *req;
	int fd;                /* queue file */
	const char *body;      /* "8BITMIME", ... or NULL */
	bool smtputf8;
	struct smtp_result *res; /* req->nrcpt of them */
};

/* Deliver; every recipient ends with res[i].done set. */
void smtp_deliver(struct smtp_job *j);

/* RFC 3461 xtext of s into out; false when it does not fit. */
bool smtp_xtext(const char *s, char *out, size_t outlen);

#endif
