/*
 * smtpd_dns.h - the client's name: /etc/hosts (read at start-up, before
 * the chroot), else a DNS PTR lookup confirmed by a forward lookup of
 * the name found, through libevent's asynchronous resolver so that no
 * other session waits.
 */
#ifndef POSTERN_SMTPD_DNS_H
#define POSTERN_SMTPD_DNS_H

#include "netaddr.h"

struct evdns_base;
struct htable;

/* /etc/hosts: printed address -> first name (values allocated). */
struct htable *smtpd_dns_load_hosts(void);

/*
 * Find the name of address a (printed form addr).  done(arg, name) is
 * called exactly once, with the verified name or NULL, possibly before
 * this function returns.  dns and hosts may be NULL.
 */
void smtpd_dns_client_name(struct evdns_base *dns, struct htable *hosts,
                           const struct netaddr_net *a, const char *addr,
                           void (*done)(void *arg, const char *name), void *arg);

#endif
