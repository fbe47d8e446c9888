/*
 * smtpd_cmd.h - the one parser of SMTP command lines (RFC 5321 with the
 * ESMTP parameters of RFC 1870, 6152, 3030, 3461, 6531, 4954): a line
 * in, a structure out, or the reply Postfix gives for that syntax error.
 * Pure functions, no I/O: unit tested and fuzzed.
 */
#ifndef POSTERN_SMTPD_CMD_H
#define POSTERN_SMTPD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

enum smtp_verb {
	SMTP_UNKNOWN,
	SMTP_HELO,
	SMTP_EHLO,
	SMTP_STARTTLS,
	SMTP_AUTH,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_BDAT,
	SMTP_RSET,
	SMTP_NOOP,
	SMTP_VRFY,
	SMTP_ETRN,
	SMTP_QUIT,
	SMTP_HELP,
	SMTP_NVERBS
};

enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_cmd {
	enum smtp_verb verb;
	/* HELO/EHLO host, VRFY/ETRN/NOOP/HELP argument: the text after the
	 * verb with surrounding blanks removed (points into the line). */
	const char *arg;
	size_t arglen;

	/* MAIL / RCPT. */
	/* Internal form: quotes removed, source route dropped (a trailing
	 * dot of the domain is kept: routing ignores it).  "" is the null
	 * sender. */
	char addr[SMTP_ADDR_MAX + 1];
	/* The address as the client wrote it inside <> (for logs). */
	char addr_ext[SMTP_ADDR_MAX + 1];
	size_t at;        /* index of the last '@' in addr, or (size_t)-1 */
	bool addr_literal; /* domain is "[...]" */
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	bool has_envid;
	char envid[SMTP_ENVID_MAX + 1];
	unsigned notify; /* PROTO_NOTIFY_* bits, 0 when absent */
	/* MAIL AUTH= (RFC 4954 5), xtext decoded; "<>" is kept as is. */
	bool has_auth;
	char auth[256];
	bool has_orcpt;
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "rfc822;user@dom", xtext decoded */

	/* BDAT. */
	uint64_t chunk;
	bool last;

	/* On a syntax error: the complete reply line (without CRLF). */
	const char *err;
	char errbuf[192];
};

/* Verb names in log order ("helo", "ehlo", ...), for the disconnect line. */
const char *smtp_verb_name(enum smtp_verb v);

/*
 * Parse one command line (without its line end).  Returns true with c
 * filled in, or false with c->err the reply to send (c->verb still says
 * which command it was, SMTP_UNKNOWN when the verb is not known).
 */
bool smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *c);

/*
 * Parse an address as in a path, without the ESMTP parameters (VRFY
 * argument, tests).  Returns false when it is not a valid mailbox.
 * allow_null accepts "<>".
 */
bool smtp_addr_parse(const char *s, size_t len, bool allow_null, struct smtp_cmd *c);

/* Decode RFC 3461 xtext into out (outlen bytes with the NUL); false on
 * bad syntax, a decoded byte outside printable ASCII, or overflow. */
bool smtp_xtext_decode(const char *s, size_t len, char *out, size_t outlen);

/* Postfix's default smtpd_forbidden_commands: CONNECT, GET, POST and
 * lines that do not start with a letter (an HTTP proxy or worse). */
bool smtp_cmd_forbidden(const char *line, size_t len);

/* Client text for logs and headers: printable ASCII, the rest '?'. */
void smtp_printable(char *dst, size_t dstlen, const char *src, size_t n);

#endif
