/*
 * smtpd_session.c - one SMTP session (see smtpd_session.h).  Runs in
 * smtpd after privileges are dropped.  Untrusted input: everything the
 * client sends.  Lines are taken from a bounded input buffer (the read
 * high-water mark caps it), parsed by smtpd_cmd.c, checked against the
 * session state, then acted on; content goes through smtpd_data.c into
 * the descriptor qmgr handed us.  Replies to pipelined commands are
 * written together when the input buffer runs dry.
 */
#include "smtpd_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "netaddr.h"
#include "proto.h"
#include "smtpd.h"
#include "smtpd_anvil.h"
#include "smtpd_check.h"
#include "smtpd_cmd.h"
#include "smtpd_content.h"
#include "smtpd_data.h"
#include "smtpd_dns.h"
#include "smtpd_etrn.h"
#include "smtpd_facts.h"
#include "smtpd_queue.h"
#include "smtpd_route.h"
#include "smtpd_tls.h"
#include "smtpd_sasl.h"
#include "xalloc.h"

/* Content is handed to the queue file in pieces of this size. */
#define CONTENT_FLUSH (64 * 1024)
/* Input buffered per session before we stop reading. */
#define INPUT_MAX (256 * 1024)
/* Replies a client has not read yet: past this, its commands wait (a
 * client that pipelines without reading cannot make us buffer more). */
#define OUTPUT_MAX (256 * 1024)

/* S_QWAIT: waiting for qmgr's answer; input stays buffered meanwhile. */
/* S_CHECK: the restriction chain waits for a policy server or DNS;
 * S_AUTH: in an AUTH exchange, the next line is a response;
 * S_AUTHWAIT: in an AUTH exchange, the backend has not answered. */
enum sstate { S_DNS, S_CMD, S_SKIPLINE, S_DATA, S_BDAT, S_QWAIT, S_CHECK, S_CLOSING,
              S_AUTH, S_AUTHWAIT };
/* What to finish when the restriction chain answers. */
enum cwait { CW_CONNECT, CW_HELO, CW_MAIL, CW_RCPT, CW_DATA, CW_EOD, CW_ETRN };
enum qwait { QW_NEW, QW_COMMIT };

/* How long qmgr may take to answer one record. */
#define QMGR_ANSWER_TIMEOUT 100

struct session {
	struct session *next, *prev; /* all sessions */
	struct smtpd_server *srv;
	struct bufferevent *bev;
	int fd;
	enum sstate state;
	char addr[64];  /* printed form */
	char rfc_addr[80]; /* as in Received: (IPv6: prefix) */
	char port[8];
	char name[SMTP_HOST_MAX + 1];
	struct smtpd_client_names names; /* name, reverse name, their status */
	struct netaddr_net client;
	bool counted;

	char helo[SMTP_HOST_MAX + 1];
	char etrn_domain[SMTP_HOST_MAX + 1]; /* of the ETRN being checked */
	bool esmtp;
	struct smtpd_tls_facts tls;   /* filled by the TLS layer */
	struct smtpd_sasl_facts sasl; /* filled by the SASL layer */
	struct stls_conn *tlsc;       /* TLS under s->bev, NULL: plaintext */
	bool tls_wrap;                /* wrapper mode: banner after the handshake */
	struct smtpd_sasl_sess *sx;   /* NULL: SASL is off */
	struct sasl_peer peer;        /* for the SASL backends */
	unsigned auth_failures;
	bool auth_in_call; /* inside smtpd_sasl_*: its answer may come now */
	bool auth_skip;    /* the S_SKIPLINE is an over-long AUTH response */
	enum smtp_verb last_verb;
	unsigned counts[SMTP_NVERBS][2]; /* ok, total */
	long errors;
	bool paused;
	bool out_blocked;
	struct event *sleep_ev;
	struct evbuffer *held; /* replies held back by the error sleep */

	/* Transaction. */
	bool mail;
	char sender[SMTP_ADDR_MAX + 1];
	uint64_t size_hint;
	enum smtp_body body;
	enum smtp_ret ret;
	bool smtputf8;
	char envid[SMTP_ENVID_MAX + 1];
	struct squeue_rcpt *rcpts;
	size_t nrcpt, rcpt_cap;
	unsigned rcpt_tried;
	struct squeue q;
	struct event *qev;        /* q.sock readable, while S_QWAIT */
	enum qwait qwait;
	bool qwait_bdat;
	struct squeue_rcpt pending; /* the RCPT that waits for NEW */
	struct sdata data;
	bool data_open;
	uint64_t bdat_left, bdat_total;
	bool bdat_last, bdat_started;
	const char *bdat_err; /* reply after the chunk is read, chunk discarded */
	char bdat_errbuf[256];
	struct scontent *sc; /* header/body checks of this message, NULL: none */

	/* Restriction chain. */
	struct chk_txn *chk;
	enum cwait cwait;
	struct smtp_cmd ccmd; /* the command that waits for the chain */
	bool cbdat;
	char deny[CHK_REPLY_MAX]; /* client rejected at connect (delay_reject = no) */
	char instance[32];
	char laddr[64], lport[8]; /* our end of the connection */
	bool anvil_counted; /* qmgr's anvil counts this connection */
};

static void process(struct session *s);
static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);
static void resume(evutil_socket_t fd, short what, void *arg);
static void qwait_cancel(struct session *s);
static struct session *sessions;

/* "RCPT", "UNKNOWN", ...: command names as Postfix logs them. */
static const char *verb_upper(enum smtp_verb v, char *buf, size_t len)
{
	const char *n = smtp_verb_name(v);
	size_t i;
	for (i = 0; n[i] && i + 1 < len; i++)
		buf[i] = (char)(n[i] >= 'a' && n[i] <= 'z' ? n[i] - 32 : n[i]);
	buf[i] = '\0';
	return buf;
}

static const char *log_id(const struct session *s)
{
	return s->q.sock >= 0 ? s->q.id : "NOQUEUE";
}

static void session_free(struct session *s)
{
	struct strbuf sb;
	sb_init(&sb, 0);
	unsigned ok = 0, total = 0;
	for (int v = SMTP_HELO; v < SMTP_NVERBS; v++) {
		if (s->counts[v][1] == 0)
			continue;
		ok += s->counts[v][0];
		total += s->counts[v][1];
		if (s->counts[v][0] == s->counts[v][1])
			sb_printf(&sb, " %s=%u", smtp_verb_name(v), s->counts[v][0]);
		else
			sb_printf(&sb, " %s=%u/%u", smtp_verb_name(v), s->counts[v][0], s->counts[v][1]);
	}
	if (s->counts[SMTP_UNKNOWN][1]) {
		ok += s->counts[SMTP_UNKNOWN][0];
		total += s->counts[SMTP_UNKNOWN][1];
		sb_printf(&sb, " unknown=%u/%u", s->counts[SMTP_UNKNOWN][0],
		          s->counts[SMTP_UNKNOWN][1]);
	}
	if (ok == total)
		sb_printf(&sb, " commands=%u", total);
	else
		sb_printf(&sb, " commands=%u/%u", ok, total);
	if (s->state != S_DNS || s->counted)
		log_info("disconnect from %s[%s]%s", s->name, s->addr, sb.s);
	sb_free(&sb);
	qwait_cancel(s);
	chk_txn_free(s->chk);
	if (s->anvil_counted)
		smtpd_anvil_disconnect(s->addr);
	squeue_abort(&s->q);
	scontent_free(s->sc);
	if (s->data_open)
		sdata_free(&s->data);
	for (size_t i = 0; i < s->nrcpt; i++) {
		free(s->rcpts[i].addr);
		free(s->rcpts[i].orcpt);
	}
	free(s->rcpts);
	if (s->sleep_ev)
		event_free(s->sleep_ev);
	if (s->held)
		evbuffer_free(s->held);
	smtpd_sasl_sess_free(s->sx);
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->tlsc)
		stls_close(s->tlsc); /* frees s->bev, the socket lingers */
	else if (s->bev)
		bufferevent_free(s->bev); /* closes fd */
	else if (s->fd >= 0)
		close(s->fd);
	if (s->counted)
		smtpd_session_gone(s->srv, s->addr);
	else
		smtpd_session_gone(s->srv, NULL);
	free(s);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
	if (s->state == S_CLOSING && pending == 0) {
		session_free(s);
		return;
	}
	if (s->out_blocked && pending <= OUTPUT_MAX / 2) {
		s->out_blocked = false;
		process(s);
	}
}

