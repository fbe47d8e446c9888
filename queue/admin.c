/*
 * admin.c - queue listing and administrative actions (see admin.h).
 * Runs in qmgr.  Untrusted input: QUEUE_LIST and ADMIN records from any
 * local user on public/qmgr (queue names and ids are checked against
 * fixed lists and the id syntax before any path is built; a flush is
 * anyone's, other actions need uid 0 or mail_owner's uid).  Listings
 * are written without blocking: a user who does not read cannot stall
 * qmgr.
 */
#include "admin.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "check.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "qfile.h"
#include "qmgr.h"
#include "sched.h"
#include "store.h"
#include "xalloc.h"

struct aconn {
	int sock;
	struct event *ev;
	char **queues, **ids;
	size_t n, pos, cap;
	struct ipc_out out;
	bool have_out, ended;
};

static const char *const list_queues[] = {"incoming", "active", "deferred", "hold", NULL};

static const char *known_queue(const char *q)
{
	for (size_t i = 0; store_queues[i]; i++)
		if (strcmp(store_queues[i], q) == 0)
			return store_queues[i];
	return NULL;
}

static void add_entry(struct aconn *a, const char *queue, const char *id)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->queues = xreallocarray(a->queues, a->cap, sizeof(*a->queues));
		a->ids = xreallocarray(a->ids, a->cap, sizeof(*a->ids));
	}
	a->queues[a->n] = (char *)queue; /* one of the static names */
	a->ids[a->n++] = xstrdup(id);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Entries of one queue directory, sorted (arrival order). */
static void scan(struct aconn *a, const char *queue)
{
	DIR *d = opendir(queue);
	if (d == NULL)
		return;
	size_t start = a->n;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (store_id_ok(e->d_name))
			add_entry(a, queue, e->d_name);
	closedir(d);
	/* ids and queues stay paired: queue is the same for this range */
	if (a->n > start) /* a->ids is NULL while nothing was added */
		qsort(a->ids + start, a->n - start, sizeof(*a->ids), cmp_str);
}

static void aconn_free(struct aconn *a)
{
	if (a->ev)
		event_free(a->ev);
	close(a->sock);
	for (size_t i = 0; i < a->n; i++)
		free(a->ids[i]);
	free(a->ids);
	free(a->queues);
	if (a->have_out)
		ipc_out_free(&a->out);
	free(a);
}

struct reasons {
	char **text;
	size_t n;
};

static void reason_cb(void *arg, size_t index, const char *status, const char *text)
{
	struct reasons *r = arg;
	(void)status;
	if (index < r->n) {
		free(r->text[index]);
		r->text[index] = xstrdup(text);
	}
}

static void load_reasons(const char *id, struct reasons *r)
{
	char path[64], err[128];
	snprintf(path, sizeof(path), "defer/%s", id);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= QFILE_DEFER_LOG_MAX) {
		uint8_t *buf = xmalloc((size_t)st.st_size);
		if (read(fd, buf, (size_t)st.st_size) == st.st_size &&
		    !qfile_reasons_parse(buf, (size_t)st.st_size, reason_cb, r, err, sizeof(err)))
			log_warn("%s: %s", path, err);
		free(buf);
	}
	close(fd);
}

