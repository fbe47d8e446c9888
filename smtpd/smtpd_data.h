/*
 * smtpd_data.h - the decoder of message content as it arrives after
 * DATA (dot-stuffed, ended by <CR><LF>.<CR><LF>) or in BDAT chunks:
 * line ends become LF, dots are unstuffed, the end of DATA is found,
 * the Message-ID header is noted, and the size is counted against the
 * limit.  Pure state machine without I/O: fed any split of the input it
 * produces the same output (unit tested one byte at a time, fuzzed).
 *
 * Bare LF (smtpd_forbid_bare_newline): in "normalize" mode a bare LF
 * ends a line but never the message: only "." on a line of its own,
 * ended by CR LF and preceded by a CR LF line end, ends DATA.  In
 * "reject" mode a bare LF is an error.  A bare CR is content.
 */
#ifndef POSTERN_SMTPD_DATA_H
#define POSTERN_SMTPD_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "strbuf.h"

enum sdata_result {
	SDATA_MORE,   /* all input consumed, message not complete */
	SDATA_END,    /* "." line seen: *used says how much input was taken */
	SDATA_BARE_LF /* reject mode: a bare LF was seen */
};

struct sdata {
	bool dot_mode;      /* DATA (true) or BDAT (false) */
	bool reject_bare_lf;
	uint64_t limit;     /* message_size_limit, 0: none */
	/* Output so far, LF line ends; the caller drains it (sdata_out_take). */
	struct strbuf out;
	uint64_t size;      /* content bytes produced (Received: excluded) */
	bool too_big;       /* size passed limit: output is dropped */
	bool saw_bare_lf;

	/* Line state. */
	bool bol;           /* at the beginning of a line */
	bool prev_crlf;     /* the previous line ended with CR LF */
	bool pending_cr;    /* a CR waits for its LF */
	int dot;            /* 0: no; 1: the line so far is "." */
	bool in_header;     /* still in the message header */
	size_t linelen;     /* bytes of the current line so far (header checks) */
	/* Message-ID header. */
	int msgid_state;    /* 0 none yet, 1 collecting, 2 done */
	bool msgid_line;    /* this line adds to the Message-ID value */
	bool name_done;     /* the header name of this line is complete */
	char hdrname[16];
	size_t hdrnamelen;
	char msgid[SMTP_MSGID_MAX + 1];
	size_t msgidlen;
};

void sdata_init(struct sdata *d, bool dot_mode, bool reject_bare_lf, uint64_t limit);
void sdata_free(struct sdata *d);
/*
 * Feed n bytes; *used is how many were consumed (less than n only on
 * SDATA_END or SDATA_BARE_LF).
 */
enum sdata_result sdata_feed(struct sdata *d, const char *p, size_t n, size_t *used);
/* BDAT LAST / end of DATA: emit a held CR, add a final LF if missing. */
void sdata_finish(struct sdata *d);
/* The Message-ID value ("" when none), white space trimmed. */
const char *sdata_msgid(struct sdata *d);

#endif
