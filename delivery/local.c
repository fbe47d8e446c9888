/*
 * local.c - the local delivery agent (program "local", Postfix's
 * local(8) counterpart): main loop, connections from the queue manager,
 * requests, results and the delivery log lines.  Runs as root (it must
 * become each recipient); every connection is served by a forked
 * process, every delivery step by a further child that becomes the
 * user (local_priv.c).  Input: DELIVER records from the queue manager
 * on private/<service>, accepted only from mail_owner (SO_PEERCRED).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include <pwd.h>

#include "agent.h"
#include "cfg.h"
#include "daemon.h"
#include "ipc.h"
#include "local_conf.h"
#include "local_expand.h"
#include "local_req.h"
#include "log.h"
#include "mastercf.h"
#include "proto.h"

static volatile sig_atomic_t got_term;

/* SIGCHLD only interrupts poll(), so exited children are reaped at once. */
static void on_signal(int sig)
{
	if (sig != SIGCHLD)
		got_term = 1;
}

struct logctx {
	const struct local_req *req;
	size_t idx;
	double t_start; /* this delivery step began */
};

static void log_result(void *arg, const char *to, const struct local_status *st)
{
	struct logctx *lx = arg;
	const struct local_rcpt *r = &lx->req->rcpt[lx->idx];
	double now = agent_now();
	char delay[32], d[32];
	double total = agent_total_delay(lx->req->delays, (long long)lx->req->arrival,
	                                 now - lx->t_start, now);
	agent_fmt_delay(delay, sizeof(delay), total);
	agent_fmt_delay(d, sizeof(d), now - lx->t_start);
	int cls = local_status_class(st);
	const char *status = cls == 2 ? "sent" : cls == 5 ? "bounced" : "deferred";
	char orig[LOCAL_TEXT_MAX] = "";
	if (strcasecmp(r->orig, to) != 0)
		snprintf(orig, sizeof(orig), ", orig_to=<%.1000s>", r->orig);
	/* c (connection set-up) is nil for local delivery. */
	log_info("%s: to=<%s>%s, relay=local, delay=%s, delays=%s/0/%s, dsn=%s, "
	         "status=%s (%s)", lx->req->id, to, orig, delay, lx->req->delays, d,
	         st->dsn, status, st->text);
	lx->t_start = now;
}

/* One queue manager connection: requests one after another until EOF. */
static void serve(const struct local_conf *lc, int sock)
{
	for (;;) {
		int fd;
		struct local_req *req = agent_next_request(sock, &fd, NULL);
		if (req == NULL)
			return;
		for (size_t i = 0; i < req->nrcpt; i++) {
			struct logctx lx = {.req = req, .idx = i, .t_start = agent_now()};
			struct local_job job = {
				.lc = lc, .req = req, .idx = i,
				.content = {.fd = fd, .offset = req->offset, .length = req->length},
				.log = log_result, .log_arg = &lx,
			};
			local_expand_rcpt(&job);
			if (!local_req_result(sock, i, job.result.dsn, job.result.text)) {
				log_warn("%s: cannot send result to queue manager: %s", req->id,
				         strerror(errno));
				free(req);
				close(fd);
				return;
			}
		}
		close(fd);
		free(req);
		if (!local_req_done(sock)) {
			log_warn("cannot send to queue manager: %s", strerror(errno));
			return;
		}
	}
}

int main(int argc, char **argv)
{
	struct daemon d;
	struct local_conf lc;

	daemon_init(&d, "local", argc, argv);
	local_conf_load(&lc, d.cfg, d.config_dir);
	const char *qdir = cfg_get(d.cfg, "queue_directory");
	if (chdir(qdir) != 0)
		log_fatal("chdir %s: %s", qdir, strerror(errno));
	if (!d.as_root)
		log_info("not started as root: delivering as uid %ld only", (long)getuid());
	int ls = d.nlisten > 0 ? d.listen_fds[0] : agent_bind_socket(&d, lc.peer_uid);
	long maxproc = d.svc != NULL && d.svc->maxproc > 0 ? d.svc->maxproc
	               : cfg_get_long(d.cfg, "default_process_limit");
	if (maxproc <= 0)
		maxproc = 100;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL); /* no SA_RESTART: accept() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	daemon_ready(&d);
	local_nss_warm();

	long active = 0;
	while (!got_term) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			active--;
		if (active >= maxproc) {
			poll(NULL, 0, 1000); /* a child's exit or a second passes */
			continue;
		}
		int c = agent_accept(ls, lc.peer_uid, false);
		if (c < 0)
			continue;
		local_conf_refresh(&lc);
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
			serve(&lc, c);
			_exit(0);
		}
		active++;
		close(c);
	}
	/* Deliveries in progress finish; the queue manager gets its
	 * results from them. */
	local_conf_free(&lc);
	daemon_free(&d);
	return 0;
}
