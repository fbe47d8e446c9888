/*
 * local_priv.h - running one delivery step in a child process that has
 * become a given user, and getting its status back.
 */
#ifndef POSTERN_LOCAL_PRIV_H
#define POSTERN_LOCAL_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bounds.h"

/* Who a step runs as. */
struct local_cred {
	uid_t uid;
	gid_t gid;
	const char *user;  /* for initgroups(); NULL: the one group gid only */
	gid_t extra_gid;   /* added to the groups (mail spool group), or -1 */
};

/* Outcome of a delivery step: dsn "2.0.0", "4.x.y" or "5.x.y". */
struct local_status {
	char dsn[16];
	char text[LOCAL_TEXT_MAX];
};

void local_status_set(struct local_status *st, const char *dsn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* 2, 4 or 5 from the dsn's class; 4 for anything odd. */
int local_status_class(const struct local_status *st);

/*
 * Become the user: groups, gid, uid, then verify that nothing of the
 * old identity is left.  Not started as root: nothing changes.  Returns
 * false with st set (4.3.0) on failure.
 */
bool local_become(const struct local_cred *c, struct local_status *st);

/* Load the NSS modules once in the long-lived agent, so that the
 * processes it forks find them loaded. */
void local_nss_warm(void);

/*
 * Fork; the child becomes c and runs fn(arg, st), and the parent waits
 * and returns the child's status in st.  A child that dies without a
 * status makes a 4.3.0.
 */
void local_run_as(const struct local_cred *c,
                  void (*fn)(void *arg, struct local_status *st), void *arg,
                  struct local_status *st);

/*
 * Read a small file (a .forward or :include: file) as user c: opened
 * O_NOFOLLOW, a regular file with one link owned by owner1 or owner2,
 * at most LOCAL_FILE_MAX bytes, no NUL byte.  Returns an allocated
 * string and its owner in *owner, or NULL with errno (ENOENT when
 * missing) and a reason in why.
 */
char *local_read_file_as(const struct local_cred *c, const char *path,
                         uid_t owner1, uid_t owner2, uid_t *owner, char *why,
                         size_t whylen);

#endif
