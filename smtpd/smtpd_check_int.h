/*
 * smtpd_check_int.h - what the files of the restriction chain share
 * inside it: the compiled lists, the state of a run, and the functions
 * one file of the chain calls in another.  Not for use outside
 * smtpd_check*.c (everyone else goes through smtpd_check.h).
 *
 *   smtpd_check.c         compiling the lists, transactions, the
 *                         evaluation loop (the chain driver), resuming
 *   smtpd_check_result.c  replies, log lines, and the one parser of
 *                         access(5) values (tables and policy servers)
 *   smtpd_check_exec.c    the restrictions themselves
 */
#ifndef POSTERN_SMTPD_CHECK_INT_H
#define POSTERN_SMTPD_CHECK_INT_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"
#include "smtpd_check.h"
#include "smtpd_cmd.h"

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
	const struct list *pushed; /* on R_PUSH: the list to enter */
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
enum res { R_DUNNO, R_OK, R_REJECT, R_PUSH, R_PENDING };

/* smtpd_check.c */
void chk_trace(struct chk_run *r, const char *restriction, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Compile (once) the restriction list an access table value names. */
bool chk_list_for_value(struct chk_run *r, const char *value, const struct list **out);
void chk_sleep_done(evutil_socket_t fd, short what, void *arg);

/* smtpd_check_result.c */
void chk_log_event(struct chk_run *r, const char *what, const char *text);
void chk_build_reply(char *out, size_t len, long code, const char *dsn_default,
                     const char *name, const char *cls, const char *text);
enum res chk_reject(struct chk_run *r, const char *reply);
void chk_stage_reply_name(struct chk_run *r, enum chk_stage st, char *name, size_t len,
                          const char **cls);
enum res chk_access_result(struct chk_run *r, const char *value, const char *name,
                           const char *cls, const char *what);

/* smtpd_check_exec.c */
enum res chk_exec(struct chk_run *r, const struct item *it);
int chk_parse_addr(const char *addr, struct smtp_cmd *c);

#endif
