/*
 * qdirs.c - users and the queue directory tree.  Runs in master as
 * root before any daemon starts; its input is main.cf (trusted) and the
 * file system under queue_directory, where directories owned by
 * mail_owner may have been changed by a compromised qmgr: everything is
 * done relative to a directory descriptor, without following symlinks.
 */
#include "qdirs.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"

static int lookup(const char *param, const char *user, uid_t *uid, gid_t *gid,
                  char *err, size_t errlen)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen,
		         "%s: user \"%s\" does not exist; create it with "
		         "tools/mkusers.sh, or: useradd --system --user-group "
		         "--no-create-home --home-dir /nonexistent --shell "
		         "/usr/sbin/nologin %s",
		         param, user, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "%s: user \"%s\" has uid 0; it must be an "
		         "unprivileged user", param, user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int qdirs_users(struct cfg *c, struct master_ids *ids, char *err, size_t errlen)
{
	ids->as_root = geteuid() == 0;
	if (!ids->as_root) {
		ids->mail_uid = ids->net_uid = geteuid();
		ids->mail_gid = ids->net_gid = getegid();
		return 0;
	}
	const char *mo = cfg_get(c, "mail_owner");
	const char *nu = cfg_get(c, "network_user");
	if (lookup("mail_owner", mo, &ids->mail_uid, &ids->mail_gid, err, errlen) != 0 ||
	    lookup("network_user", nu, &ids->net_uid, &ids->net_gid, err, errlen) != 0)
		return -1;
	if (ids->mail_uid == ids->net_uid) {
		snprintf(err, errlen, "mail_owner (%s) and network_user (%s) have the "
		         "same uid; network-facing daemons must not be able to write "
		         "the queue", mo, nu);
		return -1;
	}
	return 0;
}

/* The tree (docs/architecture.md): queue state directories belong to
 * mail_owner alone; private/ lets network_user's group reach
 * private/qmgr; public/ lets anyone reach public/qmgr; pid/ is root's. */
enum owner { O_ROOT, O_MAIL };
static const struct {
	const char *name;
	enum owner owner;
	bool net_group;
	mode_t mode;
} tree[] = {
	{"tmp", O_MAIL, false, 0700},      {"incoming", O_MAIL, false, 0700},
	{"active", O_MAIL, false, 0700},   {"deferred", O_MAIL, false, 0700},
	{"hold", O_MAIL, false, 0700},     {"corrupt", O_MAIL, false, 0700},
	{"bounce", O_MAIL, false, 0700},   {"defer", O_MAIL, false, 0700},
	{"private", O_MAIL, true, 0710},   {"public", O_MAIL, false, 0711},
	{"pid", O_ROOT, false, 0755},
};

/* mkdir -p for queue_directory itself (root-owned, 0755). */
static int make_top(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(path) || path[0] != '/') {
		snprintf(err, errlen, "queue_directory must be an absolute path: %s", dir);
		return -1;
	}
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

int qdirs_prepare(const char *queue_dir, const struct master_ids *ids,
                  char *err, size_t errlen)
{
	if (make_top(queue_dir, err, errlen) != 0)
		return -1;
	int dfd = open(queue_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", queue_dir, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(dfd, &st) != 0 || (ids->as_root && st.st_uid != 0) ||
	    (st.st_mode & 022) != 0)
		log_warn("%s should be owned by root and writable only by its owner "
		         "(it is uid %ld mode %04o)",
		         queue_dir, (long)st.st_uid, (unsigned)(st.st_mode & 07777));
	int rc = 0;
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]) && rc == 0; i++) {
		uid_t uid = ids->as_root && tree[i].owner == O_ROOT ? 0 : ids->mail_uid;
		gid_t gid = ids->as_root && tree[i].owner == O_ROOT ? 0
		            : tree[i].net_group                      ? ids->net_gid
		                                                     : ids->mail_gid;
		if (fstatat(dfd, tree[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "%s/%s is not a directory", queue_dir,
				         tree[i].name);
				rc = -1;
			} else if (ids->as_root && (st.st_uid != uid || st.st_gid != gid ||
			                            (st.st_mode & 07777) != tree[i].mode)) {
				log_warn("%s/%s: expected owner %ld:%ld mode %04o, found "
				         "%ld:%ld mode %04o; fix it or remove the directory "
				         "and restart",
				         queue_dir, tree[i].name, (long)uid, (long)gid,
				         (unsigned)tree[i].mode, (long)st.st_uid,
				         (long)st.st_gid, (unsigned)(st.st_mode & 07777));
			}
			continue;
		}
		if (errno != ENOENT || mkdirat(dfd, tree[i].name, 0700) != 0) {
			snprintf(err, errlen, "cannot create %s/%s: %s", queue_dir,
			         tree[i].name, strerror(errno));
			rc = -1;
			break;
		}
		if ((ids->as_root &&
		     fchownat(dfd, tree[i].name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) ||
		    fchmodat(dfd, tree[i].name, tree[i].mode, 0) != 0) {
			snprintf(err, errlen, "cannot set owner/mode of %s/%s: %s",
			         queue_dir, tree[i].name, strerror(errno));
			rc = -1;
		}
	}
	close(dfd);
	return rc;
}
