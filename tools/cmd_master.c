/*
 * cmd_master.c - "postern start | start-fg | stop | reload | status |
 * flush": run and control the master process.  Runs in the postern
 * command as the invoking user (root to start a real instance).  Input:
 * main.cf, the pid file under queue_directory, and for flush one reply
 * record from qmgr on public/qmgr (parsed by ipc_parse).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "cmds.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "strbuf.h"

/* How long stop waits for master to finish (it gives daemons 20 s). */
#define STOP_WAIT_SECONDS 40
/* How long flush waits for the queue manager's answer. */
#define FLUSH_WAIT_SECONDS 60
/* Longest line of "postern check" output we look at. */
#define CHECK_LINE_MAX 4096

static void quiet_emit(void *arg, const char *file, int line, enum diag_sev sev,
                       const char *text)
{
	(void)arg;
	if (sev != DIAG_ERROR)
		return;
	if (file != NULL && line > 0)
		log_error("%s, line %d: %s", file, line, text);
	else
		log_error("%s%s%s", file ? file : "", file ? ": " : "", text);
}

static struct cfg *load(const char *dir)
{
	struct diag d = {.emit = quiet_emit};
	struct cfg *c = cfg_load(dir, &d, false);
	if (c == NULL)
		log_fatal("cannot read the configuration");
	return c;
}

/* Whether a master holds the pid file's lock; its pid in *pid. */
static bool running(struct cfg *c, long *pid)
{
	struct strbuf p;
	sb_init(&p, 0);
	sb_printf(&p, "%s/pid/master.pid", cfg_get(c, "queue_directory"));
	int fd = open(p.s, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	sb_free(&p);
	if (fd < 0)
		return false;
	bool locked = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	char buf[32];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	*pid = strtol(buf, NULL, 10);
	return locked && *pid > 0;
}

/*
 * The errors "postern check" finds (warnings are its business): run it,
 * pass on its error lines.  Returns the number of errors, or 1 when it
 * could not run.
 */
static int check_errors(const char *dir)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		log_fatal("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		log_fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(p[1], 1);
		char *argv[] = {"postern", "check", "-q", dir ? "-c" : NULL,
		                (char *)dir, NULL};
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	if (f == NULL)
		log_fatal("fdopen: %s", strerror(errno));
	char line[CHECK_LINE_MAX];
	int errors = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, ": error: ") != NULL) {
			fputs(line, stderr);
			errors++;
		}
	fclose(f);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) > 1) {
		log_error("\"postern check\" did not run to its end");
		return errors + 1;
	}
	return errors;
}

static int parse(int argc, char **argv, const char **dir)
{
	int opt;
	while ((opt = getopt(argc, argv, "c:")) != -1) {
		if (opt != 'c')
			return -1;
		*dir = optarg;
	}
	return optind == argc ? 0 : -1;
}

static int start(int argc, char **argv, bool fg)
{
	const char *dir = NULL;
	const char *usage = fg ? "postern start-fg [-c DIR]" : "postern start [-c DIR]";
	if (parse(argc, argv, &dir) != 0)
		return cmd_usage(usage);
	struct cfg *c = load(dir);
	long pid;
	if (running(c, &pid)) {
		log_error("the postern mail system is already running (pid %ld)", pid);
		cfg_free(c);
		return 1;
	}
	if (check_errors(dir) > 0) {
		log_error("the configuration has errors (see \"postern check\"); not "
		          "starting");
		cfg_free(c);
		return 1;
	}
	char *cdir = realpath(cfg_config_dir(c), NULL);
	if (cdir == NULL)
		log_fatal("%s: %s", cfg_config_dir(c), strerror(errno));
	struct strbuf path;
	sb_init(&path, 0);
	sb_printf(&path, "%s/master", cfg_get(c, "daemon_directory"));
	if (access(path.s, X_OK) != 0)
		log_fatal("cannot run %s: %s (daemon_directory is %s)", path.s,
		          strerror(errno), cfg_get(c, "daemon_directory"));
	cfg_free(c);
	char *args[] = {"master", "-c", cdir, fg ? "-f" : NULL, NULL};
	if (!fg)
		log_info("starting the postern mail system");
	fflush(NULL);
	execv(path.s, args);
	log_fatal("cannot run %s: %s", path.s, strerror(errno));
}

