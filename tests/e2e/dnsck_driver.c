/*
 * dnsck_driver.c - runs one of smtpd's DNS restrictions (smtpd/smtpd_dnsck.c)
 * or the client name lookup (smtpd/smtpd_dns.c) inside a libevent loop,
 * as smtpd does, and prints the outcome, for tests/e2e/dns_smtpd.sh.
 *
 *   dnsck_driver -r IP@PORT [-S] [-a CLIENT] [-h HELO] [-s SENDER] [-R RCPT]
 *                [-T TEMPLATE] [-m SPEC=TEMPLATE] CHECK [ARG]
 *   CHECK: names, rbl, dnswl, rhsbl_client, rhsbl_reverse_client,
 *          rhsbl_helo, rhsbl_sender, rhsbl_recipient, unknown_client,
 *          unknown_reverse_client, unknown_helo, unknown_sender,
 *          unknown_recipient, mx, ns, a
 *   -S: no event loop, dns_run() drives the lookups (as postern probe would)
 */
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../smtpd/smtpd_dns.h"
#include "../../smtpd/smtpd_dnsck.h"
#include "dns.h"
#include "netaddr.h"

static struct event_base *base;
static struct dns_ctx *dns;
static struct dnsck_conf conf;
static struct dnsck_facts facts;
static struct smtpd_client_names names;
static const char *check, *arg, *map_key, *map_val;
static int rc = 1;
static bool stop, sync_mode;

static const char *act(enum dnsck_action a)
{
	return a == DNSCK_DUNNO ? "dunno" : a == DNSCK_REJECT ? "reject" : a == DNSCK_DEFER ? "defer" : "permit";
}

static void done(void *a, const struct dnsck_result *r)
{
	(void)a;
	if (r->action == DNSCK_DUNNO || r->action == DNSCK_PERMIT)
		printf("action=%s detail=%s\n", act(r->action), r->detail);
	else
		printf("action=%s reply=%d %s %s tempfail=%s detail=%s\n", act(r->action), r->code, r->dsn,
		       r->text, r->tempfail_param ? r->tempfail_param : "-", r->detail);
	rc = 0;
	stop = true;
	event_base_loopbreak(base);
}

static void servers(void *a, const struct dnsck_servers *s)
{
	(void)a;
	printf("status=%s n=%zu%s%s\n", dns_status_name(s->status), s->n, s->why[0] ? " why=" : "",
	       s->why);
	for (size_t i = 0; i < s->n; i++) {
		printf("server %s", s->server[i].name);
		for (size_t k = 0; k < s->server[i].naddr; k++)
			printf(" %s", s->server[i].addr[k]);
		printf("\n");
	}
	rc = 0;
	stop = true;
	event_base_loopbreak(base);
}

static const char *reply_lookup(void *a, const char *zone)
{
	(void)a;
	return map_key && strcmp(zone, map_key) == 0 ? map_val : NULL;
}

static void run_check(void)
{
	static const struct {
		const char *name;
		enum dnsck_rbl_kind kind;
	} rbl[] = {
	    {"rbl", DNSCK_RBL_CLIENT},
	    {"dnswl", DNSCK_DNSWL_CLIENT},
	    {"rhsbl_client", DNSCK_RHSBL_CLIENT},
	    {"rhsbl_reverse_client", DNSCK_RHSBL_REVERSE_CLIENT},
	    {"rhsbl_helo", DNSCK_RHSBL_HELO},
	    {"rhsbl_sender", DNSCK_RHSBL_SENDER},
	    {"rhsbl_recipient", DNSCK_RHSBL_RECIPIENT},
	};
	facts.names = &names;
	for (size_t i = 0; i < sizeof(rbl) / sizeof(rbl[0]); i++) {
		if (strcmp(check, rbl[i].name) == 0) {
			struct dnsck_req *req;
			char err[256];
			if (!dnsck_rbl(dns, &conf, &facts, rbl[i].kind, arg ? arg : "", done, NULL, &req, err,
			               sizeof(err))) {
				printf("error=%s\n", err);
				rc = 2;
				event_base_loopbreak(base);
			}
			return;
		}
	}
	if (strcmp(check, "unknown_client") == 0 || strcmp(check, "unknown_reverse_client") == 0) {
		struct dnsck_result r;
		dnsck_unknown_client(&conf, &facts, check[8] == 'r', &r);
		done(NULL, &r);
	} else if (strcmp(check, "unknown_helo") == 0) {
		dnsck_unknown_helo(dns, &conf, &facts, done, NULL);
	} else if (strcmp(check, "unknown_sender") == 0 || strcmp(check, "unknown_recipient") == 0) {
		dnsck_unknown_domain(dns, &conf, &facts, check[8] == 'r', done, NULL);
	} else if (strcmp(check, "mx") == 0 || strcmp(check, "ns") == 0 || strcmp(check, "a") == 0) {
		dnsck_servers(dns, check[0] == 'm' ? DNSCK_MX : check[0] == 'n' ? DNSCK_NS : DNSCK_A,
		              arg ? arg : "", servers, NULL);
	} else {
		fprintf(stderr, "unknown check %s\n", check);
		rc = 2;
		event_base_loopbreak(base);
	}
}

