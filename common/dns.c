/*
 * dns.c - the resolver (see dns.h) on libunbound.  libunbound runs its
 * queries in a thread of its own and signals answers on ub_fd(); we watch
 * that descriptor from the caller's libevent loop (or poll it in
 * dns_run) and call ub_process(), which runs our callback per answer.
 * libunbound was chosen over c-ares because it validates DNSSEC itself
 * and says per answer whether it is secure or bogus, which DANE needs.
 * Untrusted input: DNS answers, through dns_parse.c.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "netaddr.h"
#include "xalloc.h"

struct dns_query {
	struct dns_ctx *ctx;
	struct dns_query *prev, *next;
	int async_id;
	bool running; /* libunbound has it */
	enum dns_type type;
	char name[DNS_NAME_MAX + 2];
	dns_done_fn done;
	void *arg;
	struct timespec deadline;
	struct event *timer;
	struct dns_result *early; /* answered without asking (bad name) */
};

struct dns_ctx {
	struct ub_ctx *ub;
	struct event_base *base;
	struct event *ev;
	unsigned timeout_ms;
	bool validating;
	struct dns_query *head;
	size_t npending;
};

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static long ms_until(const struct timespec *t)
{
	struct timespec n;
	now(&n);
	return (long)(t->tv_sec - n.tv_sec) * 1000 + (t->tv_nsec - n.tv_nsec) / 1000000;
}

/* "IP" or "IP@port", as ub_ctx_set_fwd wants it. */
static bool fwd_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 64)
		return false;
	const char *at = strchr(s, '@');
	for (const char *p = s; *p && p != at; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') ||
		      *p == '.' || *p == ':'))
			return false;
	if (at) {
		if (at == s || at[1] == '\0' || strlen(at + 1) > 5)
			return false;
		for (const char *p = at + 1; *p; p++)
			if (*p < '0' || *p > '9')
				return false;
		if (atoi(at + 1) < 1 || atoi(at + 1) > 65535)
			return false;
	}
	return true;
}

static bool set_opt(struct ub_ctx *ub, const char *opt, const char *val, char *err, size_t errlen)
{
	int rc = ub_ctx_set_option(ub, opt, val);
	if (rc != 0)
		snprintf(err, errlen, "resolver option %s %s: %s", opt, val, ub_strerror(rc));
	return rc == 0;
}

/*
 * libunbound's ub_ctx_hosts gives names their addresses; the reverse
 * (address -> first name, as the C library's getnameinfo answers from
 * the hosts file) we add as local-data-ptr.  Trusted file, bounded lines
 * and entries; bad lines are skipped.
 */
static bool hosts_ptr(struct ub_ctx *ub, const char *file, char *err, size_t errlen)
{
	FILE *fp = fopen(file, "re");
	char line[1024], seen[DNS_HOSTS_FILE_MAX][INET6_ADDRSTRLEN];
	size_t n = 0;
	if (fp == NULL)
		return true;
	while (n < DNS_HOSTS_FILE_MAX && fgets(line, sizeof(line), fp) != NULL) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *save, *addr = strtok_r(line, " \t\r\n", &save);
		char *name = addr ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		struct netaddr_net a;
		char text[INET6_ADDRSTRLEN], rev[DNS_NAME_MAX + 1], val[2 * DNS_NAME_MAX + 16];
		if (name == NULL || !dns_name_ok(name) || !netaddr_parse_addr(addr, &a) ||
		    inet_ntop(a.family, a.addr, text, sizeof(text)) == NULL ||
		    !dns_reverse_name(a.family, a.addr, NULL, rev, sizeof(rev)))
			continue;
		bool dup = false;
		for (size_t i = 0; i < n && !dup; i++)
			dup = strcmp(seen[i], text) == 0;
		if (dup)
			continue;
		snprintf(seen[n++], sizeof(seen[0]), "%s", text);
		snprintf(val, sizeof(val), "%s. PTR %s%s", rev, name,
		         name[strlen(name) - 1] == '.' ? "" : ".");
		if (!set_opt(ub, "local-data:", val, err, errlen)) {
			fclose(fp);
			return false;
		}
	}
	fclose(fp);
	return true;
}

