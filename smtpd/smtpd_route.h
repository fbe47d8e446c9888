/*
 * smtpd_route.h - where a recipient goes and whether this client may
 * send there: mydestination (local), relay_domains, mynetworks, IP
 * literals of our own interfaces, the relay and recipient restriction
 * lists (the subset this pipeline needs, compiled at start-up), and
 * local_recipient_maps.  Built before privileges are dropped (maps,
 * interfaces); decisions run per RCPT.
 */
#ifndef POSTERN_SMTPD_ROUTE_H
#define POSTERN_SMTPD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "netaddr.h"

struct cfg;
struct route;
struct smtp_cmd;
struct smtpd_tls_facts;

/* Fatal on configuration errors (an unsupported restriction, a map
 * that cannot be opened is logged and then fails its lookups). */
struct route *route_init(struct cfg *cfg);
void route_free(struct route *r);

/* Client in $mynetworks. */
bool route_mynetworks(struct route *r, const struct netaddr_net *client);
/* Client in smtpd_client_event_limit_exceptions. */
bool route_limit_exempt(struct route *r, const struct netaddr_net *client);

enum route_verdict { ROUTE_ACCEPT, ROUTE_REJECT };

/* The TLS facts of the session whose RCPT is decided next (for
 * permit_tls_clientcerts / permit_tls_all_clientcerts); NULL: none. */
void route_set_tls(struct route *r, const struct smtpd_tls_facts *tls);

/*
 * Decide on the recipient c->addr (as parsed by smtp_cmd_parse).  On
 * ROUTE_REJECT reply holds the full SMTP reply (4xx or 5xx).  *local is
 * set when the recipient is one of ours.
 */
enum route_verdict route_rcpt(struct route *r, const struct smtp_cmd *c,
                              const struct netaddr_net *client, bool *local,
                              char *reply, size_t replylen);

/* The same, with permit_sasl_authenticated true when sasl_auth (the
 * session authenticated with AUTH). */
enum route_verdict route_rcpt_sasl(struct route *r, const struct smtp_cmd *c,
                                   const struct netaddr_net *client, bool sasl_auth, bool *local,
                                   char *reply, size_t replylen);

/* VRFY: the local recipient check alone (reply as for RCPT). */
enum route_verdict route_vrfy(struct route *r, const struct smtp_cmd *c,
                              char *reply, size_t replylen);

/* 1: c->addr is an authorized destination (ours or relay_domains, no
 * routing operator in the local part), 0: not, -1: a table failed.
 * *local (if not NULL) is set when the address is one of ours. */
int route_auth_dest(struct route *r, const struct smtp_cmd *c, bool *local);

/* reject_unlisted_recipient: the local_recipient_maps check (force: even
 * when smtpd_reject_unlisted_recipient = no). */
enum route_verdict route_unlisted(struct route *r, const struct smtp_cmd *c, bool force,
                                  char *reply, size_t replylen);
/* smtpd_reject_unlisted_recipient = yes and local_recipient_maps set. */
bool route_unlisted_default(const struct route *r);

/* ETRN: is domain in fast_flush_domains?  1 yes, 0 no, -1 table error. */
int route_fast_flush(struct route *r, const char *domain);

#endif
