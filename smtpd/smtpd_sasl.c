/*
 * smtpd_sasl.c - the AUTH exchange of RFC 4954 over a SASL backend (see
 * smtpd_sasl.h).  Runs in smtpd.  Untrusted input: the AUTH argument
 * and every response line of the client (bounded by
 * smtpd_sasl_response_limit, strict base64, at most SASL_STEPS_MAX
 * round trips), and what the backend reports (a challenge is base64
 * encoded into a bounded reply).
 *
 * Replies and log lines are Postfix's, so clients and fail2ban's stock
 * postfix filter see what they expect:
 *   warning: NAME[ADDR]: SASL PLAIN authentication failed: REASON, sasl_username=USER
 */
#include "smtpd_sasl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "cfg.h"
#include "log.h"
#include "smtpd_sasl_parse.h"
#include "xalloc.h"

struct smtpd_sasl {
	const struct sasl_backend *be;
	void *server;
	unsigned sec, tls_sec; /* smtpd_sasl_(tls_)security_options */
	char *filter;          /* smtpd_sasl_mechanism_filter */
	bool tls_only, broken, header;
	size_t resp_limit;
};

struct smtpd_sasl_sess {
	struct smtpd_sasl *ss;
	const struct sasl_peer *peer;
	struct sasl_peer p; /* copy with the TLS flag of this exchange */
	sasl_reply_fn *fn;
	void *arg;
	void *x; /* the backend's exchange, NULL between AUTH commands */
	char mech[SASL_MECH_NAME_MAX + 1];
	char user[256];
	unsigned steps;
	bool busy; /* the backend has a report due */
};

struct smtpd_sasl *smtpd_sasl_init(struct cfg *cfg, struct event_base *base)
{
	if (!cfg_get_bool(cfg, "smtpd_sasl_auth_enable"))
		return NULL;
	struct smtpd_sasl *ss = xcalloc(1, sizeof(*ss));
	const char *type = cfg_get(cfg, "smtpd_sasl_type");
	if (strcasecmp(type, "cyrus") == 0)
		ss->be = &smtpd_sasl_cyrus;
	else if (strcasecmp(type, "dovecot") == 0)
		ss->be = &smtpd_sasl_dovecot;
	else
		log_fatal("unsupported SASL server implementation: %s", type);
	char err[256];
	if (!sasl_secopts_parse(cfg_get(cfg, "smtpd_sasl_security_options"), &ss->sec, err,
	                        sizeof(err)))
		log_fatal("smtpd_sasl_security_options: %s", err);
	if (!sasl_secopts_parse(cfg_get(cfg, "smtpd_sasl_tls_security_options"), &ss->tls_sec, err,
	                        sizeof(err)))
		log_fatal("smtpd_sasl_tls_security_options: %s", err);
	ss->filter = xstrdup(cfg_get(cfg, "smtpd_sasl_mechanism_filter"));
	ss->tls_only = cfg_get_bool(cfg, "smtpd_tls_auth_only");
	ss->broken = cfg_get_bool(cfg, "broken_sasl_auth_clients");
	ss->header = cfg_get_bool(cfg, "smtpd_sasl_authenticated_header");
	long lim = cfg_get_long(cfg, "smtpd_sasl_response_limit");
	if (lim <= 0 || lim > SASL_RESPONSE_MAX)
		lim = lim <= 0 ? 12288 : SASL_RESPONSE_MAX;
	ss->resp_limit = (size_t)lim;
	ss->server = ss->be->server_init(cfg, base);
	if (ss->server == NULL)
		log_fatal("SASL per-process initialization failed");
	return ss;
}

void smtpd_sasl_after_drop(struct smtpd_sasl *ss)
{
	if (ss && ss->be->after_drop)
		ss->be->after_drop(ss->server);
}

bool smtpd_sasl_tls_only(const struct smtpd_sasl *ss)
{
	return ss->tls_only;
}

bool smtpd_sasl_auth_header(const struct smtpd_sasl *ss)
{
	return ss->header;
}

