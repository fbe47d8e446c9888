/*
 * smtpd_route.c - recipient routing and the relay decision at RCPT (see
 * smtpd_route.h).  Runs in smtpd.  Untrusted input: recipient addresses
 * already parsed by smtpd_cmd.c; main.cf lists and the tables they name
 * are trusted configuration, read before privileges are dropped.
 *
 * No open relay: an address whose local part holds a routing operator
 * ('@', '%', '!') is never an authorized destination (as Postfix with
 * allow_untrusted_routing = no), so the percent hack, bang paths and
 * quoted "user@elsewhere"@ours all fall to the relay rule.
 */
#include "smtpd_route.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "bounds.h"
#include "cfg.h"
#include "log.h"
#include "map.h"
#include "smtpd_cmd.h"
#include "smtpd_facts.h"
#include "strlist.h"
#include "xalloc.h"

#define LIST_ITEMS_MAX 10000

enum rop {
	OP_PERMIT_MYNETWORKS,
	OP_PERMIT_SASL,
	OP_DEFER_UNAUTH_DEST,
	OP_REJECT_UNAUTH_DEST,
	OP_PERMIT_AUTH_DEST,
	OP_REJECT_UNLISTED_RCPT,
	OP_PERMIT,
	OP_REJECT,
	OP_DEFER,
	OP_PERMIT_TLS_CLIENTCERTS,
	OP_PERMIT_TLS_ALL_CLIENTCERTS,
	OP_OTHER, /* evaluated by smtpd_check.c; here a temporary failure */
};

struct restr {
	enum rop *ops;
	size_t n;
};

struct dlist { /* domains */
	char **names; /* lower case; ".example.com" for subdomains */
	size_t n;
	struct map **maps;
	size_t nmaps;
	bool parent; /* "example.com" also matches its subdomains */
};

struct nlist { /* networks */
	struct netaddr_net *nets;
	bool *neg;
	size_t n;
	struct map **maps;
	size_t nmaps;
};

struct route {
	struct dlist mydest, relay;
	struct dlist flush; /* fast_flush_domains: what ETRN may flush */
	struct nlist mynet, exempt;
	struct netaddr_net ours[256]; /* IP literals that are ours */
	size_t nours;
	struct restr relay_restr, rcpt_restr;
	struct map **lrmaps;
	size_t nlrmaps;
	bool lr_check;
	char *delimiters;
	char *relay_reject_code;
	struct map *relay_ccerts; /* relay_clientcerts, NULL: none */
	bool relay_ccerts_set;
	const struct smtpd_tls_facts *tls; /* of the session asking now */
};

static char **split(struct cfg *cfg, const char *value, const char *what)
{
	char **items;
	char err[256];
	if (strlist_split(value, NULL, LIST_ITEMS_MAX, &items, err, sizeof(err)) < 0)
		log_fatal("%s: %s", what, err);
	(void)cfg;
	return items;
}

static struct map *open_map(const char *spec, const char *what)
{
	char err[512];
	struct map *m = map_open(spec, 0, err, sizeof(err));
	if (m == NULL)
		log_warn("%s: cannot open %s: %s (lookups will fail temporarily)", what, spec, err);
	return m;
}

/* The items of a list, with "/file" entries replaced by the file's words. */
static char **expand_files(char **items, const char *what)
{
	size_t n = 0, cap = 16;
	char **out = xcalloc(cap, sizeof(*out));
	for (char **it = items; *it; it++) {
		if ((*it)[0] != '/') {
			if (n + 2 > cap)
				out = xreallocarray(out, cap *= 2, sizeof(*out));
			out[n++] = xstrdup(*it);
			continue;
		}
		FILE *fp = fopen(*it, "re");
		if (fp == NULL) {
			log_warn("%s: cannot open %s", what, *it);
			continue;
		}
		char line[1024];
		while (fgets(line, sizeof(line), fp) && n < LIST_ITEMS_MAX) {
			char *h = strchr(line, '#');
			if (h)
				*h = '\0';
			for (char *tok = strtok(line, " \t\r\n,"); tok; tok = strtok(NULL, " \t\r\n,")) {
				if (n + 2 > cap)
					out = xreallocarray(out, cap *= 2, sizeof(*out));
				out[n++] = xstrdup(tok);
			}
		}
		fclose(fp);
	}
	out[n] = NULL;
	strlist_free(items);
	return out;
}

