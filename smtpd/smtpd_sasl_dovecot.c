/*
 * smtpd_sasl_dovecot.c - the Dovecot auth protocol, client side, as the
 * backend of smtpd's AUTH (see smtpd_sasl.h).  Runs in smtpd.
 * Untrusted-ish input: lines from the auth server (bounded by
 * DOVECOT_LINE_MAX, parsed by dv_line_parse; a line we cannot parse
 * ends the connection).
 *
 * One connection per smtpd process, shared by all its sessions; each
 * AUTH exchange is one request id.  Everything is asynchronous on the
 * process's event loop: a slow auth server (Dovecot delays failures on
 * purpose) holds only the sessions whose requests wait, and each
 * request gives up after DOVECOT_TIMEOUT seconds with 454.
 *
 * smtpd_sasl_path: "inet:host:port", or a unix socket path; a relative
 * path is relative to queue_directory (smtpd's working directory,
 * chrooted or not), e.g. "private/auth".
 *
 * The handshake:  we send  VERSION 1 1, CPID <pid>;  the server sends
 * VERSION, MECH (one per mechanism, with its flags), SPID, CUID,
 * COOKIE, DONE.  The mechanism list is kept after the connection goes,
 * so EHLO keeps offering AUTH while we reconnect.  The first
 * connection is made right after privileges are dropped, before any
 * client is accepted, so the first EHLO already knows the mechanisms.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bounds.h"
#include "cfg.h"
#include "log.h"
#include "smtpd_sasl.h"
#include "smtpd_sasl_parse.h"
#include "strbuf.h"
#include "xalloc.h"

enum dv_state { DV_DOWN, DV_CONNECTING, DV_READY };

struct dv_mech {
	char name[SASL_MECH_NAME_MAX + 1];
	unsigned flags; /* SASL_SEC_* that this mechanism violates */
	bool priv;      /* "private": never announced */
};

struct dv_x;

struct dv_server {
	struct event_base *base;
	char *path;
	char *service;
	struct bufferevent *bev;
	enum dv_state st;
	bool got_version;
	struct dv_mech mechs[SASL_MECHS_MAX];
	size_t nmechs;    /* of the last completed handshake */
	struct dv_mech nm[SASL_MECHS_MAX];
	size_t nnm;       /* during a handshake */
	unsigned long next_id;
	unsigned gen; /* connections made, to tie a request to its connection */
	struct dv_x *reqs; /* waiting to be sent or answered */
	struct event *conn_timer;
};

struct dv_x {
	struct dv_x *next, *prev;
	struct dv_server *s;
	unsigned long id;
	bool linked;
	bool sent;
	unsigned gen;
	char *line; /* the request, until sent */
	sasl_step_fn *fn;
	void *arg;
	struct event *timer;
	char ip[64], lip[64], tls;
};

static void dv_connect(struct dv_server *s);

static void x_link(struct dv_x *x)
{
	struct dv_server *s = x->s;
	x->next = s->reqs;
	x->prev = NULL;
	if (s->reqs)
		s->reqs->prev = x;
	s->reqs = x;
	x->linked = true;
}

static void x_unlink(struct dv_x *x)
{
	if (!x->linked)
		return;
	if (x->prev)
		x->prev->next = x->next;
	else
		x->s->reqs = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->linked = false;
	if (x->timer)
		evtimer_del(x->timer);
}

/* Report to the session; it may free x from inside fn, so x is not
 * touched after. */
static void x_report(struct dv_x *x, enum sasl_status st, const unsigned char *d, size_t n,
                     const char *text)
{
	x_unlink(x);
	free(x->line);
	x->line = NULL;
	sasl_step_fn *fn = x->fn;
	x->fn = NULL;
	if (fn)
		fn(x->arg, st, d, n, text);
}

static void dv_drop(struct dv_server *s, const char *why)
{
	if (s->bev) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (s->conn_timer)
		evtimer_del(s->conn_timer);
	if (why && strncmp(why, "Connect to ", 11) == 0)
		log_warn("SASL: %s", why); /* as Postfix words it */
	else if (why)
		log_warn("SASL: %s: %s", s->path, why);
	s->st = DV_DOWN;
	/* Every request in flight fails (as Postfix words it; fail2ban's
	 * filter leaves these alone). */
	struct dv_x *l = s->reqs;
	s->reqs = NULL; /* requests made from inside the reports go to a new connection */
	while (l) {
		struct dv_x *x = l;
		l = x->next;
		x->linked = false;
		evtimer_del(x->timer);
		x_report(x, SASL_ST_TEMP, NULL, 0, "Connection lost to authentication server");
	}
}

