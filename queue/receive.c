/*
 * receive.c - accepting messages (see docs/architecture.md, "Receiving
 * a message").  Runs in qmgr.  Untrusted input: records from smtpd
 * (network-facing, possibly compromised) on private/qmgr and from any
 * local user on public/qmgr, and the content those peers wrote into the
 * descriptor we gave them.  One connection is one transaction; a
 * connection on public/qmgr whose first record is an administration
 * request is handed to admin.c.
 */
#include "receive.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "anvil.h"
#include "bounds.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "qfile.h"
#include "qmgr.h"
#include "sched.h"
#include "store.h"
#include "xalloc.h"

enum rstate { R_WAIT_NEW, R_WAIT_COMMIT, R_DONE };

struct rconn {
	int sock;
	bool is_public;
	uid_t uid;
	enum rstate state;
	struct event *ev;
	struct qfile head;
	int fd; /* the tmp file, read-write, while R_WAIT_COMMIT */
	struct rconn *next, *prev;
};

static struct rconn *conns;
static struct event *listeners[2];
static size_t nlisteners;
static uint8_t rbuf[IPC_RECORD_MAX];
static struct ipc_in rin;

static void conn_close(struct rconn *c)
{
	if (c->state == R_WAIT_COMMIT && c->head.id != NULL)
		store_abandon(c->head.id);
	if (c->fd >= 0)
		close(c->fd);
	if (c->ev)
		event_free(c->ev);
	if (c->sock >= 0)
		close(c->sock);
	qfile_free(&c->head);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void send_fail(struct rconn *c, const char *status, const char *text)
{
	struct ipc_out o;
	ipc_out_init(&o, PROTO_FAIL);
	ipc_add_str(&o, T_STATUS, status);
	ipc_add_str(&o, T_TEXT, text);
	if (ipc_send(c->sock, &o, -1) != 0)
		log_warn("send to client: %s", strerror(errno));
	ipc_out_free(&o);
}

/*
 * Envelope text never carries control characters: delivery agents put
 * it into headers (Return-Path:, Delivered-To:) and local users can
 * speak this protocol directly, not only through smtpd's checks.
 */
static bool text_ok(const char *s)
{
	if (s == NULL || strlen(s) > QFILE_FIELD_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A string field that must fit a queue file record (NULL if absent). */
static bool opt_str(const struct ipc_in *in, uint8_t tag, char **out)
{
	const struct ipc_field *f = ipc_find(in, tag, NULL);
	*out = NULL;
	if (f == NULL)
		return true;
	const char *s = ipc_field_str(f);
	if (!text_ok(s))
		return false;
	*out = xstrdup(s);
	return true;
}

static void do_new(struct rconn *c)
{
	struct qfile *h = &c->head;
	const char *sender = ipc_str(&rin, T_SENDER);
	if (!text_ok(sender)) {
		log_warn("NEW without a valid sender: dropping the connection");
		conn_close(c);
		return;
	}
	qfile_init(h);
	h->sender = xstrdup(sender);
	bool ok = true;
	if (!c->is_public) {
		ok &= opt_str(&rin, T_CLIENT_NAME, &h->client_name);
		ok &= opt_str(&rin, T_CLIENT_ADDR, &h->client_addr);
		ok &= opt_str(&rin, T_CLIENT_PORT, &h->client_port);
		ok &= opt_str(&rin, T_HELO, &h->helo);
		ok &= opt_str(&rin, T_SASL_METHOD, &h->sasl_method);
		ok &= opt_str(&rin, T_SASL_USER, &h->sasl_user);
	} else {
		/* A local user cannot claim network client attributes. */
		h->uid = (long)c->uid;
	}
	ok &= opt_str(&rin, T_PROTOCOL, &h->protocol);
	ok &= opt_str(&rin, T_RET, &h->ret);
	ok &= opt_str(&rin, T_ENVID, &h->envid);
	ok &= opt_str(&rin, T_BODY, &h->body);
	h->smtputf8 = ipc_find(&rin, T_SMTPUTF8, NULL) != NULL;
	if (!ok) {
		log_warn("NEW with a malformed field: dropping the connection");
		conn_close(c);
		return;
	}
	if (h->protocol == NULL && c->is_public)
		h->protocol = xstrdup("LOCAL");
	if (qmgr.stopping) {
		send_fail(c, "4.3.2", "Service shutting down");
		conn_close(c);
		return;
	}
	if (!store_space_ok()) {
		log_warn("not enough free space in the queue file system");
		send_fail(c, "4.3.1", "Insufficient system storage");
		conn_close(c);
		return;
	}
	c->fd = store_create(h);
	if (c->fd < 0) {
		send_fail(c, errno == ENOSPC ? "4.3.1" : "4.3.0",
		          errno == ENOSPC ? "Insufficient system storage"
		                          : "Queue file write error");
		conn_close(c);
		return;
	}
	c->state = R_WAIT_COMMIT;
	int cfd = store_client_fd(h->id);
	struct ipc_out o;
	ipc_out_init(&o, PROTO_NEW_OK);
	ipc_add_str(&o, T_ID, h->id);
	int rc = cfd >= 0 ? ipc_send(c->sock, &o, cfd) : -1;
	ipc_out_free(&o);
	if (cfd >= 0)
		close(cfd);
	if (rc != 0) {
		log_warn("%s: cannot hand the queue file to the client: %s", h->id,
		         strerror(errno));
		conn_close(c);
	}
}

static void do_commit(struct rconn *c)
{
	struct qfile *h = &c->head;
	uint64_t size;
	size_t n = 0, pos = 0;

	if (!ipc_u64(&rin, T_SIZE, &size)) {
		log_warn("%s: COMMIT without a size: dropping the connection", h->id);
		conn_close(c);
		return;
	}
	/* ACTION "hold": smtpd's restriction chain asked for HOLD (access(5)). */
	const char *action = ipc_str(&rin, T_ACTION);
	bool hold = action != NULL && strcmp(action, "hold") == 0;
	if (action != NULL && !hold) {
		log_warn("%s: COMMIT with unknown action: dropping the connection", h->id);
		conn_close(c);
		return;
	}
	/* Recipient groups: T_RCPT, then its ORCPT / NOTIFY / ORIG_RCPT. */
	for (size_t i = 0; i < rin.nfields; i++)
		if (rin.fields[i].tag == T_RCPT)
			n++;
	if (n == 0 || n > QFILE_RCPTS_MAX) {
		log_warn("%s: COMMIT with %zu recipients: dropping the connection", h->id, n);
		conn_close(c);
		return;
	}
	struct qfile_rcpt_in *r = xcalloc(n, sizeof(*r));
	size_t k = 0;
	bool ok = true;
	for (pos = 0; ok && pos < rin.nfields; pos++) {
		const struct ipc_field *f = &rin.fields[pos];
		const char *s = f->tag == T_NOTIFY || f->tag == T_SIZE ? NULL : ipc_field_str(f);
		switch (f->tag) {
		case T_RCPT:
			ok = text_ok(s) && *s;
			if (ok)
				r[k++].addr = s;
			break;
		case T_ORCPT:
		case T_ORIG_RCPT:
			ok = k > 0 && text_ok(s);
			if (ok && f->tag == T_ORCPT)
				r[k - 1].orcpt = s;
			else if (ok)
				r[k - 1].orig = s;
			break;
		case T_NOTIFY:
			ok = k > 0 && f->len == 8;
			if (ok) {
				uint64_t v = 0;
				for (int j = 0; j < 8; j++)
					v = (v << 8) | f->data[j];
				ok = v <= 15;
				r[k - 1].notify = (unsigned)v;
			}
			break;
		default:
			break;
		}
	}
	if (!ok) {
		log_warn("%s: COMMIT with a malformed recipient: dropping the connection",
		         h->id);
		free(r);
		conn_close(c);
		return;
	}
	struct stat st;
	if (fstat(c->fd, &st) != 0 || st.st_size < h->content_off ||
	    (uint64_t)(st.st_size - h->content_off) != size) {
		log_warn("%s: client claims %llu bytes, the file holds %lld", h->id,
		         (unsigned long long)size,
		         (long long)(st.st_size - h->content_off));
		send_fail(c, "4.3.0", "Message content size mismatch");
		free(r);
		conn_close(c);
		return;
	}
	if (qmgr.message_size_limit > 0 && size > (uint64_t)qmgr.message_size_limit) {
		send_fail(c, "5.3.4", "Message size exceeds fixed limit");
		free(r);
		conn_close(c);
		return;
	}
	if (!store_space_ok()) {
		log_warn("%s: not enough free space in the queue file system", h->id);
		send_fail(c, "4.3.1", "Insufficient system storage");
		free(r);
		conn_close(c);
		return;
	}
	if (store_commit(c->fd, h, (off_t)size, r, n) != 0) {
		int e = errno;
		log_warn("%s: commit failed: %s", h->id, strerror(e));
		send_fail(c, e == ENOSPC || e == EDQUOT ? "4.3.1" : "4.3.0",
		          e == ENOSPC || e == EDQUOT ? "Insufficient system storage"
		                                     : "Queue file write error");
		free(r);
		conn_close(c);
		return;
	}
	free(r);
	c->state = R_DONE;
	/* Held before the client hears "queued": a crash in between leaves
	 * it in incoming (delivered: at least once, never lost). */
	if (hold && store_move(h->id, "incoming", "hold") != 0) {
		log_warn("%s: cannot move to hold: %s; it will be delivered", h->id, strerror(errno));
		hold = false;
	}
	if (c->is_public)
		log_info_as("pickup", "%s: uid=%ld from=<%s>", h->id, (long)c->uid, h->sender);
	struct ipc_out o;
	ipc_out_init(&o, PROTO_COMMIT_OK);
	ipc_add_str(&o, T_ID, h->id);
	if (ipc_send(c->sock, &o, -1) != 0)
		log_warn("%s: send COMMIT_OK: %s", h->id, strerror(errno));
	ipc_out_free(&o);
	close(c->fd);
	c->fd = -1;
	if (!hold)
		sched_new(h->id);
}

static void on_read(evutil_socket_t sock, short what, void *arg)
{
	struct rconn *c = arg;
	int fd = -1;
	char err[256];
	(void)sock;
	(void)what;

	long n = ipc_recv(c->sock, rbuf, sizeof(rbuf), &fd);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (fd >= 0)
		close(fd); /* clients pass us nothing */
	if (n <= 0) {
		if (n < 0)
			log_warn("receive: %s", strerror(errno));
		conn_close(c);
		return;
	}
	if (!ipc_parse(rbuf, (size_t)n, &rin, err, sizeof(err))) {
		log_warn("malformed record from client: %s", err);
		conn_close(c);
		return;
	}
	if (c->state == R_WAIT_NEW && c->is_public &&
	    (rin.type == PROTO_QUEUE_LIST || rin.type == PROTO_ADMIN)) {
		int s = c->sock;
		uid_t uid = c->uid;
		c->sock = -1;
		conn_close(c);
		admin_take(s, uid, &rin);
		return;
	}
	if (c->state == R_WAIT_NEW && !c->is_public && rin.type == PROTO_ETRN) {
		int s = c->sock;
		c->sock = -1;
		conn_close(c);
		admin_etrn(s, &rin);
		return;
	}
	if (c->state == R_WAIT_NEW && !c->is_public && rin.type == PROTO_ANVIL) {
		int s = c->sock;
		c->sock = -1;
		conn_close(c);
		anvil_take(s, &rin);
		return;
	}
	if (c->state == R_WAIT_NEW && rin.type == PROTO_NEW)
		do_new(c);
	else if (c->state == R_WAIT_COMMIT && rin.type == PROTO_COMMIT)
		do_commit(c);
	else {
		log_warn("unexpected record type %u from client", rin.type);
		conn_close(c);
	}
}

static bool peer_allowed(int s, bool is_public, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		log_warn("SO_PEERCRED: %s", strerror(errno));
		return false;
	}
	*uid = cr.uid;
	if (is_public)
		return true;
	if (cr.uid == 0 || cr.uid == qmgr.self_uid || (qmgr.have_net_uid && cr.uid == qmgr.net_uid))
		return true;
	log_warn("private/qmgr: connection from uid %ld refused", (long)cr.uid);
	return false;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	bool is_public = arg != NULL;
	(void)what;
	for (int i = 0; i < 16; i++) {
		int s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		uid_t uid;
		if (!peer_allowed(s, is_public, &uid)) {
			close(s);
			continue;
		}
		struct rconn *c = xcalloc(1, sizeof(*c));
		c->sock = s;
		c->fd = -1;
		c->uid = uid;
		c->is_public = is_public;
		qfile_init(&c->head);
		c->ev = event_new(qmgr.base, s, EV_READ | EV_PERSIST, on_read, c);
		event_add(c->ev, NULL);
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
	}
}

void receive_listen(int lfd, bool is_public)
{
	static int marker;
	if (nlisteners == 2)
		log_panic("receive_listen: too many listeners");
	int fl = fcntl(lfd, F_GETFL);
	if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) != 0)
		log_fatal("listening socket: %s", strerror(errno));
	struct event *ev = event_new(qmgr.base, lfd, EV_READ | EV_PERSIST, on_accept,
	                             is_public ? &marker : NULL);
	event_add(ev, NULL);
	listeners[nlisteners++] = ev;
}

void receive_shutdown(void)
{
	for (size_t i = 0; i < nlisteners; i++)
		event_free(listeners[i]);
	nlisteners = 0;
	while (conns)
		conn_close(conns);
}
