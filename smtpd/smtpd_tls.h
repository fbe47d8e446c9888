/*
 * smtpd_tls.h - the SMTP server's TLS (libtls): the server context built
 * from main.cf before privileges are dropped, and per session a
 * non-blocking TLS layer under the session's bufferevent (a libevent
 * filter over the socket bufferevent, fed through libtls' callback I/O),
 * so the handshake and every record ride the one event loop and the
 * session code above reads and writes plain evbuffers as before.
 */
#ifndef POSTERN_SMTPD_TLS_H
#define POSTERN_SMTPD_TLS_H

#include <stdbool.h>

#include "smtpd_facts.h"
#include "smtpd_tls_policy.h"

struct cfg;
struct bufferevent;
struct smtpd_tls;
struct stls_conn;

/* Server-wide settings (read-only after smtpd_tls_init). */
struct smtpd_tls_settings {
	enum stls_level level; /* smtpd_tls_security_level or the legacy pair */
	bool wrapper;          /* smtpd_tls_wrappermode */
	bool available;        /* a certificate is loaded: STARTTLS works */
	bool ask_ccert, req_ccert, received_header;
	int loglevel;
	long starttls_timeout; /* seconds */
};

/* Read the smtpd_tls_* parameters, load keys, certificates and CA files
 * (call while still privileged).  Fatal on configuration errors; a
 * missing certificate at level may/encrypt is logged and leaves TLS
 * unavailable.  Never NULL. */
struct smtpd_tls *smtpd_tls_init(struct cfg *cfg);
const struct smtpd_tls_settings *smtpd_tls_settings(const struct smtpd_tls *t);
void smtpd_tls_free(struct smtpd_tls *t);

/*
 * Start TLS as the server over the socket bufferevent under (which keeps
 * its fd and any output already queued, such as "220 Ready to start
 * TLS").  Returns the filter bufferevent the session uses from now on,
 * or NULL.  done(arg, facts_ok) runs once from inside the event loop when
 * the handshake completed (before any decrypted byte reaches the
 * session's input) with facts filled; a failed handshake is logged here
 * ("SSL_accept error from NAME[ADDR]: ...") and reported as an error
 * event on the returned bufferevent.  who is "NAME[ADDR]" for the logs.
 */
struct bufferevent *stls_start(struct smtpd_tls *t, struct bufferevent *under, const char *who,
                               struct smtpd_tls_facts *facts, void (*done)(void *arg),
                               void *arg, struct stls_conn **connp);

bool stls_handshake_done(const struct stls_conn *c);

/* End the TLS layer: flush what the session wrote, send close_notify,
 * free the filter; the socket lingers (bounded) until its output is
 * written, then is closed. */
void stls_close(struct stls_conn *c);

#endif
