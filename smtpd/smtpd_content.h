/*
 * smtpd_content.h - the built-in content checks (common/hbcheck.c) on
 * smtpd's way from the DATA/BDAT decoder to the queue file: the
 * decoded lines go in, the checked (edited) lines go to squeue_write,
 * and the message-wide actions wait for the end of data.
 */
#ifndef POSTERN_SMTPD_CONTENT_H
#define POSTERN_SMTPD_CONTENT_H

#include <stddef.h>

#include "hbcheck.h"
#include "smtpd_queue.h"

struct scontent;

/* NULL (no checks: write straight through) when hc is not active. */
struct scontent *scontent_start(const struct hbc_cfg *hc, const char *queue_id,
                                const char *client_name, const char *client_addr,
                                const char *sender, const char *rcpt, const char *proto,
                                const char *helo);
/* Write content (LF lines, any split) to q, through the checks when sc. */
void scontent_write(struct scontent *sc, struct squeue *q, const char *p, size_t n);
/* End of data: the checks' last output to q. */
void scontent_finish(struct scontent *sc, struct squeue *q);
/* The message-wide results; NULL when sc is NULL. */
const struct hbc_actions *scontent_actions(const struct scontent *sc);
void scontent_free(struct scontent *sc);

#endif
