/*
 * local_expand.h - what one recipient of a DELIVER request comes down
 * to: aliases, .forward files, :include: files, commands, files,
 * mailboxes and forwarded addresses, delivered one by one and logged.
 */
#ifndef POSTERN_LOCAL_EXPAND_H
#define POSTERN_LOCAL_EXPAND_H

#include <stddef.h>

#include "local_conf.h"
#include "local_copy.h"
#include "local_priv.h"
#include "local_req.h"

struct htable;

struct local_job {
	const struct local_conf *lc;
	const struct local_req *req;
	size_t idx;                 /* the recipient */
	struct local_msg content;   /* fd, offset, length */
	/* Called once per final delivery or failure, for the log line. */
	void (*log)(void *arg, const char *to, const struct local_status *st);
	void *log_arg;
	/* Out: the recipient's status (a deferral outranks a bounce, a
	 * bounce outranks success). */
	struct local_status result;
	int rank;
	size_t nleaves;
	struct htable *seen;        /* final deliveries done, for duplicates */
};

void local_expand_rcpt(struct local_job *job);

/*
 * Split an alias value, .forward or :include: text into destinations:
 * separated by commas or newlines, white space trimmed, "#" lines
 * skipped, a wholly quoted destination unquoted.  Calls fn for each
 * (up to max); returns the count, or -1 when there were more than max.
 */
int local_expand_tokens(const char *text, size_t max,
                        void (*fn)(void *arg, const char *token), void *arg);

#endif
