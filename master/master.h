/*
 * master.h - the supervisor's state, shared by the files of master/:
 * the configuration it runs, the users daemons become, the services of
 * master.cf it runs with their listening sockets, and their processes.
 * Everything here lives in the master process, which runs as root and
 * reads no network input (only records from its children's status
 * sockets, see spawn.c).
 */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "daemon.h"
#include "mastercf.h"

struct cfg;
struct event;
struct event_base;

/* Respawn backoff: first delay, cap, and how long a process must have
 * run for its service's delay to start again from the first. */
#define MASTER_BACKOFF_FIRST 1
#define MASTER_BACKOFF_MAX 60
#define MASTER_STABLE_SECONDS 60
/* Start-up: how long "postern start" waits for every daemon's ready. */
#define MASTER_READY_WAIT 20
/* Stop: how long children get after SIGTERM before SIGKILL. */
#define MASTER_STOP_WAIT 20
/* listen(2) backlog of inet and unix listeners (the kernel caps it). */
#define MASTER_LISTEN_BACKLOG 1024

/* Who the daemons become (all equal to the invoking user when not root). */
struct master_ids {
	bool as_root;
	uid_t mail_uid;
	gid_t mail_gid;
	uid_t net_uid;
	gid_t net_gid;
};

struct mchild;
struct master;

/* One master.cf line master runs. */
struct msvc {
	struct master *master;
	char *name;      /* service name as written, e.g. "smtp", "127.0.0.1:2525" */
	enum mcf_type type;
	char *prog;      /* program file in daemon_directory: smtpd, qmgr, ... */
	char *path;      /* $daemon_directory/prog */
	char *argv0;     /* the command as master.cf names it (lmtp runs smtp) */
	char *key;       /* identity of the listeners across reloads */
	int line;        /* master.cf line, for messages */
	int fds[DAEMON_LISTEN_MAX];
	char *fd_names[DAEMON_LISTEN_MAX]; /* "127.0.0.1:2525", "private/qmgr" */
	size_t nfds;
	bool reused;     /* listeners taken over from before a reload */
	bool is_qmgr;    /* never two at once: waits for its predecessor */
	bool is_spawn;   /* spawn: a stream socket smtpd may reach */
	struct mchild *child; /* running process, NULL if none */
	int backoff;     /* seconds before the next respawn */
	struct event *respawn_ev;
};

/* A daemon process; svc NULL once retired by a reload. */
struct mchild {
	struct master *master;
	pid_t pid;
	struct msvc *svc;
	char *path;      /* for log lines after the service is gone */
	bool is_qmgr;
	int status_fd;   /* master's end of POSTERN_STATUS_FD, -1 closed */
	struct event *status_ev;
	bool ready;
	struct timespec started; /* CLOCK_MONOTONIC */
	struct mchild *next;
};

struct master {
	struct event_base *base;
	char *config_dir;  /* absolute */
	struct cfg *cfg;
	struct mastercf *mcf;
	char *queue_dir;   /* absolute; master's working directory */
	struct master_ids ids;
	struct msvc **svcs;
	size_t nsvcs;
	struct mchild *children;
	int log_fd;        /* maillog_file, -1 if none */
	bool foreground;
	bool stopping;
	bool starting;     /* initial start-up: waiting for every ready */
	int notify_fd;     /* to the waiting "postern start", -1 when done */
	struct event *stop_timer;
	struct event *start_timer;
};

/* master.c: every daemon is up (ends the start-up phase); a daemon died
 * during start-up (postern start fails with why). */
void master_started(struct master *m);
void master_start_failed(struct master *m, const char *why);
/* chroot_files.c: resolv.conf, hosts, ... into queue_directory/etc when
 * a service is chrooted (called in queue_directory, as root). */
void master_chroot_files(struct master *m);

#endif
