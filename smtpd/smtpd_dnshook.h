/*
 * smtpd_dnshook.h - connects the restriction chain (smtpd_check.c) to
 * the DNS-based checks (smtpd_dnsck.c): reject_rbl_client and the other
 * DNSBL/RHSBL lists, permit_dnswl_client, reject_unknown_*, and
 * check_*_{mx,ns,a}_access.  A temporary DNS failure becomes defer or
 * defer_if_permit as the restriction's *_tempfail_action says.
 */
#ifndef POSTERN_SMTPD_DNSHOOK_H
#define POSTERN_SMTPD_DNSHOOK_H

struct chk;
struct cfg;
struct dns_ctx;
struct smtpd_dnshook;

/* Install the hook on c (NULL and nothing installed without a resolver:
 * the chain then answers "dunno" and logs why).  cfg and dns must
 * outlive it. */
struct smtpd_dnshook *smtpd_dnshook_attach(struct chk *c, struct cfg *cfg, struct dns_ctx *dns);
void smtpd_dnshook_free(struct smtpd_dnshook *h);

#endif