static void dlist_init(struct dlist *l, struct cfg *cfg, const char *param, bool parent)
{
	char **items = expand_files(split(cfg, cfg_get(cfg, param), param), param);
	memset(l, 0, sizeof(*l));
	l->parent = parent;
	size_t cnt = 0;
	while (items[cnt])
		cnt++;
	l->names = xcalloc(cnt + 1, sizeof(char *));
	l->maps = xcalloc(cnt + 1, sizeof(struct map *));
	for (size_t i = 0; i < cnt; i++) {
		if (strchr(items[i], ':') != NULL) {
			struct map *m = open_map(items[i], param);
			l->maps[l->nmaps++] = m;
			continue;
		}
		char *s = xstrdup(items[i]);
		for (char *p = s; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		size_t sl = strlen(s);
		if (sl > 1 && s[sl - 1] == '.')
			s[sl - 1] = '\0';
		l->names[l->n++] = s;
	}
	strlist_free(items);
}

/* 1 match, 0 no match, -1 table error. */
static int dlist_match(const struct dlist *l, const char *dom)
{
	size_t dl = strlen(dom);
	for (size_t i = 0; i < l->n; i++) {
		const char *n = l->names[i];
		size_t nl = strlen(n);
		if (strcmp(n, dom) == 0)
			return 1;
		/* ".example.com" matches subdomains; with parent, so does "example.com". */
		if (n[0] == '.' && dl > nl && strcmp(dom + dl - nl, n) == 0)
			return 1;
		if (l->parent && n[0] != '.' && dl > nl + 1 && dom[dl - nl - 1] == '.' &&
		    strcmp(dom + dl - nl, n) == 0)
			return 1;
	}
	struct access_opts o = {.parent_style = l->parent};
	for (size_t i = 0; i < l->nmaps; i++) {
		const char *v;
		if (l->maps[i] == NULL)
			return -1;
		int rc = access_find_domain(l->maps[i], dom, &o, &v, NULL, 0);
		if (rc == MAP_FOUND)
			return 1;
		if (rc == MAP_ERROR)
			return -1;
	}
	return 0;
}

static void nlist_init(struct nlist *l, const char *what, const char *value)
{
	char err[256];
	char **items;
	if (strlist_split(value, NULL, LIST_ITEMS_MAX, &items, err, sizeof(err)) < 0)
		log_fatal("%s: %s", what, err);
	items = expand_files(items, what);
	memset(l, 0, sizeof(*l));
	size_t cnt = 0;
	while (items[cnt])
		cnt++;
	l->nets = xcalloc(cnt + 1, sizeof(*l->nets));
	l->neg = xcalloc(cnt + 1, sizeof(bool));
	l->maps = xcalloc(cnt + 1, sizeof(struct map *));
	for (size_t i = 0; i < cnt; i++) {
		const char *s = items[i];
		bool neg = s[0] == '!';
		if (neg)
			s++;
		if (netaddr_parse_net(s, &l->nets[l->n])) {
			l->neg[l->n++] = neg;
		} else if (strchr(s, ':') != NULL && s[0] != '[' && !netaddr_parse_net(s, &l->nets[l->n])) {
			l->maps[l->nmaps++] = open_map(s, what);
		} else {
			log_warn("%s: ignoring \"%s\": not a network address (host names are not "
			         "supported yet)", what, items[i]);
		}
	}
	strlist_free(items);
}

static bool inet_ntop_net(const struct netaddr_net *a, char *buf, size_t len)
{
	return inet_ntop(a->family, a->addr, buf, (socklen_t)len) != NULL;
}

static bool nlist_match(const struct nlist *l, const struct netaddr_net *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (netaddr_match(&l->nets[i], a))
			return !l->neg[i];
	char text[64];
	if (l->nmaps == 0 || !inet_ntop_net(a, text, sizeof(text)))
		return false;
	for (size_t i = 0; i < l->nmaps; i++) {
		const char *v;
		if (l->maps[i] != NULL &&
		    access_find_client_addr(l->maps[i], text, NULL, &v, NULL, 0) == MAP_FOUND)
			return true;
	}
	return false;
}

static void restr_init(struct restr *r, struct cfg *cfg, const char *param)
{
	static const struct {
		const char *name;
		enum rop op;
	} known[] = {
		{"permit_mynetworks", OP_PERMIT_MYNETWORKS},
		{"permit_sasl_authenticated", OP_PERMIT_SASL},
		{"defer_unauth_destination", OP_DEFER_UNAUTH_DEST},
		{"reject_unauth_destination", OP_REJECT_UNAUTH_DEST},
		{"permit_auth_destination", OP_PERMIT_AUTH_DEST},
		{"reject_unlisted_recipient", OP_REJECT_UNLISTED_RCPT},
		{"permit", OP_PERMIT},
		{"reject", OP_REJECT},
		{"defer", OP_DEFER},
		{"permit_tls_clientcerts", OP_PERMIT_TLS_CLIENTCERTS},
		{"permit_tls_all_clientcerts", OP_PERMIT_TLS_ALL_CLIENTCERTS},
	};
	char **items = split(cfg, cfg_get(cfg, param), param);
	size_t cnt = 0;
	while (items[cnt])
		cnt++;
	r->ops = xcalloc(cnt + 1, sizeof(*r->ops));
	r->n = 0;
	for (size_t i = 0; i < cnt; i++) {
		size_t k;
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (strcasecmp(items[i], known[k].name) == 0)
				break;
		/* smtpd evaluates the full lists in smtpd_check.c; this
		 * subset never guesses: anything else fails temporarily. */
		r->ops[r->n++] = k == sizeof(known) / sizeof(known[0]) ? OP_OTHER : known[k].op;
	}
	strlist_free(items);
}

struct route *route_init(struct cfg *cfg)
{
	struct route *r = xcalloc(1, sizeof(*r));
	dlist_init(&r->mydest, cfg, "mydestination", false);
	dlist_init(&r->relay, cfg, "relay_domains", true);
	dlist_init(&r->flush, cfg, "fast_flush_domains", true);

	const char *mn = cfg_get(cfg, "mynetworks");
	char *computed = NULL;
	if (*mn == '\0' && !cfg_is_set(cfg, "mynetworks"))
		mn = computed = netaddr_mynetworks_default(cfg_get(cfg, "mynetworks_style"));
	nlist_init(&r->mynet, "mynetworks", mn);
	const char *ex = cfg_get(cfg, "smtpd_client_event_limit_exceptions");
	if (computed != NULL && strstr(cfg_raw(cfg, "smtpd_client_event_limit_exceptions"),
	                               "mynetworks") != NULL && *ex == '\0')
		ex = computed;
	nlist_init(&r->exempt, "smtpd_client_event_limit_exceptions", ex);
	free(computed);

	/* IP literals of our own: inet_interfaces (all: every interface)
	 * and proxy_interfaces. */
	char **items = split(cfg, cfg_get(cfg, "inet_interfaces"), "inet_interfaces");
	for (char **it = items; *it; it++) {
		if (strcasecmp(*it, "all") == 0) {
			int n = netaddr_interfaces(r->ours + r->nours, 256 - r->nours, false);
			if (n > 0)
				r->nours += (size_t)n;
		} else if (strcasecmp(*it, "loopback-only") == 0 || strcasecmp(*it, "localhost") == 0) {
			netaddr_parse_addr("127.0.0.1", &r->ours[r->nours++]);
			if (r->nours < 256)
				netaddr_parse_addr("::1", &r->ours[r->nours++]);
		} else if (r->nours < 256 && netaddr_parse_net(*it, &r->ours[r->nours])) {
			r->nours++;
		}
		if (r->nours >= 255)
			break;
	}
	strlist_free(items);
	items = split(cfg, cfg_get(cfg, "proxy_interfaces"), "proxy_interfaces");
	for (char **it = items; *it && r->nours < 256; it++)
		if (netaddr_parse_net(*it, &r->ours[r->nours]))
			r->nours++;
	strlist_free(items);

	restr_init(&r->relay_restr, cfg, "smtpd_relay_restrictions");
	restr_init(&r->rcpt_restr, cfg, "smtpd_recipient_restrictions");
	if (r->relay_restr.n == 0 && r->rcpt_restr.n == 0) {
		/* compatibility_level below 1 leaves both empty; never an open
		 * relay: use the relay rule of every later level. */
		free(r->relay_restr.ops);
		r->relay_restr.ops = xcalloc(3, sizeof(*r->relay_restr.ops));
		r->relay_restr.ops[0] = OP_PERMIT_MYNETWORKS;
		r->relay_restr.ops[1] = OP_PERMIT_SASL;
		r->relay_restr.ops[2] = OP_DEFER_UNAUTH_DEST;
		r->relay_restr.n = 3;
	}

	const char *lr = cfg_get(cfg, "local_recipient_maps");
	r->lr_check = *lr != '\0' && cfg_get_bool(cfg, "smtpd_reject_unlisted_recipient");
	items = split(cfg, lr, "local_recipient_maps");
	size_t cnt = 0;
	while (items[cnt])
		cnt++;
	r->lrmaps = xcalloc(cnt + 1, sizeof(*r->lrmaps));
	for (size_t i = 0; i < cnt; i++)
		r->lrmaps[r->nlrmaps++] = open_map(items[i], "local_recipient_maps");
	strlist_free(items);
	r->delimiters = xstrdup(cfg_get(cfg, "recipient_delimiter"));
	r->relay_reject_code = xstrdup(cfg_get(cfg, "relay_domains_reject_code"));
	const char *rc = cfg_get(cfg, "relay_clientcerts");
	if (*rc) {
		r->relay_ccerts_set = true;
		r->relay_ccerts = open_map(rc, "relay_clientcerts");
	}
	return r;
}

static void dlist_free(struct dlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	for (size_t i = 0; i < l->nmaps; i++)
		map_close(l->maps[i]);
	free(l->names);
	free(l->maps);
}

static void nlist_free(struct nlist *l)
{
	for (size_t i = 0; i < l->nmaps; i++)
		map_close(l->maps[i]);
	free(l->nets);
	free(l->neg);
	free(l->maps);
}

void route_free(struct route *r)
{
	if (r == NULL)
		return;
	dlist_free(&r->mydest);
	dlist_free(&r->relay);
	dlist_free(&r->flush);
	nlist_free(&r->mynet);
	nlist_free(&r->exempt);
	for (size_t i = 0; i < r->nlrmaps; i++)
		map_close(r->lrmaps[i]);
	free(r->lrmaps);
	free(r->relay_restr.ops);
	free(r->rcpt_restr.ops);
	free(r->delimiters);
	free(r->relay_reject_code);
	if (r->relay_ccerts)
		map_close(r->relay_ccerts);
	free(r);
}

bool route_mynetworks(struct route *r, const struct netaddr_net *client)
{
	return client != NULL && nlist_match(&r->mynet, client);
}

bool route_limit_exempt(struct route *r, const struct netaddr_net *client)
{
	return client != NULL && nlist_match(&r->exempt, client);
}

/* What the recipient's address says about its destination. */
struct dest {
	char local[SMTP_ADDR_MAX + 1];  /* local part, lower case */
	char domain[SMTP_ADDR_MAX + 1]; /* lower case, "" when none */
	bool routed;                    /* routing operator in the local part */
	int is_local;                   /* 1 ours, 0 not, -1 table error */
	int is_relay;                   /* 1 relay_domains, 0, -1 */
};

static void classify(struct route *r, const struct smtp_cmd *c, struct dest *d)
{
	size_t at = c->at == (size_t)-1 ? strlen(c->addr) : c->at;
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < at; i++)
		d->local[i] = (char)tolower((unsigned char)c->addr[i]);
	d->local[at] = '\0';
	if (c->at != (size_t)-1) {
		size_t o = 0;
		for (size_t i = at + 1; c->addr[i]; i++)
			d->domain[o++] = (char)tolower((unsigned char)c->addr[i]);
		if (o > 0 && d->domain[o - 1] == '.')
			d->domain[--o] = '\0';
	}
	d->routed = strpbrk(d->local, "@%!") != NULL;
	if (d->domain[0] == '\0') {
		d->is_local = 1;
	} else if (c->addr_literal) {
		char ip[SMTP_ADDR_MAX + 1];
		struct netaddr_net a;
		const char *in = d->domain + 1;
		if (strncasecmp(in, "ipv6:", 5) == 0)
			in += 5;
		snprintf(ip, sizeof(ip), "%s", in);
		ip[strcspn(ip, "]")] = '\0';
		d->is_local = 0;
		if (netaddr_parse_addr(ip, &a))
			for (size_t i = 0; i < r->nours; i++)
				if (netaddr_match(&r->ours[i], &a))
					d->is_local = 1;
	} else {
		d->is_local = dlist_match(&r->mydest, d->domain);
	}
	d->is_relay = d->is_local == 1 ? 0 : dlist_match(&r->relay, d->domain);
}

