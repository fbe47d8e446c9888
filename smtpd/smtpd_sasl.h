/*
 * smtpd_sasl.h - SMTP AUTH in smtpd (RFC 4954): the mechanism-independent
 * part (configuration, which mechanisms a session may see, the AUTH
 * exchange with its limits, failure logging) over backends behind one
 * function table: Cyrus libsasl2 (smtpd_sasl_cyrus.c) and the Dovecot
 * auth protocol (smtpd_sasl_dovecot.c).  The session (smtpd_session.c)
 * feeds it the AUTH command and the client's response lines, and gets
 * back complete SMTP replies through one callback.
 */
#ifndef POSTERN_SMTPD_SASL_H
#define POSTERN_SMTPD_SASL_H

#include <stdbool.h>
#include <stddef.h>

struct cfg;
struct event_base;

/* What a backend reports for one step of an exchange. */
enum sasl_status {
	SASL_ST_MORE, /* data: the challenge (raw bytes) */
	SASL_ST_OK,   /* text: the authenticated user name */
	SASL_ST_FAIL, /* text: the reason (for 535 and the log); data: the
	               * user name the backend saw, if it says */
	SASL_ST_TEMP, /* text: the reason (for 454) */
};
typedef void sasl_step_fn(void *arg, enum sasl_status st, const unsigned char *data,
                          size_t len, const char *text);

/* Who the client is, for backends that want it. */
struct sasl_peer {
	const char *name, *addr, *port;      /* client */
	const char *local_addr, *local_port; /* our end, may be "" */
	bool tls;
};

/*
 * A backend.  server_init runs before privileges are dropped (Cyrus
 * loads its plugins and configuration there); after_drop once after.
 * mechs writes the blank separated mechanisms allowed under the
 * security flags (PT_SEC_*), false when the backend cannot say (not
 * reachable): AUTH is then not offered.  An exchange object lives for
 * one AUTH command and is freed after it, whatever the outcome (a new
 * AUTH never sees the state of an old one).  start and step report
 * through fn exactly once each, now or later from the event loop;
 * xfree cancels a report still due.
 */
struct sasl_backend {
	const char *name;
	void *(*server_init)(struct cfg *cfg, struct event_base *base);
	void (*after_drop)(void *server);
	bool (*mechs)(void *server, unsigned secflags, const struct sasl_peer *peer, char *buf,
	              size_t len);
	void *(*xnew)(void *server, unsigned secflags, const struct sasl_peer *peer);
	void (*start)(void *x, const char *mech, const unsigned char *init, size_t initlen,
	              bool has_init, sasl_step_fn *fn, void *arg);
	void (*step)(void *x, const unsigned char *resp, size_t len, sasl_step_fn *fn, void *arg);
	void (*xfree)(void *x);
};
extern const struct sasl_backend smtpd_sasl_cyrus;
extern const struct sasl_backend smtpd_sasl_dovecot;

struct smtpd_sasl;      /* per process */
struct smtpd_sasl_sess; /* per SMTP session */

/* NULL when smtpd_sasl_auth_enable = no.  Fatal on bad settings. */
struct smtpd_sasl *smtpd_sasl_init(struct cfg *cfg, struct event_base *base);
void smtpd_sasl_after_drop(struct smtpd_sasl *ss);
/* smtpd_tls_auth_only. */
bool smtpd_sasl_tls_only(const struct smtpd_sasl *ss);
/* smtpd_sasl_authenticated_header. */
bool smtpd_sasl_auth_header(const struct smtpd_sasl *ss);
/* broken_sasl_auth_clients. */
bool smtpd_sasl_broken_clients(const struct smtpd_sasl *ss);

/* What the exchange says to the session. */
enum sasl_outcome {
	SASL_OUT_MORE,  /* reply is "334 ..."; feed the next client line */
	SASL_OUT_OK,    /* reply is 235; the exchange is over */
	SASL_OUT_FAIL,  /* 535 or 454 (logged); over, apply the failure delay */
	SASL_OUT_ERROR, /* 501/500/504 ...: over, no delay */
};
typedef void sasl_reply_fn(void *arg, enum sasl_outcome o, const char *reply);

/* peer strings must live as long as the session. */
struct smtpd_sasl_sess *smtpd_sasl_sess_new(struct smtpd_sasl *ss, const struct sasl_peer *peer,
                                            sasl_reply_fn *fn, void *arg);
void smtpd_sasl_sess_free(struct smtpd_sasl_sess *x);

/* The mechanisms to announce now (tls: the session is encrypted), false
 * when AUTH is not to be offered. */
bool smtpd_sasl_mechs(struct smtpd_sasl_sess *x, bool tls, char *buf, size_t len);

/* "AUTH ..." (the argument after the verb).  The reply comes through the
 * callback, now or later; until then the session reads nothing. */
void smtpd_sasl_auth(struct smtpd_sasl_sess *x, bool tls, const char *arg, size_t len);
/* A client line during the exchange; over_limit: it was longer than
 * smtpd_sasl_response_limit (its text already discarded). */
void smtpd_sasl_line(struct smtpd_sasl_sess *x, const char *line, size_t len, bool over_limit);
/* The longest response line, smtpd_sasl_response_limit. */
size_t smtpd_sasl_line_limit(const struct smtpd_sasl_sess *x);

/* After SASL_OUT_OK. */
const char *smtpd_sasl_method(const struct smtpd_sasl_sess *x);
const char *smtpd_sasl_username(const struct smtpd_sasl_sess *x);


#endif
