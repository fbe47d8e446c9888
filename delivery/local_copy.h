/*
 * local_copy.h - writing a message from the queue file to a mailbox, a
 * maildir file or a command's input, in the forms local(8) uses:
 * optional "From " envelope line, Return-Path:, X-Original-To: and
 * Delivered-To: headers, ">From " quoting, a closing blank line.
 */
#ifndef POSTERN_LOCAL_COPY_H
#define POSTERN_LOCAL_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The message being delivered: content at offset/length of fd. */
struct local_msg {
	int fd;
	uint64_t offset, length;
	const char *sender;       /* "" for the null sender */
	const char *orig_rcpt;    /* X-Original-To:, NULL for none */
	const char *delivered_to; /* Delivered-To:, NULL for none */
};

#define LOCAL_COPY_FROM      0x01 /* "From sender  date" first */
#define LOCAL_COPY_QUOTE     0x02 /* ">From " for body lines starting "From " */
#define LOCAL_COPY_BLANK     0x04 /* an empty line after the message */
#define LOCAL_COPY_RPATH     0x08 /* Return-Path: <sender> */
#define LOCAL_COPY_ORIG      0x10 /* X-Original-To: */
#define LOCAL_COPY_DELIVERED 0x20 /* Delivered-To: */
#define LOCAL_COPY_MBOX (LOCAL_COPY_FROM | LOCAL_COPY_QUOTE | LOCAL_COPY_BLANK | \
                         LOCAL_COPY_RPATH | LOCAL_COPY_ORIG | LOCAL_COPY_DELIVERED)

/*
 * Write the message to out.  now is the time for the "From " line.
 * Returns true, or false with errno set (EFBIG when the file size limit
 * was hit, EPIPE when a command stopped reading).
 */
bool local_copy(const struct local_msg *m, int out, int flags, time_t now);

/*
 * Whether the message headers hold "Delivered-To: addr" (compared
 * without regard to case), which means it has been here before: a
 * forwarding loop.  Reads the header part of the content only.  -1 on a
 * read error.
 */
int local_copy_seen(const struct local_msg *m, const char *addr);

/* Whether the "From " line of LOCAL_COPY_FROM: "From " sender or
 * MAILER-DAEMON, two spaces, asctime-style local time.  Exposed for
 * tests. */
void local_copy_from_line(char *buf, size_t len, const char *sender, time_t now);

#endif