static bool auth_dest(const struct dest *d)
{
	return !d->routed && (d->is_local == 1 || d->is_relay == 1);
}

void route_set_tls(struct route *r, const struct smtpd_tls_facts *tls)
{
	r->tls = tls;
}

/* relay_clientcerts lists the client certificate's fingerprint or its
 * public key fingerprint (smtpd_tls_fingerprint_digest, XX:XX form).
 * 1 listed, 0 not, -1 lookup error. */
static int ccert_listed(struct route *r)
{
	const struct smtpd_tls_facts *t = r->tls;
	if (r->relay_ccerts == NULL)
		return r->relay_ccerts_set ? -1 : 0;
	const char *fp[2] = {t->cert_fpt, t->pkey_fpt};
	for (int i = 0; i < 2; i++) {
		const char *v;
		if (fp[i][0] == '\0')
			continue;
		int rc = map_lookup(r->relay_ccerts, fp[i], &v);
		if (rc == MAP_FOUND) {
			log_info("relay_clientcerts: %s fingerprint %s is listed",
			         i ? "public key" : "certificate", fp[i]);
			return 1;
		}
		if (rc == MAP_ERROR)
			return -1;
	}
	return 0;
}

/* 1 permit, 0 no decision, -1 rejected (reply set). */
static int run_restr(struct route *r, const struct restr *rs, const struct smtp_cmd *c,
                     const struct dest *d, const struct netaddr_net *client, bool sasl_auth,
                     char *reply, size_t len)
{
	for (size_t i = 0; i < rs->n; i++) {
		switch (rs->ops[i]) {
		case OP_PERMIT_MYNETWORKS:
			if (route_mynetworks(r, client))
				return 1;
			break;
		case OP_PERMIT_SASL:
			if (sasl_auth)
				return 1;
			break;
		case OP_PERMIT_TLS_ALL_CLIENTCERTS:
			if (r->tls && r->tls->active && r->tls->cert_verified)
				return 1;
			break;
		case OP_PERMIT_TLS_CLIENTCERTS:
			if (r->tls && r->tls->active && r->tls->cert_present) {
				int k = ccert_listed(r);
				if (k > 0)
					return 1;
				if (k < 0) {
					snprintf(reply, len, "451 4.3.0 <%s>: Temporary lookup failure",
					         c->addr);
					return -1;
				}
			}
			break;
		case OP_PERMIT_AUTH_DEST:
			if (auth_dest(d))
				return 1;
			break;
		case OP_DEFER_UNAUTH_DEST:
		case OP_REJECT_UNAUTH_DEST:
			if (d->is_local < 0 || d->is_relay < 0) {
				snprintf(reply, len, "451 4.3.0 <%s>: Temporary lookup failure", c->addr);
				return -1;
			}
			if (!auth_dest(d)) {
				if (rs->ops[i] == OP_DEFER_UNAUTH_DEST)
					snprintf(reply, len, "454 4.7.1 <%s>: Relay access denied", c->addr);
				else
					snprintf(reply, len, "%s 5.7.1 <%s>: Relay access denied",
					         r->relay_reject_code, c->addr);
				return -1;
			}
			break;
		case OP_REJECT_UNLISTED_RCPT:
			break; /* done after the lists, always */
		case OP_PERMIT:
			return 1;
		case OP_REJECT:
			snprintf(reply, len, "554 5.7.1 <%s>: Recipient address rejected: Access denied",
			         c->addr);
			return -1;
		case OP_DEFER:
		case OP_OTHER:
			snprintf(reply, len, "450 4.7.1 <%s>: Recipient address rejected: Access denied",
			         c->addr);
			return -1;
		}
	}
	return 0;
}

