/*
 * smtpd_check.c - the restriction chain (see smtpd_check.h).  Runs in
 * smtpd and in `postern probe`.  Untrusted input: the client's HELO
 * name, addresses and the answers of DNS and policy hooks (the latter as
 * access(5) values, parsed here by one bounded parser); restriction lists
 * and tables are trusted configuration.
 *
 * Lists are compiled once into arrays of operations.  Evaluation is an
 * explicit stack of (list, position) frames rather than recursion, so
 * that a restriction waiting for the network can pause the whole run
 * and continue later from the event loop.
 */
#include "smtpd_check.h"
#include "smtpd_check_int.h"

#include <ctype.h>
#include <event2/event.h>
#include <stdarg.h>
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
#include "smtpd_policy_req.h"
#include "smtpd_route.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

/* What a restriction needs after its name. */
enum argk { A_NONE, A_MAP, A_NUM, A_DNS_OPT, A_DNS_REQ, A_DNS_MAP, A_POLICY };

static const struct {
	const char *name;
	enum op op;
	enum argk arg;
} known[] = {
    {"permit", OP_PERMIT, A_NONE},
    {"reject", OP_REJECT, A_NONE},
    {"defer", OP_DEFER, A_NONE},
    {"defer_if_permit", OP_DEFER_IF_PERMIT, A_NONE},
    {"defer_if_reject", OP_DEFER_IF_REJECT, A_NONE},
    {"warn_if_reject", OP_WARN_IF_REJECT, A_NONE},
    {"reject_unauth_pipelining", OP_REJECT_UNAUTH_PIPELINING, A_NONE},
    {"sleep", OP_SLEEP, A_NUM},
    {"permit_mynetworks", OP_PERMIT_MYNETWORKS, A_NONE},
    {"permit_sasl_authenticated", OP_PERMIT_SASL, A_NONE},
    {"permit_tls_clientcerts", OP_PERMIT_TLS_CLIENTCERTS, A_NONE},
    {"permit_tls_all_clientcerts", OP_PERMIT_TLS_ALL_CLIENTCERTS, A_NONE},
    {"check_client_access", OP_CHECK_CLIENT_ACCESS, A_MAP},
    {"check_reverse_client_hostname_access", OP_CHECK_REVERSE_CLIENT_ACCESS, A_MAP},
    {"check_ccert_access", OP_CHECK_CCERT_ACCESS, A_MAP},
    {"check_sasl_access", OP_CHECK_SASL_ACCESS, A_MAP},
    {"check_helo_access", OP_CHECK_HELO_ACCESS, A_MAP},
    {"reject_invalid_helo_hostname", OP_REJECT_INVALID_HELO, A_NONE},
    {"reject_invalid_hostname", OP_REJECT_INVALID_HELO, A_NONE},
    {"reject_non_fqdn_helo_hostname", OP_REJECT_NON_FQDN_HELO, A_NONE},
    {"reject_non_fqdn_hostname", OP_REJECT_NON_FQDN_HELO, A_NONE},
    {"check_sender_access", OP_CHECK_SENDER_ACCESS, A_MAP},
    {"reject_non_fqdn_sender", OP_REJECT_NON_FQDN_SENDER, A_NONE},
    {"reject_unlisted_sender", OP_REJECT_UNLISTED_SENDER, A_NONE},
    {"reject_sender_login_mismatch", OP_SLM, A_NONE},
    {"reject_known_sender_login_mismatch", OP_SLM_KNOWN, A_NONE},
    {"reject_authenticated_sender_login_mismatch", OP_SLM_AUTH, A_NONE},
    {"reject_unauthenticated_sender_login_mismatch", OP_SLM_UNAUTH, A_NONE},
    {"permit_auth_destination", OP_PERMIT_AUTH_DEST, A_NONE},
    {"reject_unauth_destination", OP_REJECT_UNAUTH_DEST, A_NONE},
    {"defer_unauth_destination", OP_DEFER_UNAUTH_DEST, A_NONE},
    {"check_recipient_access", OP_CHECK_RCPT_ACCESS, A_MAP},
    {"reject_non_fqdn_recipient", OP_REJECT_NON_FQDN_RCPT, A_NONE},
    {"reject_unlisted_recipient", OP_REJECT_UNLISTED_RCPT, A_NONE},
    {"check_recipient_maps", OP_REJECT_UNLISTED_RCPT, A_NONE},
    {"reject_multi_recipient_bounce", OP_REJECT_MULTI_RCPT_BOUNCE, A_NONE},
    {"check_policy_service", OP_POLICY, A_POLICY},
    /* DNS: the hook does the work. */
    {"reject_rbl_client", OP_DNS, A_DNS_REQ},
    {"permit_dnswl_client", OP_DNS, A_DNS_REQ},
    {"reject_rhsbl_client", OP_DNS, A_DNS_REQ},
    {"reject_rhsbl_reverse_client", OP_DNS, A_DNS_REQ},
    {"reject_rhsbl_helo", OP_DNS, A_DNS_REQ},
    {"reject_rhsbl_sender", OP_DNS, A_DNS_REQ},
    {"reject_rhsbl_recipient", OP_DNS, A_DNS_REQ},
    {"permit_rhswl_client", OP_DNS, A_DNS_REQ},
    {"reject_unknown_client_hostname", OP_DNS, A_NONE},
    {"reject_unknown_client", OP_DNS, A_NONE},
    {"reject_unknown_reverse_client_hostname", OP_DNS, A_NONE},
    {"reject_unknown_helo_hostname", OP_DNS, A_NONE},
    {"reject_unknown_hostname", OP_DNS, A_NONE},
    {"reject_unknown_sender_domain", OP_DNS, A_NONE},
    {"reject_unknown_recipient_domain", OP_DNS, A_NONE},
    {"check_client_a_access", OP_DNS, A_DNS_MAP},
    {"check_client_mx_access", OP_DNS, A_DNS_MAP},
    {"check_client_ns_access", OP_DNS, A_DNS_MAP},
    {"check_reverse_client_hostname_a_access", OP_DNS, A_DNS_MAP},
    {"check_reverse_client_hostname_mx_access", OP_DNS, A_DNS_MAP},
    {"check_reverse_client_hostname_ns_access", OP_DNS, A_DNS_MAP},
    {"check_helo_a_access", OP_DNS, A_DNS_MAP},
    {"check_helo_mx_access", OP_DNS, A_DNS_MAP},
    {"check_helo_ns_access", OP_DNS, A_DNS_MAP},
    {"check_sender_a_access", OP_DNS, A_DNS_MAP},
    {"check_sender_mx_access", OP_DNS, A_DNS_MAP},
    {"check_sender_ns_access", OP_DNS, A_DNS_MAP},
    {"check_recipient_a_access", OP_DNS, A_DNS_MAP},
    {"check_recipient_mx_access", OP_DNS, A_DNS_MAP},
    {"check_recipient_ns_access", OP_DNS, A_DNS_MAP},
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

static const char *stage_param[CHK_NSTAGES] = {
    "smtpd_client_restrictions",   "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",   "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions", "smtpd_data_restrictions",
    "smtpd_end_of_data_restrictions", "smtpd_etrn_restrictions",
};

const char *chk_stage_name(enum chk_stage st)
{
	static const char *n[CHK_NSTAGES] = {"client", "helo", "sender", "relay",
	                                     "recipient", "data", "end-of-data", "etrn"};
	return st < CHK_NSTAGES ? n[st] : "?";
}

/* --- compiling ------------------------------------------------------- */

static struct map *open_table(const char *spec, const char *what)
{
	char err[512];
	struct map *m = map_open(spec, 0, err, sizeof(err));
	if (m == NULL)
		log_warn("%s: cannot open %s: %s (lookups will fail temporarily)", what, spec, err);
	return m;
}

static struct list *find_class(struct chk *c, const char *name)
{
	for (size_t i = 0; i < c->nclasses; i++)
		if (strcasecmp(c->class_names[i], name) == 0)
			return &c->classes[i];
	return NULL;
}

/* Compile text (a list) into l.  Returns false with err set. */
static bool compile(struct chk *c, const char *text, const char *what, struct list *l,
                    bool dynamic, char *err, size_t errlen)
{
	char **items;
	err[0] = '\0';
	memset(l, 0, sizeof(*l));
	l->name = xstrdup(what);
	if (strlist_split(text, NULL, CHK_LIST_MAX, &items, err, errlen) < 0)
		return false;
	size_t cnt = 0;
	while (items[cnt])
		cnt++;
	l->v = xcalloc(cnt + 1, sizeof(*l->v));
	for (size_t i = 0; i < cnt && err[0] == '\0'; i++) {
		struct item *it = &l->v[l->n];
		const char *w = items[i];
		size_t k;
		for (k = 0; k < NKNOWN; k++)
			if (strcasecmp(w, known[k].name) == 0)
				break;
		if (k == NKNOWN) {
			struct list *cl = find_class(c, w);
			if (cl == NULL && !dynamic) {
				/* Postfix starts and fails the requests that reach it */
				log_warn("%s: unknown restriction \"%s\": requests that reach it get "
				         "\"451 4.3.5 Server configuration error\"",
				         what, w);
				it->op = OP_UNKNOWN;
				it->arg = xstrdup(w);
				it->name = it->arg;
				l->n++;
				continue;
			}
			if (cl == NULL) {
				snprintf(err, errlen, "unknown restriction \"%s\"", w);
				break;
			}
			it->op = OP_CLASS;
			it->name = cl->name;
			it->sub = cl;
			l->n++;
			continue;
		}
		it->op = known[k].op;
		it->name = known[k].name;
		enum argk a = known[k].arg;
		const char *next = items[i + 1];
		bool has_next = next != NULL;
		if (a == A_MAP || a == A_DNS_MAP || a == A_NUM || a == A_POLICY || a == A_DNS_REQ) {
			if (!has_next) {
				snprintf(err, errlen, "restriction \"%s\" needs an argument", w);
				break;
			}
			it->arg = xstrdup(next);
			i++;
		}
		if (a == A_MAP || a == A_DNS_MAP) {
			if (strchr(it->arg, ':') == NULL) {
				snprintf(err, errlen, "%s: \"%s\" is not a type:table", w, it->arg);
				break;
			}
			if (dynamic) { /* share tables across runtime lists */
				size_t m;
				for (m = 0; m < c->nmaps; m++)
					if (strcmp(c->mapspecs[m], it->arg) == 0)
						break;
				if (m == c->nmaps && m < 256) {
					c->mapspecs[m] = xstrdup(it->arg);
					c->maps[m] = open_table(it->arg, what);
					c->nmaps++;
				}
				it->map = m < 256 ? c->maps[m] : NULL;
			} else {
				it->map = open_table(it->arg, what);
			}
		} else if (a == A_NUM) {
			if (!cfg_parse_long(it->arg, &it->num) || it->num < 0 || it->num > 3600) {
				snprintf(err, errlen, "%s: bad number \"%s\"", w, it->arg);
				break;
			}
		} else if (a == A_POLICY) {
			it->pol = policy_svc_new(c->cfg, it->arg, err, errlen);
			it->pol->next = c->policies;
			c->policies = it->pol;
		}
		l->n++;
	}
	strlist_free(items);
	return err[0] == '\0';
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		/* dynamic lists share c->maps; they are closed there */
		free(l->v[i].arg);
	}
	free(l->v);
	free(l->name);
}

