/*
 * spawn.c - daemon processes: fork, hand over descriptors, exec, reap,
 * restart with backoff.  Runs in master as root.  The only input from
 * outside master is what a child writes to its status socket: one
 * bounded record parsed by ipc_parse; anything but PROTO_READY is
 * logged and the socket no longer read (a compromised daemon cannot
 * make master do more).
 */
#include "spawn.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

/* Status records are tiny; anything longer is refused by the kernel's
 * MSG_TRUNC and ipc_recv. */
#define STATUS_RECORD_MAX 512
#define ENV_MAX 64

static double since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

static void close_status(struct mchild *c)
{
	if (c->status_ev != NULL)
		event_free(c->status_ev);
	c->status_ev = NULL;
	if (c->status_fd >= 0)
		close(c->status_fd);
	c->status_fd = -1;
}

static void on_status(evutil_socket_t fd, short what, void *arg)
{
	static uint8_t buf[STATUS_RECORD_MAX];
	static struct ipc_in in;
	struct mchild *c = arg;
	(void)what;
	int pfd = -1;
	long n = ipc_recv(fd, buf, sizeof(buf), &pfd);
	if (pfd >= 0)
		close(pfd);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	char err[128] = "";
	if (n <= 0) { /* end of file: the child is gone (reaped on SIGCHLD) */
		close_status(c);
		return;
	}
	bool parsed = ipc_parse(buf, (size_t)n, &in, err, sizeof(err));
	if (parsed && in.type != PROTO_READY)
		snprintf(err, sizeof(err), "type %u", (unsigned)in.type);
	else if (parsed && pfd >= 0)
		snprintf(err, sizeof(err), "a descriptor attached");
	if (!parsed || in.type != PROTO_READY || pfd >= 0) {
		log_warn("process %s pid %ld: unexpected status record (%s); "
		         "ignoring its status socket",
		         c->path, (long)c->pid, err);
		/* Stop reading but keep it open: end of file would tell the
		 * daemon that master is gone. */
		event_del(c->status_ev);
		return;
	}
	c->ready = true;
	struct master *m = c->master;
	if (m->starting && spawn_all_ready(m))
		master_started(m);
}

/* The environment of a daemon: import_environment plus POSTERN_*. */
static char **build_env(struct master *m, size_t nlisten, int status_fd,
                        int log_fd)
{
	char **env = xcalloc(ENV_MAX + 1, sizeof(*env));
	size_t n = 0;
	char **items = NULL, err[128];
	int k = strlist_split(cfg_get(m->cfg, "import_environment"), NULL,
	                      ENV_MAX - 4, &items, err, sizeof(err));
	if (k < 0)
		log_warn("import_environment: %s", err);
	for (int i = 0; i < k; i++) {
		const char *eq = strchr(items[i], '=');
		if (eq != NULL) {
			env[n++] = xstrdup(items[i]);
		} else if (strncmp(items[i], "POSTERN_", 8) != 0 && getenv(items[i])) {
			struct strbuf sb;
			sb_init(&sb, 0);
			sb_printf(&sb, "%s=%s", items[i], getenv(items[i]));
			env[n++] = sb_steal(&sb);
		}
	}
	strlist_free(items);
	char v[64];
	snprintf(v, sizeof(v), "POSTERN_LISTEN_FDS=%zu", nlisten);
	env[n++] = xstrdup(v);
	snprintf(v, sizeof(v), "POSTERN_STATUS_FD=%d", status_fd);
	env[n++] = xstrdup(v);
	if (log_fd >= 0) {
		snprintf(v, sizeof(v), "POSTERN_LOG_FD=%d", log_fd);
		env[n++] = xstrdup(v);
	}
	if (m->foreground)
		env[n++] = xstrdup("POSTERN_FOREGROUND=1");
	env[n] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* In the child: descriptors to 3.., nothing else open, exec. */
static void __attribute__((noreturn))
child_exec(struct master *m, struct msvc *s, int status_fd, char **env)
{
	int src[DAEMON_LISTEN_MAX + 2];
	size_t total = 0;
	for (size_t i = 0; i < s->nfds; i++)
		src[total++] = s->fds[i];
	src[total++] = status_fd;
	if (m->log_fd >= 0)
		src[total++] = m->log_fd;
	/* Two steps, so that a source already in 3..3+total is not
	 * overwritten before it is copied. */
	int tmp[DAEMON_LISTEN_MAX + 2];
	for (size_t i = 0; i < total; i++)
		if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3 + (int)total)) < 0)
			_exit(126);
	for (size_t i = 0; i < total; i++)
		if (dup2(tmp[i], 3 + (int)i) < 0)
			_exit(126);
	if (close_range(3 + (unsigned)total, ~0U, 0) != 0)
		for (int fd = 3 + (int)total; fd < 65536; fd++)
			close(fd);
	if (!m->foreground) { /* daemons log to syslog and maillog_file */
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	char *argv[] = {s->argv0, "-c",    m->config_dir, "-s", s->name, "-t",
	                (char *)mastercf_type_name(s->type), NULL};
	execve(s->path, argv, env);
	_exit(127);
}

static void schedule_respawn(struct master *m, struct msvc *s);