struct dns_ctx *dns_ctx_new(const struct dns_config *conf, char *err, size_t errlen)
{
	struct dns_config none = {0};
	const char *fwd, *ta;
	int rc;
	if (conf == NULL)
		conf = &none;
	fwd = conf->resolver ? conf->resolver : "";
	ta = conf->trust_anchor ? conf->trust_anchor : "";
	struct ub_ctx *ub = ub_ctx_create();
	if (ub == NULL) {
		snprintf(err, errlen, "cannot create the resolver (libunbound)");
		return NULL;
	}
	/* Forwarders on loopback (a local cache, the tests' server) are fine. */
	if (!set_opt(ub, "do-not-query-localhost:", "no", err, errlen))
		goto fail;
	/*
	 * As a stub resolver, ask the configured servers about private and
	 * loopback reverse zones instead of answering them from libunbound's
	 * built-in empty zones (a LAN's PTR records must work; localhost
	 * still comes from the hosts file).
	 */
	if (!set_opt(ub, "unblock-lan-zones:", "yes", err, errlen) ||
	    !set_opt(ub, "insecure-lan-zones:", "yes", err, errlen) ||
	    !set_opt(ub, "local-zone:", "127.in-addr.arpa. transparent", err, errlen))
		goto fail;
	if (fwd[0] != '\0') {
		char buf[1024], *save = NULL;
		if (strlen(fwd) >= sizeof(buf)) {
			snprintf(err, errlen, "postern_dns_resolver: value too long");
			goto fail;
		}
		strcpy(buf, fwd);
		for (char *t = strtok_r(buf, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save)) {
			if (!fwd_ok(t)) {
				snprintf(err, errlen, "postern_dns_resolver: bad address \"%.64s\" (want IP[@port])", t);
				goto fail;
			}
			if ((rc = ub_ctx_set_fwd(ub, t)) != 0) {
				snprintf(err, errlen, "postern_dns_resolver %.64s: %s", t, ub_strerror(rc));
				goto fail;
			}
		}
	} else if ((rc = ub_ctx_resolvconf(ub, conf->resolv_conf)) != 0) {
		/* No readable resolv.conf: libunbound resolves from the roots. */
		if (rc != UB_READFILE) {
			snprintf(err, errlen, "resolv.conf: %s", ub_strerror(rc));
			goto fail;
		}
	}
	const char *hosts = conf->hosts_file ? conf->hosts_file : "/etc/hosts";
	if (hosts[0] != '\0' && access(hosts, R_OK) == 0) {
		if ((rc = ub_ctx_hosts(ub, hosts)) != 0) {
			snprintf(err, errlen, "%s: %s", hosts, ub_strerror(rc));
			goto fail;
		}
		if (!hosts_ptr(ub, hosts, err, errlen))
			goto fail;
	}
	if (ta[0] != '\0') {
		if (access(ta, R_OK) != 0) {
			snprintf(err, errlen, "postern_dns_trust_anchor %s: %s", ta, strerror(errno));
			goto fail;
		}
		if ((rc = ub_ctx_add_ta_file(ub, ta)) != 0) {
			snprintf(err, errlen, "postern_dns_trust_anchor %s: %s", ta, ub_strerror(rc));
			goto fail;
		}
	}
	if ((rc = ub_ctx_async(ub, 1)) != 0) {
		snprintf(err, errlen, "resolver thread: %s", ub_strerror(rc));
		goto fail;
	}
	/*
	 * libunbound reads its files (the trust anchor) when it answers its
	 * first query; ask for localhost (a built-in local zone, no network)
	 * now, so that a chroot or privilege drop that follows cannot hide
	 * them and a bad anchor file is reported here.
	 */
	struct ub_result *res = NULL;
	rc = ub_resolve(ub, "localhost.", DNS_T_A, 1, &res);
	if (res)
		ub_resolve_free(res);
	if (rc != 0) {
		snprintf(err, errlen, "resolver set-up: %s", ub_strerror(rc));
		goto fail;
	}
	struct dns_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->ub = ub;
	ctx->timeout_ms = conf->timeout_ms ? conf->timeout_ms : DNS_TIMEOUT_DEFAULT_MS;
	if (ctx->timeout_ms > DNS_TIMEOUT_MAX_MS)
		ctx->timeout_ms = DNS_TIMEOUT_MAX_MS;
	ctx->validating = ta[0] != '\0';
	return ctx;
fail:
	ub_ctx_delete(ub);
	return NULL;
}