static void list_close_maps(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].map)
			map_close(l->v[i].map);
}

/* Does the list hold a restriction that can stop relaying? */
static bool list_blocks_relay(const struct list *l, int depth)
{
	for (size_t i = 0; i < l->n && depth < CHK_NEST_MAX; i++) {
		switch (l->v[i].op) {
		case OP_REJECT_UNAUTH_DEST:
		case OP_DEFER_UNAUTH_DEST:
		case OP_REJECT:
		case OP_DEFER:
		case OP_DEFER_IF_PERMIT:
			return true;
		default:
			break;
		}
	}
	return false;
}

/* The relay rule of compatibility_level >= 1. */
#define RELAY_DEFAULT "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination"

/*
 * A stage's list.  compatibility_level below 1 leaves
 * smtpd_relay_restrictions empty by default; when the admin did not set
 * it, the rule of every later level applies (never an open relay).
 */
static const char *chk_stage_text(struct cfg *cfg, enum chk_stage st)
{
	const char *v = cfg_get(cfg, stage_param[st]);
	if (st == CHK_RELAY && *v == '\0' && !cfg_is_set(cfg, "smtpd_relay_restrictions"))
		return RELAY_DEFAULT;
	return v;
}

struct chk *chk_init(struct cfg *cfg, struct route *route)
{
	struct chk *c = xcalloc(1, sizeof(*c));
	char err[512];
	c->cfg = cfg;
	c->route = route;
	c->delay_reject = cfg_get_bool(cfg, "smtpd_delay_reject");
	c->relay_first = cfg_get_bool(cfg, "smtpd_relay_before_recipient_restrictions");
	c->unlisted_rcpt = cfg_get_bool(cfg, "smtpd_reject_unlisted_recipient");
	c->unlisted_sender = cfg_get_bool(cfg, "smtpd_reject_unlisted_sender");
	c->parent_style = strstr(cfg_get(cfg, "parent_domain_matches_subdomains"),
	                         "smtpd_access_maps") != NULL;
	c->delimiters = xstrdup(cfg_get(cfg, "recipient_delimiter"));
	c->null_key = xstrdup(cfg_get(cfg, "smtpd_null_access_lookup_key"));
	c->access_reject_code = cfg_get_long(cfg, "access_map_reject_code");
	c->access_defer_code = cfg_get_long(cfg, "access_map_defer_code");
	c->reject_code = cfg_get_long(cfg, "reject_code");
	c->defer_code = cfg_get_long(cfg, "defer_code");
	c->relay_code = cfg_get_long(cfg, "relay_domains_reject_code");
	c->invalid_helo_code = cfg_get_long(cfg, "invalid_hostname_reject_code");
	c->non_fqdn_code = cfg_get_long(cfg, "non_fqdn_reject_code");
	c->unknown_local_code = cfg_get_long(cfg, "unknown_local_recipient_reject_code");
	c->mrb_code = cfg_get_long(cfg, "multi_recipient_bounce_reject_code");
	c->unauth_pipe_code = 554;
	c->dns = chk_dns_unsupported;

