/*
 * qmgr.c - the queue manager's start-up: settings, the queue directory
 * and its sockets when started by hand, recovery of what a crash left,
 * privilege drop, signals, the event loop.  Runs as qmgr (root only
 * until daemon_drop_privileges, then mail_owner).  Reads no untrusted
 * input itself; see receive.c, sched.c and admin.c for that.
 */
#include "qmgr.h"
#include "route.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <dirent.h>

#include "anvil.h"
#include "cfg.h"
#include "check.h"
#include "log.h"
#include "receive.h"
#include "sched.h"
#include "store.h"
#include "strlist.h"
#include "xalloc.h"

struct qmgr qmgr;

static void load_settings(void)
{
	struct cfg *c = qmgr.cfg;
	char err[256];
	qmgr.message_size_limit = cfg_get_long(c, "message_size_limit");
	qmgr.queue_minfree = cfg_get_long(c, "queue_minfree");
	qmgr.min_backoff = cfg_get_time(c, "minimal_backoff_time");
	qmgr.max_backoff = cfg_get_time(c, "maximal_backoff_time");
	if (qmgr.max_backoff < qmgr.min_backoff)
		qmgr.max_backoff = qmgr.min_backoff;
	qmgr.run_delay = cfg_get_time(c, "queue_run_delay");
	qmgr.max_lifetime = cfg_get_time(c, "maximal_queue_lifetime");
	qmgr.bounce_lifetime = cfg_get_time(c, "bounce_queue_lifetime");
	if (qmgr.bounce_lifetime > qmgr.max_lifetime)
		qmgr.bounce_lifetime = qmgr.max_lifetime;
	qmgr.active_limit = cfg_get_long(c, "qmgr_message_active_limit");
	if (qmgr.active_limit <= 0)
		qmgr.active_limit = 1;
	qmgr.process_limit = cfg_get_long(c, "default_process_limit");
	if (qmgr.process_limit <= 0)
		qmgr.process_limit = 1;
	qmgr.ipc_timeout = cfg_get_time(c, "qmgr_daemon_timeout");
	if (qmgr.ipc_timeout <= 0)
		qmgr.ipc_timeout = 1000;
	qmgr.soft_bounce = cfg_get_bool(c, "soft_bounce");
	qmgr.myhostname = cfg_get(c, "myhostname");

	char **items;
	int n = strlist_split(cfg_get(c, "notify_classes"), NULL, 1000, &items, err,
	                      sizeof(err));
	for (int i = 0; i < n; i++)
		if (strcasecmp(items[i], "2bounce") == 0)
			qmgr.notify_2bounce = true;
	if (n >= 0)
		strlist_free(items);

	/* mydestination: literal domains; table lookups come later. */
	n = strlist_split(cfg_get(c, "mydestination"), NULL, 10000, &items, err,
	                  sizeof(err));
	if (n < 0) {
		log_warn("mydestination: %s", err);
		n = 0;
		items = NULL;
	}
	qmgr.mydestination = xcalloc((size_t)n + 1, sizeof(char *));
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		if (strchr(items[i], ':') || strchr(items[i], '/')) {
			log_warn("mydestination: \"%s\": lookup tables are not supported "
			         "by qmgr yet, ignored", items[i]);
			continue;
		}
		qmgr.mydestination[k++] = xstrdup(items[i]);
	}
	if (items)
		strlist_free(items);

	struct passwd *pw = getpwnam(cfg_get(c, "network_user"));
	if (pw) {
		qmgr.net_uid = pw->pw_uid;
		qmgr.have_net_uid = true;
	}
	pw = getpwnam(cfg_get(c, "mail_owner"));
	if (pw) {
		qmgr.owner_uid = pw->pw_uid;
		qmgr.have_owner_uid = true;
	}
}