bool dns_check_param(const char *name, const char *value, char *err, size_t errlen)
{
	if (strcmp(name, "postern_dns_resolver") == 0) {
		char buf[1024], *save = NULL;
		if (strlen(value) >= sizeof(buf)) {
			snprintf(err, errlen, "value too long");
			return false;
		}
		strcpy(buf, value);
		for (char *t = strtok_r(buf, " ,\t", &save); t; t = strtok_r(NULL, " ,\t", &save))
			if (!fwd_ok(t)) {
				snprintf(err, errlen, "bad resolver address \"%.64s\" (want IP[@port])", t);
				return false;
			}
	} else if (strcmp(name, "postern_dns_trust_anchor") == 0 && value[0] != '\0' &&
	           access(value, R_OK) != 0) {
		snprintf(err, errlen, "trust anchor file %s: %s", value, strerror(errno));
		return false;
	}
	return true;
}

struct dns_ctx *dns_ctx_from_cfg(struct cfg *cfg, char *err, size_t errlen)
{
	struct dns_config c = {0};
	long t = cfg_get_time(cfg, "postern_dns_timeout");
	c.resolver = cfg_get(cfg, "postern_dns_resolver");
	c.trust_anchor = cfg_get(cfg, "postern_dns_trust_anchor");
	if (t <= 0 || t > DNS_TIMEOUT_MAX_MS / 1000)
		t = DNS_TIMEOUT_MAX_MS / 1000;
	c.timeout_ms = (unsigned)t * 1000;
	return dns_ctx_new(&c, err, errlen);
}

bool dns_ctx_validating(const struct dns_ctx *ctx)
{
	return ctx->validating;
}

size_t dns_pending(const struct dns_ctx *ctx)
{
	return ctx->npending;
}

static void unlink_query(struct dns_query *q)
{
	struct dns_ctx *ctx = q->ctx;
	if (q->prev)
		q->prev->next = q->next;
	else
		ctx->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	ctx->npending--;
	if (q->timer)
		event_free(q->timer);
}

/* Hand r to the caller and forget q. */
static void deliver(struct dns_query *q, struct dns_result *r)
{
	dns_done_fn done = q->done;
	void *arg = q->arg;
	unlink_query(q);
	dns_result_free(q->early);
	free(q);
	done(arg, r);
}

static struct dns_result *new_result(const char *name, enum dns_type type)
{
	struct dns_result *r = xcalloc(1, sizeof(*r));
	r->type = type;
	snprintf(r->qname, sizeof(r->qname), "%s", name);
	return r;
}

static struct dns_result *fail_result(const char *name, enum dns_type type, enum dns_status st,
                                      const char *why)
{
	struct dns_result *r = new_result(name, type);
	r->status = st;
	snprintf(r->why, sizeof(r->why), "%s", why);
	return r;
}

static int cmp_pref(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;
	return (x->pref > y->pref) - (x->pref < y->pref);
}

/* MX records by preference, each run of equal ones shuffled
 * (Fisher-Yates), so that load spreads as RFC 5321 asks. */
static void sort_mx(struct dns_rr *rr, size_t n)
{
	qsort(rr, n, sizeof(rr[0]), cmp_pref);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && rr[j].pref == rr[i].pref)
			j++;
		for (size_t k = j - 1; k > i; k--) {
			size_t m = i + arc4random_uniform((uint32_t)(k - i + 1));
			struct dns_rr t = rr[k];
			rr[k] = rr[m];
			rr[m] = t;
		}
		i = j;
	}
}

