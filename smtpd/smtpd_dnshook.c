/*
 * smtpd_dnshook.c - the restriction chain's DNS hook (see
 * smtpd_dnshook.h): turns one DNS restriction the chain reached
 * (smtpd_check.c's chk_dns_req) into the smtpd_dnsck.c evaluation and
 * its answer back into the chain.  Runs in smtpd.  Untrusted input: none
 * of its own (DNS answers are parsed by common/dns, the names asked
 * about were checked by smtpd_dnsck.c); access table values found for
 * MX/NS/A hosts go back to the chain's access(5) parser.
 */
#include "smtpd_dnshook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "cfg.h"
#include "dns.h"
#include "log.h"
#include "map.h"
#include "smtpd_check.h"
#include "smtpd_dnsck.h"
#include "xalloc.h"

struct pending {
	struct pending *next, *prev;
	struct smtpd_dnshook *h;
	struct chk_run *run;
	struct dnsck_req *req;
	struct map *map; /* check_*_{mx,ns,a}_access */
	char what[16];   /* "MX host", "NS host", "host" for the log */
	bool in_call;    /* inside the dnsck_* call that started it */
	bool finished;   /* answered during that call: free it after */
};

struct smtpd_dnshook {
	struct dns_ctx *dns;
	struct dnsck_conf conf;
	struct cfg *cfg;
	struct access_opts opts;
	struct map *rbl_reply[8]; /* rbl_reply_maps */
	size_t nrbl_reply;
	struct pending *head;
};

/* rbl_reply_maps: the reply template for a DNSBL domain, first table
 * that has it. */
static const char *rbl_reply_lookup(void *arg, const char *domain)
{
	struct smtpd_dnshook *h = arg;
	for (size_t i = 0; i < h->nrbl_reply; i++) {
		const char *v;
		if (map_lookup(h->rbl_reply[i], domain, &v) == MAP_FOUND)
			return v;
	}
	return NULL;
}

static void unlink_pending(struct pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		p->h->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
}

/* An answered request: freed now, or after the call that started it
 * returns (the dnsck_* functions may answer before they return). */
static void release(struct pending *p)
{
	if (p->in_call)
		p->finished = true;
	else
		free(p);
}

static void started(struct pending *p, struct dnsck_req *r)
{
	p->in_call = false;
	if (p->finished)
		free(p);
	else
		p->req = r;
}

/* The *_tempfail_action parameter decides between defer and
 * defer_if_permit (Postfix's default for each). */
static void answer_defer(struct pending *p, const char *reply, const char *param)
{
	const char *how = param ? cfg_get(p->h->cfg, param) : "defer_if_permit";
	if (how != NULL && strcasecmp(how, "defer") == 0)
		chk_resume_reply(p->run, reply, false);
	else
		chk_resume_defer_if_permit(p->run, reply);
}

static void done(void *arg, const struct dnsck_result *res)
{
	struct pending *p = arg;
	unlink_pending(p);
	char reply[DNSCK_TEXT_MAX + 32];
	snprintf(reply, sizeof(reply), "%d %s %s", res->code, res->dsn, res->text);
	switch (res->action) {
	case DNSCK_REJECT:
		chk_resume_reply(p->run, reply, false);
		break;
	case DNSCK_DEFER:
		answer_defer(p, reply, res->tempfail_param);
		break;
	case DNSCK_PERMIT:
		chk_resume_reply(p->run, NULL, true);
		break;
	case DNSCK_DUNNO:
		chk_resume_reply(p->run, NULL, false);
		break;
	}
	release(p);
}

/* check_*_{mx,ns,a}_access: the first server name or address listed in
 * the table decides; OK is not allowed there (it would let any domain
 * that points its MX at a listed host permit itself), as Postfix. */