bool smtpd_sasl_broken_clients(const struct smtpd_sasl *ss)
{
	return ss->broken;
}

struct smtpd_sasl_sess *smtpd_sasl_sess_new(struct smtpd_sasl *ss, const struct sasl_peer *peer,
                                            sasl_reply_fn *fn, void *arg)
{
	struct smtpd_sasl_sess *x = xcalloc(1, sizeof(*x));
	x->ss = ss;
	x->peer = peer;
	x->fn = fn;
	x->arg = arg;
	return x;
}

static void end_exchange(struct smtpd_sasl_sess *x)
{
	if (x->x)
		x->ss->be->xfree(x->x);
	x->x = NULL;
	x->busy = false;
	x->steps = 0;
}

void smtpd_sasl_sess_free(struct smtpd_sasl_sess *x)
{
	if (x == NULL)
		return;
	end_exchange(x);
	free(x);
}

static unsigned secflags(const struct smtpd_sasl_sess *x, bool tls)
{
	return tls ? x->ss->tls_sec : x->ss->sec;
}

bool smtpd_sasl_mechs(struct smtpd_sasl_sess *x, bool tls, char *buf, size_t len)
{
	if (x->ss->tls_only && !tls)
		return false;
	struct sasl_peer p = *x->peer;
	p.tls = tls;
	if (!x->ss->be->mechs(x->ss->server, secflags(x, tls), &p, buf, len))
		return false;
	sasl_mech_filter(buf, x->ss->filter);
	return buf[0] != '\0';
}

size_t smtpd_sasl_line_limit(const struct smtpd_sasl_sess *x)
{
	return x->ss->resp_limit;
}

const char *smtpd_sasl_method(const struct smtpd_sasl_sess *x)
{
	return x->mech;
}

const char *smtpd_sasl_username(const struct smtpd_sasl_sess *x)
{
	return x->user;
}

static void finish(struct smtpd_sasl_sess *x, enum sasl_outcome o, const char *reply)
{
	end_exchange(x);
	x->fn(x->arg, o, reply);
}

static void fail_logged(struct smtpd_sasl_sess *x, bool temp, const char *reason)
{
	char rep[600];
	char shown[300];
	/* The reason comes from a backend (or a client's user name through
	 * it): printable only in the log and the reply. */
	size_t i;
	for (i = 0; reason[i] && i + 1 < sizeof(shown); i++)
		shown[i] = reason[i] >= 32 && reason[i] < 127 ? reason[i] : '?';
	shown[i] = '\0';
	/* Postfix 3.7 says "(unavailable)" when the user is not known. */
	log_warn("%s[%s]: SASL %s authentication failed: %s, sasl_username=%s", x->peer->name,
	         x->peer->addr, x->mech, shown, x->user[0] ? x->user : "(unavailable)");
	if (temp)
		snprintf(rep, sizeof(rep), "454 4.7.0 Temporary authentication failure: %s", shown);
	else
		snprintf(rep, sizeof(rep), "535 5.7.8 Error: authentication failed: %s", shown);
	finish(x, SASL_OUT_FAIL, rep);
}

/* The backend's report for start or step. */
static void on_step(void *arg, enum sasl_status st, const unsigned char *data, size_t len,
                    const char *text)
{
	struct smtpd_sasl_sess *x = arg;
	x->busy = false;
	switch (st) {
	case SASL_ST_MORE: {
		if (++x->steps > SASL_STEPS_MAX) {
			fail_logged(x, false, "too many authentication steps");
			return;
		}
		/* "334 " + base64 of the challenge, within one reply line. */
		char rep[SMTP_LINE_MAX + 8];
		memcpy(rep, "334 ", 4);
		if (!sasl_b64_encode(data, len, rep + 4, sizeof(rep) - 4)) {
			fail_logged(x, true, "server challenge too long");
			return;
		}
		x->fn(x->arg, SASL_OUT_MORE, rep);
		return;
	}
	case SASL_ST_OK:
		snprintf(x->user, sizeof(x->user), "%s", text ? text : "");
		for (char *u = x->user; *u; u++)
			if (*u < 33 || *u > 126 || *u == '<' || *u == '>')
				*u = '?';
		if (x->user[0] == '\0') {
			log_warn("%s[%s]: cannot look up the authenticated SASL username", x->peer->name,
			         x->peer->addr);
			finish(x, SASL_OUT_FAIL, "535 5.7.8 Error: authentication failed: no user name");
			return;
		}
		finish(x, SASL_OUT_OK, "235 2.7.0 Authentication successful");
		return;
	case SASL_ST_FAIL:
	case SASL_ST_TEMP:
		if (data && len > 0) {
			size_t n = len < sizeof(x->user) - 1 ? len : sizeof(x->user) - 1;
			memcpy(x->user, data, n);
			x->user[n] = '\0';
			for (char *u = x->user; *u; u++)
				if (*u < 33 || *u > 126)
					*u = '?';
		}
		fail_logged(x, st == SASL_ST_TEMP, text && *text ? text : "(reason unavailable)");
		return;
	}
}