/* local_recipient_maps: user+ext@domain, user@domain, user+ext, user. */
static int local_known(struct route *r, const struct dest *d)
{
	char key[2 * SMTP_ADDR_MAX + 2];
	size_t ll = strlen(d->local);
	size_t base = access_ext_split(d->local, ll, r->delimiters, NULL);
	/* As Postfix: the postmaster of a local domain always exists. */
	if (strcmp(d->local, "postmaster") == 0)
		return 1;
	for (size_t m = 0; m < r->nlrmaps; m++) {
		struct map *mp = r->lrmaps[m];
		if (mp == NULL)
			return -1;
		size_t lens[2] = {ll, base};
		for (int withdom = 1; withdom >= 0; withdom--) {
			for (int k = 0; k < 2; k++) {
				if (k == 1 && base == ll)
					continue;
				if (withdom && d->domain[0] == '\0')
					continue;
				if (withdom)
					snprintf(key, sizeof(key), "%.*s@%s", (int)lens[k], d->local, d->domain);
				else
					snprintf(key, sizeof(key), "%.*s", (int)lens[k], d->local);
				const char *v;
				int rc = map_lookup(mp, key, &v);
				if (rc == MAP_FOUND)
					return 1;
				if (rc == MAP_ERROR)
					return -1;
			}
		}
	}
	return 0;
}