/* libunbound's answer -> our result. */
static struct dns_result *convert(const struct dns_query *q, int err, struct ub_result *u)
{
	struct dns_result *r;
	if (err != 0 || u == NULL)
		return fail_result(q->name, q->type, err == UB_SYNTAX ? DNS_PERMFAIL : DNS_TEMPFAIL,
		                   ub_strerror(err));
	r = new_result(q->name, q->type);
	r->sec = u->secure ? DNS_SEC_SECURE : u->bogus ? DNS_SEC_BOGUS : DNS_SEC_INSECURE;
	if (u->bogus) {
		r->status = DNS_TEMPFAIL;
		snprintf(r->why, sizeof(r->why), "DNSSEC validation failed: %s",
		         u->why_bogus ? u->why_bogus : "bogus");
		return r;
	}
	switch (u->rcode) {
	case 0:
		break;
	case 3:
		r->status = DNS_NXDOMAIN;
		snprintf(r->why, sizeof(r->why), "Host not found");
		return r;
	case 2:
		r->status = DNS_TEMPFAIL;
		snprintf(r->why, sizeof(r->why), "Host not found, try again");
		return r;
	default:
		r->status = DNS_PERMFAIL;
		snprintf(r->why, sizeof(r->why), "DNS error (rcode %d)", u->rcode);
		return r;
	}
	if (!u->havedata || u->data == NULL) {
		r->status = DNS_NODATA;
		snprintf(r->why, sizeof(r->why), "No %s record", dns_type_name(q->type));
		return r;
	}
	size_t have = 0;
	while (u->data[have] != NULL && have < DNS_RR_MAX)
		have++;
	r->rr = xcalloc(have ? have : 1, sizeof(*r->rr));
	for (size_t i = 0; i < have; i++) {
		struct dns_rr *rr = &r->rr[r->n];
		if (u->len[i] < 0 ||
		    !dns_parse_rdata(q->type, (const unsigned char *)u->data[i], (size_t)u->len[i], rr)) {
			dns_rr_clear(rr);
			memset(rr, 0, sizeof(*rr));
			r->skipped++;
			continue;
		}
		rr->ttl = u->ttl > 0 ? (unsigned)u->ttl : 0;
		r->n++;
	}
	if (r->n == 0) {
		r->status = DNS_PERMFAIL;
		snprintf(r->why, sizeof(r->why), "malformed %s record", dns_type_name(q->type));
	} else {
		r->status = DNS_OK;
		if (q->type == DNS_T_MX)
			sort_mx(r->rr, r->n);
	}
	return r;
}

