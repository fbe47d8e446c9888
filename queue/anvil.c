/*
 * anvil.c - shared client counters (see anvil.h).  Runs in qmgr.
 * Untrusted input: records from smtpd (a network-facing process), parsed
 * by ipc_parse; a bad record ends that smtpd's anvil connection and
 * releases the connections it had counted.
 *
 * Per client address: open connections, and per event kind (connection,
 * message, recipient, new TLS session, AUTH) a count in the current
 * window of anvil_rate_time_unit that starts at the first event.
 */
#include "anvil.h"

#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "htable.h"
#include "log.h"
#include "proto.h"
#include "qmgr.h"
#include "xalloc.h"

enum { EV_CONN, EV_MSG, EV_RCPT, EV_TLS, EV_AUTH, EV_N };
static const char *const ev_names[EV_N] = {"connect", "message", "rcpt", "newtls", "auth"};

struct client {
	long conns;
	time_t start[EV_N];
	long rate[EV_N];
};

struct aconn { /* one smtpd process */
	int sock;
	struct event *ev;
	struct htable *held; /* address -> connections this smtpd counted */
};

static struct htable *clients;
static long unit = 60;
static struct event *sweeper;
static uint8_t abuf[4096];

static void sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	time_t now = time(NULL);
	size_t pos = 0;
	const char *key;
	void *v;
	char *dead[1024];
	size_t nd = 0;
	while (nd < 1024 && (key = ht_next(clients, &pos, &v)) != NULL) {
		struct client *c = v;
		bool idle = c->conns <= 0;
		for (int i = 0; i < EV_N && idle; i++)
			if (c->rate[i] > 0 && now - c->start[i] < unit)
				idle = false;
		if (idle)
			dead[nd++] = xstrdup(key);
	}
	for (size_t i = 0; i < nd; i++) {
		free(ht_del(clients, dead[i]));
		free(dead[i]);
	}
}

void anvil_init(long rate_time_unit)
{
	unit = rate_time_unit > 0 ? rate_time_unit : 60;
	clients = ht_new();
	sweeper = event_new(qmgr.base, -1, EV_PERSIST, sweep, NULL);
	struct timeval tv = {unit, 0};
	event_add(sweeper, &tv);
}

static struct client *client_get(const char *addr)
{
	struct client *c = ht_get(clients, addr);
	if (c == NULL) {
		if (ht_count(clients) >= ANVIL_CLIENTS_MAX)
			sweep(-1, 0, NULL);
		if (ht_count(clients) >= ANVIL_CLIENTS_MAX)
			return NULL; /* full: this client goes uncounted */
		c = xcalloc(1, sizeof(*c));
		ht_put(clients, addr, c);
	}
	return c;
}

static void aconn_close(struct aconn *a)
{
	size_t pos = 0;
	const char *key;
	void *v;
	while ((key = ht_next(a->held, &pos, &v)) != NULL) {
		struct client *c = ht_get(clients, key);
		if (c)
			c->conns -= (long)(uintptr_t)v;
	}
	ht_free(a->held, NULL);
	event_free(a->ev);
	close(a->sock);
	free(a);
}

/* One request; false: protocol error. */
static bool handle(struct aconn *a, const struct ipc_in *in)
{
	const char *act = ipc_str(in, T_ACTION);
	const char *addr = ipc_str(in, T_CLIENT_ADDR);
	if (in->type != PROTO_ANVIL || act == NULL || addr == NULL || strlen(addr) > 64 ||
	    addr[0] == '\0')
		return false;
	struct client *c = client_get(addr);
	long count = 0, rate = 0;
	time_t now = time(NULL);
	if (strcmp(act, "disconnect") == 0) {
		uintptr_t h = (uintptr_t)ht_get(a->held, addr);
		if (h > 0) {
			if (h == 1)
				ht_del(a->held, addr);
			else
				ht_put(a->held, addr, (void *)(h - 1));
			if (c)
				c->conns--;
		}
		return true; /* no answer */
	}
	int k;
	for (k = 0; k < EV_N; k++)
		if (strcmp(act, ev_names[k]) == 0)
			break;
	if (k == EV_N)
		return false;
	if (c != NULL) {
		if (c->rate[k] == 0 || now - c->start[k] >= unit) {
			c->start[k] = now;
			c->rate[k] = 0;
		}
		c->rate[k]++;
		rate = c->rate[k];
		if (k == EV_CONN) {
			c->conns++;
			uintptr_t h = (uintptr_t)ht_get(a->held, addr);
			ht_put(a->held, addr, (void *)(h + 1));
		}
		count = c->conns;
	}
	struct ipc_out o;
	ipc_out_init(&o, PROTO_ANVIL_OK);
	ipc_add_u64(&o, T_COUNT, (uint64_t)count);
	ipc_add_u64(&o, T_RATE, (uint64_t)rate);
	int rc = ipc_send(a->sock, &o, -1);
	ipc_out_free(&o);
	return rc == 0;
}

static void on_read(evutil_socket_t sock, short what, void *arg)
{
	struct aconn *a = arg;
	struct ipc_in in;
	char err[256];
	int fd = -1;
	(void)sock;
	(void)what;
	long n = ipc_recv(a->sock, abuf, sizeof(abuf), &fd);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		aconn_close(a);
		return;
	}
	if (!ipc_parse(abuf, (size_t)n, &in, err, sizeof(err)) || !handle(a, &in)) {
		log_warn("anvil: bad request from smtpd%s%s", err[0] ? ": " : "", err);
		aconn_close(a);
	}
}

void anvil_take(int sock, const struct ipc_in *first)
{
	struct aconn *a = xcalloc(1, sizeof(*a));
	a->sock = sock;
	a->held = ht_new();
	a->ev = event_new(qmgr.base, sock, EV_READ | EV_PERSIST, on_read, a);
	event_add(a->ev, NULL);
	if (!handle(a, first)) {
		log_warn("anvil: bad first request from smtpd");
		aconn_close(a);
	}
}
