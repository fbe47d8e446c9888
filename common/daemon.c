/*
 * daemon.c - common start-up of the daemons (see daemon.h).  Runs as
 * root until daemon_drop_privileges(); reads only trusted input
 * (arguments and environment from master, configuration files).
 */
#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cfg.h"
#include "ipc.h"
#include "log.h"
#include "mastercf.h"
#include "proto.h"
#include "strbuf.h"

static int env_fd(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || *v == '\0')
		return -1;
	char *end;
	long n = strtol(v, &end, 10);
	if (*end != '\0' || n < 0 || n > 65535)
		log_fatal("bad %s=%s", name, v);
	return (int)n;
}

static void start_logging(struct daemon *d)
{
	char prog[256];
	snprintf(prog, sizeof(prog), "%s/%s", cfg_get(d->cfg, "syslog_name"), d->name);
	int where = LOG_TO_SYSLOG | (d->foreground ? LOG_TO_STDERR : 0);
	log_init(prog, where, cfg_get(d->cfg, "syslog_facility"));
	int fd = env_fd("POSTERN_LOG_FD");
	if (fd >= 0)
		log_set_file(fd, cfg_get(d->cfg, "myhostname"));
}

void daemon_init(struct daemon *d, const char *name, int argc, char **argv)
{
	int opt;

	memset(d, 0, sizeof(*d));
	d->name = name;
	d->status_fd = -1;
	d->service = name;
	d->type = "unix";
	log_init(name, LOG_TO_STDERR | LOG_TO_SYSLOG, NULL);
	while ((opt = getopt(argc, argv, "c:s:t:f")) != -1) {
		switch (opt) {
		case 'c': d->config_dir = optarg; break;
		case 's': d->service = optarg; break;
		case 't': d->type = optarg; break;
		case 'f': d->foreground = true; break;
		default:
			log_fatal("usage: %s [-c DIR] [-s SERVICE] [-t TYPE] [-f]", name);
		}
	}
	if (getenv("POSTERN_FOREGROUND") != NULL)
		d->foreground = true;
	d->cfg = cfg_load(d->config_dir, NULL, false);
	if (d->cfg == NULL)
		log_fatal("cannot read configuration");
	d->config_dir = cfg_config_dir(d->cfg);

	struct strbuf path;
	sb_init(&path, 0);
	sb_printf(&path, "%s/master.cf", d->config_dir);
	d->mcf = mastercf_load(path.s, NULL);
	sb_free(&path);
	if (d->mcf != NULL) {
		enum mcf_type t = MCF_UNIX;
		for (int i = MCF_INET; i <= MCF_PASS; i++)
			if (strcmp(mastercf_type_name((enum mcf_type)i), d->type) == 0)
				t = (enum mcf_type)i;
		d->svc = mastercf_find(d->mcf, d->service, t);
	}
	if (d->svc != NULL)
		for (size_t i = 0; i < d->svc->noverrides; i++)
			cfg_set(d->cfg, d->svc->overrides[i].name,
			        d->svc->overrides[i].value, d->svc->file, d->svc->line);
	start_logging(d);

	int n = env_fd("POSTERN_LISTEN_FDS");
	if (n > DAEMON_LISTEN_MAX)
		log_fatal("too many listening sockets: %d", n);
	for (int i = 0; i < n; i++)
		d->listen_fds[d->nlisten++] = 3 + i;
	d->status_fd = env_fd("POSTERN_STATUS_FD");
	d->as_root = geteuid() == 0;
}

bool daemon_chroot_wanted(const struct daemon *d)
{
	return d->svc != NULL && d->svc->chroot;
}

void daemon_drop_privileges(struct daemon *d, const char *user, bool do_chroot)
{
	daemon_drop_privileges_group(d, user, NULL, do_chroot);
}

void daemon_drop_privileges_group(struct daemon *d, const char *user, const char *group,
                                  bool do_chroot)
{
	static bool warned;
	const char *qdir = cfg_get(d->cfg, "queue_directory");
	if (chdir(qdir) != 0)
		log_fatal("chdir %s: %s", qdir, strerror(errno));
	if (!d->as_root) {
		if (!warned)
			log_info("not started as root: running as uid %ld without "
			         "privilege separation", (long)getuid());
		warned = true;
		return;
	}
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL)
		log_fatal("user \"%s\" does not exist; create it with: useradd "
		          "--system --no-create-home --home-dir /nonexistent "
		          "--shell /usr/sbin/nologin %s",
		          user, user);
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (group != NULL) {
		errno = 0;
		struct group *gr = getgrnam(group);
		if (gr == NULL)
			log_fatal("group \"%s\" does not exist", group);
		gid = gr->gr_gid;
	}
	if (uid == 0)
		log_fatal("user \"%s\" has uid 0: refusing to run a daemon as root", user);
	if (do_chroot && (chroot(".") != 0 || chdir("/") != 0))
		log_fatal("chroot %s: %s", qdir, strerror(errno));
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		log_fatal("cannot become %s: %s", user, strerror(errno));
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid ||
	    getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid ||
	    setuid(0) == 0)
		log_fatal("privileges were not dropped to %s", user);
	/* Nothing this process execs may gain privileges again. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		log_warn("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
}

/*
 * A daemon must not outlive its master: a new master could not bind the
 * ports or own the queue while it runs, and its sockets would be gone.
 * The kernel sends SIGTERM (the graceful stop) when master exits; it is
 * set here, after privileges were dropped, because a change of
 * credentials clears it.  Should master have ended before that, the
 * status socket already reports the hangup.
 */
static void follow_master(const struct daemon *d)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
		log_warn("PR_SET_PDEATHSIG: %s", strerror(errno));
	struct pollfd p = {.fd = d->status_fd, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP))) {
		log_warn("master is gone: stopping");
		raise(SIGTERM);
	}
}

void daemon_ready(struct daemon *d)
{
	if (d->status_fd < 0)
		return;
	follow_master(d);
	struct ipc_out o;
	ipc_out_init(&o, PROTO_READY);
	ipc_add_str(&o, T_TEXT, d->name);
	if (ipc_send(d->status_fd, &o, -1) != 0)
		log_warn("cannot tell master we are ready: %s", strerror(errno));
	ipc_out_free(&o);
}

void daemon_free(struct daemon *d)
{
	mastercf_free(d->mcf);
	cfg_free(d->cfg);
	d->mcf = NULL;
	d->cfg = NULL;
}
