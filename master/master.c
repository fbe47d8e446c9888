/*
 * master.c - the supervisor (program "master"): reads main.cf and
 * master.cf, prepares the queue directory, binds every listener, starts
 * one daemon per master.cf service it runs and keeps them running;
 * SIGHUP reloads, SIGTERM stops.  Runs as root (or, for development,
 * as any user).  It never reads network input: listeners are only
 * passed on; the one thing it reads from other processes is the status
 * record of its children (spawn.c).
 *
 *   master [-c DIR] [-f]
 *     -f  stay in the foreground and log to stderr as well (start-fg);
 *         without it master detaches and the invoking process exits 0
 *         once every daemon is up, 1 if start-up failed.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "master.h"
#include "mastercf.h"
#include "qdirs.h"
#include "service.h"
#include "spawn.h"
#include "strbuf.h"
#include "xalloc.h"

static void start_logging(struct master *m, bool to_stderr)
{
	char prog[256];
	snprintf(prog, sizeof(prog), "%s/master", cfg_get(m->cfg, "syslog_name"));
	log_init(prog, LOG_TO_SYSLOG | (to_stderr ? LOG_TO_STDERR : 0),
	         cfg_get(m->cfg, "syslog_facility"));
	if (m->log_fd >= 0)
		log_set_file(m->log_fd, cfg_get(m->cfg, "myhostname"));
}

/* maillog_file, opened once here and shared by every daemon; logging
 * is restarted on the new descriptor before anything else is logged. */
static void open_maillog(struct master *m, bool to_stderr)
{
	const char *f = cfg_get(m->cfg, "maillog_file");
	int fd = -1, err = 0;
	if (f[0] != '\0') {
		fd = open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		err = errno;
	}
	if (m->log_fd >= 0)
		close(m->log_fd);
	m->log_fd = fd;
	start_logging(m, to_stderr);
	if (f[0] != '\0' && fd < 0)
		log_warn("maillog_file %s: %s", f, strerror(err));
}

/* Read main.cf and master.cf; NULL cfg when either has errors. */
static int load_config(const char *dir, struct cfg **cp, struct mastercf **mp)
{
	struct diag d = {0};
	struct cfg *c = cfg_load(dir, &d, false);
	struct mastercf *mcf = NULL;
	if (c != NULL) {
		struct strbuf p;
		sb_init(&p, 0);
		sb_printf(&p, "%s/master.cf", cfg_config_dir(c));
		mcf = mastercf_load(p.s, &d);
		sb_free(&p);
	}
	if (c == NULL || mcf == NULL || d.count[DIAG_ERROR] > 0) {
		mastercf_free(mcf);
		cfg_free(c);
		return -1;
	}
	const char *q = cfg_get(c, "queue_directory");
	if (q[0] != '/') {
		log_error("queue_directory must be an absolute path: \"%s\"", q);
		mastercf_free(mcf);
		cfg_free(c);
		return -1;
	}
	*cp = c;
	*mp = mcf;
	return 0;
}

/*
 * The pid file, locked for master's lifetime: a second master on the
 * same queue finds it locked and refuses; "postern status" tests the
 * lock the same way.
 */
