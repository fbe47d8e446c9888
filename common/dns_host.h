/*
 * dns_host.h - a next-hop domain to the ordered list of (host, address,
 * MX preference) the SMTP client tries: MX records sorted by preference
 * and shuffled among equals, implicit MX (no MX: the domain's own
 * A/AAAA), null MX (RFC 7505) as its own result, inet_protocols,
 * smtp_address_preference, smtp_mx_address_limit, smtp_host_lookup
 * (dns, native).  Used by the smtp client and `postern dns nexthop`.
 * Untrusted input: DNS answers, already parsed by common/dns.
 */
#ifndef POSTERN_DNS_HOST_H
#define POSTERN_DNS_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "dns.h"

struct cfg;

struct dns_host_opts {
	bool no_mx;         /* [host]: skip the MX lookup */
	bool ipv4, ipv6;    /* inet_protocols */
	int prefer;         /* smtp_address_preference: 0 any, AF_INET, AF_INET6 */
	unsigned max_addrs; /* smtp_mx_address_limit; 0: no limit (DNS_HOSTS_MAX) */
	bool use_dns;       /* smtp_host_lookup has dns (MX records always come from DNS) */
	bool use_native;    /* smtp_host_lookup has native (getaddrinfo; blocks) */
};

/* From inet_protocols, smtp_address_preference, smtp_mx_address_limit,
 * smtp_host_lookup; no_mx false. */
void dns_host_opts_from_cfg(struct dns_host_opts *o, struct cfg *cfg);

enum dns_hosts_status {
	DNS_HOSTS_OK,       /* n > 0 addresses */
	DNS_HOSTS_NOTFOUND, /* no such domain (MX or implicit-MX A/AAAA): bounce */
	DNS_HOSTS_NOADDR,   /* MX hosts found but none has an address (permanent) */
	DNS_HOSTS_NULLMX,   /* RFC 7505: the domain accepts no mail: bounce */
	DNS_HOSTS_TEMPFAIL, /* try again later */
};
const char *dns_hosts_status_name(enum dns_hosts_status s);

struct dns_host {
	char name[DNS_NAME_MAX + 1];
	int family;
	unsigned char addr[16];
	int pref;    /* MX preference; -1: no MX (implicit MX, [host], native) */
	bool secure; /* the address answer was DNSSEC-validated */
};

struct dns_hosts {
	enum dns_hosts_status status;
	bool mx_secure; /* the MX answer was validated (DANE needs it) */
	bool implicit;  /* no MX records: the domain itself */
	char why[DNS_WHY_MAX + 2 * DNS_NAME_MAX]; /* Postfix-style reason text */
	size_t n;
	struct dns_host *host;
};

void dns_hosts_free(struct dns_hosts *h);

/* Synchronous (postern dns, simple callers). */
struct dns_hosts *dns_hosts_lookup(struct dns_ctx *ctx, const char *domain,
                                   const struct dns_host_opts *o);

/*
 * Asynchronous.  done(arg, h) owns h.  It may run before this function
 * returns (address literal, native-only lookup, bad name); then the
 * return value is NULL.  Otherwise a handle for dns_hosts_cancel.
 */
struct dns_hosts_req;
struct dns_hosts_req *dns_hosts_resolve(struct dns_ctx *ctx, const char *domain,
                                        const struct dns_host_opts *o,
                                        void (*done)(void *arg, struct dns_hosts *h), void *arg);
void dns_hosts_cancel(struct dns_hosts_req *req);

/* TLSA records of "_port._tcp.host" (DANE); secure in r->sec. */
struct dns_query *dns_tlsa_query(struct dns_ctx *ctx, const char *host, unsigned port,
                                 dns_done_fn done, void *arg);
struct dns_result *dns_tlsa_lookup(struct dns_ctx *ctx, const char *host, unsigned port);

#endif
