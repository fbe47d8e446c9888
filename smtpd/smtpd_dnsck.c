/*
 * smtpd_dnsck.c - DNS-based restrictions (see smtpd_dnsck.h).  Runs in
 * smtpd.  Untrusted input: DNS answers (parsed by common/dns: names in
 * the host name alphabet, bounded TXT), and the client's HELO name and
 * envelope addresses, which become query names only after
 * dns_name_ok().  Reply templates come from main.cf or rbl_reply_maps.
 */
#include "smtpd_dnsck.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "dns.h"
#include "xalloc.h"

#define MAXQ (2 * DNSCK_SERVERS_MAX)

enum op { OP_RBL, OP_HELO, OP_DOMAIN, OP_SERVERS };

struct dnsck_req {
	struct dns_ctx *dns;
	enum op op;
	struct dnsck_conf conf;
	/* facts */
	char client_addr[64], client_name[SMTP_HOST_MAX + 1], reverse_name[SMTP_HOST_MAX + 1];
	char helo[SMTP_HOST_MAX + 1], sender[SMTP_ADDR_MAX + 1], recipient[SMTP_ADDR_MAX + 1];
	/* RBL */
	enum dnsck_rbl_kind kind;
	char zone[DNS_NAME_MAX + 1], qname[DNS_NAME_MAX + 2], what[SMTP_ADDR_MAX + 1];
	const char *class;
	struct dnsck_filter flt;
	char listed[INET_ADDRSTRLEN];
	/* HELO / domain */
	bool recipient_side;
	char domain[DNS_NAME_MAX + 2];
	/* queries */
	struct dns_query *q[MAXQ];
	struct dns_result *r[MAXQ];
	size_t outstanding;
	/* servers */
	enum dnsck_server_type stype;
	struct dnsck_servers *sv;
	unsigned walk;
	dnsck_done_fn done;
	void (*sdone)(void *arg, const struct dnsck_servers *s);
	void *arg;
};

void dnsck_conf_init(struct dnsck_conf *c, struct cfg *cfg)
{
	memset(c, 0, sizeof(*c));
	c->rbl_code = (int)cfg_get_long(cfg, "maps_rbl_reject_code");
	c->unknown_client_code = (int)cfg_get_long(cfg, "unknown_client_reject_code");
	c->unknown_hostname_code = (int)cfg_get_long(cfg, "unknown_hostname_reject_code");
	c->unknown_address_code = (int)cfg_get_long(cfg, "unknown_address_reject_code");
	c->default_rbl_reply = cfg_get(cfg, "default_rbl_reply");
}

/* Copy, cutting at len - 1 bytes. */
static void copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct dnsck_req *new_req(struct dns_ctx *dns, const struct dnsck_conf *conf,
                                 const struct dnsck_facts *f, enum op op)
{
	struct dnsck_req *r = xcalloc(1, sizeof(*r));
	r->dns = dns;
	r->op = op;
	if (conf)
		r->conf = *conf;
	if (f) {
		copy(r->client_addr, sizeof(r->client_addr), f->client_addr);
		copy(r->client_name, sizeof(r->client_name), f->names ? f->names->name : "unknown");
		copy(r->reverse_name, sizeof(r->reverse_name),
		     f->names ? f->names->reverse_name : "unknown");
		copy(r->helo, sizeof(r->helo), f->helo);
		copy(r->sender, sizeof(r->sender), f->sender);
		copy(r->recipient, sizeof(r->recipient), f->recipient);
	}
	return r;
}

void dnsck_cancel(struct dnsck_req *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < MAXQ; i++) {
		dns_cancel(r->q[i]);
		dns_result_free(r->r[i]);
	}
	free(r->sv);
	free(r);
}

static void finish(struct dnsck_req *r, struct dnsck_result *res)
{
	dnsck_done_fn done = r->done;
	void *arg = r->arg;
	dnsck_cancel(r);
	done(arg, res);
}