static void servers_done(void *arg, const struct dnsck_servers *sv)
{
	struct pending *p = arg;
	unlink_pending(p);
	char value[1024] = "";
	if (sv->status == DNS_TEMPFAIL) {
		snprintf(value, sizeof(value), "DEFER_IF_REJECT Unable to look up %s: %s", p->what,
		         sv->why[0] ? sv->why : "temporary DNS failure");
	}
	for (size_t i = 0; i < sv->n && value[0] == '\0'; i++) {
		const struct dnsck_server *s = &sv->server[i];
		const char *v = NULL;
		int rc = access_find_domain(p->map, s->name, &p->h->opts, &v, NULL, 0);
		for (size_t k = 0; rc == MAP_NOTFOUND && k < s->naddr; k++)
			rc = access_find_client_addr(p->map, s->addr[k], &p->h->opts, &v, NULL, 0);
		if (rc == MAP_ERROR) {
			snprintf(value, sizeof(value), "DEFER Temporary lookup failure");
			break;
		}
		if (rc != MAP_FOUND || v == NULL)
			continue;
		if (strncasecmp(v, "OK", 2) == 0 && (v[2] == '\0' || v[2] == ' ' || v[2] == '\t')) {
			log_warn("access table %s: result OK for %s %s is not allowed here; ignored",
			         p->map->spec, p->what, s->name);
			continue;
		}
		snprintf(value, sizeof(value), "%s", v);
	}
	chk_resume_access(p->run, value[0] ? value : "DUNNO");
	release(p);
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : addr;
}

static void hook(void *ctx, struct chk_run *run, const struct chk_dns_req *q)
{
	struct smtpd_dnshook *h = ctx;
	const struct chk_input *in = q->in;
	const char *n = q->restriction;
	struct pending *p = xcalloc(1, sizeof(*p));
	p->h = h;
	p->run = run;
	p->next = h->head;
	if (h->head)
		h->head->prev = p;
	h->head = p;

	struct dnsck_facts f = {.client_addr = in->client_addr, .names = in->names,
	                        .helo = in->helo, .sender = in->sender,
	                        .recipient = in->recipient};
	if (in->client)
		f.client = *in->client;

	static const struct {
		const char *name;
		enum dnsck_rbl_kind kind;
	} rbl[] = {
	    {"reject_rbl_client", DNSCK_RBL_CLIENT},
	    {"permit_dnswl_client", DNSCK_DNSWL_CLIENT},
	    {"reject_rhsbl_client", DNSCK_RHSBL_CLIENT},
	    {"reject_rhsbl_reverse_client", DNSCK_RHSBL_REVERSE_CLIENT},
	    {"reject_rhsbl_helo", DNSCK_RHSBL_HELO},
	    {"reject_rhsbl_sender", DNSCK_RHSBL_SENDER},
	    {"reject_rhsbl_recipient", DNSCK_RHSBL_RECIPIENT},
	};
	for (size_t i = 0; i < sizeof(rbl) / sizeof(rbl[0]); i++) {
		if (strcmp(n, rbl[i].name) != 0)
			continue;
		char err[256];
		struct dnsck_req *r = NULL;
		p->in_call = true;
		if (!dnsck_rbl(h->dns, &h->conf, &f, rbl[i].kind, q->arg, done, p, &r, err,
		               sizeof(err))) {
			log_warn("%s %s: %s", n, q->arg, err);
			p->in_call = false;
			unlink_pending(p);
			free(p);
			chk_resume_reply(run, NULL, false);
			return;
		}
		started(p, r);
		return;
	}
	if (strcmp(n, "reject_unknown_client_hostname") == 0 ||
	    strcmp(n, "reject_unknown_client") == 0 ||
	    strcmp(n, "reject_unknown_reverse_client_hostname") == 0) {
		struct dnsck_result res;
		if (in->names == NULL) { /* postern probe without lookups */
			unlink_pending(p);
			free(p);
			chk_resume_reply(run, NULL, false);
			return;
		}
		dnsck_unknown_client(&h->conf, &f, strstr(n, "reverse") != NULL, &res);
		done(p, &res);
		return;
	}
	if (strcmp(n, "reject_unknown_helo_hostname") == 0 ||
	    strcmp(n, "reject_unknown_hostname") == 0) {
		p->in_call = true;
		started(p, dnsck_unknown_helo(h->dns, &h->conf, &f, done, p));
		return;
	}
	if (strcmp(n, "reject_unknown_sender_domain") == 0 ||
	    strcmp(n, "reject_unknown_recipient_domain") == 0) {
		p->in_call = true;
		started(p, dnsck_unknown_domain(h->dns, &h->conf, &f, strstr(n, "recipient") != NULL,
		                                done, p));
		return;
	}
	if (q->map != NULL) { /* check_*_{mx,ns,a}_access */
		enum dnsck_server_type t = strstr(n, "_mx_access") ? DNSCK_MX
		                           : strstr(n, "_ns_access") ? DNSCK_NS
		                                                     : DNSCK_A;
		snprintf(p->what, sizeof(p->what), "%s",
		         t == DNSCK_MX ? "MX host" : t == DNSCK_NS ? "NS host" : "host");
		p->map = q->map;
		const char *dom = strstr(n, "client") || strstr(n, "helo") ? q->name : domain_of(q->name);
		p->in_call = true;
		started(p, dnsck_servers(h->dns, t, dom, servers_done, p));
		return;
	}
	/* A restriction this hook does not know: no decision. */
	log_warn("%s: no DNS evaluation for this restriction; it answers \"dunno\"", n);
	unlink_pending(p);
	free(p);
	chk_resume_reply(run, NULL, false);
}