static void close_after_reply(struct session *s)
{
	s->state = S_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	/* Never free here: callers still hold s.  With nothing left to
	 * write, on_write runs from the event loop and frees it. */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		bufferevent_trigger(s->bev, EV_WRITE,
		                    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Write one reply line now (also used for multi-line replies). */
static void out_line(struct session *s, const char *line)
{
	struct evbuffer *o = s->held ? s->held : bufferevent_get_output(s->bev);
	evbuffer_add_printf(o, "%s\r\n", line);
}

static void resume(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	(void)fd;
	(void)what;
	if (s->held) {
		bufferevent_write_buffer(s->bev, s->held);
		evbuffer_free(s->held);
		s->held = NULL;
	}
	s->paused = false;
	bufferevent_enable(s->bev, EV_READ);
	process(s);
}

/*
 * Reply to the current command and count it.  4xx/5xx replies are
 * errors: past smtpd_soft_error_limit each one is delayed by
 * smtpd_error_sleep_time (without blocking other sessions); at
 * smtpd_hard_error_limit the session ends.
 */
static void reply(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reply(struct session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(line, sizeof(line), "451 4.3.0 Error: internal error");
	bool err = line[0] == '4' || line[0] == '5';
	s->counts[s->last_verb][1]++;
	if (!err)
		s->counts[s->last_verb][0]++;
	if (!err) {
		out_line(s, line);
		return;
	}
	s->errors++;
	if (s->errors >= s->srv->hard_errors && s->srv->hard_errors > 0) {
		out_line(s, line);
		char vb[16];
		log_info("too many errors after %s from %s[%s]",
		         verb_upper(s->last_verb, vb, sizeof(vb)), s->name, s->addr);
		char bye[300];
		snprintf(bye, sizeof(bye), "421 4.7.0 %s Error: too many errors", s->srv->myhostname);
		out_line(s, bye);
		close_after_reply(s);
		return;
	}
	if (s->errors >= s->srv->soft_errors && s->srv->error_sleep > 0 && s->held == NULL) {
		s->held = evbuffer_new();
		out_line(s, line);
		s->paused = true;
		bufferevent_disable(s->bev, EV_READ);
		struct timeval tv = {s->srv->error_sleep, 0};
		if (s->sleep_ev == NULL)
			s->sleep_ev = evtimer_new(s->srv->base, resume, s);
		evtimer_add(s->sleep_ev, &tv);
		return;
	}
	out_line(s, line);
}

static void qwait_cancel(struct session *s)
{
	if (s->qev) {
		event_free(s->qev);
		s->qev = NULL;
	}
	free(s->pending.addr);
	free(s->pending.orcpt);
	memset(&s->pending, 0, sizeof(s->pending));
}

static void reset_transaction(struct session *s)
{
	if (s->chk)
		chk_txn_reset(s->chk);
	qwait_cancel(s);
	squeue_abort(&s->q);
	scontent_free(s->sc);
	s->sc = NULL;
	if (s->data_open) {
		sdata_free(&s->data);
		s->data_open = false;
	}
	for (size_t i = 0; i < s->nrcpt; i++) {
		free(s->rcpts[i].addr);
		free(s->rcpts[i].orcpt);
	}
	s->nrcpt = 0;
	s->rcpt_tried = 0;
	s->mail = false;
	s->sender[0] = s->envid[0] = '\0';
	s->sasl.sender[0] = '\0';
	s->size_hint = 0;
	s->body = SMTP_BODY_NONE;
	s->ret = SMTP_RET_NONE;
	s->smtputf8 = false;
	s->bdat_started = false;
	s->bdat_total = 0;
}

static void log_reject(struct session *s, const char *cmd, const char *rep, const char *to)
{
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_printf(&sb, "%s: reject: %s from %s[%s]: %s;", log_id(s), cmd, s->name, s->addr, rep);
	if (s->mail)
		sb_printf(&sb, " from=<%s>", s->sender);
	if (to)
		sb_printf(&sb, " to=<%s>", to);
	sb_printf(&sb, " proto=%s", s->esmtp ? "ESMTP" : "SMTP");
	if (s->helo[0])
		sb_printf(&sb, " helo=<%s>", s->helo);
	log_info("%s", sb.s);
	sb_free(&sb);
}

/* ---- TLS (smtpd_tls.c does the work; these are the session's side) ---- */

static const struct smtpd_tls_settings *tls_set(const struct session *s)
{
	return smtpd_tls_settings(s->srv->tls);
}

static bool tls_offer(const struct session *s)
{
	return !s->tls.active && tls_set(s)->available && tls_set(s)->level >= STLS_MAY;
}

/* smtpd_tls_security_level = encrypt and not yet encrypted. */
static bool tls_required(const struct session *s)
{
	return !s->tls.active && tls_set(s)->level == STLS_ENCRYPT;
}

static void greet_banner(struct session *s);
static void check_reply(struct session *s, const char *rep);

/* The handshake completed; runs before the first decrypted byte is read. */
static void tls_ready(void *arg)
{
	struct session *s = arg;
	struct timeval tv = {s->srv->timeout, 0};
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	/* RFC 3207: forget everything learned before the handshake. */
	reset_transaction(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	memset(&s->sasl, 0, sizeof(s->sasl));
	s->auth_failures = 0;
	if (tls_set(s)->req_ccert && !s->tls.cert_verified) {
		log_info("NOQUEUE: reject: CONNECT from %s[%s]: 421 4.7.1 Client certificate %s; "
		         "proto=%s",
		         s->name, s->addr, s->tls.cert_present ? "not trusted" : "missing",
		         s->esmtp ? "ESMTP" : "SMTP");
		char bye[300];
		snprintf(bye, sizeof(bye), "421 4.7.1 %s Error: client certificate %s",
		         s->srv->myhostname, s->tls.cert_present ? "not trusted" : "required");
		out_line(s, bye);
		s->state = S_CMD;
		close_after_reply(s);
		return;
	}
	if (s->tls_wrap) {
		s->tls_wrap = false;
		greet_banner(s);
	}
}

/* Put TLS under the session: s->bev becomes the TLS filter. */
static bool tls_begin(struct session *s)
{
	char who[SMTP_HOST_MAX + 80];
	snprintf(who, sizeof(who), "%s[%s]", s->name, s->addr);
	struct bufferevent *under = s->bev;
	struct bufferevent *b = stls_start(s->srv->tls, under, who, &s->tls, tls_ready, s, &s->tlsc);
	if (b == NULL)
		return false;
	bufferevent_setwatermark(under, EV_WRITE, 0, OUTPUT_MAX);
	s->bev = b;
	bufferevent_setwatermark(b, EV_READ, 0, INPUT_MAX);
	bufferevent_setwatermark(b, EV_WRITE, OUTPUT_MAX / 2, 0);
	bufferevent_setcb(b, on_read, on_write, on_event, s);
	struct timeval tv = {tls_set(s)->starttls_timeout, 0};
	bufferevent_set_timeouts(b, &tv, &tv);
	bufferevent_enable(b, EV_READ | EV_WRITE);
	return true;
}

static void do_starttls(struct session *s)
{
	if (s->tls.active) {
		reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (tls_set(s)->level == STLS_NONE && !tls_set(s)->wrapper) {
		reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (!tls_set(s)->available) {
		reply(s, "454 4.7.0 TLS not available due to local problem");
		return;
	}
	if (s->mail) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	const char *lim = smtpd_anvil_event(s->srv, LIMIT_NEWTLS, s->name, s->addr, &s->client, NULL);
	if (lim != NULL) { /* smtpd_client_new_tls_session_rate_limit: 421 */
		check_reply(s, lim);
		return;
	}
	/* CVE-2011-0411: what the client sent after STARTTLS, before the
	 * handshake, must never be taken as if it came over TLS. */
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t extra = evbuffer_get_length(in);
	if (extra > 0) {
		log_warn("%s[%s]: discarding %zu bytes pipelined after STARTTLS (possible command "
		         "injection)",
		         s->name, s->addr, extra);
		evbuffer_drain(in, extra);
	}
	/* The 220 goes out in plaintext, ahead of the handshake. */
	if (s->held) {
		bufferevent_write_buffer(s->bev, s->held);
		evbuffer_free(s->held);
		s->held = NULL;
	}
	evbuffer_add_printf(bufferevent_get_output(s->bev), "220 2.0.0 Ready to start TLS\r\n");
	s->counts[SMTP_STARTTLS][0]++;
	s->counts[SMTP_STARTTLS][1]++;
	if (!tls_begin(s)) {
		s->counts[SMTP_STARTTLS][0]--;
		close_after_reply(s);
	}
}

/* What the restriction chain may know about this session now. */
static void fill_input(struct session *s, struct chk_input *in, const struct smtp_cmd *rc,
                       enum smtp_verb v)
{
	memset(in, 0, sizeof(*in));
	in->client_addr = s->addr;
	in->client_name = s->name;
	in->reverse_name = s->names.reverse_name[0] ? s->names.reverse_name : "unknown";
	in->client_port = s->port;
	in->client = &s->client;
	in->server_addr = s->laddr;
	in->server_port = s->lport;
	in->helo = s->helo;
	in->esmtp = s->esmtp;
	in->sender = s->mail ? s->sender : NULL;
	if (rc != NULL) {
		in->recipient = rc->addr;
		in->recipient_ext = rc->addr_ext;
		in->rcpt_cmd = rc;
	} else if (v == SMTP_DATA && s->nrcpt == 1) {
		in->recipient = s->rcpts[0].addr;
	}
	in->nrcpt = (unsigned)s->nrcpt;
	in->queue_id = s->q.sock >= 0 ? s->q.id : "";
	in->size = s->size_hint;
	in->service = s->srv->service;
	in->instance = s->instance;
	in->tls = &s->tls;
	in->sasl = &s->sasl;
	in->names = &s->names;
	/* Commands sent ahead where no pipelining is allowed. */
	in->pipelined = s->bev && evbuffer_get_length(bufferevent_get_input(s->bev)) > 0 &&
	                (!s->esmtp || v == SMTP_DATA || v == SMTP_HELO || v == SMTP_EHLO);
}

static void checked(void *ctx, enum chk_verdict v, const char *rep);

/* A restriction's reply; 421 ends the session, as Postfix. */
static void check_reply(struct session *s, const char *rep)
{
	if (strncmp(rep, "421", 3) == 0) {
		out_line(s, rep);
		s->counts[s->last_verb][1]++;
		close_after_reply(s);
		return;
	}
	reply(s, "%s", rep);
}

/* Run the chain for stage; false when it waits (the command finishes
 * in checked()), else *v and *rep hold the answer. */
static bool run_check(struct session *s, enum chk_stage st, const char *cmd, enum cwait w,
                      const struct smtp_cmd *c, struct chk_input *in, enum chk_verdict *v,
                      const char **rep)
{
	if (c != NULL)
		s->ccmd = *c;
	s->cwait = w;
	*v = chk_check(s->srv->chk, s->chk, st, cmd, in, checked, s, rep);
	if (*v == CHK_PENDING) {
		s->state = S_CHECK;
		return false;
	}
	return true;
}

static void helo_checked(struct session *s, enum chk_verdict v, const char *rep);

static void do_ehlo(struct session *s, const struct smtp_cmd *c)
{
	reset_transaction(s);
	smtp_printable(s->helo, sizeof(s->helo), c->arg, c->arglen);
	s->esmtp = c->verb == SMTP_EHLO;
	if (!chk_delay_reject(s->srv->chk) && !chk_stage_empty(s->srv->chk, CHK_HELO)) {
		struct chk_input in;
		enum chk_verdict v;
		const char *rep;
		fill_input(s, &in, NULL, c->verb);
		if (run_check(s, CHK_HELO, s->esmtp ? "EHLO" : "HELO", CW_HELO, c, &in, &v, &rep))
			helo_checked(s, v, rep);
		return;
	}
	helo_checked(s, CHK_DUNNO, NULL);
}

static void helo_checked(struct session *s, enum chk_verdict v, const char *rep)
{
	struct smtpd_server *srv = s->srv;
	if (v == CHK_REJECT || v == CHK_DEFER) {
		s->helo[0] = '\0';
		check_reply(s, rep);
		return;
	}
	if (!s->esmtp) {
		reply(s, "250 %s", srv->myhostname);
		return;
	}
	char kw[16][600];
	size_t n = 0;
	snprintf(kw[n++], 64, "PIPELINING");
	if (srv->size_limit)
		snprintf(kw[n++], 64, "SIZE %llu", (unsigned long long)srv->size_limit);
	else
		snprintf(kw[n++], 64, "SIZE");
	if (!srv->vrfy_disabled)
		snprintf(kw[n++], 64, "VRFY");
	snprintf(kw[n++], 64, "ETRN");
	char mechs[512];
	if (s->sx && smtpd_sasl_mechs(s->sx, s->tls.active, mechs, sizeof(mechs))) {
		snprintf(kw[n++], sizeof(kw[0]), "AUTH %s", mechs);
		if (smtpd_sasl_broken_clients(srv->sasl))
			snprintf(kw[n++], sizeof(kw[0]), "AUTH=%s", mechs);
	}
	snprintf(kw[n++], 64, "ENHANCEDSTATUSCODES");
	snprintf(kw[n++], 64, "8BITMIME");
	snprintf(kw[n++], 64, "DSN");
	if (srv->smtputf8)
		snprintf(kw[n++], 64, "SMTPUTF8");
	snprintf(kw[n++], 64, "CHUNKING");
	if (tls_offer(s))
		snprintf(kw[n++], 64, "STARTTLS");
	char line[700];
	size_t keep[16], nk = 0;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;
		size_t wl = strcspn(kw[i], " ");
		for (char **d = srv->discard_ehlo; d && *d; d++)
			if (strlen(*d) == wl && strncasecmp(*d, kw[i], wl) == 0)
				drop = true;
		if (!drop)
			keep[nk++] = i;
	}
	snprintf(line, sizeof(line), "250%c%s", nk ? '-' : ' ', srv->myhostname);
	out_line(s, line);
	for (size_t i = 0; i < nk; i++) {
		snprintf(line, sizeof(line), "250%c%s", i + 1 < nk ? '-' : ' ', kw[keep[i]]);
		if (i + 1 < nk)
			out_line(s, line);
		else
			reply(s, "%s", line);
	}
	if (nk == 0)
		s->counts[s->last_verb][0]++, s->counts[s->last_verb][1]++;
}

static void mail_checked(struct session *s, enum chk_verdict v, const char *rep);

static void do_mail(struct session *s, const struct smtp_cmd *c)
{
	struct smtpd_server *srv = s->srv;
	if (tls_required(s)) {
		reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (srv->helo_required && s->helo[0] == '\0') {
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->mail) {
		reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (c->smtputf8 && !srv->smtputf8) {
		reply(s, "555 5.5.4 Unsupported option: SMTPUTF8");
		return;
	}
	s->ccmd = *c;
	if (c->has_size && srv->size_limit && c->size > srv->size_limit) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		log_reject(s, "MAIL", "552 5.3.4 Message size exceeds fixed limit", NULL);
		return;
	}
	chk_txn_reset(s->chk);
	const char *lim = smtpd_anvil_event(srv, LIMIT_MESSAGE, s->name, s->addr, &s->client, NULL);
	if (lim != NULL) {
		reply(s, "%s", lim);
		return;
	}
	if (!chk_delay_reject(srv->chk) && !chk_stage_empty(srv->chk, CHK_SENDER)) {
		struct chk_input in;
		enum chk_verdict v;
		const char *rep;
		fill_input(s, &in, NULL, SMTP_MAIL);
		in.sender = c->addr;
		in.size = c->has_size ? c->size : 0;
		if (run_check(s, CHK_SENDER, "MAIL", CW_MAIL, c, &in, &v, &rep))
			mail_checked(s, v, rep);
		return;
	}
	mail_checked(s, CHK_DUNNO, NULL);
}

static void mail_checked(struct session *s, enum chk_verdict v, const char *rep)
{
	const struct smtp_cmd *c = &s->ccmd;
	if (v == CHK_REJECT || v == CHK_DEFER) {
		check_reply(s, rep);
		return;
	}
	s->mail = true;
	memcpy(s->sender, c->addr, sizeof(s->sender));
	s->size_hint = c->has_size ? c->size : 0;
	s->body = c->body;
	s->ret = c->ret;
	s->smtputf8 = c->smtputf8;
	if (c->has_envid)
		memcpy(s->envid, c->envid, sizeof(s->envid));
	if (c->has_auth && s->sx && strcmp(c->auth, "<>") != 0)
		snprintf(s->sasl.sender, sizeof(s->sasl.sender), "%s", c->auth);
	reply(s, "250 2.1.0 Ok");
}

static const char *body_name(enum smtp_body b)
{
	return b == SMTP_BODY_7BIT ? "7BIT" : b == SMTP_BODY_8BITMIME ? "8BITMIME" : NULL;
}

/* ESMTP, ESMTPA (authenticated), ESMTPS (TLS), ESMTPSA, as Postfix;
 * RFC 6531 names it UTF8SMTP when SMTPUTF8 was asked for. */
static const char *session_protocol(const struct session *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", s->smtputf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" : "SMTP",
	         s->tls.active ? "S" : "", s->sasl.authenticated ? "A" : "");
	return buf;
}

static bool open_queue(struct session *s, char *rep, size_t len)
{
	char proto[32];
	struct squeue_env env = {
		.sender = s->sender,
		.client_name = s->name,
		.client_addr = s->addr,
		.client_port = s->port,
		.helo = s->helo,
		.protocol = session_protocol(s, proto, sizeof(proto)),
		.ret = s->ret == SMTP_RET_FULL ? "FULL" : s->ret == SMTP_RET_HDRS ? "HDRS" : NULL,
		.envid = s->envid[0] ? s->envid : NULL,
		.body = body_name(s->body),
		.smtputf8 = s->smtputf8,
		.size = s->size_hint,
	};
	return squeue_new_start(&s->q, "private/qmgr", &env, rep, len) == 0;
}

static void on_qmgr(evutil_socket_t fd, short what, void *arg);

/* Park the session until qmgr answers (commands stay buffered). */
static void qwait_start(struct session *s, enum qwait w)
{
	struct timeval tv = {QMGR_ANSWER_TIMEOUT, 0};
	s->qwait = w;
	s->state = S_QWAIT;
	s->qev = event_new(s->srv->base, s->q.sock, EV_READ, on_qmgr, s);
	event_add(s->qev, &tv);
}

static void add_rcpt(struct session *s, struct squeue_rcpt *r)
{
	if (s->nrcpt == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		s->rcpts = xreallocarray(s->rcpts, s->rcpt_cap, sizeof(*s->rcpts));
	}
	s->rcpts[s->nrcpt++] = *r;
	memset(r, 0, sizeof(*r));
}

static void rcpt_checked(struct session *s, enum chk_verdict v, const char *crep);

static void do_rcpt(struct session *s, const struct smtp_cmd *c)
{
	struct smtpd_server *srv = s->srv;
	if (!s->mail) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->bdat_started) {
		reply(s, "503 5.5.1 Error: RCPT after BDAT");
		return;
	}
	s->rcpt_tried++;
	if (srv->rcpt_limit > 0 && s->nrcpt >= (size_t)srv->rcpt_limit) {
		reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	const char *lim = smtpd_anvil_event(srv, LIMIT_RCPT, s->name, s->addr, &s->client, NULL);
	if (lim != NULL) {
		reply(s, "%s", lim);
		return;
	}
	struct chk_input in;
	enum chk_verdict v;
	const char *crep;
	fill_input(s, &in, c, SMTP_RCPT);
	if (run_check(s, CHK_RCPT, "RCPT", CW_RCPT, c, &in, &v, &crep))
		rcpt_checked(s, v, crep);
}

static void rcpt_checked(struct session *s, enum chk_verdict v, const char *crep)
{
	struct smtpd_server *srv = s->srv;
	const struct smtp_cmd *c = &s->ccmd;
	char rep[SMTP_ADDR_MAX + 200];
	if (v == CHK_REJECT || v == CHK_DEFER) {
		check_reply(s, crep); /* the chain logged it */
		return;
	}
	struct squeue_rcpt r = {0};
	if (c->at == (size_t)-1) {
		/* "postmaster", "user": one of ours (the route said local). */
		size_t l = strlen(c->addr) + strlen(srv->myhostname) + 2;
		r.addr = xmalloc(l);
		snprintf(r.addr, l, "%s@%s", c->addr, srv->myhostname);
	} else {
		r.addr = xstrdup(c->addr);
		size_t l = strlen(r.addr);
		if (l > 0 && r.addr[l - 1] == '.') /* "user@example.com." */
			r.addr[l - 1] = '\0';
	}
	r.orcpt = c->has_orcpt ? xstrdup(c->orcpt) : NULL;
	r.notify = c->notify;
	if (s->q.sock >= 0) {
		add_rcpt(s, &r);
		reply(s, "250 2.1.5 Ok");
		return;
	}
	/* The first accepted recipient starts the message at qmgr. */
	if (!open_queue(s, rep, sizeof(rep))) {
		free(r.addr);
		free(r.orcpt);
		reply(s, "%s", rep);
		return;
	}
	s->pending = r;
	qwait_start(s, QW_NEW);
}

/* The Received: header, in Postfix's layout. */
static void received_header(struct session *s, struct strbuf *h)
{
	char date[128];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
		snprintf(date, sizeof(date), "Thu, 01 Jan 1970 00:00:00 +0000 (UTC)");
	char proto[32];
	sb_printf(h, "Received: from %s (%s [%s])\n", s->helo[0] ? s->helo : s->name, s->name,
	          s->rfc_addr);
	if (s->tls.active && tls_set(s)->received_header) {
		sb_printf(h, "\t(using %s with cipher %s (%d/%d bits))\n", s->tls.protocol,
		          s->tls.cipher, s->tls.bits, s->tls.bits);
		if (s->tls.cert_present)
			sb_printf(h, "\t(Client CN \"%s\", Issuer \"%s\" (%s))\n", s->tls.subject_cn,
			          s->tls.issuer_cn, s->tls.cert_verified ? "verified OK" : "not verified");
		else if (tls_set(s)->ask_ccert)
			sb_printf(h, "\t(Client did not present a certificate)\n");
		else
			sb_printf(h, "\t(No client certificate requested)\n");
	}
	if (s->sasl.authenticated && smtpd_sasl_auth_header(s->srv->sasl))
		sb_printf(h, "\t(Authenticated sender: %s)\n", s->sasl.username);
	/* RFC 6531 names the protocol UTF8SMTP when SMTPUTF8 was asked for;
	 * S for TLS, A for SASL, as RFC 3848. */
	sb_printf(h, "\tby %s (%s) with %s id %s", s->srv->myhostname, s->srv->mail_name,
	          session_protocol(s, proto, sizeof(proto)), s->q.id);
	if (s->nrcpt == 1)
		sb_printf(h, "\n\tfor <%s>; %s\n", s->rcpts[0].addr, date);
	else
		sb_printf(h, ";\n\t%s\n", date);
}

static void start_content(struct session *s, bool dot_mode)
{
	struct strbuf h;
	sb_init(&h, 0);
	/* PREPEND actions go above our Received: header, as Postfix's. */
	const struct chk_actions *act = chk_txn_actions(s->chk);
	for (char **p = act->prepend; p && *p; p++)
		sb_printf(&h, "%s\n", *p);
	received_header(s, &h);
	uint64_t limit = s->srv->size_limit;
	if (limit) /* qmgr counts the Received: header too */
		limit = limit > h.len ? limit - h.len : 1;
	sdata_init(&s->data, dot_mode, s->srv->reject_bare_lf && dot_mode, limit);
	s->data_open = true;
	/* header_checks see our Received: header too, as Postfix's. */
	scontent_free(s->sc);
	s->sc = scontent_start(s->srv->hbc, s->q.id, s->name, s->addr, s->sender,
	                       s->nrcpt ? s->rcpts[s->nrcpt - 1].addr : "",
	                       s->esmtp ? "ESMTP" : "SMTP", s->helo);
	scontent_write(s->sc, &s->q, h.s, h.len);
	sb_free(&h);
}

static void flush_content(struct session *s, bool all)
{
	struct strbuf *o = &s->data.out;
	if (o->len == 0 || (!all && o->len < CONTENT_FLUSH))
		return;
	scontent_write(s->sc, &s->q, o->s, o->len);
	sb_reset(o);
}

/* End of DATA or BDAT LAST: commit, answer. */
static void eod_checked(struct session *s, enum chk_verdict v, const char *crep);

static void finish_content(struct session *s, const char *what, bool bdat)
{
	sdata_finish(&s->data);
	flush_content(s, true);
	scontent_finish(s->sc, &s->q);
	if (s->data.too_big) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		log_reject(s, what, "552 5.3.4 Message size exceeds fixed limit", NULL);
		reset_transaction(s);
		return;
	}
	s->cbdat = bdat;
	if (!chk_stage_empty(s->srv->chk, CHK_EOD)) {
		struct chk_input in;
		enum chk_verdict v;
		const char *crep;
		fill_input(s, &in, NULL, SMTP_DATA);
		in.size = s->data.size;
		if (run_check(s, CHK_EOD, "END-OF-MESSAGE", CW_EOD, NULL, &in, &v, &crep))
			eod_checked(s, v, crep);
		return;
	}
	eod_checked(s, CHK_DUNNO, NULL);
}

/* header_checks(5) REDIRECT, BCC and HOLD, after the access(5) ones. */
static void apply_content_actions(struct session *s)
{
	const struct hbc_actions *ca = scontent_actions(s->sc);
	if (ca == NULL)
		return;
	if (ca->redirect[0]) {
		for (size_t i = 0; i < s->nrcpt; i++) {
			free(s->rcpts[i].addr);
			free(s->rcpts[i].orcpt);
		}
		s->nrcpt = 0;
		struct squeue_rcpt r = {.addr = xstrdup(ca->redirect)};
		add_rcpt(s, &r);
	}
	for (size_t i = 0; i < ca->nbcc; i++) {
		struct squeue_rcpt r = {.addr = xstrdup(ca->bcc[i]), .notify = PROTO_NOTIFY_NEVER};
		add_rcpt(s, &r);
	}
	if (ca->hold)
		s->q.hold = true;
}

/* REDIRECT replaces the recipients, BCC adds one (access(5) actions). */
static void apply_actions(struct session *s)
{
	const struct chk_actions *a = chk_txn_actions(s->chk);
	if (a->redirect[0]) {
		for (size_t i = 0; i < s->nrcpt; i++) {
			free(s->rcpts[i].addr);
			free(s->rcpts[i].orcpt);
		}
		s->nrcpt = 0;
		struct squeue_rcpt r = {.addr = xstrdup(a->redirect)};
		add_rcpt(s, &r);
	}
	for (char **b = a->bcc; b && *b; b++) {
		struct squeue_rcpt r = {.addr = xstrdup(*b)};
		add_rcpt(s, &r);
	}
	s->q.hold = a->hold;
	/* Header/body checks come after the access maps: their FILTER wins. */
	const struct hbc_actions *ca = scontent_actions(s->sc);
	const char *filter = ca && ca->filter[0] ? ca->filter : a->filter;
	if (ca && ca->redirect[0]) /* header_checks(5): REDIRECT overrides FILTER */
		filter = "";
	if (filter[0])
		log_warn("%s: FILTER %s action: content filters are not supported yet; the "
		         "message is queued normally", s->q.id, filter);
	apply_content_actions(s);
}

static void eod_checked(struct session *s, enum chk_verdict v, const char *crep)
{
	char rep[300];
	bool bdat = s->cbdat;
	if (v == CHK_REJECT || v == CHK_DEFER) {
		check_reply(s, crep);
		reset_transaction(s);
		return;
	}
	const struct hbc_actions *ca = scontent_actions(s->sc);
	if (ca && ca->reject) { /* logged by the checks, as Postfix's cleanup */
		reply(s, "%s", ca->reply);
		reset_transaction(s);
		return;
	}
	if (chk_txn_actions(s->chk)->discard || (ca && ca->discard)) {
		/* claim delivery, keep nothing (logged at the DISCARD) */
		char id[64];
		snprintf(id, sizeof(id), "%s", s->q.id);
		squeue_abort(&s->q);
		if (bdat)
			reply(s, "250 2.0.0 Ok: %llu bytes queued as %s",
			      (unsigned long long)s->bdat_total, id);
		else
			reply(s, "250 2.0.0 Ok: queued as %s", id);
		reset_transaction(s);
		return;
	}
	apply_actions(s);
	const char *msgid = sdata_msgid(&s->data);
	if (*msgid)
		log_info("%s: message-id=%s", s->q.id, msgid);
	if (squeue_commit_start(&s->q, msgid, s->rcpts, s->nrcpt, rep, sizeof(rep)) != 0) {
		reply(s, "%s", rep);
		reset_transaction(s);
		return;
	}
	s->qwait_bdat = bdat;
	qwait_start(s, QW_COMMIT);
}

/* qmgr answered NEW or COMMIT (or did not, in time). */
static void on_qmgr(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	char rep[300];
	int rc;
	(void)fd;
	event_free(s->qev);
	s->qev = NULL;
	s->state = S_CMD;
	if (what & EV_TIMEOUT) {
		log_warn("%s: no answer from qmgr in %d s", s->q.id[0] ? s->q.id : "NOQUEUE",
		         QMGR_ANSWER_TIMEOUT);
		squeue_abort(&s->q);
		snprintf(rep, sizeof(rep), "451 4.3.0 Error: queue file write error");
		rc = -1;
	} else if (s->qwait == QW_NEW) {
		rc = squeue_new_finish(&s->q, rep, sizeof(rep));
	} else {
		rc = squeue_commit_finish(&s->q, rep, sizeof(rep));
	}
	if (s->qwait == QW_NEW) {
		if (rc == 0) {
			if (s->sasl.authenticated)
				log_info("%s: client=%s[%s], sasl_method=%s, sasl_username=%s%s%s", s->q.id,
				         s->name, s->addr, s->sasl.method, s->sasl.username,
				         s->sasl.sender[0] ? ", sasl_sender=" : "", s->sasl.sender);
			else if (s->sasl.sender[0])
				log_info("%s: client=%s[%s], sasl_sender=%s", s->q.id, s->name, s->addr,
				         s->sasl.sender);
			else
				log_info("%s: client=%s[%s]", s->q.id, s->name, s->addr);
			add_rcpt(s, &s->pending);
			reply(s, "250 2.1.5 Ok");
		} else {
			qwait_cancel(s);
			reply(s, "%s", rep);
		}
	} else {
		if (rc == 0 && s->qwait_bdat)
			reply(s, "250 2.0.0 Ok: %llu bytes queued as %s",
			      (unsigned long long)s->bdat_total, s->q.id);
		else if (rc == 0)
			reply(s, "250 2.0.0 Ok: queued as %s", s->q.id);
		else
			reply(s, "%s", rep);
		if (rc == 0)
			s->errors = 0;
		reset_transaction(s);
	}
	if (s->state == S_CMD)
		process(s);
}

static void data_checked(struct session *s, enum chk_verdict v, const char *rep);

static void do_data(struct session *s)
{
	/* As Postfix: "need RCPT" outside a transaction, "no valid
	 * recipients" inside one. */
	if (!s->mail) {
		reply(s, "503 5.5.1 Error: need RCPT command");
		return;
	}
	if (s->bdat_started) {
		reply(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	if (s->nrcpt == 0) {
		reply(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	if (!chk_stage_empty(s->srv->chk, CHK_DATA)) {
		struct chk_input in;
		enum chk_verdict v;
		const char *rep;
		fill_input(s, &in, NULL, SMTP_DATA);
		if (run_check(s, CHK_DATA, "DATA", CW_DATA, NULL, &in, &v, &rep))
			data_checked(s, v, rep);
		return;
	}
	data_checked(s, CHK_DUNNO, NULL);
}

static void data_checked(struct session *s, enum chk_verdict v, const char *rep)
{
	if (v == CHK_REJECT || v == CHK_DEFER) {
		check_reply(s, rep);
		return;
	}
	start_content(s, true);
	/* Counted when the content has been taken (or refused). */
	out_line(s, "354 End data with <CR><LF>.<CR><LF>");
	s->state = S_DATA;
}

static void do_bdat(struct session *s, const struct smtp_cmd *c)
{
	s->bdat_left = c->chunk;
	s->bdat_last = c->last;
	s->bdat_err = NULL;
	if (!s->mail)
		s->bdat_err = "503 5.5.1 Error: need RCPT command";
	else if (s->nrcpt == 0)
		s->bdat_err = "554 5.5.1 Error: no valid recipients";
	if (s->bdat_err == NULL && !s->bdat_started) {
		start_content(s, false);
		s->bdat_started = true;
	}
	s->state = S_BDAT;
}

static void bdat_chunk_done(struct session *s)
{
	s->state = S_CMD;
	if (s->bdat_err) {
		reply(s, "%s", s->bdat_err);
		if (s->bdat_started)
			reset_transaction(s);
		return;
	}
	if (s->bdat_last) {
		finish_content(s, "BDAT", true);
		return;
	}
	flush_content(s, false);
	reply(s, "250 2.0.0 Ok: %llu bytes", (unsigned long long)s->bdat_total);
}

static void do_vrfy(struct session *s, const struct smtp_cmd *c)
{
	char rep[SMTP_ADDR_MAX + 200];
	struct smtp_cmd a;
	if (s->srv->vrfy_disabled) {
		reply(s, "502 5.5.1 VRFY command is disabled");
		return;
	}
	const char *p = c->arg;
	size_t n = c->arglen;
	if (n >= 2 && p[0] == '<' && p[n - 1] == '>')
		p++, n -= 2;
	if (!smtp_addr_parse(p, n, false, &a)) {
		reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if (route_vrfy(s->srv->route, &a, rep, sizeof(rep)) != ROUTE_ACCEPT) {
		reply(s, "%s", rep);
		return;
	}
	reply(s, "252 2.0.0 %.*s", (int)(c->arglen > 300 ? 300 : c->arglen), c->arg);
}

/* ETRN (RFC 1985): syntax, smtpd_etrn_restrictions, then the flush. */
static void etrn_checked(struct session *s, enum chk_verdict v, const char *rep)
{
	char buf[SMTP_HOST_MAX + 64];
	if (v == CHK_REJECT || v == CHK_DEFER) {
		check_reply(s, rep);
		return;
	}
	reply(s, "%s", smtpd_etrn_flush(s->srv->route, s->etrn_domain, s->name, s->addr, buf,
	                                sizeof(buf)));
}

static void do_etrn(struct session *s, const struct smtp_cmd *c)
{
	if (s->srv->helo_required && s->helo[0] == '\0') {
		reply(s, "503 Error: send HELO/EHLO first");
		return;
	}
	if (s->mail) {
		reply(s, "503 Error: MAIL transaction in progress");
		return;
	}
	const char *err = smtpd_etrn_parse(c->arg, c->arglen, s->etrn_domain, sizeof(s->etrn_domain));
	if (err != NULL) {
		reply(s, "%s", err);
		return;
	}
	struct chk_input in;
	enum chk_verdict v;
	const char *rep;
	fill_input(s, &in, NULL, c->verb);
	in.etrn_domain = s->etrn_domain;
	if (run_check(s, CHK_ETRN, "ETRN", CW_ETRN, c, &in, &v, &rep))
		etrn_checked(s, v, rep);
}

/*
 * The growing delay after a failed AUTH, our addition to Postfix's error
 * sleep: the 535 of the Nth failure in a session is held back 2^(N-1)
 * seconds (1, 2, 4, then SASL_FAIL_DELAY_MAX), or smtpd_error_sleep_time
 * when that is longer and the soft error limit is reached.  A timer, so
 * other sessions do not wait.  Each failure also counts toward
 * smtpd_hard_error_limit.
 */
static void auth_fail_reply(struct session *s, const char *rep)
{
	unsigned shift = s->auth_failures < 8 ? s->auth_failures : 8;
	long delay = 1L << shift;
	if (delay > SASL_FAIL_DELAY_MAX)
		delay = SASL_FAIL_DELAY_MAX;
	s->auth_failures++;
	bool fresh = s->held == NULL;
	if (fresh)
		s->held = evbuffer_new();
	reply(s, "%s", rep);
	if (s->state == S_CLOSING) { /* hard error limit: the 421 goes out now */
		if (s->held) {
			bufferevent_write_buffer(s->bev, s->held);
			evbuffer_free(s->held);
			s->held = NULL;
		}
		return;
	}
	if (!fresh)
		return;
	if (s->errors >= s->srv->soft_errors && s->srv->error_sleep > delay)
		delay = s->srv->error_sleep;
	s->paused = true;
	bufferevent_disable(s->bev, EV_READ);
	struct timeval tv = {delay, 0};
	if (s->sleep_ev == NULL)
		s->sleep_ev = evtimer_new(s->srv->base, resume, s);
	evtimer_add(s->sleep_ev, &tv);
}

/* What smtpd_sasl says, now (from inside our call) or later (Dovecot). */
static void on_auth(void *arg, enum sasl_outcome o, const char *rep)
{
	struct session *s = arg;
	s->last_verb = SMTP_AUTH;
	s->state = S_CMD;
	switch (o) {
	case SASL_OUT_MORE:
		out_line(s, rep); /* a 334 is part of the AUTH command, not counted */
		s->state = S_AUTH;
		break;
	case SASL_OUT_OK:
		s->sasl.authenticated = true;
		snprintf(s->sasl.method, sizeof(s->sasl.method), "%s", smtpd_sasl_method(s->sx));
		snprintf(s->sasl.username, sizeof(s->sasl.username), "%s",
		         smtpd_sasl_username(s->sx));
		reply(s, "%s", rep);
		break;
	case SASL_OUT_FAIL:
		auth_fail_reply(s, rep);
		break;
	case SASL_OUT_ERROR:
		reply(s, "%s", rep);
		break;
	}
	if (!s->auth_in_call && s->state != S_CLOSING)
		process(s);
}

static void auth_call_line(struct session *s, const char *line, size_t len, bool over)
{
	s->state = S_AUTHWAIT;
	s->auth_in_call = true;
	smtpd_sasl_line(s->sx, line, len, over);
	s->auth_in_call = false;
}

/* One response line of the AUTH exchange, bounded by
 * smtpd_sasl_response_limit. */
static void auth_response(struct session *s, struct evbuffer *in, struct evbuffer_ptr e,
                          size_t eol_len, size_t avail)
{
	static char line[SASL_RESPONSE_MAX + 3];
	size_t lim = smtpd_sasl_line_limit(s->sx);
	if (e.pos < 0 || (size_t)e.pos > lim + 1) {
		if (e.pos >= 0 || avail > lim + 1) {
			s->auth_skip = true;
			s->state = S_SKIPLINE; /* answered when its end arrives */
		}
		return;
	}
	size_t len = (size_t)e.pos;
	evbuffer_remove(in, line, len + eol_len);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > lim) {
		auth_call_line(s, NULL, 0, true);
		return;
	}
	line[len] = '\0';
	auth_call_line(s, line, len, false);
}

static void do_auth(struct session *s, const struct smtp_cmd *c)
{
	if (s->sx == NULL || !s->esmtp ||
	    (smtpd_sasl_tls_only(s->srv->sasl) && !s->tls.active)) {
		reply(s, "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (s->mail) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (s->sasl.authenticated) {
		reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	const char *lim = smtpd_anvil_event(s->srv, LIMIT_AUTH, s->name, s->addr, &s->client, NULL);
	if (lim != NULL) { /* smtpd_client_auth_rate_limit */
		reply(s, "%s", lim);
		return;
	}
	s->state = S_AUTHWAIT;
	s->auth_in_call = true;
	smtpd_sasl_auth(s->sx, s->tls.active, c->arg, c->arglen);
	s->auth_in_call = false;
}

static void command(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd c;
	bool ok = smtp_cmd_parse(line, len, &c);
	s->last_verb = c.verb;
	if (!ok) {
		if (c.verb == SMTP_UNKNOWN && smtp_cmd_forbidden(line, len)) {
			char shown[101];
			smtp_printable(shown, sizeof(shown), line, len);
			log_warn("non-SMTP command from %s[%s]: %s", s->name, s->addr, shown);
			s->counts[SMTP_UNKNOWN][1]++;
			out_line(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
			close_after_reply(s);
			return;
		}
		reply(s, "%s", c.err); /* Postfix logs no reject line for syntax */
		return;
	}
	if (s->deny[0] && c.verb != SMTP_QUIT) {
		reply(s, "503 5.7.0 Error: access denied for %s[%s]", s->name, s->addr);
		return;
	}
	switch (c.verb) {
	case SMTP_HELO:
	case SMTP_EHLO:
		do_ehlo(s, &c);
		break;
	case SMTP_MAIL:
		do_mail(s, &c);
		break;
	case SMTP_RCPT:
		do_rcpt(s, &c);
		break;
	case SMTP_DATA:
		do_data(s);
		break;
	case SMTP_BDAT:
		do_bdat(s, &c);
		break;
	case SMTP_RSET:
		reset_transaction(s);
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_NOOP:
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_VRFY:
		do_vrfy(s, &c);
		break;
	case SMTP_ETRN:
		do_etrn(s, &c);
		break;
	case SMTP_HELP:
		reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY ETRN QUIT");
		break;
	case SMTP_STARTTLS:
		do_starttls(s);
		break;
	case SMTP_AUTH:
		if (tls_required(s)) {
			reply(s, "530 5.7.0 Must issue a STARTTLS command first");
			break;
		}
		do_auth(s, &c);
		break;
	case SMTP_QUIT:
		reply(s, "221 2.0.0 Bye");
		close_after_reply(s);
		break;
	default:
		reply(s, "500 5.5.2 Error: command not recognized");
		break;
	}
}

static void feed_data(struct session *s, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	while (avail > 0 && s->state == S_DATA) {
		size_t n = evbuffer_get_contiguous_space(in), used;
		const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
		enum sdata_result r = sdata_feed(&s->data, p, n, &used);
		evbuffer_drain(in, used);
		avail -= used;
		flush_content(s, false);
		if (r == SDATA_END) {
			s->state = S_CMD;
			s->last_verb = SMTP_DATA;
			finish_content(s, "DATA", false);
		} else if (r == SDATA_BARE_LF) {
			s->last_verb = SMTP_DATA;
			out_line(s, "550 5.7.1 Error: bare <LF> received");
			log_info("%s: reject: bare <LF> received from %s[%s]", log_id(s), s->name, s->addr);
			s->counts[SMTP_DATA][1]++;
			close_after_reply(s);
		}
	}
}

static void feed_bdat(struct session *s, struct evbuffer *in)
{
	while (s->state == S_BDAT) {
		size_t avail = evbuffer_get_length(in);
		if (s->bdat_left == 0) {
			s->last_verb = SMTP_BDAT;
			bdat_chunk_done(s);
			return;
		}
		if (avail == 0)
			return;
		size_t n = evbuffer_get_contiguous_space(in), used;
		if (n > s->bdat_left)
			n = (size_t)s->bdat_left;
		const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
		if (s->bdat_err == NULL) {
			sdata_feed(&s->data, p, n, &used);
			s->bdat_total += n;
			flush_content(s, false);
		}
		evbuffer_drain(in, n);
		s->bdat_left -= n;
	}
}

static void process(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char line[SMTP_LINE_MAX + 3];
	while (!s->paused && s->state != S_CLOSING && s->state != S_DNS && s->state != S_QWAIT &&
	       s->state != S_CHECK && s->state != S_AUTHWAIT) {
		in = bufferevent_get_input(s->bev); /* STARTTLS replaces s->bev */
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > OUTPUT_MAX) {
			s->out_blocked = true;
			bufferevent_disable(s->bev, EV_READ);
			return;
		}
		if (s->state == S_DATA) {
			feed_data(s, in);
			if (s->state == S_DATA)
				break;
			continue;
		}
		if (s->state == S_BDAT) {
			feed_bdat(s, in);
			if (s->state == S_BDAT)
				break;
			continue;
		}
		size_t eol_len;
		struct evbuffer_ptr e = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		size_t avail = evbuffer_get_length(in);
		if (s->state == S_SKIPLINE) {
			if (e.pos < 0) {
				evbuffer_drain(in, avail);
				break;
			}
			evbuffer_drain(in, (size_t)e.pos + eol_len);
			if (s->auth_skip) {
				s->auth_skip = false;
				auth_call_line(s, NULL, 0, true);
				continue;
			}
			s->state = S_CMD;
			s->last_verb = SMTP_UNKNOWN;
			reply(s, "500 5.5.2 Error: line too long");
			continue;
		}
		if (s->state == S_AUTH) {
			auth_response(s, in, e, eol_len, avail);
			if (s->state == S_AUTH)
				break;
			continue;
		}
		if (e.pos < 0 || (size_t)e.pos > SMTP_LINE_MAX + 1) {
			if (e.pos >= 0 || avail > SMTP_LINE_MAX + 1) {
				s->state = S_SKIPLINE; /* reply when its end arrives */
				continue;
			}
			break;
		}
		size_t len = (size_t)e.pos;
		evbuffer_remove(in, line, len + eol_len);
		/* CR LF or, as Postfix's "normalize", a bare LF. */
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > SMTP_LINE_MAX) {
			s->last_verb = SMTP_UNKNOWN;
			reply(s, "500 5.5.2 Error: line too long");
			continue;
		}
		line[len] = '\0';
		command(s, line, len);
	}
	if (s->state != S_CLOSING && s->state != S_DNS && !s->paused && !s->out_blocked)
		bufferevent_enable(s->bev, EV_READ);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	(void)bev;
	char up[16];
	if (s->state == S_DATA || s->state == S_BDAT)
		snprintf(up, sizeof(up), "%s", s->state == S_DATA ? "DATA" : "BDAT");
	else if (s->counts[SMTP_UNKNOWN][1] == 0 && s->last_verb == SMTP_UNKNOWN)
		snprintf(up, sizeof(up), "CONNECT");
	else
		verb_upper(s->last_verb, up, sizeof(up));
	if (s->tlsc && !stls_handshake_done(s->tlsc)) {
		/* Mid-handshake: nothing can be said to the client. */
		log_info("%s after %s from %s[%s]", what & BEV_EVENT_TIMEOUT ? "timeout" : "lost connection",
		         s->tls_wrap ? "CONNECT" : "STARTTLS", s->name, s->addr);
		session_free(s);
		return;
	}
	if (s->state == S_CLOSING) { /* the last reply could not be written */
		session_free(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_info("timeout after %s from %s[%s]", up, s->name, s->addr);
		char bye[300];
		snprintf(bye, sizeof(bye), "421 4.4.2 %s Error: timeout exceeded", s->srv->myhostname);
		bufferevent_enable(s->bev, EV_WRITE);
		out_line(s, bye);
		close_after_reply(s);
		return;
	}
	if (s->state != S_CLOSING)
		log_info("lost connection after %s from %s[%s]", up, s->name, s->addr);
	session_free(s);
}

static void connect_checked(struct session *s, enum chk_verdict v, const char *rep);

static void greet(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	long n = 0;
	s->counted = true;
	log_info("connect from %s[%s]", s->name, s->addr);
	if (srv->conn_limit > 0 && !route_limit_exempt(srv->route, &s->client) &&
	    !smtpd_client_count(srv, s->addr, &n)) {
		s->counted = false;
		log_warn("Connection concurrency limit exceeded: %ld from %s[%s] for service %s", n,
		         s->name, s->addr, srv->service);
		char bye[300];
		snprintf(bye, sizeof(bye), "421 4.7.0 %s Error: too many connections from %s",
		         srv->myhostname, s->addr);
		out_line(s, bye);
		s->state = S_CMD;
		close_after_reply(s);
		return;
	}
	if (srv->conn_limit <= 0 || route_limit_exempt(srv->route, &s->client))
		smtpd_client_count(srv, s->addr, NULL);
	s->chk = chk_txn_new();
	if (tls_set(s)->wrapper) { /* smtpd_tls_wrappermode: TLS before the banner */
		s->tls_wrap = true;
		if (!tls_begin(s)) {
			log_warn("cannot start TLS for %s[%s] (wrapper mode)", s->name, s->addr);
			s->state = S_CMD;
			close_after_reply(s);
		}
		return;
	}
	greet_banner(s);
}

static void greet_banner(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	const char *lim = smtpd_anvil_event(srv, LIMIT_CONNECT, s->name, s->addr, &s->client,
	                                    &s->anvil_counted);
	if (lim != NULL) {
		out_line(s, lim);
		s->state = S_CMD;
		close_after_reply(s);
		return;
	}
	static unsigned long serial;
	snprintf(s->instance, sizeof(s->instance), "%lx.%lx", (unsigned long)time(NULL), ++serial);
	if (!chk_delay_reject(srv->chk) && !chk_stage_empty(srv->chk, CHK_CLIENT)) {
		struct chk_input in;
		enum chk_verdict v;
		const char *rep;
		fill_input(s, &in, NULL, SMTP_UNKNOWN);
		if (run_check(s, CHK_CLIENT, "CONNECT", CW_CONNECT, NULL, &in, &v, &rep))
			connect_checked(s, v, rep);
		return;
	}
	connect_checked(s, CHK_DUNNO, NULL);
}

static void connect_checked(struct session *s, enum chk_verdict v, const char *rep)
{
	struct smtpd_server *srv = s->srv;
	s->state = S_CMD;
	char b[1024];
	if (v == CHK_REJECT || v == CHK_DEFER) {
		/* as Postfix: the reject instead of the greeting, then every
		 * command but QUIT, NOOP and RSET is refused */
		snprintf(s->deny, sizeof(s->deny), "%s", rep);
		snprintf(b, sizeof(b), "%s", rep);
	} else {
		snprintf(b, sizeof(b), "220 %s", srv->banner);
	}
	out_line(s, b);
	struct timeval tv = {srv->timeout, 0};
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static void checked(void *ctx, enum chk_verdict v, const char *rep)
{
	struct session *s = ctx;
	if (s->state != S_CHECK)
		return; /* the session is closing (timeout, shutdown) */
	s->state = S_CMD;
	switch (s->cwait) {
	case CW_CONNECT:
		connect_checked(s, v, rep);
		return;
	case CW_HELO:
		helo_checked(s, v, rep);
		break;
	case CW_MAIL:
		mail_checked(s, v, rep);
		break;
	case CW_RCPT:
		rcpt_checked(s, v, rep);
		break;
	case CW_DATA:
		data_checked(s, v, rep);
		break;
	case CW_EOD:
		eod_checked(s, v, rep);
		break;
	case CW_ETRN:
		etrn_checked(s, v, rep);
		break;
	}
	if (s->state == S_CMD)
		process(s);
}

/* The client's name is known (or not): greet. */
static void named(void *arg, const struct smtpd_client_names *n)
{
	struct session *s = arg;
	s->names = *n;
	snprintf(s->name, sizeof(s->name), "%s", n->name);
	greet(s);
}

void session_start(struct smtpd_server *srv, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct session *s = xcalloc(1, sizeof(*s));
	(void)salen;
	s->srv = srv;
	s->fd = fd;
	s->state = S_DNS;
	squeue_init(&s->q);
	snprintf(s->name, sizeof(s->name), "unknown");
	char a[INET6_ADDRSTRLEN] = "unknown";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		port = ntohs(in6->sin6_port);
	}
	netaddr_parse_addr(a, &s->client); /* also turns ::ffff:1.2.3.4 into IPv4 */
	if (s->client.family)
		inet_ntop(s->client.family, s->client.addr, a, sizeof(a));
	snprintf(s->addr, sizeof(s->addr), "%s", a);
	snprintf(s->rfc_addr, sizeof(s->rfc_addr), "%s%s",
	         s->client.family == AF_INET6 ? "IPv6:" : "", a);
	snprintf(s->port, sizeof(s->port), "%u", port);
	struct sockaddr_storage ls;
	socklen_t lslen = sizeof(ls);
	if (getsockname(fd, (struct sockaddr *)&ls, &lslen) == 0) {
		char la[INET6_ADDRSTRLEN] = "";
		unsigned lp = 0;
		if (ls.ss_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)&ls;
			inet_ntop(AF_INET, &in->sin_addr, la, sizeof(la));
			lp = ntohs(in->sin_port);
		} else if (ls.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const void *)&ls;
			inet_ntop(AF_INET6, &in6->sin6_addr, la, sizeof(la));
			lp = ntohs(in6->sin6_port);
		}
		snprintf(s->laddr, sizeof(s->laddr), "%s", la);
		snprintf(s->lport, sizeof(s->lport), "%u", lp);
	}
	if (srv->sasl) {
		s->peer = (struct sasl_peer){.name = s->name, .addr = s->addr, .port = s->port,
		                             .local_addr = s->laddr, .local_port = s->lport};
		s->sx = smtpd_sasl_sess_new(srv->sasl, &s->peer, on_auth, s);
	}
	s->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		log_warn("cannot create a session for %s", s->addr);
		close(fd);
		free(s);
		smtpd_session_gone(srv, NULL);
		return;
	}
	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
	bufferevent_setwatermark(s->bev, EV_READ, 0, INPUT_MAX);
	bufferevent_setwatermark(s->bev, EV_WRITE, OUTPUT_MAX / 2, 0);
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	smtpd_dns_client_name(srv->peername_lookup ? srv->dns : NULL, &s->client, named, s);
}

void session_shutdown_all(void)
{
	struct session *s = sessions, *next;
	for (; s != NULL; s = next) {
		next = s->next;
		if (s->state == S_CLOSING || s->state == S_DNS)
			continue;
		reset_transaction(s);
		if (s->held) {
			bufferevent_write_buffer(s->bev, s->held);
			evbuffer_free(s->held);
			s->held = NULL;
		}
		char bye[300];
		snprintf(bye, sizeof(bye), "421 4.3.2 %s Service shutting down", s->srv->myhostname);
		out_line(s, bye);
		close_after_reply(s);
	}
}