static void named(void *a, const struct smtpd_client_names *n)
{
	(void)a;
	names = *n;
	if (strcmp(check, "names") == 0) {
		printf("name=%s status=%d reverse=%s reverse_status=%d\n", n->name, (int)n->name_status,
		       n->reverse_name, (int)n->reverse_status);
		rc = 0;
		stop = true;
		event_base_loopbreak(base);
		return;
	}
	run_check();
}

static void start(evutil_socket_t fd, short what, void *a)
{
	(void)fd;
	(void)what;
	(void)a;
	smtpd_dns_client_name(dns, &facts.client, named, NULL);
}

int main(int argc, char **argv)
{
	struct dns_config dc = {.timeout_ms = 3000};
	int c;
	facts.client_addr = "127.0.0.1";
	facts.helo = facts.sender = facts.recipient = "";
	conf.rbl_code = 554;
	conf.unknown_client_code = 450;
	conf.unknown_hostname_code = 450;
	conf.unknown_address_code = 450;
	conf.default_rbl_reply = "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using "
	                         "$rbl_domain${rbl_reason?; $rbl_reason}";
	while ((c = getopt(argc, argv, "r:a:h:s:R:T:m:c:S")) != -1) {
		switch (c) {
		case 'r':
			dc.resolver = optarg;
			break;
		case 'a':
			facts.client_addr = optarg;
			break;
		case 'h':
			facts.helo = optarg;
			break;
		case 's':
			facts.sender = optarg;
			break;
		case 'R':
			facts.recipient = optarg;
			break;
		case 'T':
			conf.default_rbl_reply = optarg;
			break;
		case 'c':
			conf.unknown_address_code = conf.unknown_client_code = conf.unknown_hostname_code =
			    atoi(optarg);
			break;
		case 'S':
			sync_mode = true;
			break;
		case 'm': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL)
				return 2;
			*eq = '\0';
			map_key = optarg;
			map_val = eq + 1;
			conf.rbl_reply_lookup = reply_lookup;
			break;
		}
		default:
			return 2;
		}
	}
	if (optind >= argc)
		return 2;
	check = argv[optind];
	arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (!netaddr_parse_addr(facts.client_addr, &facts.client))
		return 2;
	char err[256];
	base = event_base_new();
	dns = dns_ctx_new(&dc, err, sizeof(err));
	if (dns == NULL || (!sync_mode && !dns_ctx_attach(dns, base))) {
		fprintf(stderr, "resolver: %s\n", err);
		return 2;
	}
	if (sync_mode) {
		/* No event loop: dns_run delivers the answers. */
		start(-1, 0, NULL);
		while (!stop && dns_pending(dns) > 0)
			dns_run(dns, &stop);
		dns_ctx_free(dns);
		event_base_free(base);
		return rc;
	}
	struct timeval zero = {0, 0}, limit = {20, 0};
	event_base_once(base, -1, EV_TIMEOUT, start, NULL, &zero);
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
	dns_ctx_free(dns);
	event_base_free(base);
	return rc;
}
