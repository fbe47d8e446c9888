/*
 * smtpd.c - the SMTP server's main: start-up (configuration, tables,
 * listening sockets, resolver, all opened before privileges are
 * dropped), the accept loop with master.cf's maxproc as the cap on
 * concurrent sessions, and smtpd_client_connection_count_limit per
 * client address.  Runs as network_user, chrooted when master.cf says
 * so.  Untrusted input starts in smtpd_session.c; here only accepted
 * connections.
 *
 * At maxproc sessions the listening sockets are taken out of the event
 * loop, so further clients wait in the kernel's listen queue until a
 * session ends, as they wait for a free smtpd process under Postfix.
 *
 * Test-only: "-l host:port" binds that address itself when master
 * passed no sockets (POSTERN_LISTEN_FDS unset).
 */
#include "smtpd.h"

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "hbcheck.h"
#include "daemon.h"
#include "htable.h"
#include "log.h"
#include "mastercf.h"
#include "dns.h"
#include "smtpd_anvil.h"
#include "smtpd_check.h"
#include "smtpd_dnshook.h"
#include "smtpd_policy.h"
#include "smtpd_route.h"
#include "smtpd_sasl.h"
#include "smtpd_session.h"
#include "smtpd_tls.h"
#include "strlist.h"
#include "xalloc.h"

static struct smtpd_server srv;

static void listeners_enable(bool on)
{
	if (srv.accepting == on)
		return;
	srv.accepting = on;
	for (size_t i = 0; i < srv.nlisteners; i++) {
		if (on)
			event_add(srv.listeners[i], NULL);
		else
			event_del(srv.listeners[i]);
	}
}

bool smtpd_client_count(struct smtpd_server *s, const char *addr, long *count)
{
	uintptr_t n = (uintptr_t)ht_get(s->per_client, addr);
	if (count != NULL) {
		*count = (long)n + 1;
		if ((long)n >= s->conn_limit)
			return false;
	}
	ht_put(s->per_client, addr, (void *)(n + 1));
	return true;
}

void smtpd_session_gone(struct smtpd_server *s, const char *addr)
{
	if (addr != NULL) {
		uintptr_t n = (uintptr_t)ht_get(s->per_client, addr);
		if (n <= 1)
			ht_del(s->per_client, addr);
		else
			ht_put(s->per_client, addr, (void *)(n - 1));
	}
	s->sessions--;
	if (s->stopping) {
		if (s->sessions == 0)
			event_base_loopbreak(s->base);
		return;
	}
	if (s->maxproc <= 0 || s->sessions < s->maxproc)
		listeners_enable(true);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (int i = 0; i < 64 && srv.accepting; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		srv.sessions++;
		if (srv.maxproc > 0 && srv.sessions >= srv.maxproc)
			listeners_enable(false);
		session_start(&srv, fd, (struct sockaddr *)&ss, sl);
	}
}

static int bind_one(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		log_fatal("cannot listen on %s:%s: %s", host ? host : "*", port, gai_strerror(rc));
	int fd = -1;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		int one = 1;
		if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		                bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0)) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		log_fatal("cannot listen on %s:%s: %s", host ? host : "*", port, strerror(errno));
	return fd;
}

/* "host:port", "[v6]:port", or "port". */
static int bind_spec(const char *spec)
{
	char host[256], port[64];
	const char *colon = strrchr(spec, ':');
	if (colon == NULL) {
		snprintf(port, sizeof(port), "%s", spec);
		return bind_one(NULL, port);
	}
	size_t hl = (size_t)(colon - spec);
	if (hl >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
		log_fatal("bad listen address: %s", spec);
	memcpy(host, spec, hl);
	host[hl] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	char *h = host;
	if (h[0] == '[' && hl > 1 && h[hl - 1] == ']') {
		h[hl - 1] = '\0';
		h++;
	}
	return bind_one(*h ? h : NULL, port);
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(srv.base);
}

/* SIGTERM: stop accepting, tell every client 421, end when the replies
 * are out (at most a few seconds later). */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	static bool terminating; /* also after a SIGHUP retire */
	(void)what;
	(void)arg;
	if (terminating)
		return;
	terminating = true;
	log_info("terminating on signal %d", (int)sig);
	listeners_enable(false);
	srv.stopping = true;
	session_shutdown_all();
	if (srv.sessions <= 0) {
		event_base_loopbreak(srv.base);
		return;
	}
	static struct timeval tv = {5, 0};
	event_base_once(srv.base, -1, EV_TIMEOUT, on_stop_timer, NULL, &tv);
}

