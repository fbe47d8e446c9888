/*
 * spawn.c - the spawn daemon (Postfix's spawn(8)): for each connection
 * to its master.cf service, run the command of the line's "argv="
 * attribute with its standard input, output and error on the
 * connection, as the "user=" account, killed after the service's
 * $name_time_limit ($command_time_limit by default).  Started by master
 * as root, it becomes that user before it accepts anything, so neither
 * it nor a command ever runs as root or as $mail_owner; it never reads
 * or writes the connections (the command talks to the client itself).
 * Untrusted input: none (the attributes are master.cf's, root's file).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "cfg.h"
#include "daemon.h"
#include "log.h"
#include "mastercf.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

struct child {
	pid_t pid;
	time_t deadline;
};

struct spawn_conf {
	char *user, *group; /* group NULL: the user's own */
	char **argv;        /* NULL-terminated, argv[0] the program */
	long time_limit;
	long maxproc;
	char **env;
};

static volatile sig_atomic_t got_term;

static void on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
}

/* "user=NAME[:GROUP] ... argv=COMMAND ARGS..." after the master.cf command. */
static void parse_attrs(struct spawn_conf *sc, const struct mcf_service *s)
{
	size_t i = 0;
	for (; i < s->nargs; i++) {
		const char *a = s->args[i];
		if (strcmp(a, "-o") == 0) { /* "-o name=value": daemon_init applied it */
			i++;
			continue;
		}
		if (a[0] == '-') /* -v, -D: generic daemon options */
			continue;
		if (strncmp(a, "user=", 5) == 0) {
			free(sc->user);
			free(sc->group);
			sc->group = NULL;
			const char *colon = strchr(a + 5, ':');
			if (colon != NULL) {
				sc->user = xstrndup(a + 5, (size_t)(colon - (a + 5)));
				sc->group = xstrdup(colon + 1);
			} else {
				sc->user = xstrdup(a + 5);
			}
			continue;
		}
		if (strncmp(a, "argv=", 5) == 0)
			break;
		log_fatal("service %s (%s line %d): unknown command attribute \"%s\"", s->name,
		          s->file, s->line, a);
	}
	if (i >= s->nargs || s->args[i][5] == '\0')
		log_fatal("service %s (%s line %d): missing argv= command attribute", s->name, s->file,
		          s->line);
	if (sc->user == NULL || sc->user[0] == '\0' || (sc->group && sc->group[0] == '\0'))
		log_fatal("service %s (%s line %d): missing user= command attribute", s->name, s->file,
		          s->line);
	size_t n = s->nargs - i;
	if (n > SPAWN_ARGS_MAX)
		log_fatal("service %s: more than %d command arguments", s->name, SPAWN_ARGS_MAX);
	sc->argv = xcalloc(n + 1, sizeof(*sc->argv));
	sc->argv[0] = xstrdup(s->args[i] + 5);
	for (size_t k = 1; k < n; k++)
		sc->argv[k] = xstrdup(s->args[i + k]);
	if (sc->argv[0][0] != '/')
		log_fatal("service %s: argv=%s: the command needs an absolute path", s->name,
		          sc->argv[0]);
}

/* As Postfix: never as root, never as the mail system's owner. */
static void check_user(const struct spawn_conf *sc, struct cfg *cfg, const char *service)
{
	errno = 0;
	struct passwd *pw = getpwnam(sc->user);
	if (pw == NULL)
		log_fatal("service %s: user=%s: unknown user", service, sc->user);
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (sc->group != NULL) {
		struct group *gr = getgrnam(sc->group);
		if (gr == NULL)
			log_fatal("service %s: user=%s:%s: unknown group", service, sc->user, sc->group);
		gid = gr->gr_gid;
	}
	if (uid == 0 || gid == 0)
		log_fatal("service %s: user=%s: refusing to run a command with root privileges",
		          service, sc->user);
	struct passwd *owner = getpwnam(cfg_get(cfg, "mail_owner"));
	if (owner != NULL && owner->pw_uid == uid)
		log_fatal("service %s: user=%s: refusing to run a command as the mail system "
		          "owner ($mail_owner)",
		          service, sc->user);
}

/* export_environment: the variables a command gets from our own. */
static char **build_env(struct cfg *cfg)
{
	char **names = NULL, err[128];
	int n = strlist_split(cfg_get(cfg, "export_environment"), NULL, 64, &names, err,
	                      sizeof(err));
	if (n < 0) {
		log_warn("export_environment: %s", err);
		n = 0;
	}
	char **env = xcalloc((size_t)n + 1, sizeof(*env));
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(names[i], '=');
		const char *v = eq ? NULL : getenv(names[i]);
		if (eq != NULL) {
			env[k++] = xstrdup(names[i]);
		} else if (v != NULL) {
			struct strbuf sb;
			sb_init(&sb, 0);
			sb_printf(&sb, "%s=%s", names[i], v);
			env[k++] = sb_steal(&sb);
		}
	}
	strlist_free(names);
	return env;
}

