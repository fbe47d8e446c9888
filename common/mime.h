/*
 * mime.h - the streaming message scanner behind the built-in content
 * checks (hbcheck.c).  It takes a message as LF-terminated lines, in
 * any split, and hands out items: one logical header at a time (the
 * folding newlines kept, as header_checks see it), one body line (or
 * chunk of a long line) at a time, and the empty line that ends a
 * header block.  It follows the MIME structure (multipart boundaries,
 * attached message/rfc822) with a bounded stack, classifies headers as
 * primary, MIME part or nested, and notices the errors Postfix's strict_*
 * options reject.  No I/O; the message is untrusted input.
 */
#ifndef POSTERN_MIME_H
#define POSTERN_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* Where a header was found. */
enum mime_hclass {
	MIME_H_PRIMARY,   /* the message's own header */
	MIME_H_MULTIPART, /* the header of a multipart body part */
	MIME_H_NESTED,    /* the header of an attached message/rfc822 */
};

enum mime_kind {
	MIME_I_HEADER, /* a logical header, without its last newline */
	MIME_I_EOH,    /* the empty line that ends a header block */
	MIME_I_BODY,   /* a body line (or a chunk of one), without newline */
};

struct mime_item {
	enum mime_kind kind;
	enum mime_hclass hclass; /* headers */
	bool mime_hdr;           /* Content-*, MIME-Version, or in a part's header */
	const char *text;
	size_t len;
	bool eol;                /* body: the line ends here (false: chunk) */
	size_t seg_offset;       /* body: bytes of this segment before it */
	bool truncated;          /* header: longer than header_size_limit */
};

/* Errors (first one kept), with Postfix's texts (mime_error_text). */
enum mime_err {
	MIME_OK,
	MIME_ERR_NESTING,   /* mime_nesting_limit */
	MIME_ERR_8BIT_HDR,  /* strict_7bit_headers */
	MIME_ERR_8BIT_BODY, /* strict_8bitmime_body */
	MIME_ERR_DOMAIN,    /* strict_mime_encoding_domain */
};

struct mime_opts {
	bool disabled;           /* disable_mime_input_processing */
	long nesting_limit;      /* mime_nesting_limit */
	size_t boundary_max;     /* mime_boundary_length_limit */
	size_t header_max;       /* header_size_limit */
	size_t line_max;         /* line_length_limit: body chunks */
	bool strict_7bit_hdr;    /* strict_7bit_headers or strict_8bitmime */
	bool strict_8bit_body;   /* strict_8bitmime_body or strict_8bitmime */
	bool strict_domain;      /* strict_mime_encoding_domain */
};

typedef void (*mime_item_fn)(void *ctx, const struct mime_item *it);

struct mime_level; /* one open multipart */

struct mime {
	struct mime_opts o;
	mime_item_fn fn;
	void *ctx;
	int state;               /* header or body */
	enum mime_hclass hclass; /* of the header block being read */
	struct strbuf line;      /* the physical line so far */
	bool line_cont;          /* the line's earlier bytes were handed out */
	int line_kind;           /* what its first chunk was */
	struct strbuf hdr;       /* the logical header so far */
	bool hdr_open, hdr_trunc;
	/* What the header block being read declared. */
	int ctype;               /* multipart, message, other */
	char *boundary;
	int cte;                 /* the Content-Transfer-Encoding */
	bool cte_seen;
	char cte_text[64];
	char ct_text[128];       /* the Content-Type header, for the error context */
	bool digest;             /* it is multipart/digest */
	/* Open multiparts, outermost first. */
	struct mime_level *stack;
	size_t depth;
	int body_enc;            /* encoding of the body being read */
	size_t seg;              /* body bytes in this segment so far */
	enum mime_err err;
	char err_ctx[256];       /* the text it was found in */
};

void mime_init(struct mime *m, const struct mime_opts *o, mime_item_fn fn, void *ctx);
void mime_free(struct mime *m);
/* Any split of the input; every complete line is handed out at once. */
void mime_feed(struct mime *m, const char *p, size_t n);
/* The end of the message: a last line without LF, an open header. */
void mime_finish(struct mime *m);
/* Postfix's reason text for an error ("improper use of 8-bit data ..."). */
const char *mime_error_text(enum mime_err e);

#endif
