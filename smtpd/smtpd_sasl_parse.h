/*
 * smtpd_sasl_parse.h - the bounded parsers of SASL input in smtpd: the
 * AUTH command's argument (RFC 4954), strict base64 (RFC 4648 4) for
 * client responses and server challenges, the security option lists of
 * main.cf, smtpd_sasl_mechanism_filter, and one line of the Dovecot
 * auth protocol.  Pure functions, no I/O: unit tested and fuzzed.
 */
#ifndef POSTERN_SMTPD_SASL_PARSE_H
#define POSTERN_SMTPD_SASL_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

/*
 * Strict base64: the length a multiple of 4, only the RFC 4648
 * alphabet, at most two '=' and only at the end, unused bits zero.
 * Anything else is refused (no whitespace, no missing padding): a
 * lenient decoder is where CVE-2018-6789 lived.  Decodes into out
 * (outmax bytes); false on bad input or when out is too small.
 */
bool sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t outmax,
                     size_t *outlen);
/* Encode with padding and a NUL; false when out (outmax) is too small. */
bool sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t outmax);

/* "AUTH mechanism [initial-response]". */
struct sasl_auth_arg {
	char mech[SASL_MECH_NAME_MAX + 1]; /* upper case */
	bool has_init;                     /* an initial response was given */
	const char *init;                  /* its text ("" for "="), in arg */
	size_t initlen;
};
/* NULL, or the SMTP reply for bad syntax. */
const char *sasl_auth_parse(const char *arg, size_t len, struct sasl_auth_arg *a);

/* smtpd_sasl_security_options words. */
enum {
	PT_SEC_NOPLAIN = 1 << 0,
	PT_SEC_NOACTIVE = 1 << 1,
	PT_SEC_NODICT = 1 << 2,
	PT_SEC_NOANON = 1 << 3,
	PT_SEC_MUTUAL = 1 << 4,
	PT_SEC_FORWARD = 1 << 5,
};
/* false with the bad word in err. */
bool sasl_secopts_parse(const char *value, unsigned *flags, char *err, size_t errlen);

/*
 * smtpd_sasl_mechanism_filter: a list of mechanism names, "!name" to
 * exclude, and "static:rest" / "static:all" for the rest.  The first
 * item that matches decides; no match excludes.  mechs (blank
 * separated) is filtered in place.
 */
void sasl_mech_filter(char *mechs, const char *filter);
/* Whether mech (upper case) is one of the blank separated names. */
bool sasl_mech_listed(const char *mechs, const char *mech);

/*
 * One line of the Dovecot auth protocol (without its LF): tab separated
 * fields, each unescaped in place (\001 1, \001 t, \001 r, \001 n).  For
 * the replies that carry one, id is the request id.
 */
#define DOVECOT_ARGS_MAX 64
struct dv_line {
	const char *cmd;
	unsigned long id;
	bool has_id;
	size_t nargs;
	const char *args[DOVECOT_ARGS_MAX]; /* after the command (and id) */
};
/* line must have room for len + 1 bytes (a NUL is written at len). */
bool dv_line_parse(char *line, size_t len, struct dv_line *l);
/* The value of "key=value" ("" for a bare "key"), or NULL. */
const char *dv_arg(const struct dv_line *l, const char *key);
/* Escape a value for a request field (tabs, LF, CR, \001); false when
 * out is too small. */
bool dv_escape(const char *in, char *out, size_t outmax);

#endif