/* SIGHUP (master retires us at a reload): stop accepting, let the open
 * sessions finish on their own time (each bounded by its timeouts), then
 * exit.  The new smtpd, with the new configuration and certificates,
 * takes the listening sockets over. */
static void on_retire(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (srv.stopping)
		return;
	log_info("retiring: %ld open session%s finish%s first", srv.sessions,
	         srv.sessions == 1 ? "" : "s", srv.sessions == 1 ? "es" : "");
	listeners_enable(false);
	srv.stopping = true;
	if (srv.sessions <= 0)
		event_base_loopbreak(srv.base);
}

/* Remove "-l ADDR" (ours) before daemon_init() sees the arguments. */
static const char *take_listen_arg(int *argc, char **argv)
{
	const char *l = NULL;
	int o = 1;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "-l") == 0 && i + 1 < *argc) {
			l = argv[++i];
			continue;
		}
		argv[o++] = argv[i];
	}
	argv[o] = NULL;
	*argc = o;
	return l;
}

static void settings(struct daemon *d)
{
	struct cfg *c = d->cfg;
	srv.d = d;
	srv.service = d->service;
	srv.myhostname = cfg_get(c, "myhostname");
	srv.banner = cfg_get(c, "smtpd_banner");
	srv.mail_name = cfg_get(c, "mail_name");
	long lim = cfg_get_long(c, "message_size_limit");
	srv.size_limit = lim > 0 ? (uint64_t)lim : 0;
	srv.helo_required = cfg_get_bool(c, "smtpd_helo_required");
	srv.vrfy_disabled = cfg_get_bool(c, "disable_vrfy_command");
	srv.smtputf8 = cfg_get_bool(c, "smtputf8_enable");
	srv.rcpt_limit = cfg_get_long(c, "smtpd_recipient_limit");
	srv.timeout = cfg_get_time(c, "smtpd_timeout");
	if (srv.timeout <= 0)
		srv.timeout = 300;
	srv.hard_errors = cfg_get_long(c, "smtpd_hard_error_limit");
	srv.soft_errors = cfg_get_long(c, "smtpd_soft_error_limit");
	srv.error_sleep = cfg_get_time(c, "smtpd_error_sleep_time");
	srv.conn_limit = cfg_get_long(c, "smtpd_client_connection_count_limit");
	srv.maxproc = cfg_get_long(c, "default_process_limit");
	if (d->svc != NULL && d->svc->maxproc >= 0)
		srv.maxproc = d->svc->maxproc;

	/* smtpd_forbid_bare_newline: Postfix 3.9's values.  "reject" refuses
	 * a bare LF in DATA; every other value normalizes (a bare LF never
	 * ends DATA, whatever the setting: that is our security invariant). */
	const char *bn = cfg_get(c, "smtpd_forbid_bare_newline");
	srv.reject_bare_lf = strcasecmp(bn, "reject") == 0;
	if (strcasecmp(bn, "no") == 0 && cfg_is_set(c, "smtpd_forbid_bare_newline"))
		log_info("smtpd_forbid_bare_newline = no: treated as \"normalize\"; a bare LF "
		         "never ends DATA in postern");

	char **items, err[256];
	if (strlist_split(cfg_get(c, "smtpd_discard_ehlo_keywords"), NULL, 100, &items, err,
	                  sizeof(err)) < 0)
		log_fatal("smtpd_discard_ehlo_keywords: %s", err);
	srv.discard_ehlo = items;

	char herr[600];
	srv.hbc = hbc_cfg_load(c, herr, sizeof(herr));
	if (hbc_cfg_error(srv.hbc))
		log_error("%s; mail is refused with 451 until it is fixed", herr);
}

