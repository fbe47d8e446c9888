/*
 * smtpd.h - the SMTP server process: one per master.cf smtpd service,
 * serving many sessions on one libevent loop.  The server-wide settings
 * read from main.cf once, shared by every session.
 */
#ifndef POSTERN_SMTPD_H
#define POSTERN_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct dns_ctx;
struct htable;
struct route;
struct chk;
struct policy;
struct smtpd_dnshook;
struct daemon;
struct smtpd_tls;
struct smtpd_sasl;
struct hbc_cfg;

struct smtpd_server {
	struct daemon *d;
	struct event_base *base;
	struct dns_ctx *dns;    /* the resolver (common/dns); NULL if it failed */
	bool peername_lookup;   /* smtpd_peername_lookup */
	struct route *route;
	struct smtpd_tls *tls;     /* smtpd_tls.c; never NULL */
	struct chk *chk;       /* the restriction chain */
	struct policy *policy; /* check_policy_service client */
	struct smtpd_dnshook *dnshook; /* the chain's DNS restrictions */
	struct htable *per_client; /* client address -> open sessions */
	struct event *listeners[64];
	size_t nlisteners;
	bool accepting;
	bool stopping;
	long sessions;

	/* Settings. */
	const char *service;
	const char *myhostname, *banner, *mail_name;
	uint64_t size_limit; /* 0: none */
	bool helo_required, vrfy_disabled, smtputf8, reject_bare_lf;
	long rcpt_limit, timeout, hard_errors, soft_errors, error_sleep;
	long conn_limit, maxproc;
	char **discard_ehlo; /* EHLO keywords not to announce, upper case */
	struct smtpd_sasl *sasl; /* NULL: smtpd_sasl_auth_enable = no */
	struct hbc_cfg *hbc;     /* header/body checks (common/hbcheck.c) */
};

/* Session accounting, called by smtpd_session.c. */
void smtpd_session_gone(struct smtpd_server *srv, const char *addr);
/* Count a new session of addr; false (not counted) over the limit. */
bool smtpd_client_count(struct smtpd_server *srv, const char *addr, long *count);

#endif