static void x_send(struct dv_x *x)
{
	bufferevent_write(x->s->bev, x->line, strlen(x->line));
	free(x->line);
	x->line = NULL;
	x->sent = true;
	x->gen = x->s->gen;
}

static unsigned mech_flags(const struct dv_line *l, bool *priv)
{
	unsigned f = 0;
	*priv = false;
	for (size_t i = 1; i < l->nargs; i++) {
		const char *a = l->args[i];
		if (strcmp(a, "anonymous") == 0)
			f |= PT_SEC_NOANON;
		else if (strcmp(a, "plaintext") == 0)
			f |= PT_SEC_NOPLAIN;
		else if (strcmp(a, "dictionary") == 0)
			f |= PT_SEC_NODICT;
		else if (strcmp(a, "active") == 0)
			f |= PT_SEC_NOACTIVE;
		else if (strcmp(a, "private") == 0)
			*priv = true;
	}
	return f;
}

/* flags the mechanism has that satisfy mutual_auth / forward_secrecy */
static unsigned mech_goods(const struct dv_line *l)
{
	unsigned g = 0;
	for (size_t i = 1; i < l->nargs; i++) {
		if (strcmp(l->args[i], "mutual-auth") == 0)
			g |= PT_SEC_MUTUAL;
		if (strcmp(l->args[i], "forward-secrecy") == 0)
			g |= PT_SEC_FORWARD;
	}
	return g;
}

static struct dv_x *find_req(struct dv_server *s, unsigned long id)
{
	for (struct dv_x *x = s->reqs; x; x = x->next)
		if (x->sent && x->id == id)
			return x;
	return NULL;
}

/* false: protocol error, drop the connection. */
static bool handle_line(struct dv_server *s, struct dv_line *l)
{
	if (strcmp(l->cmd, "VERSION") == 0) {
		if (l->nargs < 1 || strcmp(l->args[0], "1") != 0)
			return false;
		s->got_version = true;
		return true;
	}
	if (!s->got_version)
		return false;
	if (strcmp(l->cmd, "MECH") == 0) {
		if (l->nargs < 1 || strlen(l->args[0]) > SASL_MECH_NAME_MAX || l->args[0][0] == '\0')
			return false;
		if (s->nnm == SASL_MECHS_MAX)
			return true; /* more than we keep: ignore the rest */
		struct dv_mech *m = &s->nm[s->nnm++];
		snprintf(m->name, sizeof(m->name), "%s", l->args[0]);
		for (char *c = m->name; *c; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 32);
		m->flags = mech_flags(l, &m->priv);
		/* Record what it lacks as the two "goods" inverted. */
		unsigned g = mech_goods(l);
		if (!(g & PT_SEC_MUTUAL))
			m->flags |= PT_SEC_MUTUAL;
		if (!(g & PT_SEC_FORWARD))
			m->flags |= PT_SEC_FORWARD;
		return true;
	}
	if (strcmp(l->cmd, "SPID") == 0 || strcmp(l->cmd, "CUID") == 0 ||
	    strcmp(l->cmd, "COOKIE") == 0)
		return true;
	if (strcmp(l->cmd, "DONE") == 0) {
		if (s->st == DV_READY)
			return false;
		memcpy(s->mechs, s->nm, sizeof(s->nm));
		s->nmechs = s->nnm;
		s->st = DV_READY;
		if (s->conn_timer)
			evtimer_del(s->conn_timer);
		for (struct dv_x *x = s->reqs; x; x = x->next)
			if (!x->sent)
				x_send(x);
		return true;
	}
	if (!l->has_id)
		return true; /* a newer server's notice: not ours to understand */
	if (s->st != DV_READY)
		return false;
	struct dv_x *x = find_req(s, l->id);
	if (x == NULL)
		return true; /* answer to a request that timed out or was cancelled */
	if (strcmp(l->cmd, "CONT") == 0) {
		const char *b = l->nargs ? l->args[0] : "";
		size_t bl = strlen(b), n = 0;
		unsigned char *buf = xmalloc(bl / 4 * 3 + 3);
		if (!sasl_b64_decode(b, bl, buf, bl / 4 * 3 + 3, &n)) {
			free(buf);
			return false;
		}
		x->sent = true;
		x_report(x, SASL_ST_MORE, buf, n, NULL);
		free(buf);
		return true;
	}
	if (strcmp(l->cmd, "OK") == 0) {
		const char *u = dv_arg(l, "user");
		x_report(x, SASL_ST_OK, NULL, 0, u ? u : "");
		return true;
	}
	if (strcmp(l->cmd, "FAIL") == 0) {
		const char *r = dv_arg(l, "reason");
		const char *u = dv_arg(l, "user");
		bool temp = dv_arg(l, "temp") != NULL;
		x_report(x, temp ? SASL_ST_TEMP : SASL_ST_FAIL, (const unsigned char *)u,
		         u ? strlen(u) : 0, r ? r : "");
		return true;
	}
	return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct dv_server *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	static char line[DOVECOT_LINE_MAX + 2];
	for (;;) {
		size_t eol;
		struct evbuffer_ptr e = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_LF);
		if (e.pos < 0) {
			if (evbuffer_get_length(in) > DOVECOT_LINE_MAX)
				dv_drop(s, "line from the auth server too long");
			return;
		}
		if ((size_t)e.pos > DOVECOT_LINE_MAX) {
			dv_drop(s, "line from the auth server too long");
			return;
		}
		size_t len = (size_t)e.pos;
		evbuffer_remove(in, line, len);
		evbuffer_drain(in, eol);
		struct dv_line l;
		unsigned gen = s->gen;
		if (!dv_line_parse(line, len, &l) || !handle_line(s, &l)) {
			if (s->gen == gen && s->bev == bev)
				dv_drop(s, "protocol error from the auth server");
			return;
		}
		/* A report may have dropped this connection (and a new AUTH
		 * started another): then bev and in are gone. */
		if (s->gen != gen || s->bev != bev)
			return;
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct dv_server *s = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		char hello[64];
		snprintf(hello, sizeof(hello), "VERSION\t1\t1\nCPID\t%ld\n", (long)getpid());
		bufferevent_write(s->bev, hello, strlen(hello));
		bufferevent_enable(s->bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		char why[300];
		snprintf(why, sizeof(why), "Connect to %s failed: %s", s->path,
		         strerror(EVUTIL_SOCKET_ERROR()));
		dv_drop(s, why);
		return;
	}
	dv_drop(s, s->st == DV_READY ? NULL : "auth server closed the connection");
}