int cmd_start(int argc, char **argv)
{
	return start(argc, argv, false);
}

int cmd_start_fg(int argc, char **argv)
{
	return start(argc, argv, true);
}

int cmd_stop(int argc, char **argv)
{
	const char *dir = NULL;
	if (parse(argc, argv, &dir) != 0)
		return cmd_usage("postern stop [-c DIR]");
	struct cfg *c = load(dir);
	long pid;
	int rc = 1;
	if (!running(c, &pid)) {
		log_error("the postern mail system is not running");
	} else if (kill((pid_t)pid, SIGTERM) != 0) {
		log_error("cannot signal master pid %ld: %s", pid, strerror(errno));
	} else {
		log_info("stopping the postern mail system");
		for (int i = 0; i < STOP_WAIT_SECONDS * 10 && rc != 0; i++) {
			if (!running(c, &pid))
				rc = 0;
			struct timespec ts = {.tv_nsec = 100000000};
			if (rc != 0)
				nanosleep(&ts, NULL);
		}
		if (rc != 0)
			log_error("master pid %ld is still running after %d s", pid,
			          STOP_WAIT_SECONDS);
	}
	cfg_free(c);
	return rc;
}

int cmd_reload(int argc, char **argv)
{
	const char *dir = NULL;
	if (parse(argc, argv, &dir) != 0)
		return cmd_usage("postern reload [-c DIR]");
	struct cfg *c = load(dir);
	long pid;
	int rc = 1;
	if (!running(c, &pid))
		log_error("the postern mail system is not running");
	else if (check_errors(dir) > 0)
		log_error("the configuration has errors (see \"postern check\"); not "
		          "reloading");
	else if (kill((pid_t)pid, SIGHUP) != 0)
		log_error("cannot signal master pid %ld: %s", pid, strerror(errno));
	else {
		log_info("refreshing the postern mail system");
		rc = 0;
	}
	cfg_free(c);
	return rc;
}

int cmd_status(int argc, char **argv)
{
	const char *dir = NULL;
	if (parse(argc, argv, &dir) != 0)
		return cmd_usage("postern status [-c DIR]");
	struct cfg *c = load(dir);
	long pid;
	bool up = running(c, &pid);
	cfg_free(c);
	if (!up) {
		log_info("the postern mail system is not running");
		return 1;
	}
	log_info("the postern mail system is running: PID: %ld", pid);
	return 0;
}

int cmd_flush(int argc, char **argv)
{
	const char *dir = NULL;
	if (parse(argc, argv, &dir) != 0)
		return cmd_usage("postern flush [-c DIR]");
	struct cfg *c = load(dir);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/public/qmgr",
	                 cfg_get(c, "queue_directory"));
	cfg_free(c);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		log_fatal("queue_directory is too long for a socket path");
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		log_fatal("cannot connect to the queue manager at %s: %s (is postern "
		          "running?)", sun.sun_path, strerror(errno));
	struct timeval tv = {.tv_sec = FLUSH_WAIT_SECONDS};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct ipc_out o;
	ipc_out_init(&o, PROTO_ADMIN);
	ipc_add_str(&o, T_ACTION, "flush");
	ipc_add_str(&o, T_ID, "ALL");
	if (ipc_send(s, &o, -1) != 0)
		log_fatal("send to the queue manager: %s", strerror(errno));
	ipc_out_free(&o);
	static uint8_t buf[IPC_RECORD_MAX];
	static struct ipc_in in;
	int fd;
	long len = ipc_recv(s, buf, sizeof(buf), &fd);
	if (fd >= 0)
		close(fd);
	char err[128];
	if (len < 0)
		log_fatal("no answer from the queue manager: %s", strerror(errno));
	if (len == 0)
		log_fatal("the queue manager closed the connection");
	if (!ipc_parse(buf, (size_t)len, &in, err, sizeof(err)))
		log_fatal("bad answer from the queue manager: %s", err);
	close(s);
	if (in.type == PROTO_ADMIN_OK)
		return 0;
	if (in.type == PROTO_FAIL) {
		const char *t = ipc_str(&in, T_TEXT);
		log_error("the queue manager refused: %s", t ? t : "(no reason)");
		return 1;
	}
	log_fatal("unexpected answer from the queue manager (type %u)", in.type);
}
