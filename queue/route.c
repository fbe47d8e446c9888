/*
 * route.c - recipient routing in qmgr (see route.h; docs/delivery.md,
 * "Routing").  Runs in qmgr as mail_owner; the tables are opened at
 * start-up before privileges drop.  Input: recipient and sender
 * addresses from queue files (checked when they were received) and the
 * values of trusted tables, checked for form here.
 */
#include "route.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "cfg.h"
#include "log.h"
#include "map.h"
#include "qmgr.h"
#include "strlist.h"
#include "xalloc.h"

struct maplist {
	struct map **m;
	size_t n;
	bool broken; /* a table could not be opened: lookups defer */
};

static struct {
	struct cfg *cfg;
	struct maplist transport, sdrelay, relay_dom;
	char **relay_lit; /* relay_domains literals, lower case */
	bool relay_parent;
} rt;

static void open_list(struct maplist *l, const char *param, const char *value)
{
	char **items;
	char err[512];
	int n = strlist_split(value, NULL, 64, &items, err, sizeof(err));
	if (n < 0) {
		log_warn("%s: %s", param, err);
		l->broken = true;
		return;
	}
	l->m = xcalloc((size_t)n + 1, sizeof(*l->m));
	for (int i = 0; i < n; i++) {
		struct map *m = map_open(items[i], 0, err, sizeof(err));
		if (m == NULL) {
			log_warn("%s: cannot open %s: %s (deliveries that need it are deferred)",
			         param, items[i], err);
			l->broken = true;
			continue;
		}
		l->m[l->n++] = m;
	}
	strlist_free(items);
}

void route_init(struct cfg *cfg)
{
	rt.cfg = cfg;
	open_list(&rt.transport, "transport_maps", cfg_get(cfg, "transport_maps"));
	open_list(&rt.sdrelay, "sender_dependent_relayhost_maps",
	          cfg_get(cfg, "sender_dependent_relayhost_maps"));
	/* relay_domains: names, and tables for the other entries. */
	char **items;
	char err[256];
	int n = strlist_split(cfg_get(cfg, "relay_domains"), NULL, 10000, &items, err,
	                      sizeof(err));
	if (n < 0) {
		log_warn("relay_domains: %s", err);
		n = 0, items = NULL;
	}
	rt.relay_lit = xcalloc((size_t)n + 1, sizeof(char *));
	size_t k = 0;
	struct strbuf specs;
	sb_init(&specs, 0);
	for (int i = 0; i < n; i++) {
		if (strchr(items[i], ':') != NULL) {
			sb_printf(&specs, "%s ", items[i]);
			continue;
		}
		if (items[i][0] == '/') {
			log_warn("relay_domains: file \"%s\" is not supported by qmgr, ignored",
			         items[i]);
			continue;
		}
		char *d = xstrdup(items[i]);
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		rt.relay_lit[k++] = d;
	}
	if (items)
		strlist_free(items);
	open_list(&rt.relay_dom, "relay_domains", sb_str(&specs));
	sb_free(&specs);
	const char *pd = cfg_get(cfg, "parent_domain_matches_subdomains");
	rt.relay_parent = pd != NULL && strstr(pd, "relay_domains") != NULL;
}

void route_free_all(void)
{
	struct maplist *ls[] = {&rt.transport, &rt.sdrelay, &rt.relay_dom};
	for (size_t i = 0; i < 3; i++) {
		for (size_t k = 0; k < ls[i]->n; k++)
			map_close(ls[i]->m[k]);
		free(ls[i]->m);
	}
	for (char **p = rt.relay_lit; p && *p; p++)
		free(*p);
	free(rt.relay_lit);
}