static void set_reply(struct dnsck_result *res, enum dnsck_action a, int code, const char *dsn_tail,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* dsn_tail is the part after the class digit, e.g. "7.1". */
static void set_reply(struct dnsck_result *res, enum dnsck_action a, int code, const char *dsn_tail,
                      const char *fmt, ...)
{
	va_list ap;
	res->action = a;
	res->code = code;
	snprintf(res->dsn, sizeof(res->dsn), "%c.%s", code >= 500 ? '5' : '4', dsn_tail);
	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
}

/* ---- reply templates ---- */

static const char *var(const struct dnsck_vars *v, const char *name, size_t len)
{
	for (size_t i = 0; i < v->n; i++)
		if (strlen(v->names[i]) == len && strncmp(v->names[i], name, len) == 0)
			return v->values[i] ? v->values[i] : "";
	return "";
}

static bool expand(const char *t, size_t tlen, const struct dnsck_vars *v, char *out, size_t outlen,
                   size_t *w, int depth)
{
	if (depth > 4)
		return false;
	for (size_t i = 0; i < tlen;) {
		if (t[i] != '$' || i + 1 >= tlen) {
			if (*w + 1 >= outlen)
				return false;
			out[(*w)++] = t[i++];
			continue;
		}
		i++;
		const char *val;
		if (t[i] == '$') {
			val = "$";
			i++;
		} else if (t[i] == '{' || t[i] == '(') {
			char close = t[i] == '{' ? '}' : ')';
			size_t s = ++i, nd = 1, e;
			for (e = s; e < tlen && nd > 0; e++) {
				if (t[e] == t[s - 1])
					nd++;
				else if (t[e] == close)
					nd--;
			}
			if (nd != 0)
				return false;
			e--; /* at the closing brace */
			size_t n = s;
			while (n < e && (isalnum((unsigned char)t[n]) || t[n] == '_'))
				n++;
			val = var(v, t + s, n - s);
			i = e + 1;
			if (n < e && (t[n] == '?' || t[n] == ':')) {
				bool use = (t[n] == '?') == (val[0] != '\0');
				if (use && !expand(t + n + 1, e - n - 1, v, out, outlen, w, depth + 1))
					return false;
				continue;
			}
			if (n != e)
				return false;
		} else {
			size_t s = i;
			while (i < tlen && (isalnum((unsigned char)t[i]) || t[i] == '_'))
				i++;
			val = var(v, t + s, i - s);
		}
		size_t l = strlen(val);
		if (*w + l >= outlen)
			return false;
		memcpy(out + *w, val, l);
		*w += l;
	}
	out[*w] = '\0';
	return true;
}

bool dnsck_expand(const char *tmpl, const struct dnsck_vars *v, char *out, size_t outlen)
{
	size_t w = 0;
	if (outlen == 0)
		return false;
	out[0] = '\0';
	return expand(tmpl, strlen(tmpl), v, out, outlen, &w, 0);
}

static void addvar(struct dnsck_vars *v, const char *n, const char *val)
{
	if (v->n < sizeof(v->names) / sizeof(v->names[0])) {
		v->names[v->n] = n;
		v->values[v->n++] = val;
	}
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

static void local_part(const char *addr, char *out, size_t len)
{
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), addr);
}

/* Postfix's "450 4.7.1 text" from an expanded template. */
static void parse_reply(const char *s, int defcode, struct dnsck_result *res)
{
	int code = defcode;
	if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && (s[3] == ' ' || s[3] == '\0') && (s[0] == '4' || s[0] == '5')) {
		code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
		s += 3;
		while (*s == ' ')
			s++;
	}
	res->code = code;
	/* An enhanced status code of the same class, else x.7.1. */
	size_t n = strspn(s, "0123456789.");
	if (n >= 5 && n < sizeof(res->dsn) && s[0] == (char)('0' + code / 100) && s[1] == '.' &&
	    (s[n] == ' ' || s[n] == '\0')) {
		memcpy(res->dsn, s, n);
		res->dsn[n] = '\0';
		s += n;
		while (*s == ' ')
			s++;
	} else {
		snprintf(res->dsn, sizeof(res->dsn), "%c.7.1", code >= 500 ? '5' : '4');
	}
	snprintf(res->text, sizeof(res->text), "%s", s);
}