static void on_conn_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dv_drop(arg, "timeout waiting for the auth server's handshake");
}

static void dv_connect(struct dv_server *s)
{
	if (s->st != DV_DOWN)
		return;
	s->nnm = 0;
	s->got_version = false;
	s->gen++;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	memset(&ss, 0, sizeof(ss));
	if (strncmp(s->path, "inet:", 5) == 0) {
		char host[256], port[32];
		const char *hp = s->path + 5, *c = strrchr(hp, ':');
		if (c == NULL || (size_t)(c - hp) >= sizeof(host) || strlen(c + 1) >= sizeof(port)) {
			log_warn("SASL: bad smtpd_sasl_path: %s", s->path);
			return;
		}
		memcpy(host, hp, (size_t)(c - hp));
		host[c - hp] = '\0';
		snprintf(port, sizeof(port), "%s", c + 1);
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
		/* A host name is resolved here, blocking: use an address. */
		if (getaddrinfo(host, port, &hints, &res) != 0) {
			log_warn("SASL: cannot resolve %s", s->path);
			return;
		}
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		sl = res->ai_addrlen;
		freeaddrinfo(res);
	} else {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		un->sun_family = AF_UNIX;
		if (strlen(s->path) >= sizeof(un->sun_path)) {
			log_warn("SASL: smtpd_sasl_path too long: %s", s->path);
			return;
		}
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", s->path);
		sl = sizeof(*un);
	}
	s->bev = bufferevent_socket_new(s->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		return;
	bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
	s->st = DV_CONNECTING;
	struct timeval tv = {DOVECOT_TIMEOUT, 0};
	if (s->conn_timer == NULL)
		s->conn_timer = evtimer_new(s->base, on_conn_timeout, s);
	evtimer_add(s->conn_timer, &tv);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&ss, (int)sl) != 0) {
		char why[300];
		snprintf(why, sizeof(why), "Connect to %s failed: %s", s->path, strerror(errno));
		dv_drop(s, why);
	}
}