int main(int argc, char **argv)
{
	static struct daemon d;
	const char *listen_arg = take_listen_arg(&argc, argv);

	daemon_init(&d, "smtpd", argc, argv);
	settings(&d);
	signal(SIGPIPE, SIG_IGN);
	tzset(); /* before chroot: the zone file is not there */

	/* One descriptor per session, one for its queue file and one for
	 * its qmgr connection. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	int fds[DAEMON_LISTEN_MAX];
	size_t nfds = 0;
	for (size_t i = 0; i < d.nlisten; i++)
		fds[nfds++] = d.listen_fds[i];
	if (nfds == 0 && listen_arg != NULL)
		fds[nfds++] = bind_spec(listen_arg);
	if (nfds == 0 && d.svc != NULL && d.svc->port != NULL)
		fds[nfds++] = bind_one(d.svc->host, d.svc->port);
	if (nfds == 0)
		log_fatal("no listening socket (run from master, or give -l host:port)");

	srv.route = route_init(d.cfg);
	/* Keys and certificates are read now, while still privileged; a
	 * reload starts a new smtpd, which reads renewed files. */
	srv.tls = smtpd_tls_init(d.cfg);
	srv.per_client = ht_new();
	srv.base = event_base_new();
	if (srv.base == NULL)
		log_fatal("event_base_new failed");
	srv.chk = chk_init(d.cfg, srv.route);
	smtpd_anvil_init(&srv);
	chk_set_event_base(srv.chk, srv.base);
	srv.policy = policy_init(srv.base, srv.chk);
	/* Reads resolv.conf, the hosts file and the trust anchor now,
	 * before chroot. */
	char dnserr[512];
	srv.peername_lookup = cfg_get_bool(d.cfg, "smtpd_peername_lookup");
	srv.dns = dns_ctx_from_cfg(d.cfg, dnserr, sizeof(dnserr));
	if (srv.dns == NULL || !dns_ctx_attach(srv.dns, srv.base)) {
		log_warn("no DNS resolver (%s): client names will be \"unknown\", DNS checks fail "
		         "temporarily",
		         srv.dns ? "cannot watch it" : dnserr);
		dns_ctx_free(srv.dns);
		srv.dns = NULL;
	}
	/* The chain's DNS restrictions go through the resolver. */
	srv.dnshook = smtpd_dnshook_attach(srv.chk, d.cfg, srv.dns);

	/* Cyrus reads its plugins and configuration here, as root. */
	srv.sasl = smtpd_sasl_init(d.cfg, srv.base);

	daemon_drop_privileges(&d, cfg_get(d.cfg, "network_user"), daemon_chroot_wanted(&d));
	smtpd_sasl_after_drop(srv.sasl);

	for (size_t i = 0; i < nfds && i < 64; i++) {
		int fl = fcntl(fds[i], F_GETFL);
		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) != 0)
			log_fatal("listening socket %d: %s", fds[i], strerror(errno));
		srv.listeners[srv.nlisteners++] =
		    event_new(srv.base, fds[i], EV_READ | EV_PERSIST, on_accept, NULL);
	}
	srv.accepting = false;
	listeners_enable(true);
	struct event *sigterm = evsignal_new(srv.base, SIGTERM, on_signal, NULL);
	struct event *sigint = evsignal_new(srv.base, SIGINT, on_signal, NULL);
	struct event *sighup = evsignal_new(srv.base, SIGHUP, on_retire, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	event_add(sighup, NULL);
	daemon_ready(&d);
	event_base_dispatch(srv.base);

	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	for (size_t i = 0; i < srv.nlisteners; i++)
		event_free(srv.listeners[i]);
	smtpd_dnshook_free(srv.dnshook);
	dns_ctx_free(srv.dns);
	policy_free(srv.policy);
	chk_free(srv.chk);
	route_free(srv.route);
	smtpd_tls_free(srv.tls);
	strlist_free(srv.discard_ehlo);
	ht_free(srv.per_client, NULL);
	event_base_free(srv.base);
	daemon_free(&d);
	return 0;
}