/* ---- DNSBL / DNSWL / RHSBL ---- */

static bool parse_octet_set(const char *s, size_t len, struct dnsck_filter *f, int k)
{
	if (len == 0)
		return false;
	if (s[0] != '[') {
		char buf[8];
		if (len > 3)
			return false;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (strspn(buf, "0123456789") != len || atoi(buf) > 255)
			return false;
		f->lo[k][0] = f->hi[k][0] = (unsigned char)atoi(buf);
		f->n[k] = 1;
		return true;
	}
	if (s[len - 1] != ']')
		return false;
	char buf[128];
	if (len - 2 >= sizeof(buf))
		return false;
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = '\0';
	if (strstr(buf, ";;") || buf[0] == ';' || (len > 2 && buf[len - 3] == ';'))
		return false;
	char *save, *item;
	for (item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *dots = strstr(item, "..");
		unsigned lo, hi;
		char *end;
		if (f->n[k] >= DNSCK_FILTER_RANGES)
			return false;
		lo = (unsigned)strtoul(item, &end, 10);
		if (end == item)
			return false;
		if (dots) {
			if (end != dots)
				return false;
			hi = (unsigned)strtoul(dots + 2, &end, 10);
			if (end == dots + 2)
				return false;
		} else {
			hi = lo;
		}
		if (*end != '\0' || lo > 255 || hi > 255 || lo > hi)
			return false;
		f->lo[k][f->n[k]] = (unsigned char)lo;
		f->hi[k][f->n[k]] = (unsigned char)hi;
		f->n[k]++;
	}
	return f->n[k] > 0;
}

bool dnsck_parse_spec(const char *spec, char *zone, size_t zonelen, struct dnsck_filter *flt,
                      char *err, size_t errlen)
{
	memset(flt, 0, sizeof(*flt));
	const char *eq = strchr(spec, '=');
	size_t zl = eq ? (size_t)(eq - spec) : strlen(spec);
	if (zl == 0 || zl >= zonelen) {
		snprintf(err, errlen, "bad DNS list domain: \"%.100s\"", spec);
		return false;
	}
	memcpy(zone, spec, zl);
	zone[zl] = '\0';
	if (zl > 0 && zone[zl - 1] == '.')
		zone[--zl] = '\0';
	if (!dns_name_ok(zone)) {
		snprintf(err, errlen, "bad DNS list domain: \"%.100s\"", zone);
		return false;
	}
	if (eq == NULL) {
		flt->any = true;
		return true;
	}
	const char *p = eq + 1;
	for (int k = 0; k < 4; k++) {
		const char *e = p;
		if (*e == '[') {
			e = strchr(e, ']');
			if (e == NULL)
				break;
			e++;
		} else {
			while (*e && *e != '.')
				e++;
		}
		if (!parse_octet_set(p, (size_t)(e - p), flt, k))
			break;
		if (k == 3) {
			if (*e == '\0')
				return true;
			break;
		}
		if (*e != '.')
			break;
		p = e + 1;
	}
	snprintf(err, errlen, "bad DNS list filter in \"%.100s\" (want d.d.d.d, d a number or [n;n..m])",
	         spec);
	return false;
}

bool dnsck_filter_match(const struct dnsck_filter *f, const unsigned char a[4])
{
	if (f->any)
		return true;
	for (int k = 0; k < 4; k++) {
		bool ok = false;
		for (unsigned i = 0; i < f->n[k] && !ok; i++)
			ok = a[k] >= f->lo[k][i] && a[k] <= f->hi[k][i];
		if (!ok)
			return false;
	}
	return true;
}

static const char *rbl_class(enum dnsck_rbl_kind k)
{
	switch (k) {
	case DNSCK_RBL_CLIENT:
	case DNSCK_DNSWL_CLIENT:
	case DNSCK_RHSBL_CLIENT:
		return "Client host";
	case DNSCK_RHSBL_REVERSE_CLIENT:
		return "Unverified Client host";
	case DNSCK_RHSBL_HELO:
		return "Helo command";
	case DNSCK_RHSBL_SENDER:
		return "Sender address";
	case DNSCK_RHSBL_RECIPIENT:
		return "Recipient address";
	}
	return "Client host";
}

