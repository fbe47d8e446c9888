/*
 * smtpd_check_exec.c - the restrictions of the chain, one case each:
 * client, HELO, sender, recipient and data checks, table lookups, and
 * handing DNS and policy restrictions to their hooks.  Untrusted input:
 * the client's HELO name and addresses.  Runs in smtpd and `postern probe`.
 */
#include <ctype.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "log.h"
#include "map.h"
#include "smtpd_check.h"
#include "smtpd_check_int.h"
#include "smtpd_policy_req.h"
#include "smtpd_route.h"
#include "strlist.h"

/* --- the restrictions -------------------------------------------------- */

static struct access_opts aopts(struct chk *c)
{
	struct access_opts o = {.parent_style = c->parent_style,
	                        .delimiters = c->delimiters,
	                        .null_key = c->null_key};
	return o;
}

static void lower(char *dst, size_t len, const char *src)
{
	size_t i;
	for (i = 0; src[i] && i + 1 < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static enum res tempfail(struct chk_run *r, const char *name, const char *what)
{
	char rep[CHK_REPLY_MAX];
	log_warn("%s: table lookup failed", what);
	snprintf(rep, sizeof(rep), "451 4.3.0 <%s>: Temporary lookup failure", name);
	return chk_reject(r, rep);
}

enum kind { K_ADDR, K_DOMAIN, K_CLIENT, K_WHOLE };

static enum res lookup_access(struct chk_run *r, const struct item *it, enum kind k,
                              const char *key, const char *name, const char *cls)
{
	char lk[SMTP_ADDR_MAX + 64];
	const char *v;
	struct access_opts o = aopts(r->c);
	int rc;
	if (it->map == NULL)
		return tempfail(r, name, it->arg);
	lower(lk, sizeof(lk), key);
	size_t l = strlen(lk);
	if (k == K_DOMAIN && l > 1 && lk[l - 1] == '.')
		lk[l - 1] = '\0';
	switch (k) {
	case K_ADDR:
		rc = access_find_addr(it->map, lk, &o, &v, NULL, 0);
		break;
	case K_DOMAIN:
		rc = access_find_domain(it->map, lk, &o, &v, NULL, 0);
		break;
	case K_CLIENT:
		rc = access_find_client_addr(it->map, lk, &o, &v, NULL, 0);
		break;
	default:
		rc = map_lookup(it->map, key, &v);
		break;
	}
	if (rc == MAP_ERROR)
		return tempfail(r, name, it->arg);
	if (rc != MAP_FOUND) {
		chk_trace(r, it->name, "%s %s: not found", it->arg, key);
		return R_DUNNO;
	}
	chk_trace(r, it->name, "%s %s: found \"%s\"", it->arg, key, v);
	char what[600];
	snprintf(what, sizeof(what), "%s %s", it->name, it->arg);
	char val[CHK_REPLY_MAX];
	snprintf(val, sizeof(val), "%s", v); /* the map owns v only until the next lookup */
	return chk_access_result(r, val, name, cls, what);
}

bool chk_valid_hostname(const char *h, bool need_dot)
{
	size_t len = strlen(h), lab = 0;
	bool dot = false, alpha_last = false;
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)h[i];
		if (ch == '.') {
			if (lab == 0 || h[i - 1] == '-')
				return false;
			if (i + 1 < len)
				dot = true;
			lab = 0;
			alpha_last = false;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return false;
		if (lab == 0 && ch == '-')
			return false;
		if (++lab > 63)
			return false;
		if (!isdigit(ch))
			alpha_last = true;
	}
	/* an all-numeric name would be an address in disguise */
	if (!alpha_last) {
		bool numeric = true;
		for (const char *p = h; *p; p++)
			if (!isdigit((unsigned char)*p) && *p != '.')
				numeric = false;
		if (numeric)
			return false;
	}
	return !need_dot || dot;
}

static bool address_literal(const char *h)
{
	size_t l = strlen(h);
	if (l < 3 || h[0] != '[' || h[l - 1] != ']')
		return false;
	char ip[SMTP_HOST_MAX + 1];
	snprintf(ip, sizeof(ip), "%.*s", (int)(l - 2), h + 1);
	struct netaddr_net n;
	const char *p = strncasecmp(ip, "ipv6:", 5) == 0 ? ip + 5 : ip;
	return netaddr_parse_addr(p, &n);
}

static enum res non_fqdn_addr(struct chk_run *r, const char *addr, const char *cls)
{
	char rep[CHK_REPLY_MAX];
	if (addr == NULL || *addr == '\0')
		return R_DUNNO;
	const char *at = strrchr(addr, '@');
	const char *dom = at ? at + 1 : "";
	char d[SMTP_ADDR_MAX + 1];
	snprintf(d, sizeof(d), "%s", dom);
	size_t dl = strlen(d);
	if (dl > 1 && d[dl - 1] == '.')
		d[--dl] = '\0';
	if (d[0] == '[' ? address_literal(d) : chk_valid_hostname(d, true))
		return R_DUNNO;
	snprintf(rep, sizeof(rep), "%ld 5.5.2 <%s>: %s rejected: need fully-qualified address",
	         r->c->non_fqdn_code, addr, cls);
	return chk_reject(r, rep);
}

int chk_parse_addr(const char *addr, struct smtp_cmd *c)
{
	return smtp_addr_parse(addr, strlen(addr), true, c) ? 0 : -1;
}

/* 1 the login owns sender, 0 not, -1 table error; *listed when known. */
static int login_owns(struct chk *c, const char *sender, const char *login, bool *listed)
{
	*listed = false;
	char lk[SMTP_ADDR_MAX + 1];
	lower(lk, sizeof(lk), sender);
	struct access_opts o = aopts(c);
	o.parent_style = false;
	for (size_t i = 0; i < c->nlogin_maps; i++) {
		const char *v;
		if (c->login_maps[i] == NULL)
			return -1;
		int rc = access_find_addr(c->login_maps[i], lk, &o, &v, NULL, 0);
		if (rc == MAP_ERROR)
			return -1;
		if (rc != MAP_FOUND)
			continue;
		*listed = true;
		char **owners;
		char err[128];
		if (strlist_split(v, NULL, 1000, &owners, err, sizeof(err)) < 0)
			continue;
		bool own = false;
		for (char **p = owners; *p && login; p++)
			if (strcasecmp(*p, login) == 0)
				own = true;
		strlist_free(owners);
		if (own)
			return 1;
		return 0;
	}
	return 0;
}

static enum res sender_login(struct chk_run *r, const struct item *it)
{
	const struct chk_input *in = &r->in;
	char rep[CHK_REPLY_MAX];
	if (in->sender == NULL || in->sender[0] == '\0')
		return R_DUNNO;
	bool authed = in->sasl && in->sasl->authenticated;
	bool listed;
	int own = login_owns(r->c, in->sender, authed ? in->sasl->username : NULL, &listed);
	if (own < 0)
		return tempfail(r, in->sender, "smtpd_sender_login_maps");
	bool check_auth = it->op == OP_SLM || it->op == OP_SLM_AUTH || it->op == OP_SLM_KNOWN;
	bool check_unauth = it->op == OP_SLM || it->op == OP_SLM_UNAUTH || it->op == OP_SLM_KNOWN;
	if (authed && check_auth && own == 0 && (listed || it->op != OP_SLM_KNOWN)) {
		snprintf(rep, sizeof(rep), "553 5.7.1 <%s>: Sender address rejected: not owned by user %s",
		         in->sender, in->sasl->username);
		return chk_reject(r, rep);
	}
	if (!authed && check_unauth && listed) {
		snprintf(rep, sizeof(rep), "553 5.7.1 <%s>: Sender address rejected: not logged in",
		         in->sender);
		return chk_reject(r, rep);
	}
	return R_DUNNO;
}

/* One restriction.  On R_PUSH, pushed is the list to enter. */
enum res chk_exec(struct chk_run *r, const struct item *it)
{
	struct chk *c = r->c;
	const struct chk_input *in = &r->in;
	enum chk_stage st = r->stages[r->cur];
	char name[SMTP_ADDR_MAX + 64];
	char rep[CHK_REPLY_MAX];
	const char *cls;
	chk_stage_reply_name(r, st, name, sizeof(name), &cls);
	switch (it->op) {
	case OP_PERMIT:
		return R_OK;
	case OP_REJECT:
	case OP_DEFER:
		chk_build_reply(rep, sizeof(rep), it->op == OP_REJECT ? c->reject_code : c->defer_code,
		            it->op == OP_REJECT ? "5.7.1" : "4.7.1", name, cls, "Access denied");
		return chk_reject(r, rep);
	case OP_DEFER_IF_PERMIT:
	case OP_DEFER_IF_REJECT: {
		struct deferred *d = it->op == OP_DEFER_IF_PERMIT ? &r->dip : &r->dir;
		chk_build_reply(d->reply, sizeof(d->reply), c->defer_code, "4.7.1", name, cls,
		            it->op == OP_DEFER_IF_PERMIT ? "defer_if_permit requested"
		                                         : "defer_if_reject requested");
		d->active = true;
		return R_DUNNO;
	}
	case OP_WARN_IF_REJECT:
		r->warn_next = true;
		return R_DUNNO;
	case OP_REJECT_UNAUTH_PIPELINING:
		if (!in->pipelined)
			return R_DUNNO;
		chk_build_reply(rep, sizeof(rep), c->unauth_pipe_code, "5.5.0", name, cls,
		            "Improper use of SMTP command pipelining");
		return chk_reject(r, rep);
	case OP_SLEEP:
		if (c->base == NULL) {
			chk_trace(r, it->name, "%ld seconds (not waited here)", it->num);
			return R_DUNNO;
		} else {
			struct timeval tv = {it->num, 0};
			r->sleep_ev = evtimer_new(c->base, chk_sleep_done, r);
			evtimer_add(r->sleep_ev, &tv);
			return R_PENDING;
		}
	case OP_PERMIT_MYNETWORKS:
		return in->client && route_mynetworks(c->route, in->client) ? R_OK : R_DUNNO;
	case OP_PERMIT_SASL:
		return in->sasl && in->sasl->authenticated ? R_OK : R_DUNNO;
	case OP_PERMIT_TLS_ALL_CLIENTCERTS:
		return in->tls && in->tls->active && in->tls->cert_verified ? R_OK : R_DUNNO;
	case OP_PERMIT_TLS_CLIENTCERTS: {
		/* a listed fingerprint needs no CA: self-signed client certificates
		 * are the usual case (Postfix checks presence, not trust) */
		if (!in->tls || !in->tls->active || !in->tls->cert_present || c->relay_certs == NULL)
			return R_DUNNO;
		const char *v;
		const char *keys[2] = {in->tls->cert_fpt, in->tls->pkey_fpt};
		for (int i = 0; i < 2; i++) {
			if (keys[i][0] == '\0')
				continue;
			int rc = map_lookup(c->relay_certs, keys[i], &v);
			if (rc == MAP_ERROR)
				return tempfail(r, name, "relay_clientcerts");
			if (rc == MAP_FOUND)
				return R_OK;
		}
		return R_DUNNO;
	}
	case OP_CHECK_CLIENT_ACCESS: {
		char nm[SMTP_HOST_MAX + 80];
		snprintf(nm, sizeof(nm), "%s[%s]", in->client_name, in->client_addr);
		if (strcmp(in->client_name, "unknown") != 0) {
			enum res x = lookup_access(r, it, K_DOMAIN, in->client_name, nm, "Client host");
			if (x != R_DUNNO)
				return x;
		}
		return lookup_access(r, it, K_CLIENT, in->client_addr, nm, "Client host");
	}
	case OP_CHECK_REVERSE_CLIENT_ACCESS: {
		char nm[SMTP_HOST_MAX + 80];
		const char *rn = in->reverse_name ? in->reverse_name : in->client_name;
		snprintf(nm, sizeof(nm), "%s[%s]", rn, in->client_addr);
		if (strcmp(rn, "unknown") != 0) {
			enum res x = lookup_access(r, it, K_DOMAIN, rn, nm, "Client host");
			if (x != R_DUNNO)
				return x;
		}
		return lookup_access(r, it, K_CLIENT, in->client_addr, nm, "Client host");
	}
	case OP_CHECK_CCERT_ACCESS: {
		if (!in->tls || !in->tls->active || !in->tls->cert_verified)
			return R_DUNNO;
		char nm[SMTP_HOST_MAX + 80];
		snprintf(nm, sizeof(nm), "%s[%s]", in->client_name, in->client_addr);
		return lookup_access(r, it, K_WHOLE, in->tls->cert_fpt, nm, "Client certificate");
	}
	case OP_CHECK_SASL_ACCESS:
		if (!in->sasl || !in->sasl->authenticated)
			return R_DUNNO;
		return lookup_access(r, it, K_ADDR, in->sasl->username, in->sasl->username,
		                     "SASL login name");
	case OP_CHECK_HELO_ACCESS:
		if (!in->helo || !in->helo[0])
			return R_DUNNO;
		return lookup_access(r, it, K_DOMAIN, in->helo, in->helo, "Helo command");
	case OP_REJECT_INVALID_HELO:
	case OP_REJECT_NON_FQDN_HELO: {
		if (!in->helo || !in->helo[0])
			return R_DUNNO;
		char h[SMTP_HOST_MAX + 1];
		snprintf(h, sizeof(h), "%s", in->helo);
		if (h[0] == '[') {
			if (address_literal(h))
				return R_DUNNO;
		} else {
			size_t hl = strlen(h);
			if (hl > 1 && h[hl - 1] == '.')
				h[hl - 1] = '\0';
			if (chk_valid_hostname(h, it->op == OP_REJECT_NON_FQDN_HELO))
				return R_DUNNO;
			if (it->op == OP_REJECT_NON_FQDN_HELO && !chk_valid_hostname(h, false))
				return R_DUNNO; /* invalid: reject_invalid_helo_hostname's business */
		}
		if (it->op == OP_REJECT_INVALID_HELO)
			snprintf(rep, sizeof(rep), "%ld 5.5.2 <%s>: Helo command rejected: Invalid name",
			         c->invalid_helo_code, in->helo);
		else
			snprintf(rep, sizeof(rep),
			         "%ld 5.5.2 <%s>: Helo command rejected: need fully-qualified hostname",
			         c->non_fqdn_code, in->helo);
		return chk_reject(r, rep);
	}
	case OP_CHECK_SENDER_ACCESS:
		if (in->sender == NULL)
			return R_DUNNO;
		return lookup_access(r, it, K_ADDR, in->sender, in->sender, "Sender address");
	case OP_REJECT_NON_FQDN_SENDER:
		return non_fqdn_addr(r, in->sender, "Sender address");
	case OP_REJECT_UNLISTED_SENDER:
	case OP_REJECT_UNLISTED_RCPT: {
		bool snd = it->op == OP_REJECT_UNLISTED_SENDER;
		const char *a = snd ? in->sender : in->recipient;
		struct smtp_cmd sc;
		const struct smtp_cmd *pc = &r->rcmd;
		if (a == NULL || *a == '\0')
			return R_DUNNO;
		if (snd && chk_parse_addr(a, &sc) < 0)
			return R_DUNNO;
		if (snd)
			pc = &sc;
		else if (r->rcmd_ok != 1)
			return R_DUNNO;
		if (route_unlisted(c->route, pc, true, rep, sizeof(rep)) == ROUTE_ACCEPT)
			return R_DUNNO;
		if (rep[0] == '4')
			return chk_reject(r, rep);
		if (snd)
			snprintf(rep, sizeof(rep),
			         "%ld 5.1.0 <%s>: Sender address rejected: User unknown in local "
			         "recipient table",
			         c->unknown_local_code, a);
		else
			snprintf(rep, sizeof(rep),
			         "%ld 5.1.1 <%s>: Recipient address rejected: User unknown in local "
			         "recipient table",
			         c->unknown_local_code, a);
		return chk_reject(r, rep);
	}
	case OP_SLM:
	case OP_SLM_KNOWN:
	case OP_SLM_AUTH:
	case OP_SLM_UNAUTH:
		return sender_login(r, it);
	case OP_PERMIT_AUTH_DEST:
	case OP_REJECT_UNAUTH_DEST:
	case OP_DEFER_UNAUTH_DEST: {
		if (in->recipient == NULL)
			return R_DUNNO;
		/* an address we cannot parse is never an authorized destination */
		int a = r->rcmd_ok == 1 ? route_auth_dest(c->route, &r->rcmd, NULL) : 0;
		if (a < 0) {
			snprintf(rep, sizeof(rep), "451 4.3.0 <%s>: Temporary lookup failure",
			         in->recipient);
			return chk_reject(r, rep);
		}
		if (it->op == OP_PERMIT_AUTH_DEST)
			return a ? R_OK : R_DUNNO;
		if (a)
			return R_DUNNO;
		if (it->op == OP_DEFER_UNAUTH_DEST)
			snprintf(rep, sizeof(rep), "454 4.7.1 <%s>: Relay access denied", in->recipient);
		else
			snprintf(rep, sizeof(rep), "%ld 5.7.1 <%s>: Relay access denied", c->relay_code,
			         in->recipient);
		return chk_reject(r, rep);
	}
	case OP_CHECK_RCPT_ACCESS:
		if (in->recipient == NULL)
			return R_DUNNO;
		return lookup_access(r, it, K_ADDR, in->recipient, in->recipient, "Recipient address");
	case OP_REJECT_NON_FQDN_RCPT:
		return non_fqdn_addr(r, in->recipient, "Recipient address");
	case OP_REJECT_MULTI_RCPT_BOUNCE: {
		if (in->sender == NULL || in->sender[0] != '\0')
			return R_DUNNO;
		unsigned n = in->nrcpt + (in->recipient && (st == CHK_RELAY || st == CHK_RCPT) ? 1 : 0);
		if (n <= 1)
			return R_DUNNO;
		chk_build_reply(rep, sizeof(rep), c->mrb_code, "5.5.3", name, cls, "Multi-recipient bounce");
		return chk_reject(r, rep);
	}
	case OP_CLASS:
		r->pushed = it->sub;
		return R_PUSH;
	case OP_UNKNOWN:
		log_warn("unknown smtpd restriction: \"%s\"", it->name);
		return chk_reject(r, "451 4.3.5 Server configuration error");
	case OP_POLICY:
		if (in->no_policy || c->policy == NULL || it->pol->target == NULL) {
			chk_trace(r, it->name, "%s: not asked (%s)", it->arg,
			      in->no_policy ? "--no-policy" : "no policy client");
			return R_DUNNO;
		} else {
			char req[POLICY_REQUEST_MAX];
			size_t len = policy_request(&r->in, r->cmd, it->pol, c->cfg, req, sizeof(req));
			r->hook_item = it;
			snprintf(r->reply_name, sizeof(r->reply_name), "%s", name);
			r->reply_class = cls;
			r->waiting = true;
			r->hook_policy = true;
			r->hook_answered = false;
			c->policy(c->policy_ctx, r, it->pol, req, len);
			return R_PENDING;
		}
	case OP_DNS: {
		struct chk_dns_req q = {.restriction = it->name, .arg = it->arg ? it->arg : "",
		                        .map = it->map, .in = in};
		const char *n = it->name;
		char nm[SMTP_ADDR_MAX + 80];
		q.reply_class = cls;
		q.reply_name = name;
		if (strstr(n, "client") != NULL) {
			snprintf(nm, sizeof(nm), "%s[%s]", in->client_name, in->client_addr);
			q.name = strstr(n, "rbl_client") || strstr(n, "dnswl") || strstr(n, "_a_access")
			             ? in->client_addr
			             : (strstr(n, "reverse") ? in->reverse_name : in->client_name);
			q.reply_name = nm;
			q.reply_class = "Client host";
		} else if (strstr(n, "helo") != NULL || strcmp(n, "reject_unknown_hostname") == 0) {
			q.name = in->helo;
			q.reply_name = in->helo;
			q.reply_class = "Helo command";
		} else if (strstr(n, "sender") != NULL) {
			q.name = in->sender;
			q.reply_name = in->sender;
			q.reply_class = "Sender address";
		} else {
			q.name = in->recipient;
			q.reply_name = in->recipient;
			q.reply_class = "Recipient address";
		}
		if (q.name == NULL || q.name[0] == '\0')
			return R_DUNNO;
		/* reject_unknown_{sender,recipient}_domain apply only where we
		 * are not the final destination (Postfix). */
		if (strcmp(n, "reject_unknown_sender_domain") == 0 ||
		    strcmp(n, "reject_unknown_recipient_domain") == 0) {
			struct smtp_cmd pc;
			bool local = false;
			if (chk_parse_addr(q.name, &pc) == 0 && route_auth_dest(c->route, &pc, &local) >= 0 &&
			    local)
				return R_DUNNO;
		}
		r->hook_item = it;
		snprintf(r->reply_name, sizeof(r->reply_name), "%s", q.reply_name);
		r->reply_class = q.reply_class;
		r->waiting = true;
		r->hook_policy = false;
		r->hook_answered = false;
		c->dns(c->dns_ctx, r, &q);
		return R_PENDING;
	}
	}
	return R_DUNNO;
}