/* The QUEUE_ITEM of one message; false if it is gone or unreadable. */
static bool build_item(const char *queue, const char *id, struct ipc_out *o)
{
	char path[64], err[256];
	struct qfile q;
	snprintf(path, sizeof(path), "%s/%s", queue, id);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	bool ok = qfile_parse_fd(fd, &q, err, sizeof(err));
	close(fd);
	if (!ok)
		return false;
	struct reasons r = {.text = xcalloc(q.nrcpts, sizeof(char *)), .n = q.nrcpts};
	load_reasons(id, &r);
	ipc_out_init(o, PROTO_QUEUE_ITEM);
	ipc_add_str(o, T_ID, id);
	ipc_add_str(o, T_QUEUE, queue);
	ipc_add_u64(o, T_SIZE, (uint64_t)q.content_len);
	ipc_add_u64(o, T_ARRIVAL, (uint64_t)q.arrival);
	ipc_add_str(o, T_SENDER, q.sender);
	for (size_t i = 0; i < q.nrcpts; i++) {
		if (q.rcpts[i].status != QFILE_ST_PENDING)
			continue;
		size_t need = strlen(q.rcpts[i].addr) + (r.text[i] ? strlen(r.text[i]) : 0) + 32;
		if (o->len + need > IPC_RECORD_MAX - 64)
			break; /* a listing shows what fits in one record */
		ipc_add_str(o, T_RCPT, q.rcpts[i].addr);
		if (r.text[i])
			ipc_add_str(o, T_TEXT, r.text[i]);
	}
	for (size_t i = 0; i < r.n; i++)
		free(r.text[i]);
	free(r.text);
	qfile_free(&q);
	return true;
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct aconn *a = arg;
	(void)fd, (void)what;
	for (;;) {
		if (!a->have_out) {
			if (a->pos < a->n) {
				if (!build_item(a->queues[a->pos], a->ids[a->pos], &a->out)) {
					a->pos++;
					continue;
				}
			} else if (!a->ended) {
				ipc_out_init(&a->out, PROTO_QUEUE_END);
			} else {
				aconn_free(a);
				return;
			}
			a->have_out = true;
		}
		if (ipc_send(a->sock, &a->out, -1) != 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			aconn_free(a);
			return;
		}
		ipc_out_free(&a->out);
		a->have_out = false;
		if (a->pos < a->n)
			a->pos++;
		else
			a->ended = true;
	}
}

static void reply(int sock, uint16_t type, const char *status, const char *text,
                  uint64_t count)
{
	struct ipc_out o;
	ipc_out_init(&o, type);
	if (type == PROTO_FAIL) {
		ipc_add_str(&o, T_STATUS, status);
		ipc_add_str(&o, T_TEXT, text);
	} else {
		ipc_add_u64(&o, T_COUNT, count);
	}
	if (ipc_send(sock, &o, -1) != 0)
		log_warn("admin reply: %s", strerror(errno));
	ipc_out_free(&o);
}

static size_t act_one(const char *action, const char *queue, const char *id)
{
	if (strcmp(action, "delete") == 0) {
		if (strcmp(queue, "active") == 0 && sched_active_action(id, SCHED_DELETE))
			return 1;
		store_remove(id, queue, true);
		store_sync_dir(queue); /* an admin's delete stays deleted */
		return 1;
	}
	if (strcmp(action, "hold") == 0) {
		if (strcmp(queue, "hold") == 0 || strcmp(queue, "corrupt") == 0)
			return 0;
		if (strcmp(queue, "active") == 0 && sched_active_action(id, SCHED_HOLD)) {
			log_info("%s: placed on hold", id);
			return 1;
		}
		if (store_move(id, queue, "hold") != 0)
			return 0;
		log_info("%s: placed on hold", id);
		return 1;
	}
	if (strcmp(action, "release") == 0) {
		if (strcmp(queue, "hold") != 0 || store_move(id, "hold", "deferred") != 0)
			return 0;
		char path[64];
		snprintf(path, sizeof(path), "deferred/%s", id);
		utimensat(AT_FDCWD, path, NULL, 0); /* due at the next queue run */
		log_info("%s: released from hold", id);
		return 1;
	}
	if (strcmp(action, "requeue") == 0) {
		if (strcmp(queue, "deferred") != 0 && strcmp(queue, "hold") != 0)
			return 0;
		if (store_move(id, queue, "incoming") != 0)
			return 0;
		char path[64];
		snprintf(path, sizeof(path), "defer/%s", id);
		unlink(path);
		log_info("%s: requeued", id);
		sched_new(id);
		return 1;
	}
	return 0;
}

static bool may_change(uid_t uid)
{
	return uid == 0 || uid == qmgr.self_uid ||
	       (qmgr.have_owner_uid && uid == qmgr.owner_uid);
}

/* "postern super -s": the count of repairs and each problem's text. */
static void do_check(int sock, uid_t uid)
{
	if (!may_change(uid)) {
		log_warn("uid %ld: check refused: permission denied", (long)uid);
		reply(sock, PROTO_FAIL, "5.7.1", "Permission denied", 0);
		return;
	}
	struct check_report r = {0};
	check_queue(&r);
	struct ipc_out o;
	ipc_out_init(&o, PROTO_ADMIN_OK);
	ipc_add_u64(&o, T_COUNT, r.repaired);
	for (size_t i = 0; i < r.ntexts; i++) {
		if (o.len + strlen(r.texts[i]) + 64 > IPC_RECORD_MAX - 64)
			break;
		ipc_add_str(&o, T_TEXT, r.texts[i]);
	}
	if (ipc_send(sock, &o, -1) != 0)
		log_warn("admin reply: %s", strerror(errno));
	ipc_out_free(&o);
	check_report_free(&r);
}