static void rbl_reply(struct dnsck_req *r, const char *txt, struct dnsck_result *res)
{
	struct dnsck_vars v = {0};
	char code[8], client[SMTP_HOST_MAX + 80], expanded[DNSCK_TEXT_MAX];
	snprintf(code, sizeof(code), "%d", r->conf.rbl_code);
	snprintf(client, sizeof(client), "%s[%s]", r->client_name, r->client_addr);
	const char *sd = domain_of(r->sender), *rd = domain_of(r->recipient);
	char sname[SMTP_ADDR_MAX + 1], rname[SMTP_ADDR_MAX + 1];
	local_part(r->sender, sname, sizeof(sname));
	local_part(r->recipient, rname, sizeof(rname));
	addvar(&v, "rbl_code", code);
	addvar(&v, "rbl_domain", r->zone);
	addvar(&v, "rbl_what", r->what);
	addvar(&v, "rbl_class", r->class);
	addvar(&v, "rbl_reason", txt);
	addvar(&v, "rbl_txt", txt);
	addvar(&v, "client", client);
	addvar(&v, "client_address", r->client_addr);
	addvar(&v, "client_name", r->client_name);
	addvar(&v, "reverse_client_name", r->reverse_name);
	addvar(&v, "helo_name", r->helo);
	addvar(&v, "sender", r->sender);
	addvar(&v, "sender_name", sname);
	addvar(&v, "sender_domain", sd);
	addvar(&v, "recipient", r->recipient);
	addvar(&v, "recipient_name", rname);
	addvar(&v, "recipient_domain", rd);
	const char *tmpl = NULL;
	if (r->conf.rbl_reply_lookup)
		tmpl = r->conf.rbl_reply_lookup(r->conf.rbl_reply_arg, r->zone);
	if (tmpl == NULL)
		tmpl = r->conf.default_rbl_reply ? r->conf.default_rbl_reply
		                                 : "$rbl_code Service unavailable; $rbl_class [$rbl_what] "
		                                   "blocked using $rbl_domain${rbl_reason?; $rbl_reason}";
	if (!dnsck_expand(tmpl, &v, expanded, sizeof(expanded)))
		snprintf(expanded, sizeof(expanded), "%s Service unavailable; %s [%s] blocked using %s",
		         code, r->class, r->what, r->zone);
	parse_reply(expanded, r->conf.rbl_code, res);
	res->action = DNSCK_REJECT;
}

static void rbl_on_txt(void *arg, struct dns_result *d)
{
	struct dnsck_req *r = arg;
	struct dnsck_result res = {0};
	r->q[1] = NULL;
	rbl_reply(r, d->status == DNS_OK ? d->rr[0].text : "", &res);
	snprintf(res.detail, sizeof(res.detail), "%s listed by %s (%s)%s%s", r->what, r->zone,
	         r->listed, d->status == DNS_OK ? ": " : "", d->status == DNS_OK ? d->rr[0].text : "");
	dns_result_free(d);
	finish(r, &res);
}

static void rbl_on_a(void *arg, struct dns_result *d)
{
	struct dnsck_req *r = arg;
	struct dnsck_result res = {0};
	r->q[0] = NULL;
	for (size_t i = 0; d->status == DNS_OK && i < d->n && !r->listed[0]; i++)
		if (d->rr[i].family == AF_INET && dnsck_filter_match(&r->flt, d->rr[i].addr))
			inet_ntop(AF_INET, d->rr[i].addr, r->listed, sizeof(r->listed));
	if (!r->listed[0]) {
		res.action = DNSCK_DUNNO;
		snprintf(res.detail, sizeof(res.detail), "%s: %s%s%s", r->qname,
		         dns_status_name(d->status), d->why[0] ? ", " : "",
		         d->status == DNS_OK ? "no matching address" : d->why);
		dns_result_free(d);
		finish(r, &res);
		return;
	}
	dns_result_free(d);
	if (r->kind == DNSCK_DNSWL_CLIENT) {
		res.action = DNSCK_PERMIT;
		snprintf(res.detail, sizeof(res.detail), "%s listed by %s (%s)", r->what, r->zone,
		         r->listed);
		finish(r, &res);
		return;
	}
	r->q[1] = dns_query(r->dns, r->qname, DNS_T_TXT, rbl_on_txt, r);
}

