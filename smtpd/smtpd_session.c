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
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "netaddr.h"
#include "proto.h"
#include "smtpd.h"
#include "smtpd_cmd.h"
#include "smtpd_data.h"
#include "smtpd_dns.h"
#include "smtpd_facts.h"
#include "smtpd_queue.h"
#include "smtpd_route.h"
#include "xalloc.h"

/* Content is handed to the queue file in pieces of this size. */
#define CONTENT_FLUSH (64 * 1024)
/* Input buffered per session before we stop reading. */
#define INPUT_MAX (256 * 1024)
/* Replies a client has not read yet: past this, its commands wait (a
 * client that pipelines without reading cannot make us buffer more). */
#define OUTPUT_MAX (256 * 1024)

/* S_QWAIT: waiting for qmgr's answer; input stays buffered meanwhile. */
enum sstate { S_DNS, S_CMD, S_SKIPLINE, S_DATA, S_BDAT, S_QWAIT, S_CLOSING };
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
	bool esmtp;
	struct smtpd_tls_facts tls;   /* filled by the TLS layer */
	struct smtpd_sasl_facts sasl; /* filled by the SASL layer */
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
};

static void process(struct session *s);
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
	squeue_abort(&s->q);
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
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->bev)
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
	qwait_cancel(s);
	squeue_abort(&s->q);
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

static void do_ehlo(struct session *s, const struct smtp_cmd *c)
{
	struct smtpd_server *srv = s->srv;
	reset_transaction(s);
	smtp_printable(s->helo, sizeof(s->helo), c->arg, c->arglen);
	s->esmtp = c->verb == SMTP_EHLO;
	if (!s->esmtp) {
		reply(s, "250 %s", srv->myhostname);
		return;
	}
	char kw[16][64];
	size_t n = 0;
	snprintf(kw[n++], 64, "PIPELINING");
	if (srv->size_limit)
		snprintf(kw[n++], 64, "SIZE %llu", (unsigned long long)srv->size_limit);
	else
		snprintf(kw[n++], 64, "SIZE");
	if (!srv->vrfy_disabled)
		snprintf(kw[n++], 64, "VRFY");
	snprintf(kw[n++], 64, "ENHANCEDSTATUSCODES");
	snprintf(kw[n++], 64, "8BITMIME");
	snprintf(kw[n++], 64, "DSN");
	if (srv->smtputf8)
		snprintf(kw[n++], 64, "SMTPUTF8");
	snprintf(kw[n++], 64, "CHUNKING");
	char line[300];
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

static void do_mail(struct session *s, const struct smtp_cmd *c)
{
	struct smtpd_server *srv = s->srv;
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
	if (c->has_size && srv->size_limit && c->size > srv->size_limit) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		log_reject(s, "MAIL", "552 5.3.4 Message size exceeds fixed limit", NULL);
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
	reply(s, "250 2.1.0 Ok");
}

static const char *body_name(enum smtp_body b)
{
	return b == SMTP_BODY_7BIT ? "7BIT" : b == SMTP_BODY_8BITMIME ? "8BITMIME" : NULL;
}

static bool open_queue(struct session *s, char *rep, size_t len)
{
	struct squeue_env env = {
		.sender = s->sender,
		.client_name = s->name,
		.client_addr = s->addr,
		.client_port = s->port,
		.helo = s->helo,
		.protocol = s->esmtp ? "ESMTP" : "SMTP",
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

static void do_rcpt(struct session *s, const struct smtp_cmd *c)
{
	struct smtpd_server *srv = s->srv;
	char rep[SMTP_ADDR_MAX + 200];
	bool local;
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
	if (route_rcpt(srv->route, c, &s->client, &local, rep, sizeof(rep)) != ROUTE_ACCEPT) {
		reply(s, "%s", rep);
		log_reject(s, "RCPT", rep, c->addr_ext);
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
	sb_printf(h, "Received: from %s (%s [%s])\n", s->helo[0] ? s->helo : s->name, s->name,
	          s->rfc_addr);
	/* RFC 6531 names the protocol UTF8SMTP when SMTPUTF8 was asked for. */
	sb_printf(h, "\tby %s (%s) with %s id %s", s->srv->myhostname, s->srv->mail_name,
	          s->smtputf8 ? "UTF8SMTP" : s->esmtp ? "ESMTP" : "SMTP", s->q.id);
	if (s->nrcpt == 1)
		sb_printf(h, "\n\tfor <%s>; %s\n", s->rcpts[0].addr, date);
	else
		sb_printf(h, ";\n\t%s\n", date);
}

static void start_content(struct session *s, bool dot_mode)
{
	struct strbuf h;
	sb_init(&h, 0);
	received_header(s, &h);
	uint64_t limit = s->srv->size_limit;
	if (limit) /* qmgr counts the Received: header too */
		limit = limit > h.len ? limit - h.len : 1;
	sdata_init(&s->data, dot_mode, s->srv->reject_bare_lf && dot_mode, limit);
	s->data_open = true;
	squeue_write(&s->q, h.s, h.len);
	sb_free(&h);
}

static void flush_content(struct session *s, bool all)
{
	struct strbuf *o = &s->data.out;
	if (o->len == 0 || (!all && o->len < CONTENT_FLUSH))
		return;
	squeue_write(&s->q, o->s, o->len);
	sb_reset(o);
}

/* End of DATA or BDAT LAST: commit, answer. */
static void finish_content(struct session *s, const char *what, bool bdat)
{
	char rep[300];
	sdata_finish(&s->data);
	flush_content(s, true);
	if (s->data.too_big) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		log_reject(s, what, "552 5.3.4 Message size exceeds fixed limit", NULL);
		reset_transaction(s);
		return;
	}
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
		reply(s, "502 5.5.1 Error: command not implemented");
		break;
	case SMTP_HELP:
		reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT");
		break;
	case SMTP_STARTTLS:
		reply(s, "502 5.5.1 Error: command not implemented");
		break;
	case SMTP_AUTH:
		reply(s, "503 5.5.1 Error: authentication not enabled");
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
	while (!s->paused && s->state != S_CLOSING && s->state != S_DNS && s->state != S_QWAIT) {
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
			s->state = S_CMD;
			s->last_verb = SMTP_UNKNOWN;
			reply(s, "500 5.5.2 Error: line too long");
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
	s->state = S_CMD;
	char b[1024];
	snprintf(b, sizeof(b), "220 %s", srv->banner);
	out_line(s, b);
	struct timeval tv = {srv->timeout, 0};
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
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