static void on_answer(void *arg, int err, struct ub_result *u)
{
	struct dns_query *q = arg;
	struct dns_result *r = convert(q, err, u);
	if (u)
		ub_resolve_free(u);
	q->running = false;
	deliver(q, r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	(void)fd;
	(void)what;
	if (q->early) {
		struct dns_result *r = q->early;
		q->early = NULL;
		deliver(q, r);
		return;
	}
	if (q->running)
		ub_cancel(q->ctx->ub, q->async_id);
	q->running = false;
	deliver(q, fail_result(q->name, q->type, DNS_TEMPFAIL, "timeout"));
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns_ctx *ctx = arg;
	(void)fd;
	(void)what;
	ub_process(ctx->ub);
}

bool dns_ctx_attach(struct dns_ctx *ctx, struct event_base *base)
{
	if (ctx->ev)
		return false;
	ctx->ev = event_new(base, ub_fd(ctx->ub), EV_READ | EV_PERSIST, on_readable, ctx);
	if (ctx->ev == NULL || event_add(ctx->ev, NULL) != 0)
		return false;
	ctx->base = base;
	return true;
}

struct dns_query *dns_query(struct dns_ctx *ctx, const char *name, enum dns_type type,
                            dns_done_fn done, void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));
	q->ctx = ctx;
	q->type = type;
	q->done = done;
	q->arg = arg;
	snprintf(q->name, sizeof(q->name), "%s", name);
	now(&q->deadline);
	q->deadline.tv_sec += ctx->timeout_ms / 1000;
	q->deadline.tv_nsec += (long)(ctx->timeout_ms % 1000) * 1000000;
	if (q->deadline.tv_nsec >= 1000000000) {
		q->deadline.tv_sec++;
		q->deadline.tv_nsec -= 1000000000;
	}
	q->next = ctx->head;
	if (ctx->head)
		ctx->head->prev = q;
	ctx->head = q;
	ctx->npending++;

	int rc = -1;
	if (!dns_name_ok(name) || strlen(name) > DNS_NAME_MAX + 1)
		q->early = fail_result(q->name, type, DNS_PERMFAIL, "malformed domain name");
	else if ((rc = ub_resolve_async(ctx->ub, q->name, (int)type, 1, q, on_answer,
	                                &q->async_id)) != 0)
		q->early = fail_result(q->name, type, DNS_TEMPFAIL, ub_strerror(rc));
	else
		q->running = true;

	if (ctx->base) {
		struct timeval tv = {0, 0};
		if (!q->early) {
			tv.tv_sec = ctx->timeout_ms / 1000;
			tv.tv_usec = (long)(ctx->timeout_ms % 1000) * 1000;
		}
		q->timer = evtimer_new(ctx->base, on_timer, q);
		if (q->timer == NULL || evtimer_add(q->timer, &tv) != 0)
			log_fatal("dns: cannot add a timer");
	}
	return q;
}

void dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->running)
		ub_cancel(q->ctx->ub, q->async_id);
	unlink_query(q);
	dns_result_free(q->early);
	free(q);
}

void dns_run(struct dns_ctx *ctx, const bool *stop)
{
	while (ctx->head && !(stop && *stop)) {
		struct dns_query *q, *due = NULL;
		long wait = DNS_TIMEOUT_MAX_MS;
		for (q = ctx->head; q; q = q->next) {
			long left = q->early ? 0 : ms_until(&q->deadline);
			if (left <= 0) {
				due = q;
				break;
			}
			if (left < wait)
				wait = left;
		}
		if (due) {
			on_timer(-1, 0, due);
			continue;
		}
		struct pollfd pfd = {.fd = ub_fd(ctx->ub), .events = POLLIN};
		int n = poll(&pfd, 1, (int)wait);
		if (n > 0)
			ub_process(ctx->ub);
		else if (n < 0 && errno != EINTR)
			break;
	}
}

static void sync_done(void *arg, struct dns_result *r)
{
	*(struct dns_result **)arg = r;
}

struct dns_result *dns_lookup(struct dns_ctx *ctx, const char *name, enum dns_type type)
{
	struct dns_result *r = NULL;
	struct dns_query *q = dns_query(ctx, name, type, sync_done, &r);
	/* Until q's callback has run, q is pending; each round either
	 * processes answers or ends at q's deadline. */
	while (r == NULL) {
		long wait = ms_until(&q->deadline);
		if (q->early || wait <= 0) {
			on_timer(-1, 0, q);
			break;
		}
		struct pollfd pfd = {.fd = ub_fd(ctx->ub), .events = POLLIN};
		int n = poll(&pfd, 1, (int)wait);
		if (n > 0) {
			ub_process(ctx->ub);
		} else if (n < 0 && errno != EINTR) {
			dns_cancel(q);
			r = fail_result(name, type, DNS_TEMPFAIL, strerror(errno));
		}
	}
	return r;
}

void dns_ctx_free(struct dns_ctx *ctx)
{
	if (ctx == NULL)
		return;
	while (ctx->head)
		dns_cancel(ctx->head);
	if (ctx->ev)
		event_free(ctx->ev);
	ub_ctx_delete(ctx->ub);
	free(ctx);
}