static bool literal_or_empty(const char *d)
{
	return d[0] == '\0' || d[0] == '[' || strchr(d, ':') != NULL;
}

bool dnsck_rbl(struct dns_ctx *dns, const struct dnsck_conf *conf, const struct dnsck_facts *f,
               enum dnsck_rbl_kind kind, const char *spec, dnsck_done_fn done, void *arg,
               struct dnsck_req **reqp, char *err, size_t errlen)
{
	struct dnsck_req *r = new_req(dns, conf, f, OP_RBL);
	struct dnsck_result res = {0};
	*reqp = NULL;
	if (!dnsck_parse_spec(spec, r->zone, sizeof(r->zone), &r->flt, err, errlen)) {
		dnsck_cancel(r);
		return false;
	}
	r->kind = kind;
	r->class = rbl_class(kind);
	r->done = done;
	r->arg = arg;
	char dom[SMTP_ADDR_MAX + 1] = "";
	bool ok = true;
	switch (kind) {
	case DNSCK_RBL_CLIENT:
	case DNSCK_DNSWL_CLIENT:
		copy(r->what, sizeof(r->what), r->client_addr);
		ok = f->client.family != 0 &&
		     dns_reverse_name(f->client.family, f->client.addr, r->zone, r->qname, sizeof(r->qname));
		break;
	case DNSCK_RHSBL_CLIENT:
	case DNSCK_RHSBL_REVERSE_CLIENT:
		copy(dom, sizeof(dom), kind == DNSCK_RHSBL_CLIENT ? r->client_name : r->reverse_name);
		if (strcmp(dom, "unknown") == 0)
			dom[0] = '\0';
		copy(r->what, sizeof(r->what), dom);
		break;
	case DNSCK_RHSBL_HELO:
		copy(dom, sizeof(dom), r->helo);
		copy(r->what, sizeof(r->what), dom);
		break;
	case DNSCK_RHSBL_SENDER:
	case DNSCK_RHSBL_RECIPIENT: {
		const char *a = kind == DNSCK_RHSBL_SENDER ? r->sender : r->recipient;
		copy(dom, sizeof(dom), domain_of(a));
		copy(r->what, sizeof(r->what), a);
		break;
	}
	}
	if (kind != DNSCK_RBL_CLIENT && kind != DNSCK_DNSWL_CLIENT) {
		size_t l = strlen(dom);
		if (l > 0 && dom[l - 1] == '.')
			dom[l - 1] = '\0';
		int n = snprintf(r->qname, sizeof(r->qname), "%s.%s", dom, r->zone);
		ok = !literal_or_empty(dom) && n > 0 && (size_t)n < sizeof(r->qname);
	}
	if (!ok || !dns_name_ok(r->qname) || dns == NULL) {
		res.action = DNSCK_DUNNO;
		snprintf(res.detail, sizeof(res.detail), "%s: nothing to look up in %s",
		         dns == NULL ? "no resolver" : r->what[0] ? r->what : "(none)", r->zone);
		finish(r, &res);
		return true;
	}
	r->q[0] = dns_query(dns, r->qname, DNS_T_A, rbl_on_a, r);
	*reqp = r;
	return true;
}

/* ---- reject_unknown_client_hostname ---- */

