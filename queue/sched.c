/*
 * sched.c - the scheduler of qmgr (see docs/architecture.md,
 * "Delivering", and docs/queue.md).  Runs in qmgr.  Untrusted input:
 * queue files (parsed by qfile, a bad one goes to corrupt/) and RESULT
 * records from delivery agents (checked field by field; a bad record
 * ends the request and its unanswered recipients are deferred).
 */
#include "sched.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "bounce.h"
#include "bounds.h"
#include "cfg.h"
#include "htable.h"
#include "ipc.h"
#include "log.h"
#include "mastercf.h"
#include "proto.h"
#include "qfile.h"
#include "qmgr.h"
#include "route.h"
#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

/* Per-recipient state of an active message, in memory. */
enum rst {
	RS_WAIT = 'P',   /* to be scheduled */
	RS_FLIGHT = 'I', /* in a request */
	RS_DEFER = 'T',  /* temporary failure this round */
	RS_FAIL = 'X',   /* permanent failure, bounce not yet queued */
	RS_DONE = 'D',   /* recorded in the file */
};

struct rcpt_state {
	char st;
	bool notify_success; /* delivered this round, success DSN due */
	char *status, *text, *relay;
};

struct msg {
	char id[STORE_ID_SIZE];
	struct qfile q;
	int fd;
	double t_active;
	struct rcpt_state *rs;
	size_t inflight;
	enum sched_action action;
	struct msg *next, *prev;
};

struct req;

struct transport {
	char *name;
	long proc_limit, dest_limit, rcpt_limit;
	long active;
	struct req *qhead, *qtail;
	struct htable *dest_count; /* destination -> count, as intptr_t */
	struct transport *next;
};

struct req {
	struct msg *m;
	struct transport *t;
	char *nexthop, *dest;
	size_t n, cap;
	size_t *idx;
	bool *got;
	int sock;
	bool started;
	struct event *ev;
	struct req *next;
};

static struct msg *msgs;
static size_t nactive;
static struct transport *transports;
static struct event *kick_ev, *run_ev, *tr_ev;
static char **pending;
static size_t npending;
static bool backlog = true; /* incoming/ may hold files we do not know of */
#define PENDING_MAX 10000
static uint8_t rbuf[IPC_RECORD_MAX];
static struct ipc_in rin;