void route_clear(struct route *r)
{
	free(r->transport);
	free(r->nexthop);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

static bool in_mydestination(const char *domain)
{
	for (char **p = qmgr.mydestination; p && *p; p++)
		if (strcasecmp(*p, domain) == 0)
			return true;
	return false;
}

static bool in_relay_domains(const char *domain, bool *broken)
{
	for (char **p = rt.relay_lit; p && *p; p++) {
		size_t dl = strlen(domain), pl = strlen(*p);
		if (strcasecmp(*p, domain) == 0)
			return true;
		/* "example.com" also matches its subdomains (Postfix's default
		 * parent_domain_matches_subdomains); ".example.com" only them. */
		const char *lit = **p == '.' ? *p + 1 : *p;
		size_t ll = strlen(lit);
		if ((rt.relay_parent || **p == '.') && dl > ll && domain[dl - ll - 1] == '.' &&
		    strcasecmp(domain + dl - ll, lit) == 0)
			return true;
		(void)pl;
	}
	struct access_opts o = {.parent_style = rt.relay_parent};
	for (size_t i = 0; i < rt.relay_dom.n; i++) {
		const char *v;
		int rc = access_find_domain(rt.relay_dom.m[i], domain, &o, &v, NULL, 0);
		if (rc == MAP_FOUND)
			return true;
		if (rc == MAP_ERROR)
			*broken = true;
	}
	return false;
}

/* transport(5) search: user+ext@domain, user@domain, domain, .parents, "*".
 * Pattern tables see the whole address only. */
static int transport_find(const char *rcpt, const char **value)
{
	const char *at = strrchr(rcpt, '@');
	const char *domain = at ? at + 1 : "";
	const char *delim = cfg_get(rt.cfg, "recipient_delimiter");
	for (size_t i = 0; i < rt.transport.n; i++) {
		struct map *m = rt.transport.m[i];
		int rc = map_lookup(m, rcpt, value);
		if (rc != MAP_NOTFOUND)
			return rc;
		if (!access_map_fixed(m))
			continue;
		if (at != NULL && delim != NULL && *delim) {
			size_t ll = (size_t)(at - rcpt);
			size_t base = access_ext_split(rcpt, ll, delim, NULL);
			if (base < ll) {
				char key[1100];
				snprintf(key, sizeof(key), "%.*s%s", (int)base, rcpt, at);
				if ((rc = map_lookup(m, key, value)) != MAP_NOTFOUND)
					return rc;
			}
		}
		if (*domain) {
			if ((rc = map_lookup(m, domain, value)) != MAP_NOTFOUND)
				return rc;
			for (const char *p = strchr(domain, '.'); p != NULL; p = strchr(p + 1, '.'))
				if ((rc = map_lookup(m, p, value)) != MAP_NOTFOUND)
					return rc;
		}
		if ((rc = map_lookup(m, "*", value)) != MAP_NOTFOUND)
			return rc;
	}
	return MAP_NOTFOUND;
}

static void split_spec(const char *spec, char **tr, char **nh)
{
	const char *colon = strchr(spec, ':');
	*tr = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
	*nh = xstrdup(colon ? colon + 1 : "");
}

static void set_text(struct route *r, enum route_kind kind, const char *dflt_status,
                     const char *text)
{
	r->kind = kind;
	/* error:5.1.1 text, error:4.7.1 text: the status leads the text. */
	const char *t = text;
	snprintf(r->status, sizeof(r->status), "%s", dflt_status);
	if ((t[0] == '4' || t[0] == '5') && t[1] == '.') {
		size_t n = strspn(t, "0123456789.");
		if (n < sizeof(r->status) && (t[n] == ' ' || t[n] == '\0')) {
			snprintf(r->status, sizeof(r->status), "%.*s", (int)n, t);
			t += n;
			while (*t == ' ')
				t++;
		}
	}
	r->text = xstrdup(*t ? t : kind == ROUTE_DISCARD ? "discarded"
	                        : kind == ROUTE_DEFER ? "delivery temporarily suspended"
	                                              : "mail delivery failed");
}

void route_resolve(const char *rcpt, const char *sender, struct route *r)
{
	memset(r, 0, sizeof(*r));
	const char *at = strrchr(rcpt, '@');
	const char *domain = at ? at + 1 : "";
	bool broken = false;
	char *tr, *nh;
	enum { C_LOCAL, C_RELAY, C_DEFAULT } cls;
	if (at == NULL || in_mydestination(domain))
		cls = C_LOCAL;
	else if (in_relay_domains(domain, &broken))
		cls = C_RELAY;
	else
		cls = C_DEFAULT;
	if (broken) {
		r->kind = ROUTE_DEFER;
		snprintf(r->status, sizeof(r->status), "4.3.0");
		r->text = xstrdup("relay_domains lookup failed");
		return;
	}
	split_spec(cfg_get(rt.cfg, cls == C_LOCAL ? "local_transport"
	                           : cls == C_RELAY ? "relay_transport" : "default_transport"),
	           &tr, &nh);
	if (*nh == '\0') {
		free(nh);
		nh = NULL;
		if (cls == C_LOCAL) {
			nh = xstrdup(qmgr.myhostname);
		} else {
			/* sender_dependent_relayhost_maps, then relayhost. */
			const char *v = NULL;
			if (sender != NULL && rt.sdrelay.n > 0) {
				const char *sat = strrchr(sender, '@');
				char key[1100];
				const char *null_key =
					cfg_get(rt.cfg, "empty_address_relayhost_maps_lookup_key");
				for (size_t i = 0; i < rt.sdrelay.n && v == NULL; i++) {
					int rc = map_lookup(rt.sdrelay.m[i], *sender ? sender : null_key, &v);
					if (rc == MAP_NOTFOUND && sat != NULL &&
					    access_map_fixed(rt.sdrelay.m[i])) {
						snprintf(key, sizeof(key), "%s", sat);
						rc = map_lookup(rt.sdrelay.m[i], key, &v);
					}
					if (rc == MAP_ERROR) {
						broken = true;
						break;
					}
					if (rc != MAP_FOUND)
						v = NULL;
				}
			}
			if (rt.sdrelay.broken)
				broken = true;
			if (v != NULL && *v)
				nh = xstrdup(v);
			else if (*cfg_get(rt.cfg, "relayhost"))
				nh = xstrdup(cfg_get(rt.cfg, "relayhost"));
			else
				nh = xstrdup(domain);
		}
	}
	/* transport_maps: may change the transport, the next hop, or both. */
	const char *v = NULL;
	int rc = rt.transport.broken ? MAP_ERROR : transport_find(rcpt, &v);
	if (rc == MAP_ERROR || broken) {
		free(tr);
		free(nh);
		r->kind = ROUTE_DEFER;
		snprintf(r->status, sizeof(r->status), "4.3.0");
		r->text = xstrdup(rc == MAP_ERROR ? "transport_maps lookup failed"
		                                  : "sender_dependent_relayhost_maps lookup failed");
		return;
	}
	if (rc == MAP_FOUND) {
		char *t2, *n2;
		split_spec(v, &t2, &n2);
		/* trim */
		for (char *p = t2 + strlen(t2); p > t2 && isspace((unsigned char)p[-1]);)
			*--p = '\0';
		if (*t2 != '\0') {
			free(tr);
			tr = t2;
			if (*n2 == '\0') {
				free(n2);
				n2 = xstrdup(cls == C_LOCAL && at == NULL ? qmgr.myhostname : domain);
			}
		} else {
			free(t2);
		}
		if (*n2 != '\0' || strchr(v, ':') == NULL) {
			free(nh);
			nh = n2;
		} else {
			free(n2);
		}
	}
	if (strcmp(tr, "error") == 0) {
		set_text(r, ROUTE_ERROR, "5.0.0", nh);
		free(tr), free(nh);
		return;
	}
	if (strcmp(tr, "retry") == 0) {
		set_text(r, ROUTE_DEFER, "4.0.0", nh);
		r->status[0] = '4';
		free(tr), free(nh);
		return;
	}
	if (strcmp(tr, "discard") == 0) {
		set_text(r, ROUTE_DISCARD, "2.0.0", nh);
		r->status[0] = '2';
		free(tr), free(nh);
		return;
	}
	r->kind = ROUTE_DELIVER;
	r->transport = tr;
	r->nexthop = nh;
}
