/*
 * check.c - structure check and repair of queue_directory (see check.h).
 * Runs in qmgr as mail_owner.  The input is the queue directory itself:
 * names are checked with store_id_ok() before any path is built from
 * them, files are opened with O_NOFOLLOW and parsed by qfile.
 *
 * What is checked, in this order:
 *  1. each queue subdirectory is a directory; one qmgr owns with the
 *     wrong mode gets its mode back (others: logged, master's business);
 *  2. tmp/: files not written for CHECK_TMP_STALE_SECONDS (left by a
 *     crash or a client that vanished) and anything not a plain file
 *     are removed;
 *  3. incoming/, active/, deferred/, hold/: an entry that is not a queue
 *     id, not a plain file, not owned by mail_owner, or not a valid queue
 *     file goes to corrupt/; a wrong file mode is set back to 0600; a
 *     message present in two queues keeps the first (that order) and
 *     the other copy goes to corrupt/; a file in active/ the scheduler
 *     does not know goes back to incoming/ and is scheduled;
 *  4. defer/ and bounce/: logs of messages that no longer exist, and
 *     entries that are not queue ids, are removed;
 *  5. corrupt/ is counted, never touched.
 */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "qfile.h"
#include "sched.h"
#include "store.h"
#include "xalloc.h"

/* Longest directory entry name we handle (NAME_MAX). */
#define CHECK_NAME_MAX 255

static void note(struct check_report *r, bool repaired, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void note(struct check_report *r, bool repaired, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_warn("structure check: %s", text);
	if (repaired)
		r->repaired++;
	else
		r->unrepaired++;
	if (r->ntexts < CHECK_TEXTS_MAX)
		r->texts[r->ntexts++] = xstrdup(text);
}

void check_report_free(struct check_report *r)
{
	for (size_t i = 0; i < r->ntexts; i++)
		free(r->texts[i]);
	r->ntexts = 0;
}

/* queue/name -> corrupt/name (corrupt/name.N when that exists). */
static bool to_corrupt(const char *queue, const char *name)
{
	char from[CHECK_NAME_MAX + 32], to[CHECK_NAME_MAX + 48];
	snprintf(from, sizeof(from), "%s/%s", queue, name);
	for (int i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(to, sizeof(to), "corrupt/%s", name);
		else
			snprintf(to, sizeof(to), "corrupt/%s.%d", name, i);
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
			store_sync_dir("corrupt");
			store_sync_dir(queue);
			return true;
		}
		if (errno != EEXIST)
			return false;
	}
	return false;
}

static void check_dirs(struct check_report *r)
{
	uid_t me = geteuid();
	for (size_t i = 0; store_dirs[i]; i++) {
		const char *d = store_dirs[i];
		mode_t want = strcmp(d, "public") == 0 ? 0711 : strcmp(d, "private") == 0 ? 0710 : 0700;
		struct stat st;
		if (lstat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
			note(r, false, "%s is not a directory", d);
			continue;
		}
		if ((st.st_mode & 07777) == want)
			continue;
		if (st.st_uid == me && chmod(d, want) == 0)
			note(r, true, "%s: mode %04o set to %04o", d,
			     (unsigned)(st.st_mode & 07777), (unsigned)want);
		else
			note(r, false, "%s: mode %04o owner %ld, expected %04o (master "
			     "sets owners when started as root)",
			     d, (unsigned)(st.st_mode & 07777), (long)st.st_uid, (unsigned)want);
	}
}

static void check_tmp(struct check_report *r)
{
	DIR *d = opendir("tmp");
	if (d == NULL)
		return;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		bool plain = S_ISREG(st.st_mode);
		if (plain && now - st.st_mtime < CHECK_TMP_STALE_SECONDS)
			continue; /* a message being received */
		if (S_ISDIR(st.st_mode)) {
			note(r, false, "tmp/%.200s is a directory", e->d_name);
			continue;
		}
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			note(r, true, "tmp/%.200s: %s removed", e->d_name,
			     plain ? "stale file" : "not a plain file");
	}
	closedir(d);
}

