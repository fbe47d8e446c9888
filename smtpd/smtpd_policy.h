/*
 * smtpd_policy.h - the client side of Postfix's policy delegation
 * protocol (check_policy_service): asynchronous requests on the smtpd
 * event loop, connection reuse, timeouts, retries and the default
 * action.  Runs in smtpd (and in `postern probe`, on a private loop).
 * Untrusted input: the policy server's reply, read by one bounded
 * parser (policy_reply_parse).
 */
#ifndef POSTERN_SMTPD_POLICY_H
#define POSTERN_SMTPD_POLICY_H

#include <stddef.h>

struct event_base;
struct chk;
struct policy;

/*
 * Parse a reply: name=value lines, an empty line ends it.  Returns the
 * number of bytes consumed (> 0) when complete, with the action= value
 * copied to action ("" when the reply had none); 0 when more input is
 * needed; -1 when the reply is malformed (a line without '=', a line
 * longer than POLICY_LINE_MAX, more than POLICY_REPLY_MAX bytes, a NUL).
 */
long policy_reply_parse(const char *buf, size_t len, char *action, size_t actlen);

/* Attach a policy client to c's check_policy_service restrictions. */
struct policy *policy_init(struct event_base *base, struct chk *c);
void policy_free(struct policy *p);

#endif