static double now_f(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Delays as Postfix prints them: whole seconds from 10 on, else at most
 * two decimals without trailing zeros. */
static void fmt_delay(char *buf, size_t len, double d)
{
	if (d < 0)
		d = 0;
	if (d >= 10) {
		snprintf(buf, len, "%lld", (long long)d);
		return;
	}
	snprintf(buf, len, d >= 1 ? "%.1f" : "%.2f", d);
	char *dot = strchr(buf, '.');
	if (dot) {
		char *e = buf + strlen(buf) - 1;
		while (e > dot && *e == '0')
			*e-- = '\0';
		if (e == dot)
			*e = '\0';
	}
}

static double arrival_f(const struct msg *m)
{
	return (double)m->q.arrival + (double)m->q.arrival_usec / 1e6;
}

static void log_rcpt(const struct msg *m, size_t i, const char *dsn,
                     const char *what, const char *text)
{
	char d[32], a[32], b[32];
	double now = now_f();
	fmt_delay(d, sizeof(d), now - arrival_f(m));
	fmt_delay(a, sizeof(a), m->t_active - arrival_f(m));
	fmt_delay(b, sizeof(b), now - m->t_active);
	const struct qfile_rcpt *r = &m->q.rcpts[i];
	struct strbuf orig;
	sb_init(&orig, 0);
	if (r->orig && strcmp(r->orig, r->addr) != 0)
		sb_printf(&orig, ", orig_to=<%s>", r->orig);
	log_info("%s: to=<%s>%s, relay=none, delay=%s, delays=%s/%s/0/0, dsn=%s, "
	         "status=%s (%s)",
	         m->id, r->addr, orig.s, d, a, b, dsn, what, text);
	sb_free(&orig);
}

static void set_reason(struct rcpt_state *s, const char *status, const char *text,
                       const char *relay)
{
	/* The arguments may be the old values themselves. */
	char *st = xstrdup(status), *tx = xstrdup(text ? text : "");
	char *rl = relay ? xstrdup(relay) : NULL;
	free(s->status);
	free(s->text);
	free(s->relay);
	s->status = st;
	s->text = tx;
	s->relay = rl;
}

/* ---- transports ---- */

static long param_long(const char *tname, const char *suffix, const char *dflt)
{
	char name[256];
	snprintf(name, sizeof(name), "%s_%s", tname, suffix);
	const char *raw = cfg_raw(qmgr.cfg, name);
	long v = raw ? cfg_get_long(qmgr.cfg, name) : 0;
	if (v <= 0)
		v = cfg_get_long(qmgr.cfg, dflt);
	return v > 0 ? v : 1;
}

static bool transport_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

static struct transport *transport_get(const char *name)
{
	for (struct transport *t = transports; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	struct transport *t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->dest_limit = param_long(name, "destination_concurrency_limit",
	                           "default_destination_concurrency_limit");
	t->rcpt_limit = param_long(name, "destination_recipient_limit",
	                           "default_destination_recipient_limit");
	/* As Postfix: the transport's master.cf maxproc caps its requests. */
	t->proc_limit = qmgr.process_limit;
	const struct mcf_service *svc =
		qmgr.d.mcf ? mastercf_find(qmgr.d.mcf, name, MCF_UNIX) : NULL;
	if (svc != NULL && svc->maxproc > 0)
		t->proc_limit = svc->maxproc;
	t->dest_count = ht_new();
	t->next = transports;
	transports = t;
	return t;
}

static long dest_get(struct transport *t, const char *dest)
{
	return (long)(intptr_t)ht_get(t->dest_count, dest);
}

static void dest_add(struct transport *t, const char *dest, long d)
{
	long v = dest_get(t, dest) + d;
	if (v <= 0)
		ht_del(t->dest_count, dest);
	else
		ht_put(t->dest_count, dest, (void *)(intptr_t)v);
}

/* ---- messages ---- */

static void msg_free(struct msg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		msgs = m->next;
	if (m->next)
		m->next->prev = m->prev;
	for (size_t i = 0; i < m->q.nrcpts; i++) {
		free(m->rs[i].status);
		free(m->rs[i].text);
		free(m->rs[i].relay);
	}
	free(m->rs);
	if (m->fd >= 0)
		close(m->fd);
	qfile_free(&m->q);
	free(m);
	nactive--;
}

static void transport_run(struct transport *t);
static void msg_finish(struct msg *m);

static void req_free(struct req *r)
{
	if (r->ev)
		event_free(r->ev);
	if (r->sock >= 0)
		close(r->sock);
	free(r->nexthop);
	free(r->dest);
	free(r->idx);
	free(r->got);
	free(r);
}

/* End of a request: recipients without a result are deferred. */
static void req_end(struct req *r, const char *why)
{
	struct msg *m = r->m;
	struct transport *t = r->t;
	for (size_t k = 0; k < r->n; k++) {
		if (r->got[k])
			continue;
		size_t i = r->idx[k];
		set_reason(&m->rs[i], "4.3.0", why, NULL);
		m->rs[i].st = RS_DEFER;
		log_rcpt(m, i, "4.3.0", "deferred", why);
	}
	if (r->started) {
		t->active--;
		dest_add(t, r->dest, -1);
	}
	req_free(r);
	m->inflight--;
	if (m->inflight == 0)
		msg_finish(m);
	/* Not directly: a transport that fails every request would recurse. */
	event_active(tr_ev, 0, 0);
}

static bool status_ok(const char *s)
{
	/* X.Y.Z with X in 2, 4, 5; Y and Z up to three digits. */
	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	const char *p = s + 2;
	for (int part = 0; part < 2; part++) {
		int n = 0;
		while (isdigit((unsigned char)*p) && n < 3)
			p++, n++;
		if (n == 0)
			return false;
		if (part == 0 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

static void rcpt_result(struct msg *m, size_t i, const char *status, const char *text,
                        const char *relay)
{
	struct rcpt_state *s = &m->rs[i];
	char st[16];
	snprintf(st, sizeof(st), "%s", status);
	if (st[0] == '5' && qmgr.soft_bounce)
		st[0] = '4';
	set_reason(s, st, text, relay);
	if (st[0] == '2') {
		/* When every other recipient is done the file is removed next:
		 * a crash before that delivers this one again whether or not
		 * the byte was flushed, so the flush would buy nothing. */
		bool last = true;
		for (size_t j = 0; j < m->q.nrcpts && last; j++)
			last = j == i || m->rs[j].st == RS_DONE;
		int (*mark)(int, off_t, char) = last ? qfile_put_status : qfile_set_status;
		if (mark(m->fd, m->q.rcpts[i].status_off, QFILE_ST_DONE) != 0)
			log_warn("%s: cannot record delivery to <%s>: %s", m->id,
			         m->q.rcpts[i].addr, strerror(errno));
		m->q.rcpts[i].status = QFILE_ST_DONE;
		s->st = RS_DONE;
		s->notify_success = (m->q.rcpts[i].notify & PROTO_NOTIFY_SUCCESS) != 0;
	} else if (st[0] == '4') {
		s->st = RS_DEFER;
	} else {
		s->st = RS_FAIL;
	}
}

static void apply_result(struct req *r, size_t k, const char *status,
                         const char *text, const char *relay)
{
	rcpt_result(r->m, r->idx[k], status, text, relay);
}

static void on_agent(evutil_socket_t sock, short what, void *arg)
{
	struct req *r = arg;
	char err[256];
	int fd = -1;
	(void)sock;
	if (what & EV_TIMEOUT) {
		log_warn("%s: delivery agent %s timed out", r->m->id, r->t->name);
		req_end(r, "delivery agent timed out");
		return;
	}
	long n = ipc_recv(r->sock, rbuf, sizeof(rbuf), &fd);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		req_end(r, "mail transport unavailable");
		return;
	}
	if (!ipc_parse(rbuf, (size_t)n, &rin, err, sizeof(err))) {
		log_warn("%s: bad record from %s: %s", r->m->id, r->t->name, err);
		req_end(r, "mail transport unavailable");
		return;
	}
	if (rin.type == PROTO_DONE) {
		req_end(r, "delivery agent gave no result");
		return;
	}
	uint64_t k;
	const char *status = ipc_str(&rin, T_STATUS);
	const char *text = ipc_str(&rin, T_TEXT);
	const char *relay = ipc_str(&rin, T_RELAY);
	if (rin.type != PROTO_RESULT || !ipc_u64(&rin, T_RCPT_INDEX, &k) ||
	    k >= r->n || r->got[k] || !status_ok(status) ||
	    (text && strlen(text) > QFILE_REASON_MAX) ||
	    (relay && strlen(relay) > QFILE_REASON_MAX)) {
		log_warn("%s: malformed or unexpected record from %s", r->m->id,
		         r->t->name);
		req_end(r, "mail transport unavailable");
		return;
	}
	r->got[k] = true;
	apply_result(r, (size_t)k, status, text ? text : "", relay);
	uint64_t rflags = 0;
	if (ipc_u64(&rin, T_FLAGS, &rflags) && (rflags & PROTO_FLAG_DSN_PASSED))
		r->m->rs[r->idx[k]].notify_success = false;
}

static void req_start(struct req *r)
{
	struct msg *m = r->m;
	struct transport *t = r->t;
	char path[128];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	t->active++;
	dest_add(t, r->dest, 1);
	r->started = true;
	/* transport_name_ok() keeps the name short and path-safe */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "private/%.64s", t->name);
	r->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->sock < 0 || connect(r->sock, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		log_warn("%s: connect to transport %s: %s", m->id, t->name,
		         strerror(errno));
		req_end(r, "mail transport unavailable");
		return;
	}
	snprintf(path, sizeof(path), "active/%s", m->id);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		log_warn("%s: open %s: %s", m->id, path, strerror(errno));
		req_end(r, "queue file unavailable");
		return;
	}
	char a[32], b[32], delays[80];
	double now = now_f();
	fmt_delay(a, sizeof(a), m->t_active - arrival_f(m));
	fmt_delay(b, sizeof(b), now - m->t_active);
	snprintf(delays, sizeof(delays), "%s/%s", a, b);
	struct ipc_out o;
	ipc_out_init(&o, PROTO_DELIVER);
	ipc_add_str(&o, T_ID, m->id);
	ipc_add_str(&o, T_SENDER, m->q.sender);
	ipc_add_u64(&o, T_ARRIVAL, (uint64_t)m->q.arrival);
	ipc_add_u64(&o, T_OFFSET, (uint64_t)m->q.content_off);
	ipc_add_u64(&o, T_LENGTH, (uint64_t)m->q.content_len);
	ipc_add_str(&o, T_NEXTHOP, r->nexthop);
	ipc_add_str(&o, T_DELAYS, delays);
	ipc_add_u64(&o, T_FLAGS, m->q.flags & PROTO_FLAG_BOUNCE);
	if (m->q.envid)
		ipc_add_str(&o, T_ENVID, m->q.envid);
	if (m->q.ret)
		ipc_add_str(&o, T_RET, m->q.ret);
	if (m->q.body)
		ipc_add_str(&o, T_BODY, m->q.body);
	if (m->q.smtputf8)
		ipc_add_u64(&o, T_SMTPUTF8, 1);
	for (size_t k = 0; k < r->n; k++) {
		const struct qfile_rcpt *rc = &m->q.rcpts[r->idx[k]];
		ipc_add_str(&o, T_RCPT, rc->addr);
		if (rc->orig)
			ipc_add_str(&o, T_ORIG_RCPT, rc->orig);
		if (rc->orcpt)
			ipc_add_str(&o, T_ORCPT, rc->orcpt);
		ipc_add_u64(&o, T_NOTIFY, rc->notify);
	}
	int rc = ipc_send(r->sock, &o, fd);
	ipc_out_free(&o);
	close(fd);
	if (rc != 0) {
		log_warn("%s: send to transport %s: %s", m->id, t->name, strerror(errno));
		req_end(r, "mail transport unavailable");
		return;
	}
	r->ev = event_new(qmgr.base, r->sock, EV_READ | EV_PERSIST, on_agent, r);
	struct timeval tv = {.tv_sec = qmgr.ipc_timeout, .tv_usec = 0};
	event_add(r->ev, &tv);
}

static void transport_run(struct transport *t)
{
	struct req **pp = &t->qhead, *prev = NULL;
	while (*pp && t->active < t->proc_limit) {
		struct req *r = *pp;
		if (dest_get(t, r->dest) >= t->dest_limit) {
			prev = r;
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		if (t->qtail == r)
			t->qtail = prev;
		r->next = NULL;
		req_start(r);
	}
}

static void enqueue(struct req *r)
{
	struct transport *t = r->t;
	if (t->qtail)
		t->qtail->next = r;
	else
		t->qhead = r;
	t->qtail = r;
}

/* Group the waiting recipients into requests and queue them. */
static void msg_plan(struct msg *m)
{
	struct req **open = NULL;
	size_t nopen = 0;
	for (size_t i = 0; i < m->q.nrcpts; i++) {
		if (m->rs[i].st != RS_WAIT)
			continue;
		/* Routing (route.c); error:, retry: and discard: end here. */
		struct route rt;
		route_resolve(m->q.rcpts[i].addr, m->q.sender, &rt);
		if (rt.kind != ROUTE_DELIVER) {
			const char *what = rt.kind == ROUTE_DISCARD ? "sent"
			                   : rt.kind == ROUTE_DEFER ? "deferred"
			                   : qmgr.soft_bounce ? "SOFTBOUNCE" : "bounced";
			log_rcpt(m, i, rt.status, what, rt.text);
			rcpt_result(m, i, rt.status, rt.text, "none");
			route_clear(&rt);
			continue;
		}
		char *tname = rt.transport, *nh = rt.nexthop;
		rt.transport = rt.nexthop = NULL;
		route_clear(&rt);
		if (!transport_name_ok(tname)) {
			log_warn("%s: bad transport name \"%s\"", m->id, tname);
			set_reason(&m->rs[i], "4.3.0", "mail transport unavailable", NULL);
			m->rs[i].st = RS_DEFER;
			free(tname);
			free(nh);
			continue;
		}
		struct transport *t = transport_get(tname);
		struct req *r = NULL;
		for (size_t j = 0; j < nopen && r == NULL; j++)
			if (open[j]->t == t && strcmp(open[j]->nexthop, nh) == 0 &&
			    (long)open[j]->n < t->rcpt_limit)
				r = open[j];
		if (r == NULL) {
			r = xcalloc(1, sizeof(*r));
			r->m = m;
			r->t = t;
			r->sock = -1;
			r->nexthop = xstrdup(nh);
			/* With one recipient per request, Postfix counts concurrency
			 * per recipient; otherwise per next hop. */
			r->dest = xstrdup(t->rcpt_limit == 1 ? m->q.rcpts[i].addr : nh);
			open = xreallocarray(open, nopen + 1, sizeof(*open));
			open[nopen++] = r;
		}
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 4;
			r->idx = xreallocarray(r->idx, r->cap, sizeof(*r->idx));
			r->got = xreallocarray(r->got, r->cap, sizeof(*r->got));
		}
		r->idx[r->n] = i;
		r->got[r->n++] = false;
		m->rs[i].st = RS_FLIGHT;
		free(tname);
		free(nh);
	}
	m->inflight = nopen;
	for (size_t j = 0; j < nopen; j++)
		enqueue(open[j]);
	free(open);
	if (nopen == 0)
		msg_finish(m);
	else
		event_active(tr_ev, 0, 0);
}

static void write_defer_log(struct msg *m)
{
	char path[64];
	snprintf(path, sizeof(path), "defer/%s", m->id);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_warn("%s: %s", path, strerror(errno));
		return;
	}
	for (size_t i = 0; i < m->q.nrcpts; i++)
		if (m->rs[i].st == RS_DEFER && m->rs[i].status)
			qfile_reason_append(fd, i, m->rs[i].status, m->rs[i].text);
	close(fd);
}

static size_t collect(struct msg *m, char st, bool success_only,
                      struct bounce_rcpt **out)
{
	size_t n = 0;
	*out = xcalloc(m->q.nrcpts, sizeof(**out));
	for (size_t i = 0; i < m->q.nrcpts; i++) {
		struct rcpt_state *s = &m->rs[i];
		if (s->st != st || (success_only && !s->notify_success))
			continue;
		struct bounce_rcpt *b = &(*out)[n++];
		b->index = i;
		b->rcpt = &m->q.rcpts[i];
		b->status = s->status ? s->status : "4.0.0";
		b->text = s->text ? s->text : "";
		b->relay = s->relay;
	}
	return n;
}

static void msg_finish(struct msg *m)
{
	double now = now_f();
	long life = (*m->q.sender == '\0') ? qmgr.bounce_lifetime : qmgr.max_lifetime;
	bool expired = now - arrival_f(m) >= (double)life;
	struct bounce_rcpt *br;
	size_t n;

	if (expired) {
		for (size_t i = 0; i < m->q.nrcpts; i++) {
			struct rcpt_state *s = &m->rs[i];
			if (s->st != RS_DEFER)
				continue;
			const char *why = s->text && *s->text ? s->text : "delivery temporarily suspended";
			log_rcpt(m, i, s->status ? s->status : "4.4.7",
			         "expired, returned to sender", why);
			char st[16];
			snprintf(st, sizeof(st), "5%s", s->status ? s->status + 1 : ".4.7");
			set_reason(s, st, why, s->relay);
			s->st = RS_FAIL;
		}
	}
	n = collect(m, RS_FAIL, false, &br);
	if (n > 0) {
		if (bounce_send(&m->q, m->fd, BOUNCE_FAILURE, br, n) == 0) {
			for (size_t k = 0; k < n; k++) {
				size_t i = br[k].index;
				if (qfile_set_status(m->fd, m->q.rcpts[i].status_off, QFILE_ST_FAILED) != 0)
					log_warn("%s: cannot record failure of <%s>: %s", m->id,
					         m->q.rcpts[i].addr, strerror(errno));
				m->rs[i].st = RS_DONE;
			}
		} else {
			for (size_t k = 0; k < n; k++)
				m->rs[br[k].index].st = RS_DEFER;
		}
	}
	free(br);
	n = collect(m, RS_DONE, true, &br);
	if (n > 0)
		(void)bounce_send(&m->q, m->fd, BOUNCE_SUCCESS, br, n);
	free(br);

	bool left = false;
	for (size_t i = 0; i < m->q.nrcpts; i++)
		left |= m->rs[i].st == RS_DEFER;
	if (m->action == SCHED_DELETE || !left) {
		store_remove(m->id, "active", true);
	} else if (m->action == SCHED_HOLD) {
		if (store_move(m->id, "active", "hold") != 0)
			log_warn("%s: move to hold: %s", m->id, strerror(errno));
	} else {
		write_defer_log(m);
		long warn = cfg_get_time(qmgr.cfg, "delay_warning_time");
		if (warn > 0 && !m->q.warned && m->q.warned_off > 0 &&
		    now - arrival_f(m) >= (double)warn) {
			n = collect(m, RS_DEFER, false, &br);
			if (bounce_send(&m->q, m->fd, BOUNCE_DELAY, br, n) == 0 &&
			    qfile_set_status(m->fd, m->q.warned_off, '1') != 0)
				log_warn("%s: cannot record the delay warning: %s", m->id,
				         strerror(errno));
			free(br);
		}
		double age = now - arrival_f(m);
		long backoff = age < (double)qmgr.min_backoff ? qmgr.min_backoff
		             : age > (double)qmgr.max_backoff ? qmgr.max_backoff
		                                              : (long)age;
		struct timespec ts[2] = {{.tv_sec = (time_t)now, .tv_nsec = 0},
		                         {.tv_sec = (time_t)now + backoff, .tv_nsec = 0}};
		if (futimens(m->fd, ts) != 0)
			log_warn("%s: set retry time: %s", m->id, strerror(errno));
		if (store_move(m->id, "active", "deferred") != 0)
			log_warn("%s: move to deferred: %s", m->id, strerror(errno));
	}
	msg_free(m);
	if (kick_ev)
		event_active(kick_ev, 0, 0);
}

static void activate(const char *id)
{
	char path[64], err[256];
	if (store_move(id, "incoming", "active") != 0) {
		if (errno != ENOENT)
			log_warn("%s: move to active: %s", id, strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "active/%s", id);
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct msg *m = xcalloc(1, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->fd = fd;
	if (fd < 0 || !qfile_parse_fd(fd, &m->q, err, sizeof(err)) ||
	    strcmp(m->q.id, id) != 0) {
		if (fd < 0)
			snprintf(err, sizeof(err), "%s", strerror(errno));
		else if (m->q.id != NULL)
			snprintf(err, sizeof(err), "queue id does not match file name");
		log_warn("%s: corrupt queue file (%s): moved to corrupt", id, err);
		if (store_move(id, "active", "corrupt") != 0)
			log_warn("%s: move to corrupt: %s", id, strerror(errno));
		if (fd >= 0)
			close(fd);
		qfile_free(&m->q);
		free(m);
		return;
	}
	m->t_active = now_f();
	m->rs = xcalloc(m->q.nrcpts, sizeof(*m->rs));
	for (size_t i = 0; i < m->q.nrcpts; i++)
		m->rs[i].st = m->q.rcpts[i].status == QFILE_ST_PENDING ? RS_WAIT : RS_DONE;
	m->next = msgs;
	if (msgs)
		msgs->prev = m;
	msgs = m;
	nactive++;
	log_info("%s: from=<%s>, size=%lld, nrcpt=%zu (queue active)", id,
	         m->q.sender, (long long)m->q.content_len, m->q.nrcpts);
	msg_plan(m);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted valid ids in a queue directory. */
static size_t list_dir(const char *dir, char ***out)
{
	size_t n = 0, cap = 0;
	char **v = NULL;
	DIR *d = opendir(dir);
	if (d == NULL) {
		*out = NULL;
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!store_id_ok(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	size_t i = 0;
	for (; i < npending && nactive < (size_t)qmgr.active_limit && !qmgr.stopping; i++) {
		activate(pending[i]);
		free(pending[i]);
	}
	if (i < npending) {
		memmove(pending, pending + i, (npending - i) * sizeof(*pending));
		npending -= i;
		return;
	}
	npending = 0;
	if (backlog && nactive < (size_t)qmgr.active_limit && !qmgr.stopping) {
		char **v;
		size_t n = list_dir("incoming", &v);
		size_t k = 0;
		for (; k < n && nactive < (size_t)qmgr.active_limit; k++)
			if (!sched_is_active(v[k]))
				activate(v[k]);
		backlog = k < n;
		free_list(v, n);
	}
}

void sched_new(const char *id)
{
	if (npending >= PENDING_MAX) {
		backlog = true;
	} else {
		pending = xreallocarray(pending, npending + 1, sizeof(*pending));
		pending[npending++] = xstrdup(id);
	}
	event_active(kick_ev, 0, 0);
}

static size_t deferred_run(const char *only, bool force)
{
	char **v;
	size_t n = list_dir("deferred", &v), count = 0;
	time_t now = time(NULL);
	for (size_t k = 0; k < n; k++) {
		if (only && strcmp(only, v[k]) != 0)
			continue;
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "deferred/%s", v[k]);
		if (stat(path, &st) != 0 || (!force && st.st_mtime > now))
			continue;
		if (store_move(v[k], "deferred", "incoming") != 0) {
			log_warn("%s: move to incoming: %s", v[k], strerror(errno));
			continue;
		}
		sched_new(v[k]);
		count++;
	}
	free_list(v, n);
	return count;
}

static void on_run(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	if (!qmgr.stopping)
		deferred_run(NULL, false);
}

size_t sched_flush(const char *id)
{
	return deferred_run(id, true);
}

/* Whether the deferred message id has a pending recipient in domain. */
static bool pending_for(const char *id, const char *domain)
{
	char path[64], err[256];
	snprintf(path, sizeof(path), "deferred/%s", id);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct qfile q;
	qfile_init(&q);
	bool found = false;
	if (qfile_parse_fd(fd, &q, err, sizeof(err)))
		for (size_t i = 0; i < q.nrcpts && !found; i++) {
			const char *at = strrchr(q.rcpts[i].addr, '@');
			found = q.rcpts[i].status == QFILE_ST_PENDING && at != NULL &&
			        strcasecmp(at + 1, domain) == 0;
		}
	qfile_free(&q);
	close(fd);
	return found;
}

size_t sched_flush_domain(const char *domain)
{
	char **v;
	size_t n = list_dir("deferred", &v), count = 0;
	for (size_t k = 0; k < n; k++) {
		if (!pending_for(v[k], domain))
			continue;
		if (store_move(v[k], "deferred", "incoming") != 0) {
			log_warn("%s: move to incoming: %s", v[k], strerror(errno));
			continue;
		}
		sched_new(v[k]);
		count++;
	}
	free_list(v, n);
	return count;
}

bool sched_is_active(const char *id)
{
	for (struct msg *m = msgs; m; m = m->next)
		if (strcmp(m->id, id) == 0)
			return true;
	return false;
}

bool sched_active_action(const char *id, enum sched_action a)
{
	for (struct msg *m = msgs; m; m = m->next)
		if (strcmp(m->id, id) == 0) {
			m->action = a;
			return true;
		}
	return false;
}

size_t sched_nactive(void)
{
	return nactive;
}

static void on_transports(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	for (struct transport *t = transports; t; t = t->next)
		transport_run(t);
}

void sched_init(void)
{
	tr_ev = event_new(qmgr.base, -1, 0, on_transports, NULL);
	kick_ev = event_new(qmgr.base, -1, 0, on_kick, NULL);
	run_ev = event_new(qmgr.base, -1, EV_PERSIST, on_run, NULL);
	struct timeval tv = {.tv_sec = qmgr.run_delay > 0 ? qmgr.run_delay : 1};
	event_add(run_ev, &tv);
	backlog = true;
	deferred_run(NULL, false);
	event_active(kick_ev, 0, 0);
}

void sched_shutdown(void)
{
	if (run_ev)
		event_free(run_ev);
	if (kick_ev)
		event_free(kick_ev);
	run_ev = kick_ev = NULL;
}