	/* Classes first: lists name them.  A class may name a class
	 * defined before it. */
	char **names;
	if (strlist_split(cfg_get(cfg, "smtpd_restriction_classes"), NULL, CHK_LIST_MAX, &names,
	                  err, sizeof(err)) < 0)
		log_fatal("smtpd_restriction_classes: %s", err);
	size_t n = 0;
	while (names[n])
		n++;
	c->class_names = names;
	c->classes = xcalloc(n + 1, sizeof(*c->classes));
	for (size_t i = 0; i < n; i++) {
		if (find_class(c, names[i]) != NULL)
			log_fatal("smtpd_restriction_classes: \"%s\" is listed twice", names[i]);
		const char *v = cfg_get(cfg, names[i]);
		if (!compile(c, v, names[i], &c->classes[i], false, err, sizeof(err)))
			log_fatal("restriction class %s: %s", names[i], err);
		c->nclasses++;
	}
	for (int st = 0; st < CHK_NSTAGES; st++)
		if (!compile(c, chk_stage_text(cfg, (enum chk_stage)st), stage_param[st], &c->stage[st],
		             false, err, sizeof(err)))
			log_fatal("%s: %s", stage_param[st], err);

	/* As Postfix: refuse to run as an open relay. */
	if (!list_blocks_relay(&c->stage[CHK_RELAY], 0) && !list_blocks_relay(&c->stage[CHK_RCPT], 0))
		log_fatal("in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, "
		          "specify at least one working instance of: reject_unauth_destination, "
		          "defer_unauth_destination, reject, defer, defer_if_permit or "
		          "check_relay_domains");