static void cancel(void *ctx, struct chk_run *run)
{
	struct smtpd_dnshook *h = ctx;
	for (struct pending *p = h->head; p != NULL; p = p->next) {
		if (p->run != run)
			continue;
		unlink_pending(p);
		if (p->req)
			dnsck_cancel(p->req);
		free(p);
		return;
	}
}

struct smtpd_dnshook *smtpd_dnshook_attach(struct chk *c, struct cfg *cfg, struct dns_ctx *dns)
{
	if (dns == NULL)
		return NULL; /* the chain's default answers "dunno" and says why */
	struct smtpd_dnshook *h = xcalloc(1, sizeof(*h));
	h->dns = dns;
	h->cfg = cfg;
	dnsck_conf_init(&h->conf, cfg);
	const char *pdms = cfg_get(cfg, "parent_domain_matches_subdomains");
	h->opts.parent_style = pdms && strstr(pdms, "smtpd_access_maps") != NULL;
	const char *rm = cfg_get(cfg, "rbl_reply_maps");
	char *list = xstrdup(rm ? rm : ""), *save = NULL;
	for (char *t = strtok_r(list, " ,\t\r\n", &save); t != NULL && h->nrbl_reply < 8;
	     t = strtok_r(NULL, " ,\t\r\n", &save)) {
		char err[512];
		struct map *m = map_open(t, 0, err, sizeof(err));
		if (m == NULL)
			log_fatal("rbl_reply_maps: %s", err);
		h->rbl_reply[h->nrbl_reply++] = m;
	}
	free(list);
	if (h->nrbl_reply > 0) {
		h->conf.rbl_reply_lookup = rbl_reply_lookup;
		h->conf.rbl_reply_arg = h;
	}
	chk_set_dns(c, hook, cancel, h);
	return h;
}

void smtpd_dnshook_free(struct smtpd_dnshook *h)
{
	if (h == NULL)
		return;
	while (h->head) {
		struct pending *p = h->head;
		unlink_pending(p);
		if (p->req)
			dnsck_cancel(p->req);
		free(p);
	}
	for (size_t i = 0; i < h->nrbl_reply; i++)
		map_close(h->rbl_reply[i]);
	free(h);
}
