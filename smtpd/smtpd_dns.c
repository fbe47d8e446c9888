/*
 * smtpd_dns.c - client name lookups for smtpd (see smtpd_dns.h).  Runs
 * in smtpd.  Untrusted input: DNS answers, parsed and bounded by
 * common/dns (names checked against the host name alphabet); a name
 * counts only when its address records include the client's address.
 * The hosts file is part of the resolver (common/dns).
 */
#include "smtpd_dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "xalloc.h"

struct smtpd_dns_req {
	struct dns_ctx *dns;
	struct dns_query *q;
	struct netaddr_net a;
	char addr[INET6_ADDRSTRLEN];
	struct smtpd_client_names n;
	void (*done)(void *arg, const struct smtpd_client_names *n);
	void *arg;
};

static void names_unknown(struct smtpd_client_names *n, enum smtpd_name_status st)
{
	snprintf(n->name, sizeof(n->name), "unknown");
	snprintf(n->reverse_name, sizeof(n->reverse_name), "unknown");
	n->name_status = n->reverse_status = st;
}

static void finish(struct smtpd_dns_req *r)
{
	struct smtpd_client_names n = r->n;
	void (*done)(void *, const struct smtpd_client_names *) = r->done;
	void *arg = r->arg;
	free(r);
	done(arg, &n);
}

static void on_forward(void *arg, struct dns_result *res)
{
	struct smtpd_dns_req *r = arg;
	bool match = false;
	r->q = NULL;
	for (size_t i = 0; res->status == DNS_OK && i < res->n; i++)
		if (res->rr[i].family == r->a.family &&
		    memcmp(res->rr[i].addr, r->a.addr, r->a.family == AF_INET ? 4 : 16) == 0)
			match = true;
	if (match) {
		snprintf(r->n.name, sizeof(r->n.name), "%s", r->n.reverse_name);
		r->n.name_status = SMTPD_NAME_OK;
	} else if (res->status == DNS_TEMPFAIL) {
		log_warn("%s: hostname %s verification failed: %s", r->addr, r->n.reverse_name,
		         res->why);
		r->n.name_status = SMTPD_NAME_TEMP;
	} else {
		if (res->status == DNS_OK)
			log_warn("hostname %s does not resolve to address %s", r->n.reverse_name,
			         r->addr);
		else
			log_warn("hostname %s does not resolve to address %s: %s", r->n.reverse_name,
			         r->addr, res->why);
		r->n.name_status = SMTPD_NAME_FORGED;
	}
	dns_result_free(res);
	finish(r);
}

static void on_reverse(void *arg, struct dns_result *res)
{
	struct smtpd_dns_req *r = arg;
	r->q = NULL;
	if (res->status != DNS_OK) {
		names_unknown(&r->n, res->status == DNS_TEMPFAIL ? SMTPD_NAME_TEMP : SMTPD_NAME_PERM);
		dns_result_free(res);
		finish(r);
		return;
	}
	/* The first name; the parser has checked its alphabet and length.
	 * A "name" that is an address would let a client claim another
	 * client's identity in access maps: unknown, as Postfix. */
	struct netaddr_net numeric;
	if (netaddr_parse_addr(res->rr[0].name, &numeric)) {
		log_warn("numeric hostname: %s", res->rr[0].name);
		names_unknown(&r->n, SMTPD_NAME_PERM);
		dns_result_free(res);
		finish(r);
		return;
	}
	snprintf(r->n.reverse_name, sizeof(r->n.reverse_name), "%s", res->rr[0].name);
	r->n.reverse_status = SMTPD_NAME_OK;
	r->n.name_status = SMTPD_NAME_TEMP;
	dns_result_free(res);
	r->q = dns_query(r->dns, r->n.reverse_name, r->a.family == AF_INET ? DNS_T_A : DNS_T_AAAA,
	                 on_forward, r);
}

struct smtpd_dns_req *smtpd_dns_client_name(struct dns_ctx *dns, const struct netaddr_net *a,
                                            void (*done)(void *arg,
                                                         const struct smtpd_client_names *n),
                                            void *arg)
{
	struct smtpd_client_names n;
	char rev[DNS_NAME_MAX + 1];
	if (dns == NULL || a->family == 0 ||
	    !dns_reverse_name(a->family, a->addr, NULL, rev, sizeof(rev))) {
		names_unknown(&n, dns == NULL && a->family != 0 ? SMTPD_NAME_PERM : SMTPD_NAME_TEMP);
		done(arg, &n);
		return NULL;
	}
	struct smtpd_dns_req *r = xcalloc(1, sizeof(*r));
	r->dns = dns;
	r->a = *a;
	inet_ntop(a->family, a->addr, r->addr, sizeof(r->addr));
	names_unknown(&r->n, SMTPD_NAME_TEMP);
	r->done = done;
	r->arg = arg;
	r->q = dns_query(dns, rev, DNS_T_PTR, on_reverse, r);
	return r;
}

void smtpd_dns_cancel(struct smtpd_dns_req *r)
{
	if (r == NULL)
		return;
	dns_cancel(r->q);
	free(r);
}
