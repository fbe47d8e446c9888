/*
 * local_req.h - the DELIVER request as the local delivery agent sees it
 * (parsed from one ipc.h record, strictly), and the RESULT/DONE replies.
 */
#ifndef POSTERN_LOCAL_REQ_H
#define POSTERN_LOCAL_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipc_in;

struct local_rcpt {
	const char *addr;      /* T_RCPT */
	const char *orig;      /* T_ORIG_RCPT, or addr when absent/empty */
	const char *orcpt;     /* T_ORCPT or NULL */
	uint64_t notify;       /* T_NOTIFY or 0 */
};

/* Strings point into the parsed record; valid while it is. */
struct local_req {
	const char *id;
	const char *sender;    /* "" for the null sender */
	uint64_t arrival;
	uint64_t offset, length;
	const char *nexthop;   /* "" when absent */
	const char *delays;    /* "a/b" from qmgr; "0/0" when absent */
	uint64_t flags;
	const char *envid, *ret; /* NULL when absent */
	size_t nrcpt;
	struct local_rcpt rcpt[];
};

/*
 * Check a parsed record for a DELIVER request: the type, every field's
 * tag and form, the required fields, recipient groups in order, no
 * duplicates.  Returns an allocated request (free()) or NULL with a
 * reason in err.
 */
struct local_req *local_req_parse(const struct ipc_in *in, char *err, size_t errlen);

/* Send a RESULT for recipient idx; false with errno on failure. */
bool local_req_result(int sock, size_t idx, const char *dsn, const char *text);
bool local_req_done(int sock);

#endif
