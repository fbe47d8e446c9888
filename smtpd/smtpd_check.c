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

enum op {
	OP_PERMIT,
	OP_REJECT,
	OP_DEFER,
	OP_DEFER_IF_PERMIT,
	OP_DEFER_IF_REJECT,
	OP_WARN_IF_REJECT,
	OP_REJECT_UNAUTH_PIPELINING,
	OP_SLEEP,
	OP_PERMIT_MYNETWORKS,
	OP_PERMIT_SASL,
	OP_PERMIT_TLS_CLIENTCERTS,
	OP_PERMIT_TLS_ALL_CLIENTCERTS,
	OP_CHECK_CLIENT_ACCESS,
	OP_CHECK_REVERSE_CLIENT_ACCESS,
	OP_CHECK_CCERT_ACCESS,
	OP_CHECK_SASL_ACCESS,
	OP_CHECK_HELO_ACCESS,
	OP_REJECT_INVALID_HELO,
	OP_REJECT_NON_FQDN_HELO,
	OP_CHECK_SENDER_ACCESS,
	OP_REJECT_NON_FQDN_SENDER,
	OP_REJECT_UNLISTED_SENDER,
	OP_SLM,         /* reject_sender_login_mismatch */
	OP_SLM_KNOWN,   /* reject_known_sender_login_mismatch */
	OP_SLM_AUTH,    /* reject_authenticated_sender_login_mismatch */
	OP_SLM_UNAUTH,  /* reject_unauthenticated_sender_login_mismatch */
	OP_PERMIT_AUTH_DEST,
	OP_REJECT_UNAUTH_DEST,
	OP_DEFER_UNAUTH_DEST,
	OP_CHECK_RCPT_ACCESS,
	OP_REJECT_NON_FQDN_RCPT,
	OP_REJECT_UNLISTED_RCPT,
	OP_REJECT_MULTI_RCPT_BOUNCE,
	OP_POLICY,
	OP_DNS,   /* handed to the DNS hook */
	OP_CLASS,   /* a smtpd_restriction_classes name */
	OP_UNKNOWN, /* as Postfix: 451 4.3.5 when reached */
};

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

struct list;

struct item {
	enum op op;
	const char *name; /* as in known[], or the class name */
	char *arg;        /* map spec, zone, sleep seconds, policy spec */
	struct map *map;
	struct list *sub; /* OP_CLASS */
	struct chk_policy_svc *pol;
	long num;
};

struct list {
	struct item *v;
	size_t n;
	char *name; /* parameter or class name */
};

struct dyn { /* a list compiled from an access table value */
	char *text;
	struct list *l;
};

struct chk {
	struct cfg *cfg;
	struct route *route;
	struct list stage[CHK_NSTAGES];
	struct list *classes;
	size_t nclasses;
	char **class_names;
	struct dyn dyn[CHK_DYNAMIC_LISTS_MAX];
	size_t ndyn;
	struct map *maps[256]; /* tables opened on demand for dynamic lists */
	char *mapspecs[256];
	size_t nmaps;
	struct chk_policy_svc *policies;
	struct map *login_maps[16];
	size_t nlogin_maps;
	struct map *relay_certs;
	bool delay_reject, relay_first, parent_style, unlisted_rcpt, unlisted_sender;
	char *delimiters, *null_key;
	long access_reject_code, access_defer_code, reject_code, defer_code, relay_code,
	    invalid_helo_code, non_fqdn_code, unknown_local_code, mrb_code, unauth_pipe_code;
	chk_dns_fn dns;
	chk_cancel_fn dns_cancel;
	void *dns_ctx;
	chk_policy_fn policy;
	chk_cancel_fn policy_cancel;
	void *policy_ctx;
	struct event_base *base;
};

struct frame {
	const struct list *l;
	size_t i;
	bool warn; /* warn_if_reject covers this whole frame */
};

/* A deferred decision remembered by defer_if_permit / defer_if_reject. */
struct deferred {
	bool active;
	char reply[CHK_REPLY_MAX];
};

