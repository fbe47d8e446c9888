/*
 * local_mbox.c - mbox and maildir writing for the local agent, in the
 * per-delivery child running as the recipient.  Input: paths built from
 * the configuration and the passwd entry, the files found there (which
 * a user controls: symlinks, hard links, other owners are refused) and
 * the message content (copied by local_copy.c).
 */
#include "local_mbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "strbuf.h"
#include "strlist.h"

bool local_mbox_parse_locks(const char *value, int *locks)
{
	char **items;
	char err[128];
	int n = strlist_split(value, NULL, 16, &items, err, sizeof(err));
	if (n < 0)
		return false;
	*locks = 0;
	bool ok = true;
	for (int i = 0; i < n; i++) {
		if (strcmp(items[i], "fcntl") == 0)
			*locks |= LOCAL_LOCK_FCNTL;
		else if (strcmp(items[i], "dotlock") == 0)
			*locks |= LOCAL_LOCK_DOTLOCK;
		else if (strcmp(items[i], "flock") == 0)
			*locks |= LOCAL_LOCK_FLOCK;
		else
			ok = false;
	}
	strlist_free(items);
	return ok;
}

/* Bound every file this process writes, as RLIMIT_FSIZE; a write past it
 * fails with EFBIG (SIGXFSZ ignored). */
static void set_size_limit(long limit)
{
	if (limit <= 0)
		return;
	struct rlimit rl = {.rlim_cur = (rlim_t)limit, .rlim_max = (rlim_t)limit};
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		log_warn("setrlimit RLIMIT_FSIZE: %s", strerror(errno));
}

static const char *write_error(int e, char *dsn)
{
	if (e == EFBIG || e == EDQUOT) {
		strcpy(dsn, "5.2.2");
	} else {
		strcpy(dsn, "4.3.0");
	}
	return strerror(e);
}

/* Create path.lock; 1 locked, 0 not possible here (directory not
 * writable: go on with the other locks, as Postfix does), -1 failed. */
static int dotlock(const char *lock, const struct local_mbox_opts *o,
                   struct local_status *st)
{
	for (int i = 0; i < o->lock_attempts; i++) {
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return 1;
		}
		if (errno == EACCES || errno == EROFS) {
			log_warn("unable to create lock file %s: %s", lock, strerror(errno));
			return 0;
		}
		if (errno != EEXIST)
			break;
		struct stat sb;
		if (lstat(lock, &sb) == 0 && time(NULL) - sb.st_mtime > o->stale_lock_time) {
			log_warn("removing stale lock file %s", lock);
			unlink(lock);
			continue;
		}
		if (i + 1 < o->lock_attempts)
			sleep((unsigned)(o->lock_delay > 0 ? o->lock_delay : 1));
	}
	local_status_set(st, "4.2.0", "unable to create lock file %s: %s", lock,
	                 strerror(errno == EEXIST ? EAGAIN : errno));
	return -1;
}

static bool kernel_lock(int fd, const struct local_mbox_opts *o, struct local_status *st)
{
	for (int i = 0; i < o->lock_attempts; i++) {
		bool ok = true;
		if (o->locks & LOCAL_LOCK_FCNTL) {
			struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
			ok = fcntl(fd, F_SETLK, &fl) == 0;
		}
		if (ok && (o->locks & LOCAL_LOCK_FLOCK))
			ok = flock(fd, LOCK_EX | LOCK_NB) == 0;
		if (ok)
			return true;
		if (errno != EAGAIN && errno != EACCES && errno != EWOULDBLOCK)
			break;
		if (i + 1 < o->lock_attempts)
			sleep((unsigned)(o->lock_delay > 0 ? o->lock_delay : 1));
	}
	local_status_set(st, "4.2.0", "unable to lock for exclusive access: %s",
	                 strerror(errno));
	return false;
}

/* Open the mailbox for appending: never through a symbolic link, never
 * a file with other links, another owner or another type. */
static int open_mailbox(const char *path, bool *created, struct local_status *st)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	*created = false;
	if (fd < 0 && errno == ENOENT && (*created = true))
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		          0600);
	if (fd < 0) {
		if (errno == ELOOP)
			local_status_set(st, "5.2.0", "%s is a symbolic link", path);
		else
			local_status_set(st, errno == EACCES ? "5.2.0" : "4.2.0",
			                 "cannot open file: %s", strerror(errno));
		return -1;
	}
	struct stat sb;
	const char *bad = NULL;
	if (fstat(fd, &sb) != 0)
		bad = "cannot stat";
	else if (!S_ISREG(sb.st_mode))
		bad = "not a regular file";
	else if (sb.st_nlink != 1)
		bad = "file has more than one hard link";
	else if (sb.st_uid != geteuid())
		bad = "file has the wrong owner";
	if (bad != NULL) {
		local_status_set(st, "5.2.0", "%s: %s", path, bad);
		close(fd);
		return -1;
	}
	/* Back to blocking writes. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

/* A new file's directory entry must be on disk before we say 2.0.0. */
static bool sync_parent(const char *path, struct local_status *st)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? strdup(".")
	            : slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	int dfd = dir == NULL ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = dfd >= 0 && fsync(dfd) == 0;
	if (!ok)
		local_status_set(st, "4.3.0", "cannot sync directory of %s: %s", path,
		                 strerror(errno));
	if (dfd >= 0)
		close(dfd);
	free(dir);
	return ok;
}

