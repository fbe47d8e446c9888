/*
 * smtp.c - the smtp/lmtp delivery agent (program "smtp"; run as "lmtp"
 * by master.cf's command column it speaks LMTP and reads lmtp_*
 * parameters): main loop, queue manager connections, requests, results
 * and the delivery log lines.  Runs as network_user; its CA bundle and
 * client key are read before privileges drop.  Every queue manager
 * connection is served by a forked process that delivers its requests
 * one after another with blocking I/O and poll() timeouts: a session's
 * state lives on one stack, a crash or hang costs one connection's
 * deliveries, and master.cf's maxproc caps the processes, as Postfix's
 * one-process-per-delivery smtp(8).  Input: DELIVER records from the
 * queue manager on private/<service>, accepted only from mail_owner
 * (SO_PEERCRED); then the remote servers (smtp_session.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cfg.h"
#include "daemon.h"
#include "dns.h"
#include "ipc.h"
#include "local_req.h"
#include "log.h"
#include "mastercf.h"
#include "proto.h"
#include "smtp_conf.h"
#include "smtp_session.h"
#include "xalloc.h"

static volatile sig_atomic_t got_term;

static void on_signal(int sig)
{
	if (sig != SIGCHLD)
		got_term = 1;
}

static void log_result(const struct smtp_conf *sc, const struct local_req *req, size_t i,
                       struct smtp_result *r)
{
	const struct local_rcpt *rc = &req->rcpt[i];
	double now = agent_now();
	double total = agent_total_delay(req->delays, (long long)req->arrival, r->t_conn + r->t_xfer,
	                                 now);
	char delay[32], c[32], d[32];
	agent_fmt_delay(delay, sizeof(delay), total);
	agent_fmt_delay(c, sizeof(c), r->t_conn);
	agent_fmt_delay(d, sizeof(d), r->t_xfer);
	const char *status = r->dsn[0] == '2' ? "sent" : r->dsn[0] == '5' ? "bounced"
	                                                                  : "deferred";
	if (r->dsn[0] == '5' && sc->soft_bounce) {
		/* qmgr keeps the message; say so as Postfix does. */
		status = "SOFTBOUNCE";
	}
	char orig[1100] = "";
	if (strcasecmp(rc->orig, rc->addr) != 0)
		snprintf(orig, sizeof(orig), ", orig_to=<%.1000s>", rc->orig);
	log_info("%s: to=<%s>%s, relay=%s, delay=%s, delays=%s/%s/%s, dsn=%s, status=%s (%s)",
	         req->id, rc->addr, orig, r->relay, delay, req->delays, c, d, r->dsn, status,
	         r->text);
}

static bool send_result(const struct smtp_conf *sc, int sock, size_t idx,
                        const struct smtp_result *r)
{
	struct ipc_out o;
	/* soft_bounce (also as this service's -o): the 5xx is kept as a
	 * deferral here, so qmgr never bounces it. */
	char dsn[sizeof(r->dsn)];
	snprintf(dsn, sizeof(dsn), "%s", r->dsn);
	if (sc->soft_bounce && dsn[0] == '5')
		dsn[0] = '4';
	ipc_out_init(&o, PROTO_RESULT);
	ipc_add_u64(&o, T_RCPT_INDEX, idx);
	ipc_add_str(&o, T_STATUS, dsn);
	ipc_add_str(&o, T_TEXT, r->text);
	ipc_add_str(&o, T_RELAY, r->relay);
	if (r->dsn_passed)
		ipc_add_u64(&o, T_FLAGS, PROTO_FLAG_DSN_PASSED);
	int rc = ipc_send(sock, &o, -1);
	ipc_out_free(&o);
	return rc == 0;
}