struct chk_run {
	struct chk *c;
	struct chk_txn *t;
	struct chk_input in;
	char sender[SMTP_ADDR_MAX + 1], recipient[SMTP_ADDR_MAX + 1], rcpt_ext[SMTP_ADDR_MAX + 1];
	char helo[SMTP_HOST_MAX + 1], cmd[16];
	struct smtp_cmd rcmd; /* the recipient, parsed */
	int rcmd_ok;          /* 1 parsed, -1 unparsable, 0 none */
	enum chk_stage stages[CHK_NSTAGES];
	size_t nstages, cur;
	struct frame stack[CHK_NEST_MAX];
	size_t depth;
	bool warn_next;
	struct deferred dip, dir;
	/* A hook is working: its answer is applied with this reply name. */
	bool waiting, looping, active;
	bool hook_policy; /* the pending hook is the policy client */
	char hook_result[CHK_REPLY_MAX];
	bool hook_permit, hook_is_access, hook_answered;
	const struct item *hook_item;
	char reply_name[SMTP_ADDR_MAX + 128];
	const char *reply_class;
	struct event *sleep_ev;
	chk_done_fn done;
	void *ctx;
};

struct chk_txn {
	struct chk_run run;
	/* Stages already passed in this transaction (client, helo, sender
	 * are checked once), with their defer_if_permit memory. */
	bool passed[CHK_NSTAGES];
	struct deferred dip_saved[CHK_NSTAGES];
	char reply[CHK_REPLY_MAX];
	struct chk_actions act;
	chk_trace_fn trace;
	void *trace_ctx;
};

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

static void trace(struct chk_run *r, const char *restriction, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void trace(struct chk_run *r, const char *restriction, const char *fmt, ...)
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

/* --- replies and logs -------------------------------------------------- */

/* The "from=<...> to=<...> proto=... helo=<...>" tail of a log line. */
static void log_event(struct chk_run *r, const char *what, const char *text)
{
	struct strbuf sb;
	sb_init(&sb, 0);
	const struct chk_input *in = &r->in;
	sb_printf(&sb, "%s: %s: %s from %s[%s]: %s;", in->queue_id && *in->queue_id ? in->queue_id : "NOQUEUE",
	          what, r->cmd, in->client_name, in->client_addr, text);
	if (in->sender)
		sb_printf(&sb, " from=<%s>", in->sender);
	if (in->recipient)
		sb_printf(&sb, " to=<%s>", r->rcpt_ext[0] ? r->rcpt_ext : in->recipient);
	sb_printf(&sb, " proto=%s", in->esmtp ? "ESMTP" : "SMTP");
	if (in->helo && in->helo[0])
		sb_printf(&sb, " helo=<%s>", in->helo);
	log_info("%s", sb.s);
	sb_free(&sb);
}

/* "5.7.1 " at the start of text: copy it to dsn, return the rest. */
static const char *dsn_split(const char *text, char *dsn, size_t dsnlen)
{
	const char *p = text;
	if ((p[0] == '2' || p[0] == '4' || p[0] == '5') && p[1] == '.') {
		const char *q = p + 2;
		int d1 = 0, d2 = 0;
		while (isdigit((unsigned char)*q) && d1 < 4)
			q++, d1++;
		if (d1 > 0 && d1 <= 3 && *q == '.') {
			q++;
			while (isdigit((unsigned char)*q) && d2 < 4)
				q++, d2++;
			if (d2 > 0 && d2 <= 3 && (*q == ' ' || *q == '\0')) {
				snprintf(dsn, dsnlen, "%.*s", (int)(q - p), p);
				while (*q == ' ')
					q++;
				return q;
			}
		}
	}
	dsn[0] = '\0';
	return text;
}

/* Build "CODE D.S.N <name>: Class rejected: text" into out. */
static void build_reply(char *out, size_t len, long code, const char *dsn_default,
                        const char *name, const char *cls, const char *text)
{
	char dsn[16];
	const char *t = dsn_split(text, dsn, sizeof(dsn));
	if (dsn[0] == '\0' || dsn[0] != (char)('0' + code / 100))
		snprintf(dsn, sizeof(dsn), "%c%s", (char)('0' + code / 100), dsn_default + 1);
	snprintf(out, len, "%ld %s <%s>: %s rejected: %s", code, dsn, name, cls, t);
}

enum res { R_DUNNO, R_OK, R_REJECT, R_PUSH, R_PENDING };

/*
 * A restriction wants to reject with reply: warn_if_reject, then
 * defer_if_reject apply, as Postfix does.  Returns R_DUNNO when only
 * warned, else R_REJECT with the reply in t->reply.
 */
static enum res reject(struct chk_run *r, const char *reply)
{
	bool warn = r->warn_next;
	for (size_t i = 0; i < r->depth; i++)
		warn = warn || r->stack[i].warn;
	if (warn) {
		log_event(r, "reject_warning", reply);
		return R_DUNNO;
	}
	if (reply[0] == '5' && r->dir.active)
		snprintf(r->t->reply, sizeof(r->t->reply), "%s", r->dir.reply);
	else
		snprintf(r->t->reply, sizeof(r->t->reply), "%s", reply);
	return R_REJECT;
}

/* The name and class a reply of this stage's generic restrictions use. */
static void stage_reply_name(struct chk_run *r, enum chk_stage st, char *name, size_t len,
                             const char **cls)
{
	const struct chk_input *in = &r->in;
	switch (st) {
	case CHK_CLIENT:
		snprintf(name, len, "%s[%s]", in->client_name, in->client_addr);
		*cls = "Client host";
		break;
	case CHK_HELO:
		snprintf(name, len, "%s", in->helo ? in->helo : "");
		*cls = "Helo command";
		break;
	case CHK_SENDER:
		snprintf(name, len, "%s", in->sender ? in->sender : "");
		*cls = "Sender address";
		break;
	case CHK_RELAY:
	case CHK_RCPT:
		snprintf(name, len, "%s", in->recipient ? in->recipient : "");
		*cls = "Recipient address";
		break;
	case CHK_DATA:
		snprintf(name, len, "DATA");
		*cls = "Data command";
		break;
	case CHK_EOD:
		snprintf(name, len, "END-OF-MESSAGE");
		*cls = "End-of-data";
		break;
	default:
		snprintf(name, len, "%s", in->etrn_domain ? in->etrn_domain : "");
		*cls = "Etrn command";
		break;
	}
}

static char **strv_add(char **v, const char *s)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	if (n >= 100)
		return v;
	v = xreallocarray(v, n + 2, sizeof(*v));
	v[n] = xstrdup(s);
	v[n + 1] = NULL;
	return v;
}