/* Whether queue/id is a plain file of ours that qfile can parse; why not in why. */
static bool file_ok(struct check_report *r, const char *queue, const char *id,
                    char *why, size_t whylen)
{
	char path[CHECK_NAME_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", queue, id);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, whylen, "unreadable: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a plain file");
		close(fd);
		return false;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, whylen, "owned by uid %ld, not the queue's owner", (long)st.st_uid);
		close(fd);
		return false;
	}
	struct qfile q;
	char err[200];
	bool ok = qfile_parse_fd(fd, &q, err, sizeof(err));
	if (ok) {
		qfile_free(&q);
		if ((st.st_mode & 07777) != 0600) {
			if (fchmod(fd, 0600) == 0)
				note(r, true, "%s: mode %04o set to 0600", path,
				     (unsigned)(st.st_mode & 07777));
		}
	} else {
		snprintf(why, whylen, "%s", err);
	}
	close(fd);
	return ok;
}

static const char *const msg_queues[] = {"incoming", "active", "deferred", "hold", NULL};

/* Whether id is in one of msg_queues before index upto (or any: upto < 0). */
static const char *found_in(const char *id, int upto)
{
	for (int i = 0; msg_queues[i] && (upto < 0 || i < upto); i++) {
		char path[CHECK_NAME_MAX + 32];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", msg_queues[i], id);
		if (lstat(path, &st) == 0)
			return msg_queues[i];
	}
	return NULL;
}

static void check_messages(struct check_report *r)
{
	for (int qi = 0; msg_queues[qi]; qi++) {
		const char *q = msg_queues[qi];
		bool active = strcmp(q, "active") == 0;
		DIR *d = opendir(q);
		if (d == NULL)
			continue;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			const char *n = e->d_name;
			if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
				continue;
			if (!store_id_ok(n)) {
				if (to_corrupt(q, n))
					note(r, true, "%s/%.200s: not a queue id: moved to corrupt/", q, n);
				else
					note(r, false, "%s/%.200s: not a queue id, cannot move it: %s", q,
					     n, strerror(errno));
				continue;
			}
			if (active && sched_is_active(n))
				continue; /* being delivered: the scheduler has it */
			const char *first = found_in(n, qi);
			if (first != NULL) {
				if (to_corrupt(q, n))
					note(r, true, "%s/%s: also in %s/: this copy moved to corrupt/", q,
					     n, first);
				continue;
			}
			char why[256];
			if (!file_ok(r, q, n, why, sizeof(why))) {
				/* Worded as the scheduler's line for the same case. */
				if (to_corrupt(q, n))
					note(r, true, "%s: corrupt queue file (%s): moved from %s/ to corrupt/",
					     n, why, q);
				else
					note(r, false, "%s: corrupt queue file (%s) in %s/, cannot move it: %s",
					     n, why, q, strerror(errno));
				continue;
			}
			if (active) {
				if (store_move(n, "active", "incoming") == 0) {
					note(r, true, "active/%s: not being delivered: requeued", n);
					sched_new(n);
				}
			}
		}
		closedir(d);
	}
}

static void check_logs(struct check_report *r)
{
	static const char *const logs[] = {"defer", "bounce", NULL};
	for (size_t i = 0; logs[i]; i++) {
		DIR *d = opendir(logs[i]);
		if (d == NULL)
			continue;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			const char *n = e->d_name;
			if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
				continue;
			bool id = store_id_ok(n);
			if (id && found_in(n, -1) != NULL)
				continue;
			struct stat st;
			if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
				continue;
			if (unlinkat(dirfd(d), n, 0) == 0)
				note(r, true, "%s/%.200s: %s: removed", logs[i], n,
				     id ? "log of a message that is gone" : "not a queue id");
		}
		closedir(d);
	}
}

static void count_corrupt(void)
{
	DIR *d = opendir("corrupt");
	if (d == NULL)
		return;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	if (n > 0)
		log_info("structure check: %zu file%s in corrupt/ (for the administrator)", n,
		         n == 1 ? "" : "s");
}

void check_queue(struct check_report *r)
{
	check_dirs(r);
	check_tmp(r);
	check_messages(r);
	check_logs(r);
	count_corrupt();
	if (r->repaired || r->unrepaired)
		log_info("structure check: %zu problem%s repaired, %zu left", r->repaired,
		         r->repaired == 1 ? "" : "s", r->unrepaired);
}