static void serve(const struct smtp_conf *sc, int sock)
{
	for (;;) {
		int fd;
		const struct ipc_in *rec;
		struct local_req *req = agent_next_request(sock, &fd, &rec);
		if (req == NULL)
			return;
		uint64_t u8 = 0;
		struct smtp_job job = {
			.sc = sc, .req = req, .fd = fd, .body = ipc_str(rec, T_BODY),
			.smtputf8 = ipc_u64(rec, T_SMTPUTF8, &u8) && u8 != 0,
			.res = xcalloc(req->nrcpt, sizeof(struct smtp_result)),
		};
		smtp_deliver(&job);
		bool ok = true;
		for (size_t i = 0; i < req->nrcpt && ok; i++) {
			log_result(sc, req, i, &job.res[i]);
			ok = send_result(sc, sock, i, &job.res[i]);
		}
		free(job.res);
		close(fd);
		free(req);
		if (!ok) {
			log_warn("cannot send result to queue manager: %s", strerror(errno));
			return;
		}
		struct ipc_out o;
		ipc_out_init(&o, PROTO_DONE);
		int rc = ipc_send(sock, &o, -1);
		ipc_out_free(&o);
		if (rc != 0) {
			log_warn("cannot send to queue manager: %s", strerror(errno));
			return;
		}
	}
}

int main(int argc, char **argv)
{
	struct daemon d;
	struct smtp_conf sc;
	char *a0 = xstrdup(argc > 0 ? argv[0] : "smtp");
	const char *prog = strcmp(basename(a0), "lmtp") == 0 ? "lmtp" : "smtp";

	daemon_init(&d, prog, argc, argv);
	const char *qdir = cfg_get(d.cfg, "queue_directory");
	if (chdir(qdir) != 0)
		log_fatal("chdir %s: %s", qdir, strerror(errno));
	smtp_conf_load(&sc, d.cfg, prog);
	uid_t owner = getuid();
	if (geteuid() == 0) {
		const char *on = cfg_get(d.cfg, "mail_owner");
		struct passwd *pw = getpwnam(on);
		if (pw == NULL)
			log_fatal("mail_owner: unknown user \"%s\"", on);
		owner = pw->pw_uid;
	}
	int ls = d.nlisten > 0 ? d.listen_fds[0] : agent_bind_socket(&d, owner);
	long maxproc = d.svc != NULL && d.svc->maxproc > 0 ? d.svc->maxproc
	               : cfg_get_long(d.cfg, "default_process_limit");
	if (maxproc <= 0)
		maxproc = 100;
	/* A resolver is made per connection process (serve()): libunbound's
	 * context holds pipes and a worker thread that forked siblings must
	 * not share.  This one only checks the settings once. */
	char dnserr[256];
	struct dns_ctx *probe = dns_ctx_from_cfg(d.cfg, dnserr, sizeof(dnserr));
	if (probe == NULL)
		log_warn("no DNS resolver (%s): host names are looked up with getaddrinfo, "
		         "without MX records", dnserr);
	else
		dns_ctx_free(probe);
	if (daemon_chroot_wanted(&d) && d.as_root)
		log_info("chrooted to %s: name resolution reads etc/resolv.conf and etc/hosts "
		         "(and the DNS trust anchor) inside it, as Postfix's chrooted smtp does",
		         qdir);
	daemon_drop_privileges(&d, cfg_get(d.cfg, "network_user"), daemon_chroot_wanted(&d));

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	daemon_ready(&d);

	long active = 0;
	while (!got_term) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			active--;
		if (active >= maxproc) {
			poll(NULL, 0, 1000);
			continue;
		}
		/* qmgr, or the local agent's root process handing a mailbox
		 * delivery to its mailbox_transport (delivery/local_pass.c). */
		int c = agent_accept(ls, owner, true);
		if (c < 0)
			continue;
		pid_t pid = fork();
		if (pid < 0) {
			log_warn("fork: %s", strerror(errno));
			close(c);
			continue;
		}
		if (pid == 0) {
			close(ls);
			signal(SIGCHLD, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			sc.dns = dns_ctx_from_cfg(d.cfg, dnserr, sizeof(dnserr));
			serve(&sc, c);
			if (sc.dns != NULL)
				dns_ctx_free(sc.dns);
			_exit(0);
		}
		active++;
		close(c);
	}
	smtp_conf_free(&sc);
	daemon_free(&d);
	free(a0);
	return 0;
}
