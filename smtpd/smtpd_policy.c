/*
 * smtpd_policy.c - policy delegation client (see smtpd_policy.h).  Runs
 * in smtpd's event loop; every request has its own connection at a
 * time, so a slow server delays only the sessions that asked it.
 * Untrusted input: the server's reply (policy_reply_parse).
 */
#include "smtpd_policy.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "smtpd_check.h"
#include "xalloc.h"

long policy_reply_parse(const char *buf, size_t len, char *action, size_t actlen)
{
	size_t pos = 0;
	bool have = false;
	if (actlen > 0)
		action[0] = '\0';
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		if (ll > POLICY_LINE_MAX || pos + ll > POLICY_REPLY_MAX)
			return -1;
		if (memchr(buf + pos, '\0', ll) != NULL)
			return -1;
		if (nl == NULL)
			return 0;
		const char *line = buf + pos;
		size_t l = ll;
		if (l > 0 && line[l - 1] == '\r')
			l--;
		pos += ll + 1;
		if (l == 0)
			return (long)pos;
		const char *eq = memchr(line, '=', l);
		if (eq == NULL || eq == line)
			return -1;
		size_t nl_ = (size_t)(eq - line);
		if (nl_ == 6 && memcmp(line, "action", 6) == 0 && !have && actlen > 0) {
			size_t vl = l - nl_ - 1;
			if (vl >= actlen)
				vl = actlen - 1;
			memcpy(action, eq + 1, vl);
			action[vl] = '\0';
			have = true;
		}
	}
	return len > POLICY_REPLY_MAX ? -1 : 0;
}

struct pconn {
	struct pconn *next;
	struct bufferevent *bev;
	time_t born;
	long count;
	struct event *idle;
	struct psvc *svc;
};

struct psvc {
	struct psvc *next;
	struct chk_policy_svc *cs;
	struct sockaddr_storage ss;
	socklen_t sslen;
	bool ok;
	struct pconn *idle; /* reusable connections */
};

struct preq {
	struct preq *next, *prev;
	struct policy *p;
	struct psvc *svc;
	struct chk_run *run;
	char *req;
	size_t len;
	long tries;
	struct pconn *conn;
	struct event *retry;
};

struct policy {
	struct event_base *base;
	struct psvc *svcs;
	struct preq *reqs;
};

static void conn_close(struct pconn *c)
{
	if (c == NULL)
		return;
	if (c->idle)
		event_free(c->idle);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c);
}

static void idle_remove(struct psvc *s, struct pconn *c)
{
	for (struct pconn **pp = &s->idle; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void on_idle_event(struct bufferevent *bev, short what, void *arg)
{
	struct pconn *c = arg;
	(void)bev;
	(void)what;
	idle_remove(c->svc, c); /* the server closed an idle connection */
	conn_close(c);
}

static void on_idle_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	on_idle_event(NULL, 0, arg);
}

static void req_free(struct preq *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->p->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->retry)
		event_free(r->retry);
	conn_close(r->conn);
	free(r->req);
	free(r);
}

static void req_send(struct preq *r);

static void req_answer(struct preq *r, const char *action)
{
	struct chk_run *run = r->run;
	req_free(r);
	chk_resume_access(run, action);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct preq *r = arg;
	(void)fd;
	(void)what;
	event_free(r->retry);
	r->retry = NULL;
	req_send(r);
}

static void req_fail(struct preq *r, const char *why)
{
	conn_close(r->conn);
	r->conn = NULL;
	const struct chk_policy_svc *cs = r->svc->cs;
	if (r->tries < chk_policy_setting(cs, "try_limit")) {
		log_warn("problem talking to server %s: %s", chk_policy_spec(cs), why);
		struct timeval tv = {chk_policy_setting(cs, "retry_delay"), 0};
		r->retry = evtimer_new(r->p->base, on_retry, r);
		evtimer_add(r->retry, &tv);
		return;
	}
	log_warn("problem talking to server %s: %s", chk_policy_spec(cs), why);
	req_answer(r, chk_policy_default_action(cs));
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct preq *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	size_t take = len > POLICY_REPLY_MAX + 1 ? POLICY_REPLY_MAX + 1 : len;
	const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
	char action[POLICY_LINE_MAX + 1];
	long n = policy_reply_parse(p, take, action, sizeof(action));
	if (n == 0 && len <= POLICY_REPLY_MAX)
		return;
	if (n <= 0) {
		req_fail(r, "malformed reply");
		return;
	}
	evbuffer_drain(in, (size_t)n);
	if (action[0] == '\0') {
		req_fail(r, "reply without action");
		return;
	}
	struct pconn *c = r->conn;
	r->conn = NULL;
	const struct chk_policy_svc *cs = r->svc->cs;
	long limit = chk_policy_setting(cs, "request_limit");
	c->count++;
	if (evbuffer_get_length(in) == 0 && (limit <= 0 || c->count < limit) &&
	    time(NULL) - c->born < chk_policy_setting(cs, "max_ttl")) {
		/* keep it for the next request */
		bufferevent_setcb(c->bev, NULL, NULL, on_idle_event, c);
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		struct timeval tv = {chk_policy_setting(cs, "max_idle"), 0};
		c->idle = evtimer_new(r->p->base, on_idle_timeout, c);
		evtimer_add(c->idle, &tv);
		c->next = r->svc->idle;
		r->svc->idle = c;
	} else {
		conn_close(c);
	}
	req_answer(r, action);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct preq *r = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	req_fail(r, what & BEV_EVENT_TIMEOUT ? "timeout" : what & BEV_EVENT_EOF ? "connection closed"
	                                                                         : strerror(errno));
}

