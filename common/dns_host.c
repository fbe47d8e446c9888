/*
 * dns_host.c - next-hop resolution for the SMTP client (see dns_host.h).
 * Runs in smtp and the postern command.  Untrusted input: DNS answers
 * (already parsed and bounded by common/dns) and, for native lookups,
 * getaddrinfo results.
 */
#include "dns_host.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cfg.h"
#include "netaddr.h"
#include "xalloc.h"

/* MX hosts whose addresses we look up (in parallel) for one domain. */
#define MX_LOOKUP_MAX 32

const char *dns_hosts_status_name(enum dns_hosts_status s)
{
	switch (s) {
	case DNS_HOSTS_OK:
		return "ok";
	case DNS_HOSTS_NOTFOUND:
		return "notfound";
	case DNS_HOSTS_NOADDR:
		return "noaddr";
	case DNS_HOSTS_NULLMX:
		return "nullmx";
	case DNS_HOSTS_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

void dns_host_opts_from_cfg(struct dns_host_opts *o, struct cfg *cfg)
{
	const char *p = cfg_get(cfg, "inet_protocols");
	const char *pref = cfg_get(cfg, "smtp_address_preference");
	const char *look = cfg_get(cfg, "smtp_host_lookup");
	memset(o, 0, sizeof(*o));
	if (strstr(p, "all")) {
		o->ipv4 = o->ipv6 = true;
	} else {
		o->ipv4 = strstr(p, "ipv4") != NULL;
		o->ipv6 = strstr(p, "ipv6") != NULL;
	}
	if (!o->ipv4 && !o->ipv6)
		o->ipv4 = true;
	o->prefer = strcasecmp(pref, "ipv4") == 0 ? AF_INET : strcasecmp(pref, "ipv6") == 0 ? AF_INET6 : 0;
	long lim = cfg_get_long(cfg, "smtp_mx_address_limit");
	o->max_addrs = lim > 0 && lim < DNS_HOSTS_MAX ? (unsigned)lim : 0;
	o->use_dns = strstr(look, "dns") != NULL;
	o->use_native = strstr(look, "native") != NULL;
	if (!o->use_dns && !o->use_native)
		o->use_dns = true;
}

struct slot {
	char name[DNS_NAME_MAX + 1];
	int pref;
	struct dns_query *q4, *q6;
	struct dns_result *r4, *r6;
	struct dns_hosts_req *req;
};

struct dns_hosts_req {
	struct dns_ctx *ctx;
	struct dns_host_opts o;
	char domain[DNS_NAME_MAX + 2];
	void (*done)(void *arg, struct dns_hosts *h);
	void *arg;
	struct dns_query *mxq;
	bool mx_secure, implicit;
	struct slot slots[MX_LOOKUP_MAX];
	size_t nslots, outstanding;
};

void dns_hosts_free(struct dns_hosts *h)
{
	if (h) {
		free(h->host);
		free(h);
	}
}

static struct dns_hosts *new_hosts(enum dns_hosts_status st)
{
	struct dns_hosts *h = xcalloc(1, sizeof(*h));
	h->status = st;
	h->host = xcalloc(DNS_HOSTS_MAX, sizeof(*h->host));
	return h;
}

static void finish(struct dns_hosts_req *req, struct dns_hosts *h)
{
	void (*done)(void *, struct dns_hosts *) = req->done;
	void *arg = req->arg;
	dns_hosts_cancel(req);
	done(arg, h);
}

static bool add_host(struct dns_hosts *h, const struct dns_host_opts *o, const char *name, int pref,
                     int family, const unsigned char *addr, bool secure)
{
	size_t cap = o->max_addrs ? o->max_addrs : DNS_HOSTS_MAX;
	if (h->n >= cap)
		return false;
	for (size_t i = 0; i < h->n; i++)
		if (h->host[i].family == family &&
		    memcmp(h->host[i].addr, addr, family == AF_INET ? 4 : 16) == 0)
			return true; /* the same address under two names: once */
	struct dns_host *d = &h->host[h->n++];
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->family = family;
	memcpy(d->addr, addr, family == AF_INET ? 4 : 16);
	d->pref = pref;
	d->secure = secure;
	return true;
}

/* getaddrinfo for name; returns addresses added, -1 temporary failure. */
static int native_lookup(struct dns_hosts *h, const struct dns_host_opts *o, const char *name,
                         int pref)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	hints.ai_family = o->ipv4 && o->ipv6 ? AF_UNSPEC : o->ipv4 ? AF_INET : AF_INET6;
	int rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc != 0)
		return rc == EAI_AGAIN ? -1 : 0;
	int added = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		const unsigned char *a = NULL;
		if (ai->ai_family == AF_INET)
			a = (const unsigned char *)&((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = (const unsigned char *)&((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr;
		if (a && add_host(h, o, name, pref, ai->ai_family, a, false))
			added++;
	}
	freeaddrinfo(res);
	return added;
}

static void add_result(struct dns_hosts *h, const struct dns_host_opts *o, const struct slot *s,
                       const struct dns_result *r)
{
	if (r == NULL || r->status != DNS_OK)
		return;
	for (size_t i = 0; i < r->n; i++)
		add_host(h, o, s->name, s->pref, r->rr[i].family, r->rr[i].addr,
		         r->sec == DNS_SEC_SECURE);
}

/* All address answers are in: build the list in MX order. */
static void assemble(struct dns_hosts_req *req)
{
	struct dns_hosts *h = new_hosts(DNS_HOSTS_OK);
	const struct dns_host_opts *o = &req->o;
	bool temp = false;
	const struct dns_result *last = NULL;
	h->mx_secure = req->mx_secure;
	h->implicit = req->implicit;
	/*
	 * smtp_address_preference applies among hosts of equal MX
	 * preference: all their addresses of the preferred family first.
	 */
	for (size_t i = 0, j; i < req->nslots; i = j) {
		for (j = i + 1; j < req->nslots && req->slots[j].pref == req->slots[i].pref; j++)
			;
		for (int pass = 0; pass < (o->prefer ? 2 : 1); pass++) {
			for (size_t k = i; k < j; k++) {
				struct slot *s = &req->slots[k];
				const struct dns_result *a = s->r4, *b = s->r6;
				if (o->prefer == AF_INET6) {
					a = s->r6;
					b = s->r4;
				}
				if (o->prefer) {
					add_result(h, o, s, pass == 0 ? a : b);
				} else {
					add_result(h, o, s, a);
					add_result(h, o, s, b);
				}
				if (pass == 0) {
					if (a && (last = a)->status == DNS_TEMPFAIL)
						temp = true;
					if (b && (last = b)->status == DNS_TEMPFAIL)
						temp = true;
				}
			}
		}
		for (size_t k = i; k < j; k++) {
			struct slot *s = &req->slots[k];
			bool found = (s->r4 && s->r4->status == DNS_OK) || (s->r6 && s->r6->status == DNS_OK);
			if (!found && o->use_native && (!o->use_dns || !temp) &&
			    native_lookup(h, o, s->name, s->pref) < 0)
				temp = true;
		}
	}
	if (h->n > 0) {
		finish(req, h);
		return;
	}
	if (temp) {
		h->status = DNS_HOSTS_TEMPFAIL;
		snprintf(h->why, sizeof(h->why),
		         "Host or domain name not found. Name service error for name=%s type=%s: Host "
		         "not found, try again",
		         req->nslots ? req->slots[0].name : req->domain,
		         last ? dns_type_name(last->type) : "A");
	} else if (req->implicit || req->o.no_mx) {
		h->status = DNS_HOSTS_NOTFOUND;
		snprintf(h->why, sizeof(h->why),
		         "Host or domain name not found. Name service error for name=%s type=%s: Host "
		         "not found",
		         req->domain, last ? dns_type_name(last->type) : "A");
	} else {
		h->status = DNS_HOSTS_NOADDR;
		snprintf(h->why, sizeof(h->why), "Name service error for name=%s type=A: MX host %s has no address",
		         req->domain, req->nslots ? req->slots[0].name : "?");
	}
	finish(req, h);
}

static void on_addr(void *arg, struct dns_result *r)
{
	struct slot *s = arg;
	if (r->type == DNS_T_A) {
		s->q4 = NULL;
		s->r4 = r;
	} else {
		s->q6 = NULL;
		s->r6 = r;
	}
	if (--s->req->outstanding == 0)
		assemble(s->req);
}

static void start_addrs(struct dns_hosts_req *req)
{
	if (!req->o.use_dns) {
		assemble(req);
		return;
	}
	for (size_t i = 0; i < req->nslots; i++) {
		struct slot *s = &req->slots[i];
		s->req = req;
		if (req->o.ipv4) {
			req->outstanding++;
			s->q4 = dns_query(req->ctx, s->name, DNS_T_A, on_addr, s);
		}
		if (req->o.ipv6) {
			req->outstanding++;
			s->q6 = dns_query(req->ctx, s->name, DNS_T_AAAA, on_addr, s);
		}
	}
	if (req->outstanding == 0)
		assemble(req);
}

static void on_mx(void *arg, struct dns_result *r)
{
	struct dns_hosts_req *req = arg;
	req->mxq = NULL;
	req->mx_secure = r->sec == DNS_SEC_SECURE;
	if (r->status == DNS_OK) {
		/* RFC 7505: a single MX whose target is the root. */
		if (r->n == 1 && r->rr[0].name[0] == '\0') {
			struct dns_hosts *h = new_hosts(DNS_HOSTS_NULLMX);
			h->mx_secure = req->mx_secure;
			snprintf(h->why, sizeof(h->why), "Domain %s does not accept mail (nullMX)",
			         req->domain);
			dns_result_free(r);
			finish(req, h);
			return;
		}
		/* common/dns has sorted them and shuffled equal preferences. */
		for (size_t i = 0; i < r->n && req->nslots < MX_LOOKUP_MAX; i++) {
			if (r->rr[i].name[0] == '\0')
				continue;
			struct slot *s = &req->slots[req->nslots++];
			snprintf(s->name, sizeof(s->name), "%.*s", DNS_NAME_MAX, r->rr[i].name);
			s->pref = (int)r->rr[i].pref;
		}
		dns_result_free(r);
		start_addrs(req);
		return;
	}
	if (r->status == DNS_NODATA) {
		dns_result_free(r);
		req->implicit = true;
		snprintf(req->slots[0].name, sizeof(req->slots[0].name), "%.*s", DNS_NAME_MAX, req->domain);
		req->slots[0].pref = -1;
		req->nslots = 1;
		start_addrs(req);
		return;
	}
	struct dns_hosts *h = new_hosts(r->status == DNS_TEMPFAIL ? DNS_HOSTS_TEMPFAIL : DNS_HOSTS_NOTFOUND);
	h->mx_secure = req->mx_secure;
	snprintf(h->why, sizeof(h->why),
	         "Host or domain name not found. Name service error for name=%s type=MX: %s",
	         req->domain, r->status == DNS_TEMPFAIL ? "Host not found, try again" : "Host not found");
	dns_result_free(r);
	finish(req, h);
}

struct dns_hosts_req *dns_hosts_resolve(struct dns_ctx *ctx, const char *domain,
                                        const struct dns_host_opts *o,
                                        void (*done)(void *arg, struct dns_hosts *h), void *arg)
{
	struct netaddr_net a;
	char d[DNS_NAME_MAX + 2];
	snprintf(d, sizeof(d), "%s", domain);
	size_t len = strlen(d);
	if (len > 0 && d[len - 1] == '.')
		d[len - 1] = '\0';
	if (netaddr_parse_addr(d, &a)) {
		struct dns_hosts *h = new_hosts(DNS_HOSTS_OK);
		if ((a.family == AF_INET && o->ipv4) || (a.family == AF_INET6 && o->ipv6))
			add_host(h, o, d, -1, a.family, a.addr, false);
		if (h->n == 0) {
			h->status = DNS_HOSTS_NOTFOUND;
			snprintf(h->why, sizeof(h->why), "address family of %s not enabled in inet_protocols", d);
		}
		done(arg, h);
		return NULL;
	}
	if (!dns_name_ok(d) || strlen(domain) >= sizeof(d)) {
		struct dns_hosts *h = new_hosts(DNS_HOSTS_NOTFOUND);
		snprintf(h->why, sizeof(h->why), "malformed domain name: %.*s", DNS_NAME_MAX, domain);
		done(arg, h);
		return NULL;
	}
	struct dns_hosts_req *req = xcalloc(1, sizeof(*req));
	req->ctx = ctx;
	req->o = *o;
	snprintf(req->domain, sizeof(req->domain), "%.*s", DNS_NAME_MAX, d);
	req->done = done;
	req->arg = arg;
	if (o->no_mx) {
		snprintf(req->slots[0].name, sizeof(req->slots[0].name), "%.*s", DNS_NAME_MAX, d);
		req->slots[0].pref = -1;
		req->nslots = 1;
		bool sync = !o->use_dns;
		start_addrs(req);
		return sync ? NULL : req;
	}
	req->mxq = dns_query(ctx, d, DNS_T_MX, on_mx, req);
	return req;
}

void dns_hosts_cancel(struct dns_hosts_req *req)
{
	if (req == NULL)
		return;
	dns_cancel(req->mxq);
	for (size_t i = 0; i < req->nslots; i++) {
		dns_cancel(req->slots[i].q4);
		dns_cancel(req->slots[i].q6);
		dns_result_free(req->slots[i].r4);
		dns_result_free(req->slots[i].r6);
	}
	free(req);
}

static void sync_hosts(void *arg, struct dns_hosts *h)
{
	*(struct dns_hosts **)arg = h;
}

struct dns_hosts *dns_hosts_lookup(struct dns_ctx *ctx, const char *domain,
                                   const struct dns_host_opts *o)
{
	struct dns_hosts *h = NULL;
	struct dns_hosts_req *req = dns_hosts_resolve(ctx, domain, o, sync_hosts, &h);
	/* Each query is bounded by its timeout; the MX answer and then the
	 * address answers arrive, so at most two rounds of timeouts. */
	while (h == NULL && req != NULL && dns_pending(ctx) > 0)
		dns_run(ctx, NULL);
	if (h == NULL) {
		dns_hosts_cancel(req);
		h = new_hosts(DNS_HOSTS_TEMPFAIL);
		snprintf(h->why, sizeof(h->why), "lost lookup for %.*s", DNS_NAME_MAX, domain);
	}
	return h;
}

struct dns_query *dns_tlsa_query(struct dns_ctx *ctx, const char *host, unsigned port,
                                 dns_done_fn done, void *arg)
{
	char name[DNS_NAME_MAX + 32];
	snprintf(name, sizeof(name), "_%u._tcp.%s", port, host);
	return dns_query(ctx, name, DNS_T_TLSA, done, arg);
}

struct dns_result *dns_tlsa_lookup(struct dns_ctx *ctx, const char *host, unsigned port)
{
	char name[DNS_NAME_MAX + 32];
	snprintf(name, sizeof(name), "_%u._tcp.%s", port, host);
	return dns_lookup(ctx, name, DNS_T_TLSA);
}