static int pid_lock(const struct master *m)
{
	int fd = open("pid/master.pid", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		log_fatal("open %s/pid/master.pid: %s", m->queue_dir, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		char buf[32] = "";
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		if (e == EWOULDBLOCK)
			log_fatal("the postern mail system is already running (pid %ld, "
			          "queue directory %s)",
			          strtol(buf, NULL, 10), m->queue_dir);
		log_fatal("lock %s/pid/master.pid: %s", m->queue_dir, strerror(e));
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%10ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_fatal("write %s/pid/master.pid: %s", m->queue_dir, strerror(errno));
	return fd;
}

static void __attribute__((noreturn)) finish(int status)
{
	if (status == 0)
		unlink("pid/master.pid");
	exit(status);
}

void master_started(struct master *m)
{
	m->starting = false;
	if (m->start_timer != NULL)
		evtimer_del(m->start_timer);
	log_info("daemon started -- version %s, configuration %s", POSTERN_VERSION,
	         m->config_dir);
	if (m->notify_fd >= 0) {
		ssize_t w = write(m->notify_fd, "ok", 2);
		(void)w; /* the waiting parent sees end of file otherwise */
		close(m->notify_fd);
		m->notify_fd = -1;
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
			if (nul > 2)
				close(nul);
		}
		start_logging(m, false);
	}
}

/* Start-up failed: take every daemon down and exit 1. */
void master_start_failed(struct master *m, const char *why)
{
	log_error("%s", why);
	log_error("start-up failed; stopping");
	m->stopping = true;
	spawn_signal_all(m, SIGTERM);
	for (int i = 0; i < 10 * MASTER_STOP_WAIT && m->children != NULL; i++) {
		usleep(100000);
		spawn_reap(m);
	}
	spawn_signal_all(m, SIGKILL);
	finish(1);
}

static void on_start_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct master *m = arg;
	for (size_t i = 0; i < m->nsvcs; i++)
		if (m->svcs[i]->child != NULL && !m->svcs[i]->child->ready)
			log_warn("service %s: %s did not report ready within %d s",
			         m->svcs[i]->name, m->svcs[i]->path, MASTER_READY_WAIT);
	master_started(m);
}

static void start_all(struct master *m)
{
	for (size_t i = 0; i < m->nsvcs; i++)
		spawn_start(m, m->svcs[i]);
}

static void reload(struct master *m)
{
	struct cfg *c;
	struct mastercf *mcf;
	if (load_config(m->config_dir, &c, &mcf) != 0) {
		log_error("reload: the configuration has errors; keeping the running "
		          "one");
		return;
	}
	if (strcmp(cfg_get(c, "queue_directory"), m->queue_dir) != 0)
		log_warn("reload: queue_directory changed; stop and start postern "
		         "to move to %s", cfg_get(c, "queue_directory"));
	spawn_retire_all(m);
	struct msvc **old = m->svcs;
	size_t nold = m->nsvcs;
	cfg_free(m->cfg);
	mastercf_free(m->mcf);
	m->cfg = c;
	m->mcf = mcf;
	open_maillog(m, m->foreground);
	master_chroot_files(m);
	char err[1024];
	if (service_build(m, old, nold, false, err, sizeof(err)) != 0)
		log_error("reload: %s", err);
	for (size_t i = 0; i < nold; i++)
		service_free(old[i]);
	free(old);
	log_info("reload -- version %s, configuration %s", POSTERN_VERSION,
	         m->config_dir);
	start_all(m);
}

static void on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct master *m = arg;
	for (struct mchild *c = m->children; c != NULL; c = c->next)
		log_warn("process %s pid %ld did not stop within %d s; killing it",
		         c->path, (long)c->pid, MASTER_STOP_WAIT);
	spawn_signal_all(m, SIGKILL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct master *m = arg;
	switch (sig) {
	case SIGCHLD:
		spawn_reap(m);
		break;
	case SIGHUP:
		if (!m->stopping)
			reload(m);
		break;
	default: /* SIGTERM, SIGINT */
		if (m->stopping)
			break;
		log_info("terminating on signal %d", (int)sig);
		m->stopping = true;
		spawn_signal_all(m, SIGTERM);
		m->stop_timer = evtimer_new(m->base, on_stop_timeout, m);
		struct timeval tv = {.tv_sec = MASTER_STOP_WAIT};
		evtimer_add(m->stop_timer, &tv);
		break;
	}
	if (m->stopping && m->children == NULL) {
		if (m->starting)
			finish(1);
		event_base_loopbreak(m->base);
	}
}

/*
 * Detach from the terminal.  The parent (what "postern start" became)
 * waits: it collects what master writes to stderr until master_started()
 * closes it, passes on the warnings and errors, and exits 0 if start-up
 * went through, 1 if not.
 */