void smtpd_sasl_auth(struct smtpd_sasl_sess *x, bool tls, const char *arg, size_t len)
{
	struct sasl_auth_arg a;
	static unsigned char buf[SMTP_LINE_MAX];
	size_t n = 0;
	end_exchange(x);
	x->mech[0] = x->user[0] = '\0';
	const char *err = sasl_auth_parse(arg, len, &a);
	if (err) {
		x->fn(x->arg, SASL_OUT_ERROR, err);
		return;
	}
	snprintf(x->mech, sizeof(x->mech), "%s", a.mech);
	char mechs[1024];
	if (!smtpd_sasl_mechs(x, tls, mechs, sizeof(mechs))) {
		x->fn(x->arg, SASL_OUT_ERROR, "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!sasl_mech_listed(mechs, a.mech)) {
		fail_logged(x, false, "Invalid authentication mechanism");
		return;
	}
	if (a.has_init && !sasl_b64_decode(a.init, a.initlen, buf, sizeof(buf), &n)) {
		log_warn("%s[%s]: SASL %s authentication failed: Invalid base64 data in initial "
		         "response, sasl_username=(unavailable)",
		         x->peer->name, x->peer->addr, x->mech);
		x->fn(x->arg, SASL_OUT_ERROR, "501 5.5.2 Invalid base64 data in initial response");
		return;
	}
	x->p = *x->peer;
	x->p.tls = tls;
	x->x = x->ss->be->xnew(x->ss->server, secflags(x, tls), &x->p);
	if (x->x == NULL) {
		fail_logged(x, true, "authentication backend unavailable");
		return;
	}
	x->steps = 0;
	x->busy = true;
	x->ss->be->start(x->x, a.mech, buf, n, a.has_init, on_step, x);
}

void smtpd_sasl_line(struct smtpd_sasl_sess *x, const char *line, size_t len, bool over_limit)
{
	if (x->x == NULL || x->busy)
		log_fatal("smtpd_sasl_line: no exchange waits for a line");
	if (over_limit) {
		finish(x, SASL_OUT_ERROR, "500 5.5.6 SASL response limit exceeded");
		return;
	}
	if (len == 1 && line[0] == '*') {
		log_warn("%s[%s]: SASL %s authentication aborted", x->peer->name, x->peer->addr,
		         x->mech);
		finish(x, SASL_OUT_ERROR, "501 5.7.0 Authentication aborted");
		return;
	}
	size_t cap = len / 4 * 3 + 3, n = 0;
	unsigned char *buf = xmalloc(cap);
	if (!sasl_b64_decode(line, len, buf, cap, &n)) {
		free(buf);
		log_warn("%s[%s]: SASL %s authentication failed: Invalid base64 data in continued "
		         "response, sasl_username=(unavailable)",
		         x->peer->name, x->peer->addr, x->mech);
		finish(x, SASL_OUT_ERROR, "501 5.5.2 Invalid base64 data in continued response");
		return;
	}
	x->busy = true;
	x->ss->be->step(x->x, buf, n, on_step, x);
	free(buf);
}
