/*
 * daemon.h - what every postern daemon does at start-up, in one place:
 * arguments from master, main.cf plus the service's master.cf "-o"
 * overrides, logging as "$syslog_name/NAME", the listening sockets
 * master passed, and the one privilege-drop routine (chroot, setgroups,
 * setresgid, setresuid, verify).  See docs/architecture.md.
 */
#ifndef POSTERN_DAEMON_H
#define POSTERN_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

struct cfg;
struct mastercf;
struct mcf_service;

#define DAEMON_LISTEN_MAX 64

struct daemon {
	const char *name;     /* program: "smtpd", "qmgr", ... */
	const char *service;  /* master.cf service name, e.g. "smtp", "127.0.0.1:10025" */
	const char *type;     /* master.cf type: "inet", "unix", ... */
	const char *config_dir;
	struct cfg *cfg;      /* main.cf with the service's overrides applied */
	struct mastercf *mcf; /* master.cf as read */
	const struct mcf_service *svc; /* this daemon's line, NULL if none */
	int listen_fds[DAEMON_LISTEN_MAX];
	size_t nlisten;
	int status_fd;        /* to master, -1 when started by hand */
	bool as_root;         /* started as root: drop privileges */
	bool foreground;      /* log to stderr too */
};

/*
 * Parse "-c DIR -s SERVICE -t TYPE [-f]" and the POSTERN_* environment
 * master sets, read the configuration, start logging.  Fatal on any
 * error (the supervisor decides about restarts).
 */
void daemon_init(struct daemon *d, const char *name, int argc, char **argv);

/*
 * Change to $queue_directory (so "private/qmgr" and the queue
 * subdirectories are relative paths, chrooted or not), chroot there when
 * do_chroot, and become user (a name from main.cf, e.g. $mail_owner).
 * Verifies the result; fatal on any failure.  Not root: chdir only, and
 * a one-time notice that privileges stay as they are.  Call after
 * everything that needs privileges is open.
 */
void daemon_drop_privileges(struct daemon *d, const char *user, bool do_chroot);
/* The same with the group ID of group (NULL: user's own group). */
void daemon_drop_privileges_group(struct daemon *d, const char *user, const char *group,
                                  bool do_chroot);

/* Whether the service's master.cf chroot column says y. */
bool daemon_chroot_wanted(const struct daemon *d);

/* Tell master the daemon is up (no-op without a status descriptor). */
void daemon_ready(struct daemon *d);

void daemon_free(struct daemon *d);

#endif
