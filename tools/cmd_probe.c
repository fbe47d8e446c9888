/*
 * cmd_probe.c - `postern probe`: would this configuration accept this
 * mail?  Runs smtpd's own restriction chain (smtpd/smtpd_check.c, linked
 * in) for one imagined client of one master.cf service, with the real
 * tables and policy services, and prints each restriction tried, what it
 * returned and the reply of every SMTP step.  Exit 0 accepted, 1
 * rejected, 2 deferred.  Input: the command line (trusted: the admin).
 */
#include <event2/event.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../smtpd/smtpd_check.h"
#include "../smtpd/smtpd_cmd.h"
#include "../smtpd/smtpd_dnshook.h"
#include "../smtpd/smtpd_policy.h"
#include "../smtpd/smtpd_route.h"
#include "cfg.h"
#include "cmds.h"
#include "dns.h"
#include "log.h"
#include "mastercf.h"
#include "strbuf.h"
#include "xalloc.h"

static const char usage[] =
    "usage: postern probe [-c DIR] [--service NAME] --client IP[,NAME] [--helo NAME]\n"
    "                     [--sasl USER] [--tls] --from ADDR --rcpt ADDR [--rcpt ADDR...]\n"
    "                     [--no-policy]\n";

struct probe {
	struct event_base *base;
	bool done;
	enum chk_verdict v;
	char reply[CHK_REPLY_MAX];
};

static void on_trace(void *ctx, enum chk_stage st, const char *restriction, const char *result)
{
	(void)ctx;
	if (*restriction == '\0')
		printf("  [%s] %s\n", chk_stage_name(st), result);
	else
		printf("  [%s] %s -> %s\n", chk_stage_name(st), restriction, result);
}

static void on_done(void *ctx, enum chk_verdict v, const char *reply)
{
	struct probe *p = ctx;
	p->done = true;
	p->v = v;
	snprintf(p->reply, sizeof(p->reply), "%s", reply ? reply : "");
	event_base_loopbreak(p->base);
}

/* One step; returns its verdict with the reply in p->reply. */
static enum chk_verdict step(struct probe *p, struct chk *c, struct chk_txn *t, enum chk_stage st,
                             const char *cmd, const struct chk_input *in)
{
	const char *rep;
	printf("%s\n", cmd);
	p->done = false;
	enum chk_verdict v = chk_check(c, t, st, cmd, in, on_done, p, &rep);
	if (v == CHK_PENDING) {
		/* policy servers answer, or time out, within their timeouts */
		while (!p->done && event_base_dispatch(p->base) == 0)
			;
		if (!p->done) {
			chk_cancel(t);
			printf("  no answer\n");
			return CHK_DEFER;
		}
		v = p->v;
	} else {
		snprintf(p->reply, sizeof(p->reply), "%s", rep ? rep : "");
	}
	return v;
}

static int worst(int rc, enum chk_verdict v)
{
	if (v == CHK_REJECT)
		return 1;
	if (v == CHK_DEFER && rc == 0)
		return 2;
	return rc;
}

