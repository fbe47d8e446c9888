/*
 * qfile.h - the on-disk format of one queued message and its one
 * bounded parser.  Written and read by qmgr; delivery agents only read
 * the content range (offset and length travel in DELIVER).  Layout and
 * record types are documented in docs/queue.md.
 *
 *   record = type (1 byte) | length (4 bytes, big-endian) | data
 *   except the content record 'C', whose length is 8 bytes.
 *
 * A file is: 'V' "1", head records (each at most once), 'C' content,
 * recipient groups ('R' then optional 'O', 'Q', 'N'), 'E', end of file.
 * The first data byte of an 'R' record is the recipient's status and is
 * overwritten in place (qfile_set_status) when the recipient is done.
 */
#ifndef POSTERN_QFILE_H
#define POSTERN_QFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define QFILE_VERSION "1"

/* Record types. */
enum qfile_rtype {
	QR_VERSION = 'V',
	QR_ID = 'I',
	QR_TIME = 'T',        /* arrival "SECONDS.MICROSECONDS" */
	QR_SENDER = 'S',      /* envelope sender, "" for the null sender */
	QR_FLAGS = 'F',       /* decimal PROTO_FLAG_* */
	QR_UID = 'U',         /* submitting user of a local submission */
	QR_CLIENT_NAME = 'n',
	QR_CLIENT_ADDR = 'a',
	QR_CLIENT_PORT = 'p',
	QR_HELO = 'h',
	QR_PROTOCOL = 'P',
	QR_SASL_METHOD = 'm',
	QR_SASL_USER = 'u',
	QR_RET = 'r',         /* "FULL" or "HDRS" */
	QR_ENVID = 'e',
	QR_BODY = 'b',        /* "7BIT", "8BITMIME", "BINARYMIME" */
	QR_SMTPUTF8 = '8',    /* "1" */
	QR_WARNED = 'w',      /* "0", or "1" once a delay warning is queued (in place) */
	QR_CONTENT = 'C',     /* 8-byte length, then the message */
	QR_RCPT = 'R',        /* status byte, then the address */
	QR_ORCPT = 'O',       /* RFC 3461 ORCPT ("rfc822;addr") */
	QR_ORIG_RCPT = 'Q',   /* recipient before rewriting */
	QR_NOTIFY = 'N',      /* decimal PROTO_NOTIFY_* */
	QR_END = 'E',         /* empty; nothing may follow */
	QR_REASON = 'W',      /* defer logs only: "INDEX STATUS TEXT" */
};

/* Recipient status byte. */
#define QFILE_ST_PENDING 'P' /* still to be delivered */
#define QFILE_ST_DONE    'D' /* delivered */
#define QFILE_ST_FAILED  'F' /* failed and its bounce is queued (or none is due) */

struct qfile_rcpt {
	char *addr;
	char *orcpt;     /* NULL when absent */
	char *orig;      /* NULL when absent */
	unsigned notify; /* PROTO_NOTIFY_*, 0 when absent */
	char status;
	off_t status_off; /* file offset of the status byte */
};

struct qfile {
	char *id;
	char *sender;
	time_t arrival;
	long arrival_usec;
	unsigned flags;
	long uid; /* -1 when absent */
	char *client_name, *client_addr, *client_port, *helo, *protocol;
	char *sasl_method, *sasl_user;
	char *ret, *envid, *body;
	bool smtputf8;
	bool warned;      /* a delay warning was sent */
	off_t warned_off; /* offset of the 'w' byte, 0 when the file has none */
	off_t content_len_off; /* offset of the content record's length field */
	off_t content_off, content_len;
	struct qfile_rcpt *rcpts;
	size_t nrcpts;
};

/* A recipient to write at commit time (strings may be NULL). */
struct qfile_rcpt_in {
	const char *addr, *orcpt, *orig;
	unsigned notify;
};

void qfile_init(struct qfile *q);
void qfile_free(struct qfile *q);

/*
 * Parse a complete queue file (content is checked for extent, not
 * read).  false with a reason in err for anything that is not exactly
 * the format: an unknown record, a repeated or missing head record, a
 * length past the limits or the end of the file, a string with a NUL,
 * bytes after 'E'.
 */
bool qfile_parse_fd(int fd, struct qfile *q, char *err, size_t errlen);
bool qfile_parse_mem(const uint8_t *buf, size_t len, struct qfile *q, char *err,
                     size_t errlen);

/*
 * Write the head of a new file (from q: id, arrival, sender, flags, uid,
 * client and ESMTP attributes; NULL strings are left out) followed by
 * the content record's header with length 0.  The file must be empty.
 * Sets q->content_len_off and q->content_off.  Returns 0 or -1 (errno).
 */
int qfile_write_head(int fd, struct qfile *q);

/*
 * Complete a file at commit: set the content length, append the
 * recipient records and 'E' after the content, fsync.  Returns 0 or -1
 * (errno; EINVAL for a field past the limits).
 */
int qfile_write_commit(int fd, const struct qfile *q, off_t content_len,
                       const struct qfile_rcpt_in *rcpts, size_t n);

/* Overwrite one recipient's status byte (or the 'w' byte) and make it
 * durable. */
int qfile_set_status(int fd, off_t status_off, char status);
/* The same without the flush: for a byte whose loss a crash may cause
 * only a repeated delivery (the last recipient of a message about to be
 * removed). */
int qfile_put_status(int fd, off_t status_off, char status);

/*
 * Defer logs: a file of QR_REASON records, one per deferred recipient
 * ("INDEX STATUS TEXT").  Append one; parse a whole log (calls fn for
 * each entry; false with err on a malformed one).
 */
int qfile_reason_append(int fd, size_t index, const char *status, const char *text);
bool qfile_reasons_parse(const uint8_t *buf, size_t len,
                         void (*fn)(void *arg, size_t index, const char *status,
                                    const char *text),
                         void *arg, char *err, size_t errlen);

#endif