static enum route_verdict local_check(struct route *r, const struct smtp_cmd *c,
                                      const struct dest *d, char *reply, size_t len)
{
	if (!r->lr_check || d->routed || d->is_local != 1)
		return ROUTE_ACCEPT;
	int k = local_known(r, d);
	if (k == 1)
		return ROUTE_ACCEPT;
	if (k < 0)
		snprintf(reply, len, "451 4.3.0 <%s>: Temporary lookup failure", c->addr);
	else
		snprintf(reply, len,
		         "550 5.1.1 <%s>: Recipient address rejected: User unknown in local "
		         "recipient table",
		         c->addr);
	return ROUTE_REJECT;
}

enum route_verdict route_rcpt_sasl(struct route *r, const struct smtp_cmd *c,
                                   const struct netaddr_net *client, bool sasl_auth, bool *local,
                                   char *reply, size_t replylen)
{
	struct dest d;
	classify(r, c, &d);
	*local = d.is_local == 1 && !d.routed;
	if (run_restr(r, &r->relay_restr, c, &d, client, sasl_auth, reply, replylen) < 0)
		return ROUTE_REJECT;
	if (run_restr(r, &r->rcpt_restr, c, &d, client, sasl_auth, reply, replylen) < 0)
		return ROUTE_REJECT;
	return local_check(r, c, &d, reply, replylen);
}

