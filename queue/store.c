/*
 * store.c - queue files on disk (see store.h).  Runs in qmgr, in
 * queue_directory.  Touches no outside input except the ids given by
 * administrators, which are checked with store_id_ok() by the caller.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "qmgr.h"

const char *const store_queues[] = {"incoming", "active", "deferred", "hold",
                                    "corrupt", NULL};
const char *const store_dirs[] = {"tmp",    "incoming", "active", "deferred",
                                  "hold",   "corrupt",  "bounce", "defer",
                                  "private", "public",  NULL};

bool store_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n != STORE_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'F')))
			return false;
	return true;
}

bool store_space_ok(void)
{
	struct statvfs sv;
	if (statvfs(".", &sv) != 0)
		return true; /* cannot tell: the writes themselves will fail */
	double avail = (double)sv.f_bavail * (double)sv.f_frsize;
	double need = 1.5 * (double)qmgr.message_size_limit;
	if ((double)qmgr.queue_minfree > need)
		need = (double)qmgr.queue_minfree;
	return avail >= need;
}

int store_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

const char *store_find(const char *id)
{
	char path[64];
	for (size_t i = 0; store_queues[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", store_queues[i], id);
		if (access(path, F_OK) == 0)
			return store_queues[i];
	}
	snprintf(path, sizeof(path), "tmp/%s", id);
	if (access(path, F_OK) == 0)
		return "tmp";
	return NULL;
}

/* Ids increase within a process even if the clock does not. */
static void next_id(struct qfile *q, char *id)
{
	static long long last_sec;
	static long last_usec;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	long long sec = tv.tv_sec;
	long usec = tv.tv_usec;
	if (sec < last_sec || (sec == last_sec && usec <= last_usec)) {
		sec = last_sec;
		usec = last_usec + 1;
		if (usec > 999999) {
			sec++;
			usec = 0;
		}
	}
	last_sec = sec;
	last_usec = usec;
	snprintf(id, STORE_ID_SIZE, "%08llX%05lX", sec & 0xffffffffLL, usec);
	q->arrival = (time_t)tv.tv_sec;
	q->arrival_usec = (long)tv.tv_usec;
}

int store_create(struct qfile *head)
{
	char id[STORE_ID_SIZE], path[64];
	for (int tries = 0; tries < 100; tries++) {
		next_id(head, id);
		if (store_find(id) != NULL)
			continue;
		snprintf(path, sizeof(path), "tmp/%s", id);
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0) {
			log_warn("create %s: %s", path, strerror(errno));
			return -1;
		}
		free(head->id);
		head->id = strdup(id);
		if (head->id == NULL || qfile_write_head(fd, head) != 0) {
			log_warn("write %s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			return -1;
		}
		return fd;
	}
	log_warn("cannot find a free queue id");
	errno = EEXIST;
	return -1;
}

int store_client_fd(const char *id)
{
	char path[64];
	snprintf(path, sizeof(path), "tmp/%s", id);
	return open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
}

int store_commit(int fd, const struct qfile *head, off_t content_len,
                 const struct qfile_rcpt_in *rcpts, size_t n)
{
	char from[64], to[64];
	if (qfile_write_commit(fd, head, content_len, rcpts, n) != 0)
		return -1;
	snprintf(from, sizeof(from), "tmp/%s", head->id);
	snprintf(to, sizeof(to), "incoming/%s", head->id);
	if (rename(from, to) != 0)
		return -1;
	if (store_sync_dir("incoming") != 0) {
		int e = errno;
		/* Not durable: do not acknowledge; take the file back. */
		if (rename(to, from) == 0)
			unlink(from);
		errno = e;
		return -1;
	}
	return 0;
}

void store_abandon(const char *id)
{
	char path[64];
	snprintf(path, sizeof(path), "tmp/%s", id);
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("remove %s: %s", path, strerror(errno));
}

int store_move(const char *id, const char *from, const char *to)
{
	char a[64], b[64];
	snprintf(a, sizeof(a), "%s/%s", from, id);
	snprintf(b, sizeof(b), "%s/%s", to, id);
	if (rename(a, b) != 0)
		return -1;
	/* Into active or deferred, a move need not be durable: a crash
	 * leaves the file in the old place or the new one, and start-up
	 * recovery treats incoming, active and deferred alike (the message
	 * is scheduled again).  Into hold, corrupt or incoming it must. */
	if (strcmp(to, "active") == 0 || strcmp(to, "deferred") == 0)
		return 0;
	return store_sync_dir(to);
}

void store_remove(const char *id, const char *queue, bool log_it)
{
	char path[64];
	snprintf(path, sizeof(path), "%s/%s", queue, id);
	if (unlink(path) != 0 && errno != ENOENT) {
		log_warn("remove %s: %s", path, strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "defer/%s", id);
	unlink(path);
	/* Not made durable: after a power cut the file may come back and
	 * its recipients not yet marked done be delivered again, the
	 * at-least-once the queue promises (docs/queue.md). */
	if (log_it)
		log_info("%s: removed", id);
}