static void req_send(struct preq *r)
{
	struct psvc *s = r->svc;
	const struct chk_policy_svc *cs = s->cs;
	r->tries++;
	if (!s->ok) {
		req_fail(r, "bad service address");
		return;
	}
	struct pconn *c = s->idle;
	while (c && time(NULL) - c->born >= chk_policy_setting(cs, "max_ttl")) {
		s->idle = c->next;
		conn_close(c);
		c = s->idle;
	}
	if (c) {
		s->idle = c->next;
		event_free(c->idle);
		c->idle = NULL;
	} else {
		c = xcalloc(1, sizeof(*c));
		c->svc = s;
		c->born = time(NULL);
		c->bev = bufferevent_socket_new(r->p->base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL ||
		    bufferevent_socket_connect(c->bev, (struct sockaddr *)&s->ss, (int)s->sslen) < 0) {
			r->conn = c;
			req_fail(r, "cannot connect");
			return;
		}
	}
	r->conn = c;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, r);
	struct timeval tv = {chk_policy_setting(cs, "timeout"), 0};
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_write(c->bev, r->req, r->len);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void hook(void *ctx, struct chk_run *run, struct chk_policy_svc *cs, const char *req,
                 size_t len)
{
	struct policy *p = ctx;
	struct psvc *s;
	for (s = p->svcs; s && s->cs != cs; s = s->next)
		;
	if (s == NULL || len == 0) {
		chk_resume_access(run, chk_policy_default_action(cs));
		return;
	}
	struct preq *r = xcalloc(1, sizeof(*r));
	r->p = p;
	r->svc = s;
	r->run = run;
	r->req = xmalloc(len);
	memcpy(r->req, req, len);
	r->len = len;
	r->next = p->reqs;
	if (p->reqs)
		p->reqs->prev = r;
	p->reqs = r;
	req_send(r);
}

static void cancel(void *ctx, struct chk_run *run)
{
	struct policy *p = ctx;
	for (struct preq *r = p->reqs, *nx; r; r = nx) {
		nx = r->next;
		if (r->run == run)
			req_free(r);
	}
}

static bool resolve(const char *target, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strncmp(target, "unix:", 5) == 0 || target[0] == '/') {
		const char *path = target[0] == '/' ? target : target + 5;
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		if (strlen(path) >= sizeof(un->sun_path))
			return false;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, path, strlen(path) + 1);
		*len = sizeof(*un);
		return true;
	}
	if (strncmp(target, "inet:", 5) != 0)
		return false;
	char host[300];
	snprintf(host, sizeof(host), "%s", target + 5);
	char *port = strrchr(host, ':');
	if (port == NULL)
		return false;
	*port++ = '\0';
	char *h = host;
	if (h[0] == '[') {
		h++;
		h[strcspn(h, "]")] = '\0';
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	if (getaddrinfo(*h ? h : "localhost", port, &hints, &res) != 0)
		return false;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

struct policy *policy_init(struct event_base *base, struct chk *c)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	p->base = base;
	for (struct chk_policy_svc *cs = chk_policy_first(c); cs; cs = chk_policy_next(cs)) {
		struct psvc *s = xcalloc(1, sizeof(*s));
		s->cs = cs;
		s->ok = resolve(chk_policy_spec(cs), &s->ss, &s->sslen);
		if (!s->ok)
			log_warn("check_policy_service %s: cannot resolve the address; its requests "
			         "get the default action",
			         chk_policy_spec(cs));
		s->next = p->svcs;
		p->svcs = s;
	}
	chk_set_policy(c, hook, cancel, p);
	return p;
}

void policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	while (p->reqs)
		req_free(p->reqs);
	for (struct psvc *s = p->svcs, *nx; s; s = nx) {
		nx = s->next;
		while (s->idle) {
			struct pconn *c = s->idle;
			s->idle = c->next;
			conn_close(c);
		}
		free(s);
	}
	free(p);
}
