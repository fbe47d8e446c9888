/*
 * cmd_dns.c - "postern dns [-c DIR] [-r IP[@port]] [-a ANCHOR] [-t SECS]
 * TYPE NAME": one lookup through postern's own resolver, with the
 * resolver settings of main.cf (postern_dns_*), to see what smtpd and
 * smtp see.  TYPE is A, AAAA, MX, TXT, PTR, NS, TLSA, or "nexthop" (the
 * SMTP client's host list for a domain: MX, implicit MX, null MX).
 * PTR accepts an address.  Prints a status line, then one line per
 * record.  Exit 0 found, 1 no such name or data, 3 temporary failure,
 * 4 permanent failure, 2 usage.  Runs as the invoking user; reads DNS
 * answers through the bounded parsers of common/dns.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cmds.h"
#include "dns.h"
#include "dns_host.h"
#include "log.h"
#include "netaddr.h"

static const char usage[] =
    "usage: postern dns [-c DIR] [-r IP[@port]] [-a ANCHOR] [-t SECONDS] TYPE NAME\n"
    "  TYPE: A AAAA MX TXT PTR NS TLSA, or nexthop (MX/A/AAAA as the SMTP client uses them)\n";

static const char *sec_name(enum dns_sec s)
{
	return s == DNS_SEC_SECURE ? "secure" : s == DNS_SEC_BOGUS ? "bogus" : "insecure";
}

static int exit_code(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return 0;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return 1;
	case DNS_TEMPFAIL:
		return 3;
	case DNS_PERMFAIL:
		return 4;
	}
	return 4;
}

static void print_rr(const struct dns_rr *rr)
{
	char a[INET6_ADDRSTRLEN];
	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		printf("%s %s\n", dns_type_name(rr->type),
		       inet_ntop(rr->family, rr->addr, a, sizeof(a)) ? a : "?");
		break;
	case DNS_T_MX:
		printf("MX %u %s.\n", rr->pref, rr->name);
		break;
	case DNS_T_PTR:
	case DNS_T_NS:
		printf("%s %s\n", dns_type_name(rr->type), rr->name);
		break;
	case DNS_T_TXT:
		printf("TXT \"%s\"\n", rr->text);
		break;
	case DNS_T_TLSA:
		printf("TLSA %u %u %u ", rr->usage, rr->selector, rr->mtype);
		for (size_t i = 0; i < rr->data_len; i++)
			printf("%02x", rr->data[i]);
		printf("\n");
		break;
	}
}

static int nexthop(struct dns_ctx *ctx, struct cfg *cfg, const char *domain)
{
	struct dns_host_opts o;
	dns_host_opts_from_cfg(&o, cfg);
	struct dns_hosts *h = dns_hosts_lookup(ctx, domain, &o);
	printf("status=%s secure=%s%s%s\n", dns_hosts_status_name(h->status),
	       h->mx_secure ? "secure" : "insecure", h->why[0] ? " why=" : "", h->why);
	for (size_t i = 0; i < h->n; i++) {
		char a[INET6_ADDRSTRLEN];
		printf("host %s %s pref=%d%s\n", h->host[i].name,
		       inet_ntop(h->host[i].family, h->host[i].addr, a, sizeof(a)) ? a : "?",
		       h->host[i].pref, h->host[i].secure ? " secure" : "");
	}
	int rc = h->status == DNS_HOSTS_OK ? 0 : h->status == DNS_HOSTS_TEMPFAIL ? 3 : 1;
	dns_hosts_free(h);
	return rc;
}

int cmd_dns(int argc, char **argv)
{
	const char *confdir = NULL, *resolver = NULL, *anchor = NULL;
	long secs = 0;
	int c;
	while ((c = getopt(argc, argv, "c:r:a:t:")) != -1) {
		switch (c) {
		case 'c':
			confdir = optarg;
			break;
		case 'r':
			resolver = optarg;
			break;
		case 'a':
			anchor = optarg;
			break;
		case 't':
			secs = atol(optarg);
			if (secs <= 0 || secs > DNS_TIMEOUT_MAX_MS / 1000)
				return cmd_usage(usage);
			break;
		default:
			return cmd_usage(usage);
		}
	}
	if (argc - optind != 2)
		return cmd_usage(usage);
	const char *tname = argv[optind], *name = argv[optind + 1];
	enum dns_type type = DNS_T_A;
	bool is_nexthop = strcmp(tname, "nexthop") == 0;
	if (!is_nexthop && !dns_type_parse(tname, &type))
		return cmd_usage(usage);

	struct cfg *cfg = cfg_load(confdir, NULL, true);
	if (cfg == NULL)
		return 2;
	if (resolver)
		cfg_set(cfg, "postern_dns_resolver", resolver, "command line", 0);
	if (anchor)
		cfg_set(cfg, "postern_dns_trust_anchor", anchor, "command line", 0);
	if (secs) {
		char v[32];
		snprintf(v, sizeof(v), "%lds", secs);
		cfg_set(cfg, "postern_dns_timeout", v, "command line", 0);
	}
	char err[512];
	struct dns_ctx *ctx = dns_ctx_from_cfg(cfg, err, sizeof(err));
	if (ctx == NULL) {
		log_error("%s", err);
		cfg_free(cfg);
		return 4;
	}
	int rc;
	if (is_nexthop) {
		rc = nexthop(ctx, cfg, name);
	} else {
		char rev[DNS_NAME_MAX + 1];
		struct netaddr_net a;
		if (type == DNS_T_PTR && netaddr_parse_addr(name, &a) &&
		    dns_reverse_name(a.family, a.addr, NULL, rev, sizeof(rev)))
			name = rev;
		struct dns_result *r = dns_lookup(ctx, name, type);
		printf("status=%s secure=%s name=%s type=%s%s%s\n", dns_status_name(r->status),
		       sec_name(r->sec), r->qname, dns_type_name(type), r->why[0] ? " why=" : "",
		       r->why);
		for (size_t i = 0; i < r->n; i++)
			print_rr(&r->rr[i]);
		rc = exit_code(r->status);
		dns_result_free(r);
	}
	dns_ctx_free(ctx);
	cfg_free(cfg);
	return rc;
}