	char **items;
	if (strlist_split(cfg_get(cfg, "smtpd_sender_login_maps"), NULL, 16, &items, err,
	                  sizeof(err)) < 0)
		log_fatal("smtpd_sender_login_maps: %s", err);
	for (size_t i = 0; items[i]; i++)
		c->login_maps[c->nlogin_maps++] = open_table(items[i], "smtpd_sender_login_maps");
	strlist_free(items);
	const char *rc = cfg_get(cfg, "relay_clientcerts");
	if (*rc)
		c->relay_certs = open_table(rc, "relay_clientcerts");
	return c;
}

void chk_free(struct chk *c)
{
	if (c == NULL)
		return;
	for (int st = 0; st < CHK_NSTAGES; st++) {
		list_close_maps(&c->stage[st]);
		list_free(&c->stage[st]);
	}
	for (size_t i = 0; i < c->nclasses; i++) {
		list_close_maps(&c->classes[i]);
		list_free(&c->classes[i]);
	}
	free(c->classes);
	strlist_free(c->class_names);
	for (size_t i = 0; i < c->ndyn; i++) {
		list_free(c->dyn[i].l);
		free(c->dyn[i].l);
		free(c->dyn[i].text);
	}
	for (size_t i = 0; i < c->nmaps; i++) {
		if (c->maps[i])
			map_close(c->maps[i]);
		free(c->mapspecs[i]);
	}
	for (struct chk_policy_svc *p = c->policies, *nx; p; p = nx) {
		nx = p->next;
		policy_svc_free(p);
	}
	for (size_t i = 0; i < c->nlogin_maps; i++)
		if (c->login_maps[i])
			map_close(c->login_maps[i]);
	if (c->relay_certs)
		map_close(c->relay_certs);
	free(c->delimiters);
	free(c->null_key);
	free(c);
}

