/*
 * hbcheck.h - Postfix's built-in content checks (header_checks(5)):
 * header_checks, mime_header_checks, nested_header_checks and
 * body_checks applied to a message as it streams towards the queue,
 * with the actions REJECT, WARN, INFO, IGNORE, STRIP, DISCARD, DUNNO,
 * OK, HOLD, PASS, PREPEND, REPLACE, REDIRECT, BCC and FILTER, and the
 * MIME errors of the strict_* options.  The checked (edited) content
 * is appended to a caller's buffer; the message-wide actions are left
 * in struct hbc_actions for the caller to apply at the end of data.
 * Log lines are written here in the form Postfix's cleanup writes them.
 * Runs in smtpd; the content is untrusted, the tables trusted.
 */
#ifndef POSTERN_HBCHECK_H
#define POSTERN_HBCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

struct cfg;
struct hbc_cfg;
struct hbc;

/*
 * Open the tables and read the limits from c.  When a table cannot be
 * opened the reason is in err and hbc_cfg_error(): every message is then
 * refused with 451 4.3.0 (as when Postfix's cleanup cannot start) until
 * the table is fixed.  hbc_cfg_active() is false when no table is set and
 * no strict_* option is on.
 */
struct hbc_cfg *hbc_cfg_load(struct cfg *c, char *err, size_t errlen);
bool hbc_cfg_active(const struct hbc_cfg *hc);
const char *hbc_cfg_error(const struct hbc_cfg *hc);
void hbc_cfg_free(struct hbc_cfg *hc);

/* The message-wide results. */
struct hbc_actions {
	bool reject;      /* reply holds the 4xx/5xx; nothing may be queued */
	char reply[512];
	bool discard;     /* claim delivery, queue nothing */
	bool hold;
	char redirect[512]; /* "" none; the last one wins */
	char filter[512];   /* "" none; the last one wins */
	char **bcc;         /* NULL-terminated, NULL none */
	size_t nbcc;
};

/* Who sent it, for the log lines ("from host[addr]; from=<> to=<> ..."). */
struct hbc_who {
	const char *queue_id;
	const char *client; /* "name[addr]" */
	const char *sender;
	const char *rcpt;   /* the last recipient, as Postfix logs it */
	const char *proto;  /* "ESMTP" */
	const char *helo;   /* "" none */
};

/* The strings in who must stay valid until hbc_free(). */
struct hbc *hbc_start(const struct hbc_cfg *hc, const struct hbc_who *who);
/* Content as LF-terminated lines, any split; the result goes to out. */
void hbc_feed(struct hbc *h, const char *p, size_t n, struct strbuf *out);
/* End of the message: the rest goes to out. */
void hbc_finish(struct hbc *h, struct strbuf *out);
const struct hbc_actions *hbc_actions(const struct hbc *h);
void hbc_free(struct hbc *h);

#endif