static bool list_for_value(struct chk_run *r, const char *value, const struct list **out)
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

static const struct list *pushed;

/*
 * Apply an access(5) value found for name (of class cls) in table what.
 * The one parser of access results, table and policy values alike.
 */
static enum res access_result(struct chk_run *r, const char *value, const char *name,
                              const char *cls, const char *what)
{
	struct chk *c = r->c;
	char rep[CHK_REPLY_MAX];
	char buf[CHK_REPLY_MAX];
	while (*value == ' ' || *value == '\t')
		value++;
	snprintf(buf, sizeof(buf), "%s", value);
	/* tables and policy servers never put control characters into our
	 * replies or logs */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 32 && *p != '\t')
			*p = '?';
		else if ((unsigned char)*p == 127)
			*p = '?';
	size_t bl = strlen(buf);
	while (bl > 0 && (buf[bl - 1] == ' ' || buf[bl - 1] == '\t' || buf[bl - 1] == '\r'))
		buf[--bl] = '\0';
	size_t wl = strcspn(buf, " \t");
	const char *text = buf + wl;
	while (*text == ' ' || *text == '\t')
		text++;
#define IS(w) (wl == strlen(w) && strncasecmp(buf, w, wl) == 0)
	if (IS("OK"))
		return R_OK;
	if (IS("DUNNO"))
		return R_DUNNO;
	if (IS("REJECT") || IS("DEFER")) {
		bool rej = IS("REJECT");
		build_reply(rep, sizeof(rep), rej ? c->access_reject_code : c->access_defer_code,
		            rej ? "5.7.1" : "4.7.1", name, cls, *text ? text : "Access denied");
		return reject(r, rep);
	}
	if (IS("DEFER_IF_REJECT") || IS("DEFER_IF_PERMIT")) {
		struct deferred *d = IS("DEFER_IF_REJECT") ? &r->dir : &r->dip;
		build_reply(d->reply, sizeof(d->reply), c->defer_code, "4.7.1", name, cls,
		            *text ? text : "Service unavailable");
		d->active = true;
		return R_DUNNO;
	}
	if (wl == 3 && (buf[0] == '4' || buf[0] == '5') && isdigit((unsigned char)buf[1]) &&
	    isdigit((unsigned char)buf[2])) {
		build_reply(rep, sizeof(rep), strtol(buf, NULL, 10), buf[0] == '4' ? "4.7.1" : "5.7.1",
		            name, cls, *text ? text : "Access denied");
		return reject(r, rep);
	}
	struct chk_actions *a = &r->t->act;
	if (IS("WARN")) {
		if (*text)
			snprintf(rep, sizeof(rep), "%s", text);
		else
			snprintf(rep, sizeof(rep), "<%s>: %s triggers WARN action", name, cls);
		log_event(r, "warn", rep);
		return R_DUNNO;
	}
	if (IS("DISCARD") || IS("HOLD")) {
		bool discard = IS("DISCARD");
		snprintf(rep, sizeof(rep), "<%s>: %s %s", name, cls,
		         *text ? text : discard ? "triggers DISCARD action" : "triggers HOLD action");
		log_event(r, discard ? "discard" : "hold", rep);
		if (discard) {
			a->discard = true;
			snprintf(a->discard_text, sizeof(a->discard_text), "%s", text);
			return R_OK;
		}
		a->hold = true;
		snprintf(a->hold_text, sizeof(a->hold_text), "%s", text);
		return R_DUNNO;
	}
	if (IS("REDIRECT") || IS("FILTER")) {
		bool redir = IS("REDIRECT");
		if (*text == '\0' || (!redir && strchr(text, ':') == NULL)) {
			log_warn("%s: bad %.*s action \"%s\": needs %s", what, (int)wl, buf, text,
			         redir ? "an address" : "transport:destination");
			return reject(r, "451 4.3.5 Server configuration error");
		}
		snprintf(rep, sizeof(rep), "<%s>: %s triggers %s %s", name, cls, redir ? "REDIRECT" : "FILTER",
		         text);
		log_event(r, redir ? "redirect" : "filter", rep);
		snprintf(redir ? a->redirect : a->filter, sizeof(a->redirect), "%s", text);
		return R_DUNNO;
	}
	if (IS("BCC")) {
		if (*text == '\0') {
			log_warn("%s: BCC action without an address", what);
			return reject(r, "451 4.3.5 Server configuration error");
		}
		a->bcc = strv_add(a->bcc, text);
		return R_DUNNO;
	}
	if (IS("PREPEND")) {
		/* a header "Name: value" */
		const char *colon = strchr(text, ':');
		bool ok = colon != NULL && colon > text;
		for (const char *p = text; ok && p < colon; p++)
			ok = *p > 32 && *p < 127;
		if (!ok) {
			log_warn("%s: PREPEND action \"%s\" is not a header", what, text);
			return reject(r, "451 4.3.5 Server configuration error");
		}
		a->prepend = strv_add(a->prepend, text);
		return R_DUNNO;
	}