int cmd_probe(int argc, char **argv)
{
	const char *dir = NULL, *service = "smtp", *client = NULL, *helo = "", *sasl = NULL;
	const char *from = NULL;
	const char *rcpts[100];
	size_t nrcpt = 0;
	bool tls = false, no_policy = false;
	static const struct option opts[] = {
	    {"service", required_argument, NULL, 's'}, {"client", required_argument, NULL, 'C'},
	    {"helo", required_argument, NULL, 'H'},    {"sasl", required_argument, NULL, 'S'},
	    {"tls", no_argument, NULL, 'T'},           {"from", required_argument, NULL, 'f'},
	    {"rcpt", required_argument, NULL, 'r'},    {"no-policy", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0}};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': dir = optarg; break;
		case 's': service = optarg; break;
		case 'C': client = optarg; break;
		case 'H': helo = optarg; break;
		case 'S': sasl = optarg; break;
		case 'T': tls = true; break;
		case 'f': from = optarg; break;
		case 'r':
			if (nrcpt >= 100) {
				fprintf(stderr, "postern probe: at most 100 recipients\n");
				return 2;
			}
			rcpts[nrcpt++] = optarg;
			break;
		case 'n': no_policy = true; break;
		default: return cmd_usage(usage);
		}
	}
	if (client == NULL || from == NULL || nrcpt == 0 || optind != argc)
		return cmd_usage(usage);
	log_init("postern/probe", LOG_TO_STDERR, NULL);

	struct cfg *cfg = cfg_load(dir, NULL, false);
	if (cfg == NULL)
		return 2;
	struct strbuf path;
	sb_init(&path, 0);
	sb_printf(&path, "%s/master.cf", cfg_config_dir(cfg));
	struct mastercf *mcf = mastercf_load(path.s, NULL);
	sb_free(&path);
	const struct mcf_service *svc = NULL;
	for (size_t i = 0; mcf && i < mcf->nservices; i++) {
		const struct mcf_service *s = &mcf->services[i];
		if (!s->superseded && strcmp(s->name, service) == 0)
			svc = s;
	}
	if (svc == NULL && strcmp(service, "smtp") != 0) {
		fprintf(stderr, "postern probe: no service \"%s\" in master.cf\n", service);
		cfg_free(cfg);
		mastercf_free(mcf);
		return 2;
	}
	for (size_t i = 0; svc && i < svc->noverrides; i++)
		cfg_set(cfg, svc->overrides[i].name, svc->overrides[i].value, svc->file, svc->line);

	/* --client IP[,NAME] */
	char addr[80], name[SMTP_HOST_MAX + 1] = "unknown";
	snprintf(addr, sizeof(addr), "%s", client);
	char *comma = strchr(addr, ',');
	if (comma) {
		*comma++ = '\0';
		snprintf(name, sizeof(name), "%s", comma);
	}
	struct netaddr_net net;
	if (!netaddr_parse_addr(addr, &net)) {
		fprintf(stderr, "postern probe: \"%s\" is not an IP address\n", addr);
		cfg_free(cfg);
		mastercf_free(mcf);
		return 2;
	}

	struct probe p = {.base = event_base_new()};
	struct route *route = route_init(cfg);
	struct chk *c = chk_init(cfg, route);
	struct policy *pol = no_policy ? NULL : policy_init(p.base, c);
	/* Real DNS for the DNS restrictions, as smtpd has it. */
	char dnserr[512];
	struct dns_ctx *dns = dns_ctx_from_cfg(cfg, dnserr, sizeof(dnserr));
	if (dns != NULL && !dns_ctx_attach(dns, p.base)) {
		dns_ctx_free(dns);
		dns = NULL;
	}
	if (dns == NULL)
		fprintf(stderr, "postern probe: no DNS resolver: DNS restrictions answer \"dunno\"\n");
	struct smtpd_dnshook *dh = smtpd_dnshook_attach(c, cfg, dns);
	struct chk_txn *t = chk_txn_new();
	chk_set_trace(t, on_trace, NULL);

	struct smtpd_sasl_facts sf = {0};
	struct smtpd_tls_facts tf = {0};
	if (sasl) {
		sf.authenticated = true;
		snprintf(sf.method, sizeof(sf.method), "PLAIN");
		snprintf(sf.username, sizeof(sf.username), "%s", sasl);
	}
	if (tls) {
		tf.active = true;
		snprintf(tf.protocol, sizeof(tf.protocol), "TLSv1.3");
		snprintf(tf.cipher, sizeof(tf.cipher), "TLS_AES_256_GCM_SHA384");
		tf.bits = 256;
	}
	struct chk_input in = {
	    .client_addr = addr, .client_name = name, .reverse_name = name, .client_port = "0",
	    .client = &net, .server_addr = "", .server_port = "", .helo = helo, .esmtp = true,
	    .queue_id = "", .service = service, .instance = "probe", .tls = &tf, .sasl = &sf,
	    .no_policy = no_policy};
	printf("service %s, client %s[%s]\n", service, name, addr);
	int rc = 0;
	enum chk_verdict v;
	bool delay = chk_delay_reject(c);
	if (!delay) {
		v = step(&p, c, t, CHK_CLIENT, "CONNECT", &in);
		rc = worst(rc, v);
		printf("-> %s\n", v == CHK_REJECT || v == CHK_DEFER ? p.reply : "220 (greeting)");
	}
	if (rc == 0 && !delay && *helo) {
		v = step(&p, c, t, CHK_HELO, "EHLO", &in);
		rc = worst(rc, v);
		printf("-> %s\n", v == CHK_REJECT || v == CHK_DEFER ? p.reply : "250 (EHLO)");
	}
	char sender[SMTP_ADDR_MAX + 1];
	struct smtp_cmd sc;
	if (!smtp_addr_parse(from, strlen(from), true, &sc)) {
		fprintf(stderr, "postern probe: bad sender address \"%s\"\n", from);
		rc = 2;
		goto out;
	}
	snprintf(sender, sizeof(sender), "%s", sc.addr);
	in.sender = sender;
	if (rc == 0 && !delay) {
		v = step(&p, c, t, CHK_SENDER, "MAIL", &in);
		rc = worst(rc, v);
		printf("-> %s\n", v == CHK_REJECT || v == CHK_DEFER ? p.reply : "250 2.1.0 Ok");
	}
	unsigned accepted = 0;
	int rrc = -1;
	for (size_t i = 0; rc == 0 && i < nrcpt; i++) {
		struct smtp_cmd rcmd;
		if (!smtp_addr_parse(rcpts[i], strlen(rcpts[i]), false, &rcmd)) {
			printf("RCPT\n-> 501 5.1.3 Bad recipient address syntax\n");
			rrc = rrc < 0 ? 1 : rrc;
			continue;
		}
		in.recipient = rcmd.addr;
		in.recipient_ext = rcmd.addr_ext;
		in.rcpt_cmd = &rcmd;
		in.nrcpt = accepted;
		v = step(&p, c, t, CHK_RCPT, "RCPT", &in);
		printf("-> %s\n", v == CHK_REJECT || v == CHK_DEFER ? p.reply : "250 2.1.5 Ok");
		if (v == CHK_REJECT || v == CHK_DEFER)
			rrc = rrc <= 0 ? worst(0, v) : rrc;
		else
			accepted++;
	}
	in.recipient = in.recipient_ext = NULL;
	in.rcpt_cmd = NULL;
	in.nrcpt = accepted;
	if (rc == 0 && accepted == 0)
		rc = rrc > 0 ? rrc : 1;
	if (rc == 0) {
		v = step(&p, c, t, CHK_DATA, "DATA", &in);
		rc = worst(rc, v);
		printf("-> %s\n", v == CHK_REJECT || v == CHK_DEFER ? p.reply : "354 (data)");
	}
	if (rc == 0) {
		v = step(&p, c, t, CHK_EOD, "END-OF-MESSAGE", &in);
		rc = worst(rc, v);
		printf("-> %s\n", v == CHK_REJECT || v == CHK_DEFER ? p.reply : "250 2.0.0 Ok: queued");
	}
	if (rc == 0) {
		const struct chk_actions *a = chk_txn_actions(t);
		if (a->discard)
			printf("action: DISCARD\n");
		if (a->hold)
			printf("action: HOLD\n");
		if (a->redirect[0])
			printf("action: REDIRECT %s\n", a->redirect);
		if (a->filter[0])
			printf("action: FILTER %s\n", a->filter);
		for (char **b = a->bcc; b && *b; b++)
			printf("action: BCC %s\n", *b);
		for (char **h = a->prepend; h && *h; h++)
			printf("action: PREPEND %s\n", *h);
	}
	printf("result: %s (%u of %zu recipients accepted)\n",
	       rc == 0 ? "accepted" : rc == 1 ? "rejected" : "deferred", accepted, nrcpt);
out:
	chk_txn_free(t);
	policy_free(pol);
	chk_free(c);
	route_free(route);
	smtpd_dnshook_free(dh);
	dns_ctx_free(dns);
	event_base_free(p.base);
	mastercf_free(mcf);
	cfg_free(cfg);
	return rc;
}
