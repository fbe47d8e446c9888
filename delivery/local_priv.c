/*
 * local_priv.c - the local agent's identity changes.  The agent runs as
 * root; every step that touches a user's files (mailbox, maildir,
 * .forward, :include:, commands) runs in a forked child that first
 * becomes that user here.  Input: file contents read as the user
 * (bounded, handed back through a pipe).
 */
#include "local_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xalloc.h"

/* Supplementary groups kept for a user (more are dropped). */
#define GROUPS_MAX 256

void local_status_set(struct local_status *st, const char *dsn, const char *fmt, ...)
{
	va_list ap;
	char d[sizeof(st->dsn)];
	char text[sizeof(st->text)];
	/* dsn and the arguments may point into st itself. */
	snprintf(d, sizeof(d), "%s", dsn);
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(st->dsn, d, sizeof(d));
	memcpy(st->text, text, sizeof(text));
	if (n < 0)
		snprintf(st->text, sizeof(st->text), "%s", "(text unavailable)");
}

int local_status_class(const struct local_status *st)
{
	if (st->dsn[1] == '.' && (st->dsn[0] == '2' || st->dsn[0] == '5'))
		return st->dsn[0] - '0';
	return 4;
}

/*
 * The last user's supplementary groups.  Looked up in the process that
 * forks the per-user children, so each child inherits the answer
 * instead of asking NSS again (with nss_systemd that is a directory scan
 * and socket connections per lookup).
 */
static struct {
	char user[256];
	gid_t gid;
	int ng;
	gid_t groups[GROUPS_MAX + 1];
} grcache = {.ng = -1};

static void user_groups(const struct local_cred *c)
{
	if (c->user == NULL || c->uid == 0 || strlen(c->user) >= sizeof(grcache.user))
		return;
	if (grcache.ng >= 0 && grcache.gid == c->gid && strcmp(grcache.user, c->user) == 0)
		return;
	int ng = GROUPS_MAX;
	if (getgrouplist(c->user, c->gid, grcache.groups, &ng) < 0)
		ng = 0;
	snprintf(grcache.user, sizeof(grcache.user), "%s", c->user);
	grcache.gid = c->gid;
	grcache.ng = ng;
}

void local_nss_warm(void)
{
	struct local_cred c = {.uid = 1, .gid = 0, .user = "root", .extra_gid = (gid_t)-1};
	(void)getpwnam("root");
	user_groups(&c);
	grcache.ng = -1;
}

bool local_become(const struct local_cred *c, struct local_status *st)
{
	if (getuid() != 0 && geteuid() != 0)
		return true; /* not root: one identity for everything */
	gid_t groups[GROUPS_MAX + 1];
	int ng = 0;
	if (c->user != NULL && c->uid != 0) {
		user_groups(c);
		if (grcache.ng > 0 && grcache.ng <= GROUPS_MAX) {
			ng = grcache.ng;
			memcpy(groups, grcache.groups, (size_t)ng * sizeof(groups[0]));
		}
	}
	if (ng == 0)
		groups[ng++] = c->gid;
	if (c->extra_gid != (gid_t)-1 && ng <= GROUPS_MAX)
		groups[ng++] = c->extra_gid;
	if (setgroups((size_t)ng, groups) != 0 || setresgid(c->gid, c->gid, c->gid) != 0 ||
	    setresuid(c->uid, c->uid, c->uid) != 0) {
		local_status_set(st, "4.3.0", "cannot become uid %ld: %s", (long)c->uid,
		                 strerror(errno));
		return false;
	}
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) != 0 || r != c->uid || e != c->uid || s != c->uid ||
	    getresgid(&rg, &eg, &sg) != 0 || rg != c->gid || eg != c->gid ||
	    sg != c->gid || (c->uid != 0 && setuid(0) == 0)) {
		local_status_set(st, "4.3.0", "identity change to uid %ld did not hold",
		                 (long)c->uid);
		return false;
	}
	return true;
}