#undef IS
	/* A restriction class or a list of restrictions. */
	if (!list_for_value(r, buf, &pushed)) {
		log_warn("%s: unknown access table result \"%s\"", what, buf);
		return reject(r, "451 4.3.5 Server configuration error");
	}
	return R_PUSH;
}

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
	return reject(r, rep);
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
		trace(r, it->name, "%s %s: not found", it->arg, key);
		return R_DUNNO;
	}
	trace(r, it->name, "%s %s: found \"%s\"", it->arg, key, v);
	char what[600];
	snprintf(what, sizeof(what), "%s %s", it->name, it->arg);
	char val[CHK_REPLY_MAX];
	snprintf(val, sizeof(val), "%s", v); /* the map owns v only until the next lookup */
	return access_result(r, val, name, cls, what);
}

static bool valid_hostname(const char *h, bool need_dot)
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
	if (d[0] == '[' ? address_literal(d) : valid_hostname(d, true))
		return R_DUNNO;
	snprintf(rep, sizeof(rep), "%ld 5.5.2 <%s>: %s rejected: need fully-qualified address",
	         r->c->non_fqdn_code, addr, cls);
	return reject(r, rep);
}

static int parse_addr(const char *addr, struct smtp_cmd *c)
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
		return reject(r, rep);
	}
	if (!authed && check_unauth && listed) {
		snprintf(rep, sizeof(rep), "553 5.7.1 <%s>: Sender address rejected: not logged in",
		         in->sender);
		return reject(r, rep);
	}
	return R_DUNNO;
}