static void *dv_init(struct cfg *cfg, struct event_base *base)
{
	struct dv_server *s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->path = xstrdup(cfg_get(cfg, "smtpd_sasl_path"));
	s->service = xstrdup(cfg_get(cfg, "smtpd_sasl_service"));
	s->next_id = 1;
	return s;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Right after the privilege drop, before clients: connect and wait (at
 * most 5 s) for the handshake, so the first EHLO knows the mechanisms. */
static void dv_after_drop(void *server)
{
	struct dv_server *s = server;
	dv_connect(s);
	/* A tick so that each pass of the loop returns (no loopexit: it
	 * would linger and end smtpd's main loop). */
	struct event *tick = evtimer_new(s->base, on_tick, NULL);
	for (int i = 0; i < 500 && s->st == DV_CONNECTING; i++) {
		struct timeval tv = {0, 10000};
		evtimer_add(tick, &tv);
		event_base_loop(s->base, EVLOOP_ONCE);
	}
	event_free(tick);
	if (s->st != DV_READY)
		log_warn("SASL: no mechanisms from %s yet: AUTH is not offered until it answers",
		         s->path);
}

static bool dv_mechs(void *server, unsigned sec, const struct sasl_peer *peer, char *buf,
                     size_t len)
{
	struct dv_server *s = server;
	(void)peer;
	if (s->st == DV_DOWN)
		dv_connect(s); /* for the next EHLO, and the AUTH that follows */
	if (s->nmechs == 0)
		return false;
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->nmechs; i++) {
		const struct dv_mech *m = &s->mechs[i];
		if (m->priv || (m->flags & sec) != 0)
			continue;
		int n = snprintf(buf + o, len - o, "%s%s", o ? " " : "", m->name);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	return true;
}

static void on_req_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	x_report(arg, SASL_ST_TEMP, NULL, 0, "Connection timed out to authentication server");
}

static void *dv_xnew(void *server, unsigned sec, const struct sasl_peer *peer)
{
	struct dv_server *s = server;
	(void)sec;
	struct dv_x *x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->tls = peer->tls;
	if (!dv_escape(peer->addr, x->ip, sizeof(x->ip)))
		x->ip[0] = '\0';
	if (!peer->local_addr || !dv_escape(peer->local_addr, x->lip, sizeof(x->lip)))
		x->lip[0] = '\0';
	x->timer = evtimer_new(s->base, on_req_timeout, x);
	return x;
}

static void x_queue(struct dv_x *x, char *line, sasl_step_fn *fn, void *arg)
{
	struct dv_server *s = x->s;
	x->fn = fn;
	x->arg = arg;
	x->line = line;
	x->sent = false;
	x_link(x);
	struct timeval tv = {DOVECOT_TIMEOUT, 0};
	evtimer_add(x->timer, &tv);
	if (s->st == DV_READY)
		x_send(x);
	else
		dv_connect(s); /* sent at DONE; a failure reports through dv_drop */
}

static char *b64(const unsigned char *d, size_t n)
{
	size_t cap = (n + 2) / 3 * 4 + 1;
	char *o = xmalloc(cap);
	if (!sasl_b64_encode(d, n, o, cap))
		log_fatal("smtpd_sasl_dovecot: base64 size");
	return o;
}

static void dv_start(void *vx, const char *mech, const unsigned char *init, size_t initlen,
                     bool has_init, sasl_step_fn *fn, void *arg)
{
	struct dv_x *x = vx;
	struct strbuf sb;
	x->id = x->s->next_id++;
	if (x->s->next_id > 4000000000UL)
		x->s->next_id = 1;
	sb_init(&sb, 0);
	sb_printf(&sb, "AUTH\t%lu\t%s\tservice=%s\tnologin", x->id, mech, x->s->service);
	if (x->lip[0])
		sb_printf(&sb, "\tlip=%s", x->lip);
	if (x->ip[0])
		sb_printf(&sb, "\trip=%s", x->ip);
	if (x->tls)
		sb_printf(&sb, "\tsecured");
	if (has_init) {
		char *e = b64(init, initlen);
		sb_printf(&sb, "\tresp=%s", e);
		free(e);
	}
	sb_printf(&sb, "\n");
	x_queue(x, sb_steal(&sb), fn, arg);
}

static void dv_step(void *vx, const unsigned char *resp, size_t len, sasl_step_fn *fn,
                    void *arg)
{
	struct dv_x *x = vx;
	if (x->s->st != DV_READY || x->gen != x->s->gen) {
		/* The connection that knew this id is gone: nothing to continue. */
		fn(arg, SASL_ST_TEMP, NULL, 0, "Connection lost to authentication server");
		return;
	}
	char *e = b64(resp, len);
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_printf(&sb, "CONT\t%lu\t%s\n", x->id, e);
	free(e);
	x_queue(x, sb_steal(&sb), fn, arg);
}

static void dv_xfree(void *vx)
{
	struct dv_x *x = vx;
	x_unlink(x);
	free(x->line);
	if (x->timer)
		event_free(x->timer);
	free(x);
}

const struct sasl_backend smtpd_sasl_dovecot = {
    .name = "dovecot",
    .server_init = dv_init,
    .after_drop = dv_after_drop,
    .mechs = dv_mechs,
    .xnew = dv_xnew,
    .start = dv_start,
    .step = dv_step,
    .xfree = dv_xfree,
};
