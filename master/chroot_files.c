/*
 * chroot_files.c - the system files a chrooted daemon still needs
 * (resolver configuration, hosts, services, time zone), copied into
 * queue_directory/etc when master.cf chroots a service, as Debian's
 * Postfix start script does.  Runs in master, as root, at start and at
 * reload.  Untrusted input: none (root-owned system files, copied as
 * bytes, bounded in size).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "mastercf.h"

#define CHROOT_FILE_MAX (1024 * 1024)

static const char *const files[] = {
	"/etc/resolv.conf", "/etc/hosts", "/etc/services", "/etc/localtime",
	"/etc/nsswitch.conf", "/etc/host.conf",
};

/* Copy src to etc/NAME below the working directory (queue_directory):
 * written to a temporary name, then renamed, so a daemon never reads a
 * half-written file. */
static void copy_one(const char *src)
{
	char buf[8192], dst[256], tmp[280];
	const char *base = strrchr(src, '/') + 1;
	snprintf(dst, sizeof(dst), "etc/%s", base);
	snprintf(tmp, sizeof(tmp), "etc/.%s.tmp", base);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return; /* not on this system: nothing to copy */
	struct stat st;
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CHROOT_FILE_MAX) {
		close(in);
		return;
	}
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0) {
		log_warn("chroot files: %s: %s", tmp, strerror(errno));
		close(in);
		return;
	}
	bool ok = true;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 || write(out, buf, (size_t)n) != n) {
			ok = false;
			break;
		}
	}
	close(in);
	if (fchmod(out, 0644) != 0 || close(out) != 0)
		ok = false;
	if (!ok || rename(tmp, dst) != 0) {
		log_warn("chroot files: cannot copy %s to %s: %s", src, dst, strerror(errno));
		unlink(tmp);
	}
}

void master_chroot_files(struct master *m)
{
	bool any = false;
	for (size_t i = 0; i < m->mcf->nservices && !any; i++)
		any = m->mcf->services[i].chroot && !m->mcf->services[i].superseded;
	if (!any || !m->ids.as_root)
		return;
	if (mkdir("etc", 0755) != 0 && errno != EEXIST) {
		log_warn("chroot files: mkdir %s/etc: %s", m->queue_dir, strerror(errno));
		return;
	}
	struct stat st;
	if (lstat("etc", &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0) {
		log_warn("chroot files: %s/etc is not a directory owned by root; not copying",
		         m->queue_dir);
		return;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		copy_one(files[i]);
}