void chk_set_dns(struct chk *c, chk_dns_fn fn, chk_cancel_fn cancel, void *ctx)
{
	c->dns = fn ? fn : chk_dns_unsupported;
	c->dns_cancel = cancel;
	c->dns_ctx = ctx;
}

void chk_set_policy(struct chk *c, chk_policy_fn fn, chk_cancel_fn cancel, void *ctx)
{
	c->policy = fn;
	c->policy_cancel = cancel;
	c->policy_ctx = ctx;
}

void chk_set_event_base(struct chk *c, struct event_base *base)
{
	c->base = base;
}

bool chk_delay_reject(const struct chk *c)
{
	return c->delay_reject;
}

bool chk_stage_empty(const struct chk *c, enum chk_stage st)
{
	return c->stage[st].n == 0;
}

struct chk_policy_svc *chk_policy_first(struct chk *c)
{
	return c->policies;
}

struct chk_policy_svc *chk_policy_next(struct chk_policy_svc *svc)
{
	return svc->next;
}

void chk_dns_unsupported(void *ctx, struct chk_run *run, const struct chk_dns_req *req)
{
	static char warned[64][48];
	static size_t nwarned;
	(void)ctx;
	size_t i;
	for (i = 0; i < nwarned; i++)
		if (strcmp(warned[i], req->restriction) == 0)
			break;
	if (i == nwarned && nwarned < 64) {
		snprintf(warned[nwarned++], sizeof(warned[0]), "%s", req->restriction);
		log_warn("%s is not yet supported (no DNS resolver): it answers \"dunno\"",
		         req->restriction);
	}
	chk_resume_reply(run, NULL, false);
}

/* --- transactions ------------------------------------------------------ */

struct chk_txn *chk_txn_new(void)
{
	return xcalloc(1, sizeof(struct chk_txn));
}

static void actions_clear(struct chk_actions *a)
{
	strlist_free(a->bcc);
	strlist_free(a->prepend);
	memset(a, 0, sizeof(*a));
}

static void sleep_cancel(struct chk_run *r)
{
	if (r->sleep_ev) {
		event_free(r->sleep_ev);
		r->sleep_ev = NULL;
	}
}

static void hook_cancel(struct chk_run *r)
{
	if (!r->waiting || r->c == NULL)
		return;
	r->waiting = false;
	chk_cancel_fn fn = r->hook_policy ? r->c->policy_cancel : r->c->dns_cancel;
	if (fn)
		fn(r->hook_policy ? r->c->policy_ctx : r->c->dns_ctx, r);
}

void chk_txn_free(struct chk_txn *t)
{
	if (t == NULL)
		return;
	hook_cancel(&t->run);
	sleep_cancel(&t->run);
	actions_clear(&t->act);
	free(t);
}

void chk_txn_reset(struct chk_txn *t)
{
	/* client and helo results stay: they belong to the session */
	t->passed[CHK_SENDER] = false;
	t->dip_saved[CHK_SENDER].active = false;
	actions_clear(&t->act);
}

const struct chk_actions *chk_txn_actions(const struct chk_txn *t)
{
	return &t->act;
}

void chk_set_trace(struct chk_txn *t, chk_trace_fn fn, void *ctx)
{
	t->trace = fn;
	t->trace_ctx = ctx;
}

void chk_cancel(struct chk_txn *t)
{
	hook_cancel(&t->run);
	sleep_cancel(&t->run);
	t->run.active = false;
	t->run.done = NULL;
	t->run.waiting = false;
}