static void do_admin(int sock, uid_t uid, const struct ipc_in *in)
{
	const char *action = ipc_str(in, T_ACTION);
	const char *id = ipc_str(in, T_ID);
	const char *qname = ipc_str(in, T_QUEUE);
	const char *only = NULL;
	static const char *const actions[] = {"flush", "delete", "hold", "release",
	                                      "requeue", "check", NULL};
	bool known = false;

	for (size_t i = 0; action && actions[i]; i++)
		known |= strcmp(action, actions[i]) == 0;
	if (known && strcmp(action, "check") == 0 && id == NULL) {
		do_check(sock, uid);
		return;
	}
	if (!known || id == NULL || (strcmp(id, "ALL") != 0 && !store_id_ok(id)) ||
	    (qname && (only = known_queue(qname)) == NULL)) {
		reply(sock, PROTO_FAIL, "5.5.4", "malformed administration request", 0);
		return;
	}
	/* A flush only asks for what the scheduler would do anyway, so
	 * anyone may ask (Postfix: authorized_flush_users = static:anyone);
	 * changing the queue is for root and mail_owner. */
	bool flush = strcmp(action, "flush") == 0;
	if (!flush && !may_change(uid)) {
		log_warn("uid %ld: %s refused: permission denied", (long)uid, action);
		reply(sock, PROTO_FAIL, "5.7.1", "Permission denied", 0);
		return;
	}
	bool all = strcmp(id, "ALL") == 0;
	size_t count = 0;
	if (strcmp(action, "flush") == 0) {
		count = sched_flush(all ? NULL : id);
		reply(sock, PROTO_ADMIN_OK, NULL, NULL, count);
		return;
	}
	struct aconn a = {.sock = -1};
	static const char *const dflt[] = {"incoming", "active", "deferred", "hold", NULL};
	for (size_t i = 0; dflt[i] || (only && i == 0); i++) {
		const char *q = only ? only : dflt[i];
		if (all) {
			scan(&a, q);
		} else {
			char path[64];
			snprintf(path, sizeof(path), "%s/%s", q, id);
			if (access(path, F_OK) == 0)
				add_entry(&a, q, id);
		}
		if (only)
			break;
	}
	for (size_t i = 0; i < a.n; i++)
		count += act_one(action, a.queues[i], a.ids[i]);
	for (size_t i = 0; i < a.n; i++)
		free(a.ids[i]);
	free(a.ids);
	free(a.queues);
	reply(sock, PROTO_ADMIN_OK, NULL, NULL, count);
}

void admin_etrn(int sock, const struct ipc_in *in)
{
	const char *dom = ipc_str(in, T_NEXTHOP);
	bool ok = dom != NULL && dom[0] != '\0' && strlen(dom) <= 255;
	for (const char *p = dom; ok && *p; p++)
		ok = *p > 32 && *p < 127 && *p != '/' && *p != '@';
	if (!ok) {
		log_warn("malformed ETRN request from smtpd");
		reply(sock, PROTO_FAIL, "5.5.4", "malformed ETRN request", 0);
		close(sock);
		return;
	}
	size_t count = sched_flush_domain(dom);
	log_info("ETRN %s: %zu deferred message%s scheduled", dom, count, count == 1 ? "" : "s");
	reply(sock, PROTO_ADMIN_OK, NULL, NULL, count);
	close(sock);
}

void admin_take(int sock, uid_t uid, const struct ipc_in *in)
{
	if (in->type == PROTO_ADMIN) {
		do_admin(sock, uid, in);
		close(sock);
		return;
	}
	struct aconn *a = xcalloc(1, sizeof(*a));
	a->sock = sock;
	const char *qname = ipc_str(in, T_QUEUE);
	if (qname != NULL) {
		const char *q = known_queue(qname);
		if (q != NULL)
			scan(a, q);
	} else {
		for (size_t i = 0; list_queues[i]; i++)
			scan(a, list_queues[i]);
	}
	a->ev = event_new(qmgr.base, sock, EV_WRITE | EV_PERSIST, on_write, a);
	event_add(a->ev, NULL);
}
