/*
 * fake_daemon.c - a stand-in daemon for the master tests: starts like a
 * real postern daemon (daemon_init, privilege drop to the user its name
 * implies, daemon_ready), then answers each connection on its listeners
 * with one line "220 fake NAME SERVICE" and closes it; on a unix
 * listener it answers one PROTO_ADMIN record with PROTO_ADMIN_OK (so
 * "postern flush" can be tested) and closes.  Built by
 * tests/e2e/lib.sh, installed under the names smtpd, qmgr, local, smtp.
 * It exits when its status socket reaches end of file (master is gone).
 * FAKE_FAIL=NAME in its environment (see import_environment) makes the
 * daemon of that name exit 1 before it is ready; FAKE_JUNK=NAME makes it
 * send master a record of an unknown type after its ready record.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void answer_admin(int c)
{
	static uint8_t buf[IPC_RECORD_MAX];
	static struct ipc_in in;
	struct pollfd p = {.fd = c, .events = POLLIN};
	int fd = -1;
	if (poll(&p, 1, 5000) != 1)
		return;
	long n = ipc_recv(c, buf, sizeof(buf), &fd);
	if (fd >= 0)
		close(fd);
	char err[128];
	if (n <= 0 || !ipc_parse(buf, (size_t)n, &in, err, sizeof(err)) ||
	    in.type != PROTO_ADMIN)
		return;
	const char *action = ipc_str(&in, T_ACTION);
	struct ipc_out o;
	ipc_out_init(&o, PROTO_ADMIN_OK);
	ipc_add_u64(&o, T_COUNT, 0);
	log_info("fake admin request: %s %s", action ? action : "?",
	         ipc_str(&in, T_ID) ? ipc_str(&in, T_ID) : "?");
	if (ipc_send(c, &o, -1) != 0)
		log_warn("send: %s", strerror(errno));
	ipc_out_free(&o);
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	struct daemon d;
	daemon_init(&d, name, argc, argv);
	const char *fail = getenv("FAKE_FAIL");
	if (fail != NULL && strcmp(fail, name) == 0)
		log_fatal("failing at start as FAKE_FAIL asks");
	if (strcmp(name, "qmgr") == 0)
		daemon_drop_privileges(&d, cfg_get(d.cfg, "mail_owner"), false);
	else if (strcmp(name, "local") != 0)
		daemon_drop_privileges(&d, cfg_get(d.cfg, "network_user"),
		                       daemon_chroot_wanted(&d));
	else if (chdir(cfg_get(d.cfg, "queue_directory")) != 0)
		log_fatal("chdir: %s", strerror(errno));
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	log_info("fake %s for service %s/%s up with %zu listeners", name, d.service,
	         d.type, d.nlisten);
	daemon_ready(&d);
	const char *junk = getenv("FAKE_JUNK");
	if (junk != NULL && strcmp(junk, name) == 0 && d.status_fd >= 0) {
		struct ipc_out o;
		ipc_out_init(&o, 999);
		ipc_add_str(&o, T_TEXT, "junk");
		if (ipc_send(d.status_fd, &o, -1) != 0)
			log_warn("send junk: %s", strerror(errno));
		ipc_out_free(&o);
	}
	struct pollfd p[DAEMON_LISTEN_MAX + 1];
	for (size_t i = 0; i < d.nlisten; i++)
		p[i] = (struct pollfd){.fd = d.listen_fds[i], .events = POLLIN};
	p[d.nlisten] = (struct pollfd){.fd = d.status_fd, .events = POLLIN};
	while (!stop) {
		int n = poll(p, d.nlisten + 1, 1000);
		if (n > 0 && p[d.nlisten].revents != 0) {
			char b[64];
			if (recv(d.status_fd, b, sizeof(b), MSG_DONTWAIT) == 0) {
				log_info("fake %s: master is gone", name);
				break;
			}
		}
		if (n < 0 && errno != EINTR)
			log_fatal("poll: %s", strerror(errno));
		for (size_t i = 0; n > 0 && i < d.nlisten; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int c = accept(p[i].fd, NULL, NULL);
			if (c < 0)
				continue;
			int domain = 0;
			socklen_t dl = sizeof(domain);
			getsockopt(c, SOL_SOCKET, SO_DOMAIN, &domain, &dl);
			if (domain == AF_UNIX) {
				answer_admin(c);
				close(c);
				continue;
			}
			char line[256];
			int l = snprintf(line, sizeof(line), "220 fake %s %s\r\n", name,
			                 d.service);
			ssize_t w = send(c, line, (size_t)l, MSG_NOSIGNAL);
			(void)w;
			close(c);
		}
	}
	log_info("fake %s: stopping", name);
	daemon_free(&d);
	return 0;
}