static void __attribute__((noreturn)) run_command(const struct spawn_conf *sc, int conn)
{
	if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0 || dup2(conn, 2) < 0)
		_exit(126);
	if (close_range(3, ~0U, 0) != 0)
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	execve(sc->argv[0], sc->argv, sc->env);
	_exit(127);
}

static void reap(struct child *kids, size_t *nkids, const char *cmd)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < *nkids; i++)
			if (kids[i].pid == pid) {
				kids[i] = kids[--*nkids];
				break;
			}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			log_warn("command %s: cannot execute (exit status 127)", cmd);
		else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			log_warn("command %s exit status %d", cmd, WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			log_warn("command %s killed by signal %d", cmd, WTERMSIG(status));
	}
}

static void enforce_time_limit(struct child *kids, size_t nkids, const char *cmd)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < nkids; i++)
		if (kids[i].deadline != 0 && now >= kids[i].deadline) {
			log_warn("command %s: process id %ld: command time limit exceeded", cmd,
			         (long)kids[i].pid);
			kill(kids[i].pid, SIGKILL);
			kids[i].deadline = 0; /* reaped when it is gone */
		}
}

int main(int argc, char **argv)
{
	struct daemon d;
	struct spawn_conf sc;
	memset(&sc, 0, sizeof(sc));
	daemon_init(&d, "spawn", argc, argv);
	if (d.svc == NULL)
		log_fatal("service %s: no master.cf line with user= and argv= attributes", d.service);
	if (d.nlisten == 0)
		log_fatal("service %s: master passed no listening socket", d.service);
	parse_attrs(&sc, d.svc);
	char tl[CFG_NAME_MAX * 2];
	snprintf(tl, sizeof(tl), "%s_time_limit", d.service);
	const char *tv = cfg_is_set(d.cfg, tl) ? cfg_get(d.cfg, tl) : cfg_get(d.cfg, "command_time_limit");
	if (!cfg_parse_time(tv, 's', &sc.time_limit) || sc.time_limit < 0)
		log_fatal("bad time value for %s: \"%s\"", cfg_is_set(d.cfg, tl) ? tl : "command_time_limit",
		          tv);
	sc.maxproc = d.svc->maxproc >= 0 ? d.svc->maxproc : cfg_get_long(d.cfg, "default_process_limit");
	if (sc.maxproc <= 0 || sc.maxproc > SPAWN_CHILDREN_MAX) /* 0: "no limit" */
		sc.maxproc = SPAWN_CHILDREN_MAX;
	sc.env = build_env(d.cfg);
	if (d.as_root)
		check_user(&sc, d.cfg, d.service);
	daemon_drop_privileges_group(&d, sc.user, sc.group, daemon_chroot_wanted(&d));

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL); /* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	daemon_ready(&d);

	struct child *kids = xcalloc((size_t)sc.maxproc, sizeof(*kids));
	size_t nkids = 0;
	struct pollfd pfd[DAEMON_LISTEN_MAX];
	for (size_t i = 0; i < d.nlisten; i++)
		pfd[i] = (struct pollfd){.fd = d.listen_fds[i], .events = POLLIN};
	while (!got_term) {
		reap(kids, &nkids, sc.argv[0]);
		enforce_time_limit(kids, nkids, sc.argv[0]);
		if (nkids >= (size_t)sc.maxproc) { /* wait for a command to end */
			poll(NULL, 0, 1000);
			continue;
		}
		int r = poll(pfd, d.nlisten, 1000);
		if (r < 0 && errno != EINTR)
			log_fatal("poll: %s", strerror(errno));
		for (size_t i = 0; r > 0 && i < d.nlisten && nkids < (size_t)sc.maxproc; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			int c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0) {
				if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN &&
				    errno != EWOULDBLOCK)
					log_warn("accept: %s", strerror(errno));
				continue;
			}
			/* the command gets a blocking socket, as from inetd */
			int fl = fcntl(c, F_GETFL);
			if (fl >= 0)
				fcntl(c, F_SETFL, fl & ~O_NONBLOCK);
			pid_t pid = fork();
			if (pid < 0) {
				log_warn("fork: %s", strerror(errno));
				close(c);
				continue;
			}
			if (pid == 0)
				run_command(&sc, c);
			close(c);
			kids[nkids].pid = pid;
			kids[nkids].deadline = sc.time_limit > 0 ? time(NULL) + sc.time_limit : 0;
			nkids++;
		}
	}
	/* Commands in progress finish on their own (each has its client). */
	free(kids);
	for (char **p = sc.argv; *p; p++)
		free(*p);
	free(sc.argv);
	strlist_free(sc.env);
	free(sc.user);
	free(sc.group);
	daemon_free(&d);
	return 0;
}