void chk_trace(struct chk_run *r, const char *restriction, const char *fmt, ...)
{
	if (r->t->trace == NULL)
		return;
	char buf[CHK_REPLY_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->t->trace(r->t->trace_ctx, r->stages[r->cur], restriction, buf);
}

bool chk_list_for_value(struct chk_run *r, const char *value, const struct list **out)
{
	struct chk *c = r->c;
	char err[512];
	for (size_t i = 0; i < c->ndyn; i++)
		if (strcmp(c->dyn[i].text, value) == 0) {
			*out = c->dyn[i].l;
			return *out != NULL;
		}
	if (c->ndyn >= CHK_DYNAMIC_LISTS_MAX) {
		log_warn("too many different restriction lists in access tables (limit %d)",
		         CHK_DYNAMIC_LISTS_MAX);
		return false;
	}
	struct list *l = xcalloc(1, sizeof(*l));
	if (!compile(c, value, "access table result", l, true, err, sizeof(err))) {
		log_warn("access table result \"%s\": %s", value, err);
		list_free(l);
		free(l);
		l = NULL;
	}
	c->dyn[c->ndyn].text = xstrdup(value);
	c->dyn[c->ndyn++].l = l;
	*out = l;
	return l != NULL;
}

/* --- the evaluation loop ----------------------------------------------- */

static void stages_for(struct chk *c, struct chk_txn *t, enum chk_stage st, struct chk_run *r)
{
	r->nstages = 0;
	if (st == CHK_RCPT) {
		if (c->delay_reject) {
			for (int s = CHK_CLIENT; s <= CHK_SENDER; s++)
				if (!t->passed[s])
					r->stages[r->nstages++] = (enum chk_stage)s;
		}
		r->stages[r->nstages++] = c->relay_first ? CHK_RELAY : CHK_RCPT;
		r->stages[r->nstages++] = c->relay_first ? CHK_RCPT : CHK_RELAY;
	} else {
		r->stages[r->nstages++] = st;
	}
}

static void stage_start(struct chk_run *r)
{
	r->depth = 1;
	r->stack[0].l = &r->c->stage[r->stages[r->cur]];
	r->stack[0].i = 0;
	r->stack[0].warn = false;
	r->warn_next = false;
	r->dip.active = false;
	r->dir.active = false;
	chk_trace(r, "", "%s (%s)", stage_param[r->stages[r->cur]],
	      r->stack[0].l->n ? "evaluating" : "empty");
}

/* The stage ended with "no decision" or permit: next stage, or the end. */
static bool stage_passed(struct chk_run *r)
{
	enum chk_stage st = r->stages[r->cur];
	if (st <= CHK_SENDER) {
		r->t->passed[st] = true;
		r->t->dip_saved[st] = r->dip;
	}
	if (r->dip.active)
		r->t->dip_saved[st] = r->dip;
	r->cur++;
	if (r->cur >= r->nstages)
		return false;
	stage_start(r);
	return true;
}

static enum chk_verdict finish(struct chk_run *r, enum chk_verdict v)
{
	r->active = false;
	enum chk_stage last = r->stages[r->nstages - 1];
	if (last == CHK_RELAY)
		last = CHK_RCPT;
	if (v == CHK_DUNNO || v == CHK_OK) {
		/* defer_if_permit of this command's stages (and of the earlier
		 * ones it depends on) turns the permit into a deferral */
		for (int s = last == CHK_RCPT ? CHK_CLIENT : last; s <= (int)last; s++) {
			struct deferred *d = &r->t->dip_saved[s];
			if (d->active) {
				snprintf(r->t->reply, sizeof(r->t->reply), "%s", d->reply);
				if (s > CHK_SENDER)
					d->active = false;
				v = CHK_DEFER;
				break;
			}
		}
	}
	bool sender_stage = last == CHK_SENDER || (last == CHK_RCPT && r->c->delay_reject);
	if ((v == CHK_DUNNO || v == CHK_OK) && sender_stage && r->c->unlisted_sender && r->in.sender &&
	    r->in.sender[0]) {
		/* smtpd_reject_unlisted_sender: whatever the lists said */
		struct smtp_cmd sc;
		char rep[CHK_REPLY_MAX];
		if (chk_parse_addr(r->in.sender, &sc) == 0 &&
		    route_unlisted(r->c->route, &sc, true, rep, sizeof(rep)) != ROUTE_ACCEPT) {
			if (rep[0] == '5')
				snprintf(rep, sizeof(rep),
				         "%ld 5.1.0 <%s>: Sender address rejected: User unknown in local "
				         "recipient table",
				         r->c->unknown_local_code, r->in.sender);
			chk_trace(r, "smtpd_reject_unlisted_sender", "%s", rep);
			snprintf(r->t->reply, sizeof(r->t->reply), "%s", rep);
			v = rep[0] == '4' ? CHK_DEFER : CHK_REJECT;
		}
	}
	if ((v == CHK_DUNNO || v == CHK_OK) && last == CHK_RCPT && r->in.recipient &&
	    route_unlisted_default(r->c->route)) {
		/* smtpd_reject_unlisted_recipient: whatever the lists said */
		char rep[CHK_REPLY_MAX];
		if (r->rcmd_ok == 1 &&
		    route_unlisted(r->c->route, &r->rcmd, false, rep, sizeof(rep)) != ROUTE_ACCEPT) {
			if (rep[0] == '5')
				snprintf(rep, sizeof(rep),
				         "%ld 5.1.1 <%s>: Recipient address rejected: User unknown in "
				         "local recipient table",
				         r->c->unknown_local_code, r->in.recipient);
			chk_trace(r, "smtpd_reject_unlisted_recipient", "%s", rep);
			snprintf(r->t->reply, sizeof(r->t->reply), "%s", rep);
			v = rep[0] == '4' ? CHK_DEFER : CHK_REJECT;
		}
	}
	if (v == CHK_REJECT || v == CHK_DEFER)
		chk_log_event(r, "reject", r->t->reply);
	chk_trace(r, "", "final: %s", v == CHK_REJECT || v == CHK_DEFER ? r->t->reply : "accepted");
	return v;
}

/* Run until a decision or a pause. */
static enum chk_verdict loop(struct chk_run *r, enum res pending_result)
{
	enum res x = pending_result;
	bool have = pending_result != R_PENDING;
	r->looping = true;
	for (;;) {
		if (!have) {
			struct frame *f = &r->stack[r->depth - 1];
			if (f->i >= f->l->n) {
				if (--r->depth > 0)
					continue;
				if (!stage_passed(r)) {
					r->looping = false;
					return finish(r, CHK_DUNNO);
				}
				continue;
			}
			const struct item *it = &f->l->v[f->i++];
			x = chk_exec(r, it);
			if (x == R_PENDING) {
				if (r->waiting && r->hook_answered) {
					/* the hook answered at once */
					x = r->hook_is_access
					        ? chk_access_result(r, r->hook_result, r->reply_name, r->reply_class,
					                        r->hook_item->name)
					        : (r->hook_permit ? R_OK : R_DUNNO);
					if (!r->hook_is_access && r->hook_result[0] && !r->hook_permit)
						x = chk_reject(r, r->hook_result);
					r->waiting = false;
				} else {
					r->looping = false;
					return CHK_PENDING;
				}
			}
			if (it->op != OP_WARN_IF_REJECT && x != R_PUSH)
				r->warn_next = false;
			if (it->op != OP_WARN_IF_REJECT && x != R_PUSH)
				chk_trace(r, it->name, "%s", x == R_OK       ? "permit"
				                         : x == R_REJECT ? r->t->reply
				                                         : "dunno");
			if (x == R_PUSH) {
				if (r->depth >= CHK_NEST_MAX) {
					log_warn("restriction classes nested deeper than %d", CHK_NEST_MAX);
					x = chk_reject(r, "451 4.3.5 Server configuration error");
				} else {
					bool w = r->warn_next || r->stack[r->depth - 1].warn;
					r->warn_next = false;
					chk_trace(r, it->name, "entering %s", r->pushed->name);
					r->stack[r->depth].l = r->pushed;
					r->stack[r->depth].i = 0;
					r->stack[r->depth].warn = w;
					r->depth++;
					continue;
				}
			}
		}
		have = false;
		if (x == R_OK) {
			if (!stage_passed(r)) {
				r->looping = false;
				return finish(r, CHK_OK);
			}
		} else if (x == R_REJECT) {
			r->looping = false;
			return finish(r, r->t->reply[0] == '4' ? CHK_DEFER : CHK_REJECT);
		}
	}
}

static void run_async(struct chk_run *r, enum res x)
{
	enum chk_verdict v = loop(r, x);
	if (v != CHK_PENDING && r->done)
		r->done(r->ctx, v, r->t->reply);
}

void chk_sleep_done(evutil_socket_t fd, short what, void *arg)
{
	struct chk_run *r = arg;
	(void)fd;
	(void)what;
	sleep_cancel(r);
	chk_trace(r, "sleep", "waited");
	run_async(r, R_DUNNO);
}

static void resume_common(struct chk_run *r)
{
	if (!r->active || !r->waiting)
		return; /* cancelled, or answered twice */
	if (r->looping) {
		r->hook_answered = true;
		return;
	}
	r->waiting = false;
	enum res x;
	if (r->hook_is_access)
		x = chk_access_result(r, r->hook_result, r->reply_name, r->reply_class, r->hook_item->name);
	else if (r->hook_permit)
		x = R_OK;
	else if (r->hook_result[0])
		x = chk_reject(r, r->hook_result);
	else
		x = R_DUNNO;
	if (x == R_PUSH) { /* a list from a policy server: enter it */
		if (r->depth < CHK_NEST_MAX) {
			r->stack[r->depth].l = r->pushed;
			r->stack[r->depth].i = 0;
			r->stack[r->depth].warn = r->warn_next;
			r->depth++;
		}
		x = R_PENDING;
	}
	r->warn_next = false;
	chk_trace(r, r->hook_item->name, "%s", x == R_OK ? "permit" : x == R_REJECT ? r->t->reply : "dunno");
	run_async(r, x);
}

void chk_resume_reply(struct chk_run *r, const char *reply, bool permit)
{
	snprintf(r->hook_result, sizeof(r->hook_result), "%s", reply ? reply : "");
	r->hook_permit = permit;
	r->hook_is_access = false;
	resume_common(r);
}

void chk_resume_access(struct chk_run *r, const char *value)
{
	snprintf(r->hook_result, sizeof(r->hook_result), "%s", value ? value : "DUNNO");
	r->hook_permit = false;
	r->hook_is_access = true;
	resume_common(r);
}

void chk_resume_defer_if_permit(struct chk_run *r, const char *reply)
{
	snprintf(r->dip.reply, sizeof(r->dip.reply), "%s", reply);
	r->dip.active = true;
	chk_resume_reply(r, NULL, false);
}

enum chk_verdict chk_check(struct chk *c, struct chk_txn *t, enum chk_stage st, const char *cmd,
                           const struct chk_input *in, chk_done_fn done, void *ctx,
                           const char **reply)
{
	struct chk_run *r = &t->run;
	hook_cancel(r);
	sleep_cancel(r);
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->t = t;
	r->in = *in;
	r->done = done;
	r->ctx = ctx;
	r->active = true;
	snprintf(r->cmd, sizeof(r->cmd), "%s", cmd);
	if (in->sender) {
		snprintf(r->sender, sizeof(r->sender), "%s", in->sender);
		r->in.sender = r->sender;
	}
	if (in->recipient) {
		snprintf(r->recipient, sizeof(r->recipient), "%s", in->recipient);
		r->in.recipient = r->recipient;
	}
	if (in->recipient_ext)
		snprintf(r->rcpt_ext, sizeof(r->rcpt_ext), "%s", in->recipient_ext);
	if (in->rcpt_cmd) {
		r->rcmd = *in->rcpt_cmd;
		r->rcmd_ok = 1;
	} else if (in->recipient) {
		const char *a = in->recipient_ext ? in->recipient_ext : in->recipient;
		r->rcmd_ok = chk_parse_addr(a, &r->rcmd) == 0 ? 1 : -1;
	}
	r->in.rcpt_cmd = NULL;
	r->in.recipient_ext = NULL;
	snprintf(r->helo, sizeof(r->helo), "%s", in->helo ? in->helo : "");
	r->in.helo = r->helo;
	if (r->in.client_name == NULL)
		r->in.client_name = "unknown";
	if (r->in.client_addr == NULL)
		r->in.client_addr = "unknown";
	if (r->in.reverse_name == NULL)
		r->in.reverse_name = r->in.client_name;
	*reply = t->reply;
	t->reply[0] = '\0';
	if (st == CHK_SENDER || st == CHK_HELO || st == CHK_CLIENT)
		t->passed[st] = false;
	stages_for(c, t, st, r);
	if (r->nstages == 0)
		return CHK_DUNNO;
	stage_start(r);
	return loop(r, R_PENDING);
}

/* --- for postern check (tools/restrlint.c) ------------------------------ */

bool chk_known(const char *name, bool *takes_arg, bool *dns_zone)
{
	for (size_t k = 0; k < NKNOWN; k++)
		if (strcasecmp(name, known[k].name) == 0) {
			*takes_arg = known[k].arg != A_NONE;
			*dns_zone = known[k].arg == A_DNS_REQ;
			return true;
		}
	return false;
}

const char *chk_stage_param(enum chk_stage st)
{
	return st < CHK_NSTAGES ? stage_param[st] : "";
}

const char *chk_stage_list(struct cfg *cfg, enum chk_stage st)
{
	return chk_stage_text(cfg, st);
}