void dnsck_unknown_client(const struct dnsck_conf *conf, const struct dnsck_facts *f,
                          bool reverse, struct dnsck_result *out)
{
	memset(out, 0, sizeof(*out));
	enum smtpd_name_status st = f->names == NULL ? SMTPD_NAME_PERM
	                            : reverse        ? f->names->reverse_status
	                                             : f->names->name_status;
	const char *what = reverse ? "reverse hostname" : "hostname";
	if (st == SMTPD_NAME_OK) {
		out->action = DNSCK_DUNNO;
		snprintf(out->detail, sizeof(out->detail), "client %s known", what);
		return;
	}
	if (st == SMTPD_NAME_TEMP) {
		set_reply(out, DNSCK_DEFER, 450, "7.25", "Client host rejected: cannot find your %s, [%s]",
		          what, f->client_addr ? f->client_addr : "");
		out->tempfail_param = "reject_tempfail_action";
	} else {
		set_reply(out, DNSCK_REJECT, conf->unknown_client_code, "7.25",
		          "Client host rejected: cannot find your %s, [%s]", what,
		          f->client_addr ? f->client_addr : "");
	}
	snprintf(out->detail, sizeof(out->detail), "client %s status %d", what, (int)st);
}

/* ---- reject_unknown_helo_hostname, reject_unknown_*_domain ---- */

static void multi_done(struct dnsck_req *r);

static void on_multi(void *arg, struct dns_result *d)
{
	struct dnsck_req *r = arg;
	/* Results are matched by type: each type is asked once. */
	size_t i = d->type == DNS_T_MX ? 0 : d->type == DNS_T_A ? 1 : 2;
	r->q[i] = NULL;
	r->r[i] = d;
	if (--r->outstanding == 0)
		multi_done(r);
}

static int status_of(const struct dnsck_req *r, size_t i)
{
	return r->r[i] ? (int)r->r[i]->status : -1;
}

static void multi_done(struct dnsck_req *r)
{
	struct dnsck_result res = {0};
	int mx = status_of(r, 0), a = status_of(r, 1), aaaa = status_of(r, 2);
	bool temp = mx == DNS_TEMPFAIL || a == DNS_TEMPFAIL || aaaa == DNS_TEMPFAIL;
	snprintf(res.detail, sizeof(res.detail), "%s: MX %s, A %s, AAAA %s", r->domain,
	         mx < 0 ? "-" : dns_status_name(mx), a < 0 ? "-" : dns_status_name(a),
	         aaaa < 0 ? "-" : dns_status_name(aaaa));
	if (r->op == OP_HELO) {
		if (mx == DNS_OK || a == DNS_OK || aaaa == DNS_OK) {
			res.action = DNSCK_DUNNO;
		} else if (temp) {
			set_reply(&res, DNSCK_DEFER, 450, "7.1", "<%s>: Helo command rejected: Host not found",
			          r->helo);
			res.tempfail_param = "unknown_helo_hostname_tempfail_action";
		} else {
			set_reply(&res, DNSCK_REJECT, r->conf.unknown_hostname_code, "7.1",
			          "<%s>: Helo command rejected: Host not found", r->helo);
		}
		finish(r, &res);
		return;
	}
	const char *addr = r->recipient_side ? r->recipient : r->sender;
	const char *cls = r->recipient_side ? "Recipient address" : "Sender address";
	const char *nf = r->recipient_side ? "1.2" : "1.8";
	struct dns_result *m = r->r[0];
	if (mx == DNS_OK && m->n == 1 && m->rr[0].name[0] == '\0') {
		/* RFC 7505 null MX: 550 5.7.27 for senders, 556 5.1.10 for recipients. */
		set_reply(&res, DNSCK_REJECT, r->recipient_side ? 556 : 550,
		          r->recipient_side ? "1.10" : "7.27",
		          "<%s>: %s rejected: Domain %s does not accept mail (nullMX)", addr, cls, r->domain);
	} else if (mx == DNS_OK) {
		res.action = DNSCK_DUNNO;
	} else if (mx == DNS_PERMFAIL && m->skipped > 0) {
		set_reply(&res, DNSCK_REJECT, r->conf.unknown_address_code, nf,
		          "<%s>: %s rejected: Malformed DNS server reply", addr, cls);
	} else if (a == DNS_OK || aaaa == DNS_OK) {
		res.action = DNSCK_DUNNO;
	} else if (temp) {
		set_reply(&res, DNSCK_DEFER, 450, nf, "<%s>: %s rejected: Domain not found", addr, cls);
		res.tempfail_param = "unknown_address_tempfail_action";
	} else {
		set_reply(&res, DNSCK_REJECT, r->conf.unknown_address_code, nf,
		          "<%s>: %s rejected: Domain not found", addr, cls);
	}
	finish(r, &res);
}