#define START_OUTPUT_MAX (64 * 1024)
static void __attribute__((noreturn)) wait_for_start(int notify, int out)
{
	static char buf[START_OUTPUT_MAX + 1];
	size_t len = 0;
	ssize_t n;
	char junk[512];
	for (;;) {
		char *dst = len < START_OUTPUT_MAX ? buf + len : junk;
		size_t room = len < START_OUTPUT_MAX ? START_OUTPUT_MAX - len : sizeof(junk);
		n = read(out, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst == buf + len)
			len += (size_t)n;
	}
	buf[len] = '\0';
	for (char *line = buf, *nl; *line; line = nl) {
		nl = strchr(line, '\n');
		nl = nl ? nl + 1 : line + strlen(line);
		if (memmem(line, (size_t)(nl - line), "warning: ", 9) ||
		    memmem(line, (size_t)(nl - line), "error: ", 7) ||
		    memmem(line, (size_t)(nl - line), "fatal: ", 7) ||
		    memmem(line, (size_t)(nl - line), "panic: ", 7))
			fwrite(line, 1, (size_t)(nl - line), stderr);
	}
	char ok[4];
	do
		n = read(notify, ok, sizeof(ok));
	while (n < 0 && errno == EINTR);
	_exit(n == 2 && memcmp(ok, "ok", 2) == 0 ? 0 : 1);
}

static void daemonize(struct master *m)
{
	int p[2], e[2];
	if (pipe2(p, O_CLOEXEC) != 0 || pipe2(e, O_CLOEXEC) != 0)
		log_fatal("pipe: %s", strerror(errno));
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		log_fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		close(e[1]);
		wait_for_start(p[0], e[0]);
	}
	close(p[0]);
	close(e[0]);
	m->notify_fd = p[1];
	if (dup2(e[1], 2) < 0)
		log_fatal("dup2: %s", strerror(errno));
	close(e[1]);
	if (setsid() < 0)
		log_fatal("setsid: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct master mm = {.log_fd = -1, .notify_fd = -1};
	struct master *m = &mm;
	const char *dir = NULL;
	int opt;

	log_init("master", LOG_TO_STDERR, NULL);
	while ((opt = getopt(argc, argv, "c:f")) != -1) {
		switch (opt) {
		case 'c': dir = optarg; break;
		case 'f': m->foreground = true; break;
		default: log_fatal("usage: master [-c DIR] [-f]");
		}
	}
	if (optind != argc)
		log_fatal("usage: master [-c DIR] [-f]");
	if (load_config(dir, &m->cfg, &m->mcf) != 0)
		log_fatal("the configuration has errors (see \"postern check\"); "
		          "not starting");
	char *real = realpath(cfg_config_dir(m->cfg), NULL);
	if (real == NULL)
		log_fatal("%s: %s", cfg_config_dir(m->cfg), strerror(errno));
	m->config_dir = real;
	m->queue_dir = xstrdup(cfg_get(m->cfg, "queue_directory"));
	start_logging(m, true);

	char err[1024];
	if (qdirs_users(m->cfg, &m->ids, err, sizeof(err)) != 0)
		log_fatal("%s", err);
	if (!m->ids.as_root)
		log_warn("not started as root: every daemon runs as uid %ld, without "
		         "privilege separation", (long)geteuid());
	umask(022);
	if (!m->foreground)
		daemonize(m);
	if (qdirs_prepare(m->queue_dir, &m->ids, err, sizeof(err)) != 0)
		log_fatal("%s", err);
	if (chdir(m->queue_dir) != 0)
		log_fatal("chdir %s: %s", m->queue_dir, strerror(errno));
	(void)pid_lock(m); /* held until exit */
	master_chroot_files(m);
	open_maillog(m, true);

	m->base = event_base_new();
	if (m->base == NULL)
		log_fatal("event_base_new failed");
	signal(SIGPIPE, SIG_IGN);
	int sigs[] = {SIGCHLD, SIGHUP, SIGTERM, SIGINT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct event *ev = evsignal_new(m->base, sigs[i], on_signal, m);
		if (ev == NULL || evsignal_add(ev, NULL) != 0)
			log_fatal("cannot watch signal %d", sigs[i]);
	}
	if (service_build(m, NULL, 0, true, err, sizeof(err)) != 0)
		log_fatal("%s", err);
	m->starting = true;
	m->start_timer = evtimer_new(m->base, on_start_timeout, m);
	struct timeval tv = {.tv_sec = MASTER_READY_WAIT};
	evtimer_add(m->start_timer, &tv);
	start_all(m);
	if (spawn_all_ready(m)) /* nothing to wait for */
		master_started(m);
	event_base_dispatch(m->base);
	log_info("stopped");
	finish(0);
}