enum route_verdict route_rcpt(struct route *r, const struct smtp_cmd *c,
                              const struct netaddr_net *client, bool *local, char *reply,
                              size_t replylen)
{
	return route_rcpt_sasl(r, c, client, false, local, reply, replylen);
}

enum route_verdict route_vrfy(struct route *r, const struct smtp_cmd *c, char *reply,
                              size_t replylen)
{
	struct dest d;
	classify(r, c, &d);
	return local_check(r, c, &d, reply, replylen);
}

int route_auth_dest(struct route *r, const struct smtp_cmd *c, bool *local)
{
	struct dest d;
	classify(r, c, &d);
	if (local)
		*local = d.is_local == 1 && !d.routed;
	if (d.is_local < 0 || d.is_relay < 0)
		return -1;
	return auth_dest(&d) ? 1 : 0;
}

enum route_verdict route_unlisted(struct route *r, const struct smtp_cmd *c, bool force,
                                  char *reply, size_t replylen)
{
	struct dest d;
	classify(r, c, &d);
	bool save = r->lr_check;
	if (force)
		r->lr_check = r->nlrmaps > 0;
	enum route_verdict v = local_check(r, c, &d, reply, replylen);
	r->lr_check = save;
	return v;
}

bool route_unlisted_default(const struct route *r)
{
	return r->lr_check;
}

int route_fast_flush(struct route *r, const char *domain)
{
	char d[SMTP_HOST_MAX + 1];
	size_t i;
	for (i = 0; domain[i] && i + 1 < sizeof(d); i++)
		d[i] = (char)tolower((unsigned char)domain[i]);
	d[i] = '\0';
	return dlist_match(&r->flush, d);
}