static struct dnsck_req *start_multi(struct dnsck_req *r, const char *name)
{
	struct dnsck_result res = {0};
	size_t l;
	copy(r->domain, sizeof(r->domain), name);
	l = strlen(r->domain);
	if (l > 0 && r->domain[l - 1] == '.')
		r->domain[l - 1] = '\0';
	if (literal_or_empty(r->domain) || !dns_name_ok(r->domain)) {
		res.action = DNSCK_DUNNO;
		snprintf(res.detail, sizeof(res.detail), "%s: not a domain name",
		         r->domain[0] ? r->domain : "(none)");
		finish(r, &res);
		return NULL;
	}
	if (r->dns == NULL) {
		/* No resolver: as if every lookup failed for now. */
		static const enum dns_type t[3] = {DNS_T_MX, DNS_T_A, DNS_T_AAAA};
		for (size_t i = 0; i < 3; i++) {
			r->r[i] = xcalloc(1, sizeof(*r->r[i]));
			r->r[i]->type = t[i];
			r->r[i]->status = DNS_TEMPFAIL;
		}
		multi_done(r);
		return NULL;
	}
	r->outstanding = 3;
	r->q[0] = dns_query(r->dns, r->domain, DNS_T_MX, on_multi, r);
	r->q[1] = dns_query(r->dns, r->domain, DNS_T_A, on_multi, r);
	r->q[2] = dns_query(r->dns, r->domain, DNS_T_AAAA, on_multi, r);
	return r;
}

struct dnsck_req *dnsck_unknown_helo(struct dns_ctx *dns, const struct dnsck_conf *conf,
                                     const struct dnsck_facts *f, dnsck_done_fn done, void *arg)
{
	struct dnsck_req *r = new_req(dns, conf, f, OP_HELO);
	r->done = done;
	r->arg = arg;
	return start_multi(r, r->helo);
}

struct dnsck_req *dnsck_unknown_domain(struct dns_ctx *dns, const struct dnsck_conf *conf,
                                       const struct dnsck_facts *f, bool recipient,
                                       dnsck_done_fn done, void *arg)
{
	struct dnsck_req *r = new_req(dns, conf, f, OP_DOMAIN);
	r->done = done;
	r->arg = arg;
	r->recipient_side = recipient;
	return start_multi(r, domain_of(recipient ? r->recipient : r->sender));
}

/* ---- check_*_{mx,ns,a}_access ---- */

static void servers_finish(struct dnsck_req *r)
{
	void (*done)(void *, const struct dnsck_servers *) = r->sdone;
	void *arg = r->arg;
	struct dnsck_servers *sv = r->sv;
	r->sv = NULL;
	dnsck_cancel(r);
	done(arg, sv);
	free(sv);
}

static void on_server_addr(void *arg, struct dns_result *d)
{
	struct dnsck_req *r = arg;
	for (size_t i = 0; i < MAXQ; i++) {
		if (r->q[i] == NULL)
			continue;
		/* slot i asks for server i/2: A when even, AAAA when odd */
		struct dnsck_server *s = &r->sv->server[i / 2];
		if ((i % 2 == 0) != (d->type == DNS_T_A) || strcmp(s->name, d->qname) != 0)
			continue;
		r->q[i] = NULL;
		for (size_t k = 0; d->status == DNS_OK && k < d->n && s->naddr < DNSCK_SERVER_ADDRS; k++)
			inet_ntop(d->rr[k].family, d->rr[k].addr, s->addr[s->naddr++], sizeof(s->addr[0]));
		break;
	}
	dns_result_free(d);
	if (--r->outstanding == 0)
		servers_finish(r);
}