static void sleep_done(evutil_socket_t fd, short what, void *arg);

/* One restriction.  On R_PUSH, pushed is the list to enter. */
static enum res exec(struct chk_run *r, const struct item *it)
{
	struct chk *c = r->c;
	const struct chk_input *in = &r->in;
	enum chk_stage st = r->stages[r->cur];
	char name[SMTP_ADDR_MAX + 64];
	char rep[CHK_REPLY_MAX];
	const char *cls;
	stage_reply_name(r, st, name, sizeof(name), &cls);
	switch (it->op) {
	case OP_PERMIT:
		return R_OK;
	case OP_REJECT:
	case OP_DEFER:
		build_reply(rep, sizeof(rep), it->op == OP_REJECT ? c->reject_code : c->defer_code,
		            it->op == OP_REJECT ? "5.7.1" : "4.7.1", name, cls, "Access denied");
		return reject(r, rep);
	case OP_DEFER_IF_PERMIT:
	case OP_DEFER_IF_REJECT: {
		struct deferred *d = it->op == OP_DEFER_IF_PERMIT ? &r->dip : &r->dir;
		build_reply(d->reply, sizeof(d->reply), c->defer_code, "4.7.1", name, cls,
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
		build_reply(rep, sizeof(rep), c->unauth_pipe_code, "5.5.0", name, cls,
		            "Improper use of SMTP command pipelining");
		return reject(r, rep);
	case OP_SLEEP:
		if (c->base == NULL) {
			trace(r, it->name, "%ld seconds (not waited here)", it->num);
			return R_DUNNO;
		} else {
			struct timeval tv = {it->num, 0};
			r->sleep_ev = evtimer_new(c->base, sleep_done, r);
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
			if (valid_hostname(h, it->op == OP_REJECT_NON_FQDN_HELO))
				return R_DUNNO;
			if (it->op == OP_REJECT_NON_FQDN_HELO && !valid_hostname(h, false))
				return R_DUNNO; /* invalid: reject_invalid_helo_hostname's business */
		}
		if (it->op == OP_REJECT_INVALID_HELO)
			snprintf(rep, sizeof(rep), "%ld 5.5.2 <%s>: Helo command rejected: Invalid name",
			         c->invalid_helo_code, in->helo);
		else
			snprintf(rep, sizeof(rep),
			         "%ld 5.5.2 <%s>: Helo command rejected: need fully-qualified hostname",
			         c->non_fqdn_code, in->helo);
		return reject(r, rep);
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
		if (snd && parse_addr(a, &sc) < 0)
			return R_DUNNO;
		if (snd)
			pc = &sc;
		else if (r->rcmd_ok != 1)
			return R_DUNNO;
		if (route_unlisted(c->route, pc, true, rep, sizeof(rep)) == ROUTE_ACCEPT)
			return R_DUNNO;
		if (rep[0] == '4')
			return reject(r, rep);
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
		return reject(r, rep);
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
			return reject(r, rep);
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
		return reject(r, rep);
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
		build_reply(rep, sizeof(rep), c->mrb_code, "5.5.3", name, cls, "Multi-recipient bounce");
		return reject(r, rep);
	}
	case OP_CLASS:
		pushed = it->sub;
		return R_PUSH;
	case OP_UNKNOWN:
		log_warn("unknown smtpd restriction: \"%s\"", it->name);
		return reject(r, "451 4.3.5 Server configuration error");
	case OP_POLICY:
		if (in->no_policy || c->policy == NULL || it->pol->target == NULL) {
			trace(r, it->name, "%s: not asked (%s)", it->arg,
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
			if (parse_addr(q.name, &pc) == 0 && route_auth_dest(c->route, &pc, &local) >= 0 &&
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
	trace(r, "", "%s (%s)", stage_param[r->stages[r->cur]],
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
		if (parse_addr(r->in.sender, &sc) == 0 &&
		    route_unlisted(r->c->route, &sc, true, rep, sizeof(rep)) != ROUTE_ACCEPT) {
			if (rep[0] == '5')
				snprintf(rep, sizeof(rep),
				         "%ld 5.1.0 <%s>: Sender address rejected: User unknown in local "
				         "recipient table",
				         r->c->unknown_local_code, r->in.sender);
			trace(r, "smtpd_reject_unlisted_sender", "%s", rep);
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
			trace(r, "smtpd_reject_unlisted_recipient", "%s", rep);
			snprintf(r->t->reply, sizeof(r->t->reply), "%s", rep);
			v = rep[0] == '4' ? CHK_DEFER : CHK_REJECT;
		}
	}
	if (v == CHK_REJECT || v == CHK_DEFER)
		log_event(r, "reject", r->t->reply);
	trace(r, "", "final: %s", v == CHK_REJECT || v == CHK_DEFER ? r->t->reply : "accepted");
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
			x = exec(r, it);
			if (x == R_PENDING) {
				if (r->waiting && r->hook_answered) {
					/* the hook answered at once */
					x = r->hook_is_access
					        ? access_result(r, r->hook_result, r->reply_name, r->reply_class,
					                        r->hook_item->name)
					        : (r->hook_permit ? R_OK : R_DUNNO);
					if (!r->hook_is_access && r->hook_result[0] && !r->hook_permit)
						x = reject(r, r->hook_result);
					r->waiting = false;
				} else {
					r->looping = false;
					return CHK_PENDING;
				}
			}
			if (it->op != OP_WARN_IF_REJECT && x != R_PUSH)
				r->warn_next = false;
			if (it->op != OP_WARN_IF_REJECT && x != R_PUSH)
				trace(r, it->name, "%s", x == R_OK       ? "permit"
				                         : x == R_REJECT ? r->t->reply
				                                         : "dunno");
			if (x == R_PUSH) {
				if (r->depth >= CHK_NEST_MAX) {
					log_warn("restriction classes nested deeper than %d", CHK_NEST_MAX);
					x = reject(r, "451 4.3.5 Server configuration error");
				} else {
					bool w = r->warn_next || r->stack[r->depth - 1].warn;
					r->warn_next = false;
					trace(r, it->name, "entering %s", pushed->name);
					r->stack[r->depth].l = pushed;
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

static void sleep_done(evutil_socket_t fd, short what, void *arg)
{
	struct chk_run *r = arg;
	(void)fd;
	(void)what;
	sleep_cancel(r);
	trace(r, "sleep", "waited");
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
		x = access_result(r, r->hook_result, r->reply_name, r->reply_class, r->hook_item->name);
	else if (r->hook_permit)
		x = R_OK;
	else if (r->hook_result[0])
		x = reject(r, r->hook_result);
	else
		x = R_DUNNO;
	if (x == R_PUSH) { /* a list from a policy server: enter it */
		if (r->depth < CHK_NEST_MAX) {
			r->stack[r->depth].l = pushed;
			r->stack[r->depth].i = 0;
			r->stack[r->depth].warn = r->warn_next;
			r->depth++;
		}
		x = R_PENDING;
	}
	r->warn_next = false;
	trace(r, r->hook_item->name, "%s", x == R_OK ? "permit" : x == R_REJECT ? r->t->reply : "dunno");
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
		r->rcmd_ok = parse_addr(a, &r->rcmd) == 0 ? 1 : -1;
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

bool chk_valid_hostname(const char *h, bool need_dot)
{
	return valid_hostname(h, need_dot);
}

const char *chk_stage_param(enum chk_stage st)
{
	return st < CHK_NSTAGES ? stage_param[st] : "";
}

const char *chk_stage_list(struct cfg *cfg, enum chk_stage st)
{
	return chk_stage_text(cfg, st);
}
