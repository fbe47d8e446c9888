/*
 * check.h - structure check and repair of queue_directory ("postern
 * super -s", and at every queue manager start).  Runs in qmgr, in its
 * working directory queue_directory, inside one event callback (no
 * delivery or receive changes the queue meanwhile).  What it checks is
 * listed in check.c and docs/queue.md.
 */
#ifndef POSTERN_CHECK_H
#define POSTERN_CHECK_H

#include <stddef.h>

/* A tmp/ file not written for this long belongs to no transaction. */
#define CHECK_TMP_STALE_SECONDS 3600
/* At most this many problem texts are kept for the reply. */
#define CHECK_TEXTS_MAX 64

struct check_report {
	size_t repaired;   /* problems fixed */
	size_t unrepaired; /* problems found and left (logged) */
	char *texts[CHECK_TEXTS_MAX];
	size_t ntexts;
};

/* Check and repair; every problem is logged and counted. */
void check_queue(struct check_report *r);
void check_report_free(struct check_report *r);

#endif