static int bind_socket(const char *path, mode_t mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		log_fatal("socket path too long: %s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		log_fatal("socket: %s", strerror(errno));
	unlink(path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		log_fatal("bind %s: %s", path, strerror(errno));
	if (chmod(path, mode) != 0 || listen(s, 128) != 0)
		log_fatal("%s: %s", path, strerror(errno));
	return s;
}

/* Started by hand: make queue_directory and its parts, bind the sockets. */
static void setup_by_hand(void)
{
	const char *qdir = cfg_get(qmgr.cfg, "queue_directory");
	if (mkdir(qdir, 0755) != 0 && errno != EEXIST)
		log_fatal("mkdir %s: %s", qdir, strerror(errno));
	if (chdir(qdir) != 0)
		log_fatal("chdir %s: %s", qdir, strerror(errno));
	/* Owners and groups as master gives them (master/qdirs.c): the
	 * mail_owner's group, but network_user's group on private/, so
	 * that smtpd can reach private/qmgr. */
	gid_t owner_gid = (gid_t)-1, net_gid = (gid_t)-1;
	if (qmgr.d.as_root) {
		struct passwd *pw = getpwnam(cfg_get(qmgr.cfg, "mail_owner"));
		if (pw != NULL)
			owner_gid = pw->pw_gid;
		pw = getpwnam(cfg_get(qmgr.cfg, "network_user"));
		if (pw == NULL)
			log_warn("network_user %s does not exist: smtpd will not reach "
			         "private/qmgr", cfg_get(qmgr.cfg, "network_user"));
		else
			net_gid = pw->pw_gid;
	}
	for (size_t i = 0; store_dirs[i]; i++) {
		const char *d = store_dirs[i];
		bool priv = strcmp(d, "private") == 0;
		mode_t mode = strcmp(d, "public") == 0 ? 0711 : priv ? 0710 : 0700;
		if (mkdir(d, mode) != 0 && errno != EEXIST)
			log_fatal("mkdir %s/%s: %s", qdir, d, strerror(errno));
		if (qmgr.d.as_root && qmgr.have_owner_uid &&
		    (chown(d, qmgr.owner_uid, priv ? net_gid : owner_gid) != 0 ||
		     chmod(d, mode) != 0))
			log_fatal("chown %s/%s: %s", qdir, d, strerror(errno));
	}
	qmgr.d.listen_fds[0] = bind_socket("private/qmgr", 0660);
	qmgr.d.listen_fds[1] = bind_socket("public/qmgr", 0666);
	if (qmgr.d.as_root && qmgr.have_owner_uid &&
	    (fchownat(AT_FDCWD, "private/qmgr", qmgr.owner_uid, net_gid, AT_SYMLINK_NOFOLLOW) != 0 ||
	     fchownat(AT_FDCWD, "public/qmgr", qmgr.owner_uid, owner_gid, AT_SYMLINK_NOFOLLOW) != 0))
		log_fatal("chown the qmgr sockets: %s", strerror(errno));
	qmgr.d.nlisten = 2;
}

/* What a crash left: files in tmp/ go, those in active/ go back to incoming/. */
static void recover(void)
{
	DIR *d = opendir("tmp");
	struct dirent *e;
	size_t n = 0;
	if (d != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) == 0)
				n++;
		closedir(d);
	}
	if (n)
		log_info("removed %zu unfinished message file%s", n, n == 1 ? "" : "s");
	d = opendir("active");
	n = 0;
	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (!store_id_ok(e->d_name))
				continue;
			if (store_move(e->d_name, "active", "incoming") == 0)
				n++;
			else
				log_warn("%s: move to incoming: %s", e->d_name, strerror(errno));
		}
		closedir(d);
	}
	if (n)
		log_info("requeued %zu message%s found in active", n, n == 1 ? "" : "s");
}

/*
 * One queue manager per queue: two would both recover active/ and
 * deliver the same messages.  A master killed with SIGKILL leaves its
 * queue manager stopping while a new master starts the next one, so
 * the lock (on the active directory, which only qmgr uses) is waited
 * for, boundedly; it is held until the process ends.
 */
static void lock_queue(void)
{
	int fd = open("active", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		log_fatal("open active: %s", strerror(errno));
	for (int i = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; i++) {
		if (errno != EWOULDBLOCK)
			log_fatal("lock active: %s", strerror(errno));
		if (i == 0)
			log_warn("another queue manager runs on this queue: waiting for it to end");
		if (i >= QMGR_LOCK_WAIT_MS / 100)
			log_fatal("another queue manager still runs on this queue");
		usleep(100 * 1000);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what, (void)arg;
	log_info("terminating on signal %d", (int)sig);
	qmgr.stopping = true;
	/* Commits are done inside one callback, so none is half-way now. */
	event_base_loopbreak(qmgr.base);
}

int main(int argc, char **argv)
{
	bool by_hand = getenv("POSTERN_LISTEN_FDS") == NULL;
	daemon_init(&qmgr.d, "qmgr", argc, argv);
	qmgr.cfg = qmgr.d.cfg;
	qmgr.self_uid = geteuid();
	load_settings();
	route_init(qmgr.cfg); /* tables open before privileges drop */
	if (by_hand)
		setup_by_hand();
	else if (qmgr.d.nlisten < 2)
		log_fatal("master passed %zu sockets, need private/qmgr and public/qmgr",
		          qmgr.d.nlisten);
	daemon_drop_privileges(&qmgr.d, cfg_get(qmgr.cfg, "mail_owner"), false);
	qmgr.self_uid = geteuid();
	umask(077);
	signal(SIGPIPE, SIG_IGN);

	for (size_t i = 0; store_dirs[i]; i++)
		if (mkdir(store_dirs[i], 0700) != 0 && errno != EEXIST)
			log_fatal("mkdir %s: %s", store_dirs[i], strerror(errno));
	lock_queue();
	recover();

	qmgr.base = event_base_new();
	if (qmgr.base == NULL)
		log_fatal("event_base_new failed");
	struct event *sterm = evsignal_new(qmgr.base, SIGTERM, on_signal, NULL);
	struct event *sint = evsignal_new(qmgr.base, SIGINT, on_signal, NULL);
	event_add(sterm, NULL);
	event_add(sint, NULL);
	anvil_init(cfg_get_time(qmgr.cfg, "anvil_rate_time_unit"));
	receive_listen(qmgr.d.listen_fds[0], false);
	receive_listen(qmgr.d.listen_fds[1], true);
	sched_init();
	/* What postern super -s does, at every start; the scheduler runs
	 * nothing before the event loop, so it sees the repaired queue. */
	struct check_report cr = {0};
	check_queue(&cr);
	check_report_free(&cr);
	daemon_ready(&qmgr.d);
	log_info("queue manager started: %s", cfg_get(qmgr.cfg, "queue_directory"));

	event_base_dispatch(qmgr.base);

	receive_shutdown();
	sched_shutdown();
	event_free(sterm);
	event_free(sint);
	event_base_free(qmgr.base);
	for (char **p = qmgr.mydestination; p && *p; p++)
		free(*p);
	free(qmgr.mydestination);
	route_free_all();
	daemon_free(&qmgr.d);
	return 0;
}