void spawn_start(struct master *m, struct msvc *s)
{
	if (m->stopping || s->child != NULL)
		return;
	if (s->is_qmgr) /* one queue manager at a time */
		for (struct mchild *c = m->children; c != NULL; c = c->next) {
			if (!c->is_qmgr)
				continue;
			if (c->svc != NULL) /* a second qmgr line, not a reload */
				log_warn("service %s: only one queue manager runs at a "
				         "time; service %s has one", s->name, c->svc->name);
			return; /* else started when the old one is reaped */
		}
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
		log_warn("service %s: socketpair: %s", s->name, strerror(errno));
		schedule_respawn(m, s);
		return;
	}
	/* Descriptors as child_exec() arranges them. */
	int nl = (int)s->nfds;
	char **env = build_env(m, s->nfds, 3 + nl, m->log_fd >= 0 ? 4 + nl : -1);
	pid_t pid = fork();
	if (pid == 0) {
		close(sp[0]);
		child_exec(m, s, sp[1], env);
	}
	free_env(env);
	close(sp[1]);
	if (pid < 0) {
		log_warn("service %s: fork: %s", s->name, strerror(errno));
		close(sp[0]);
		schedule_respawn(m, s);
		return;
	}
	struct mchild *c = xcalloc(1, sizeof(*c));
	c->master = m;
	c->pid = pid;
	c->svc = s;
	c->path = xstrdup(s->path);
	c->is_qmgr = s->is_qmgr;
	c->status_fd = sp[0];
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	evutil_make_socket_nonblocking(sp[0]);
	c->status_ev = event_new(m->base, sp[0], EV_READ | EV_PERSIST, on_status, c);
	event_add(c->status_ev, NULL);
	c->next = m->children;
	m->children = c;
	s->child = c;
}

static void on_respawn(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct msvc *s = arg;
	spawn_start(s->master, s);
}

static void schedule_respawn(struct master *m, struct msvc *s)
{
	if (m->stopping)
		return;
	if (s->respawn_ev == NULL)
		s->respawn_ev = evtimer_new(m->base, on_respawn, s);
	if (s->backoff < MASTER_BACKOFF_FIRST)
		s->backoff = MASTER_BACKOFF_FIRST;
	struct timeval tv = {.tv_sec = s->backoff};
	evtimer_add(s->respawn_ev, &tv);
	s->backoff = s->backoff * 2 > MASTER_BACKOFF_MAX ? MASTER_BACKOFF_MAX
	                                                 : s->backoff * 2;
}

static void child_ended(struct master *m, struct mchild *c, int status)
{
	struct msvc *s = c->svc;
	bool quiet = m->stopping || s == NULL; /* asked to stop */
	char how[64] = "";
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		if (!(quiet && (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)))
			snprintf(how, sizeof(how), "killed by signal %d", sig);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
	}
	if (how[0])
		log_warn("process %s pid %ld %s", c->path, (long)c->pid, how);
	if (s == NULL || m->stopping)
		return;
	s->child = NULL;
	if (m->starting) {
		char why[512];
		snprintf(why, sizeof(why), "service %s: process %s pid %ld %s %s; "
		         "see its log lines",
		         s->name, c->path, (long)c->pid, how[0] ? how : "exited",
		         c->ready ? "during start-up" : "before it was ready");
		master_start_failed(m, why);
		return;
	}
	if (since(&c->started) >= MASTER_STABLE_SECONDS)
		s->backoff = MASTER_BACKOFF_FIRST;
	if (!c->ready)
		log_warn("%s: bad command startup -- throttling", c->path);
	log_info("service %s: restarting %s in %d s", s->name, s->prog,
	         s->backoff < MASTER_BACKOFF_FIRST ? MASTER_BACKOFF_FIRST : s->backoff);
	schedule_respawn(m, s);
}

void spawn_reap(struct master *m)
{
	int status;
	pid_t pid;
	bool qmgr_gone = false;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct mchild **pp = &m->children;
		while (*pp != NULL && (*pp)->pid != pid)
			pp = &(*pp)->next;
		struct mchild *c = *pp;
		if (c == NULL)
			continue;
		*pp = c->next;
		qmgr_gone |= c->is_qmgr;
		child_ended(m, c, status);
		close_status(c);
		free(c->path);
		free(c);
	}
	/* A queue manager waiting for its predecessor may start now. */
	if (qmgr_gone && !m->stopping)
		for (size_t i = 0; i < m->nsvcs; i++) {
			struct msvc *s = m->svcs[i];
			if (s->is_qmgr && s->child == NULL &&
			    (s->respawn_ev == NULL || !evtimer_pending(s->respawn_ev, NULL)))
				spawn_start(m, s);
		}
}

void spawn_signal_all(struct master *m, int sig)
{
	for (struct mchild *c = m->children; c != NULL; c = c->next)
		if (kill(c->pid, sig) != 0 && errno != ESRCH)
			log_warn("kill %ld: %s", (long)c->pid, strerror(errno));
}

void spawn_retire_all(struct master *m)
{
	for (size_t i = 0; i < m->nsvcs; i++) {
		struct msvc *s = m->svcs[i];
		if (s->child != NULL) {
			s->child->svc = NULL;
			/* smtpd takes SIGHUP as "retire": it stops accepting and
			 * ends when its open sessions end, so a reload (say, for
			 * a renewed TLS certificate) drops no client. */
			const char *b = strrchr(s->child->path, '/');
			b = b ? b + 1 : s->child->path;
			kill(s->child->pid, strcmp(b, "smtpd") == 0 ? SIGHUP : SIGTERM);
			s->child = NULL;
		}
		if (s->respawn_ev != NULL)
			evtimer_del(s->respawn_ev);
	}
}

bool spawn_all_ready(const struct master *m)
{
	for (size_t i = 0; i < m->nsvcs; i++)
		if (m->svcs[i]->child == NULL || !m->svcs[i]->child->ready)
			return false;
	return true;
}
