/*
 * smtpd_policy_req.h - one check_policy_service's settings and the policy
 * request (SMTPD_POLICY_README's attributes, in Postfix's order).
 */
#ifndef POSTERN_SMTPD_POLICY_REQ_H
#define POSTERN_SMTPD_POLICY_REQ_H

#include <stddef.h>

#include "smtpd_check.h"

struct cfg;

struct chk_policy_svc {
	struct chk_policy_svc *next;
	char *spec;    /* as written, for logs */
	char *target;  /* inet:host:port or unix:path */
	long timeout, max_idle, max_ttl, try_limit, retry_delay, request_limit;
	char *default_action;
	char *context;
};

/* Parse "inet:host:port" or "{ inet:host:port, timeout=10s, ... }";
 * err set (and the result still returned, target maybe NULL) on errors. */
struct chk_policy_svc *policy_svc_new(struct cfg *cfg, const char *spec, char *err, size_t errlen);
void policy_svc_free(struct chk_policy_svc *p);
/* The request, name=value lines and the empty line; 0 when it does not
 * fit (POLICY_REQUEST_MAX). */
size_t policy_request(const struct chk_input *in, const char *cmd,
                      const struct chk_policy_svc *svc, struct cfg *cfg, char *out, size_t outlen);

#endif