static bool read_all(int fd, void *buf, size_t len, size_t *got)
{
	size_t n = 0;
	while (n < len) {
		ssize_t k = read(fd, (char *)buf + n, len - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	*got = n;
	return true;
}

static void write_all(int fd, const void *buf, size_t len)
{
	size_t n = 0;
	while (n < len) {
		ssize_t k = write(fd, (const char *)buf + n, len - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		n += (size_t)k;
	}
}

static pid_t wait_child(pid_t pid, int *status)
{
	pid_t w;
	do
		w = waitpid(pid, status, 0);
	while (w < 0 && errno == EINTR);
	return w;
}

void local_run_as(const struct local_cred *c,
                  void (*fn)(void *arg, struct local_status *st), void *arg,
                  struct local_status *st)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		local_status_set(st, "4.3.0", "cannot create pipe: %s", strerror(errno));
		return;
	}
	if (getuid() == 0 || geteuid() == 0)
		user_groups(c);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		local_status_set(st, "4.3.0", "cannot fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(p[0]);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		static struct local_status cst;
		local_status_set(&cst, "4.3.0", "delivery step failed");
		if (local_become(c, &cst))
			fn(arg, &cst);
		write_all(p[1], &cst, sizeof(cst));
		_exit(0);
	}
	close(p[1]);
	size_t got;
	read_all(p[0], st, sizeof(*st), &got);
	close(p[0]);
	int status;
	wait_child(pid, &status);
	if (got != sizeof(*st)) {
		if (WIFSIGNALED(status))
			local_status_set(st, "4.3.0", "delivery process killed by signal %d",
			                 WTERMSIG(status));
		else
			local_status_set(st, "4.3.0", "delivery process exited without status");
		return;
	}
	st->dsn[sizeof(st->dsn) - 1] = '\0';
	st->text[sizeof(st->text) - 1] = '\0';
}

char *local_read_file_as(const struct local_cred *c, const char *path,
                         uid_t owner1, uid_t owner2, uid_t *owner, char *why,
                         size_t whylen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return NULL;
	}
	if (getuid() == 0 || geteuid() == 0)
		user_groups(c);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		/* Child: one status byte (0 = ok, else an errno-ish code), a
		 * message line, then the contents. */
		close(p[0]);
		signal(SIGPIPE, SIG_DFL);
		struct local_status st;
		unsigned char code = 0;
		char msg[256] = "";
		static char buf[LOCAL_FILE_MAX + 1];
		size_t n = 0;
		int fd = -1;
		struct stat sb;
		if (!local_become(c, &st)) {
			code = EPERM;
			snprintf(msg, sizeof(msg), "%.200s", st.text);
		} else if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
			code = (unsigned char)(errno == ENOENT ? ENOENT : EACCES);
			snprintf(msg, sizeof(msg), "cannot open %s: %s", path, strerror(errno));
		} else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1 ||
		           (sb.st_uid != owner1 && sb.st_uid != owner2) ||
		           (sb.st_mode & S_IWOTH)) {
			code = EPERM;
			snprintf(msg, sizeof(msg),
			         "refusing %s: not a regular file with one link, owned by "
			         "uid %ld or %ld and not world-writable", path, (long)owner1,
			         (long)owner2);
		} else {
			read_all(fd, buf, sizeof(buf), &n);
			if (n > LOCAL_FILE_MAX) {
				code = EFBIG;
				snprintf(msg, sizeof(msg), "%s is larger than %d bytes", path,
				         LOCAL_FILE_MAX);
				n = 0;
			}
		}
		size_t ml = strlen(msg);
		unsigned char head[3] = {code, (unsigned char)(ml >> 8), (unsigned char)ml};
		uint32_t uid = code == 0 ? (uint32_t)sb.st_uid : 0;
		write_all(p[1], head, 3);
		write_all(p[1], &uid, sizeof(uid));
		write_all(p[1], msg, ml);
		write_all(p[1], buf, n);
		_exit(0);
	}
	close(p[1]);
	unsigned char head[3];
	size_t got;
	char *data = NULL;
	read_all(p[0], head, 3, &got);
	if (got != 3) {
		snprintf(why, whylen, "cannot read %s: reader process failed", path);
		errno = EIO;
	} else {
		size_t ml = ((size_t)head[1] << 8) | head[2];
		char msg[256];
		uint32_t uid = 0;
		read_all(p[0], &uid, sizeof(uid), &got);
		*owner = (uid_t)uid;
		if (ml >= sizeof(msg))
			ml = sizeof(msg) - 1;
		read_all(p[0], msg, ml, &got);
		msg[got] = '\0';
		if (head[0] != 0) {
			snprintf(why, whylen, "%s", msg);
			errno = head[0] == ENOENT ? ENOENT : EACCES;
		} else {
			data = xmalloc(LOCAL_FILE_MAX + 1);
			read_all(p[0], data, LOCAL_FILE_MAX, &got);
			data[got] = '\0';
			if (memchr(data, '\0', got) != NULL) {
				snprintf(why, whylen, "%s contains a NUL byte", path);
				free(data);
				data = NULL;
				errno = EINVAL;
			}
		}
	}
	close(p[0]);
	int status;
	wait_child(pid, &status);
	return data;
}
