/*
 * smtpd_dns.h - the client's name as Postfix's smtpd finds it: the PTR
 * name of the client address (the "reverse client name"), confirmed by
 * a forward lookup that must return the client address (the "client
 * name"), each with a status that reject_unknown_client_hostname and
 * reject_unknown_reverse_client_hostname read (temporary failures answer
 * 450).  Asynchronous, through common/dns, so no other session waits.
 */
#ifndef POSTERN_SMTPD_DNS_H
#define POSTERN_SMTPD_DNS_H

#include "bounds.h"
#include "netaddr.h"

struct dns_ctx;

/* Postfix's client_name_status / reverse_client_name_status values. */
enum smtpd_name_status {
	SMTPD_NAME_OK = 2,     /* name found (and confirmed) */
	SMTPD_NAME_TEMP = 4,   /* lookup failed temporarily */
	SMTPD_NAME_PERM = 5,   /* no name */
	SMTPD_NAME_FORGED = 6, /* the name does not resolve back to the address */
};

struct smtpd_client_names {
	char name[SMTP_HOST_MAX + 1];         /* confirmed name, else "unknown" */
	char reverse_name[SMTP_HOST_MAX + 1]; /* PTR name, else "unknown" */
	enum smtpd_name_status name_status;
	enum smtpd_name_status reverse_status;
};

struct smtpd_dns_req;

/*
 * Find the names of address a.  done(arg, names) is called exactly once
 * unless cancelled; when it runs before this function returns (no
 * resolver, no address) the result is NULL, else a handle for
 * smtpd_dns_cancel.  dns may be NULL (smtpd_peername_lookup = no).
 */
struct smtpd_dns_req *smtpd_dns_client_name(struct dns_ctx *dns, const struct netaddr_net *a,
                                            void (*done)(void *arg,
                                                         const struct smtpd_client_names *n),
                                            void *arg);
void smtpd_dns_cancel(struct smtpd_dns_req *r);

#endif