bool local_mbox_deliver(const struct local_msg *m, const char *path,
                        const struct local_mbox_opts *o, struct local_status *st)
{
	struct strbuf lock;
	int have_dotlock = 0;
	bool ok = false;

	set_size_limit(o->size_limit);
	sb_init(&lock, 0);
	sb_printf(&lock, "%s.lock", path);
	if ((o->locks & LOCAL_LOCK_DOTLOCK) &&
	    (have_dotlock = dotlock(lock.s, o, st)) < 0) {
		sb_free(&lock);
		return false;
	}
	bool created;
	int fd = open_mailbox(path, &created, st);
	if (fd >= 0 && kernel_lock(fd, o, st)) {
		struct stat sb;
		off_t start = fstat(fd, &sb) == 0 ? sb.st_size : lseek(fd, 0, SEEK_END);
		if (o->size_limit > 0 && start >= o->size_limit) {
			errno = EFBIG;
			local_status_set(st, "5.2.2", "error writing message: %s",
			                 strerror(EFBIG));
		} else if (!local_copy(m, fd, LOCAL_COPY_MBOX, time(NULL)) || fsync(fd) != 0) {
			int e = errno;
			char dsn[8];
			const char *why = write_error(e, dsn);
			local_status_set(st, dsn, "error writing message: %s", why);
			if (ftruncate(fd, start) != 0 || fsync(fd) != 0)
				log_warn("cannot truncate %s to its old size: %s", path,
				         strerror(errno));
		} else {
			ok = !created || sync_parent(path, st);
			if (ok)
				local_status_set(st, "2.0.0", "delivered to mailbox");
		}
	}
	if (fd >= 0)
		close(fd); /* releases the fcntl and flock locks */
	if (have_dotlock > 0)
		unlink(lock.s);
	sb_free(&lock);
	return ok;
}

/* Maildir unique names: seconds, then M<usec>P<pid>Q<count> and the
 * host name with "/" and ":" encoded, as the maildir description asks. */
static void maildir_name(struct strbuf *sb)
{
	static unsigned count;
	struct timeval tv;
	char host[256];
	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	sb_printf(sb, "%lld.M%ldP%ldQ%u.", (long long)tv.tv_sec, (long)tv.tv_usec,
	          (long)getpid(), ++count);
	for (const char *p = host; *p; p++) {
		if (*p == '/')
			sb_adds(sb, "\\057");
		else if (*p == ':')
			sb_adds(sb, "\\072");
		else
			sb_addc(sb, *p);
	}
}

static int open_dir(int at, const char *name, bool create)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(at, name, 0700) != 0 && errno != EEXIST)
			return -1;
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return fd;
}

bool local_maildir_deliver(const struct local_msg *m, const char *dir,
                           long size_limit, struct local_status *st)
{
	int dfd = -1, tmp = -1, new = -1, cur = -1, fd = -1;
	bool ok = false;
	struct strbuf name;

	set_size_limit(size_limit);
	sb_init(&name, 0);
	if ((dfd = open_dir(AT_FDCWD, dir, true)) < 0 || (tmp = open_dir(dfd, "tmp", true)) < 0 ||
	    (new = open_dir(dfd, "new", true)) < 0 || (cur = open_dir(dfd, "cur", true)) < 0) {
		local_status_set(st, errno == EACCES ? "5.2.0" : "4.2.0",
		                 "create maildir file %s: %s", dir, strerror(errno));
		goto out;
	}
	maildir_name(&name);
	fd = openat(tmp, name.s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		local_status_set(st, "4.2.0", "create maildir file %stmp/%s: %s", dir, name.s,
		                 strerror(errno));
		goto out;
	}
	if (!local_copy(m, fd, LOCAL_COPY_RPATH | LOCAL_COPY_ORIG | LOCAL_COPY_DELIVERED,
	                time(NULL)) ||
	    fsync(fd) != 0) {
		char dsn[8];
		const char *why = write_error(errno, dsn);
		local_status_set(st, dsn, "create maildir file %stmp/%s: %s", dir, name.s, why);
		unlinkat(tmp, name.s, 0);
		goto out;
	}
	if (linkat(tmp, name.s, new, name.s, 0) != 0) {
		local_status_set(st, "4.2.0", "link to maildir file %snew/%s: %s", dir, name.s,
		                 strerror(errno));
		unlinkat(tmp, name.s, 0);
		goto out;
	}
	unlinkat(tmp, name.s, 0);
	if (fsync(new) != 0) {
		local_status_set(st, "4.2.0", "sync maildir %snew: %s", dir, strerror(errno));
		goto out;
	}
	ok = true;
	local_status_set(st, "2.0.0", "delivered to maildir");
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp >= 0)
		close(tmp);
	if (new >= 0)
		close(new);
	if (cur >= 0)
		close(cur);
	sb_free(&name);
	return ok;
}