static void server_addrs(struct dnsck_req *r)
{
	r->sv->status = DNS_OK;
	r->outstanding = 2 * r->sv->n;
	for (size_t i = 0; i < r->sv->n; i++) {
		r->q[2 * i] = dns_query(r->dns, r->sv->server[i].name, DNS_T_A, on_server_addr, r);
		r->q[2 * i + 1] = dns_query(r->dns, r->sv->server[i].name, DNS_T_AAAA, on_server_addr, r);
	}
	if (r->outstanding == 0)
		servers_finish(r);
}

static void on_server_names(void *arg, struct dns_result *d)
{
	struct dnsck_req *r = arg;
	r->q[0] = NULL;
	if (d->status == DNS_OK) {
		for (size_t i = 0; i < d->n && r->sv->n < DNSCK_SERVERS_MAX; i++)
			if (d->rr[i].name[0] != '\0')
				copy(r->sv->server[r->sv->n++].name, sizeof(r->sv->server[0].name), d->rr[i].name);
		dns_result_free(d);
		if (r->sv->n == 0) {
			r->sv->status = DNS_NODATA;
			snprintf(r->sv->why, sizeof(r->sv->why), "null MX");
			servers_finish(r);
			return;
		}
		server_addrs(r);
		return;
	}
	if (d->status == DNS_TEMPFAIL) {
		r->sv->status = DNS_TEMPFAIL;
		snprintf(r->sv->why, sizeof(r->sv->why), "%s", d->why);
		dns_result_free(d);
		servers_finish(r);
		return;
	}
	if (r->stype == DNSCK_MX && d->status == DNS_NODATA) {
		/* No MX: the domain itself, as the SMTP client would. */
		dns_result_free(d);
		copy(r->sv->server[0].name, sizeof(r->sv->server[0].name), r->domain);
		r->sv->n = 1;
		server_addrs(r);
		return;
	}
	const char *dot = strchr(d->qname, '.');
	if (r->stype == DNSCK_NS && dot && strchr(dot + 1, '.') && ++r->walk < DNSCK_NS_WALK_MAX) {
		/* No NS here: ask the parent (never the top-level domain). */
		char parent[DNS_NAME_MAX + 2];
		copy(parent, sizeof(parent), dot + 1);
		dns_result_free(d);
		r->q[0] = dns_query(r->dns, parent, DNS_T_NS, on_server_names, r);
		return;
	}
	r->sv->status = d->status;
	snprintf(r->sv->why, sizeof(r->sv->why), "%s", d->why);
	dns_result_free(d);
	servers_finish(r);
}

struct dnsck_req *dnsck_servers(struct dns_ctx *dns, enum dnsck_server_type type,
                                const char *domain,
                                void (*done)(void *arg, const struct dnsck_servers *s), void *arg)
{
	struct dnsck_req *r = new_req(dns, NULL, NULL, OP_SERVERS);
	r->sv = xcalloc(1, sizeof(*r->sv));
	r->stype = type;
	r->sdone = done;
	r->arg = arg;
	copy(r->domain, sizeof(r->domain), domain);
	size_t l = strlen(r->domain);
	if (l > 0 && r->domain[l - 1] == '.')
		r->domain[l - 1] = '\0';
	if (literal_or_empty(r->domain) || !dns_name_ok(r->domain) || dns == NULL) {
		r->sv->status = DNS_PERMFAIL;
		snprintf(r->sv->why, sizeof(r->sv->why), "%s", dns ? "not a domain name" : "no resolver");
		servers_finish(r);
		return NULL;
	}
	if (type == DNSCK_A) {
		copy(r->sv->server[0].name, sizeof(r->sv->server[0].name), r->domain);
		r->sv->n = 1;
		server_addrs(r);
		return r;
	}
	r->q[0] = dns_query(dns, r->domain, type == DNSCK_MX ? DNS_T_MX : DNS_T_NS, on_server_names, r);
	return r;
}
