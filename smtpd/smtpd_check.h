/*
 * smtpd_check.h - the restriction chain: smtpd_*_restrictions compiled
 * once at start-up into arrays of operations, evaluated per stage of an
 * SMTP session (client, helo, sender, relay + recipient, data,
 * end-of-data, etrn), with access(5) results, restriction classes, the
 * DNS hook and policy delegation.  Runs in smtpd and in `postern probe`.
 *
 * Evaluation can pause: a restriction that needs the network (a DNS
 * lookup, a policy server) starts its work through a hook and the
 * evaluation returns CHK_PENDING; the hook's answer arrives later
 * through chk_resume_reply() or chk_resume_access(), which continue the
 * list where it stopped and finally call the run's done callback.
 */
#ifndef POSTERN_SMTPD_CHECK_H
#define POSTERN_SMTPD_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"
#include "smtpd_facts.h"

struct cfg;
struct map;
struct route;
struct smtp_cmd;
struct chk;
struct chk_run;

enum chk_stage {
	CHK_CLIENT,
	CHK_HELO,
	CHK_SENDER,
	CHK_RELAY,
	CHK_RCPT,
	CHK_DATA,
	CHK_EOD,
	CHK_ETRN,
	CHK_NSTAGES
};

/* What the session knows when a stage is checked.  Strings may be "". */
struct smtpd_client_names;

struct chk_input {
	const char *client_addr;  /* printed form: 192.0.2.1, 2001:db8::1 */
	const char *client_name;  /* verified name or "unknown" */
	const char *reverse_name; /* PTR name, "unknown" when none */
	const char *client_port;
	const struct netaddr_net *client;
	const char *server_addr, *server_port;
	const char *helo; /* "" before HELO/EHLO */
	bool esmtp;
	const char *sender;    /* NULL before MAIL FROM; "" is <> */
	const char *recipient; /* the RCPT being checked, NULL elsewhere */
	const char *recipient_ext; /* as the client wrote it, for logs */
	/* The parsed RCPT command (smtpd_cmd.h); NULL: parse recipient_ext
	 * (or recipient) here. */
	const struct smtp_cmd *rcpt_cmd;
	unsigned nrcpt;        /* recipients accepted so far */
	const char *queue_id;  /* "" before one exists */
	const char *etrn_domain;
	uint64_t size;      /* SIZE= or the message size at end of data */
	bool pipelined;     /* commands arrived before the reply was sent */
	const char *service;
	const char *instance; /* transaction id, same for the whole mail */
	const struct smtpd_tls_facts *tls;
	const struct smtpd_sasl_facts *sasl;
	/* The client's names and how they were found (smtpd_dns.h); NULL
	 * when not looked up (postern probe). */
	const struct smtpd_client_names *names;
	bool no_policy; /* probe --no-policy: policy services answer DUNNO */
};

/* What access(5) actions asked the queue to do with this message. */
struct chk_actions {
	bool discard;
	char discard_text[256];
	bool hold;
	char hold_text[256];
	char redirect[512]; /* "" none */
	char filter[512];   /* transport:destination, "" none */
	char **bcc;         /* NULL-terminated, NULL none */
	char **prepend;     /* header lines, NULL-terminated */
};

enum chk_verdict {
	CHK_DUNNO,   /* no decision: the stage passed */
	CHK_OK,      /* permitted */
	CHK_REJECT,  /* reply holds a 5xx */
	CHK_DEFER,   /* reply holds a 4xx */
	CHK_PENDING, /* waiting for a hook; done will be called */
};

/*
 * The DNS hook.  The check code asks for one whole DNS restriction
 * (req->op names it, as written in main.cf: "reject_rbl_client",
 * "check_sender_mx_access", ...) and the implementation answers once,
 * later or at once, with chk_resume_reply() (a complete SMTP reply or
 * NULL for "no decision"; permit true for permit_dnswl_client) or, for
 * the check_*_{mx,ns,a}_access family, with chk_resume_access() and the
 * value a lookup in req->map found.  The default implementation
 * (chk_dns_unsupported) answers "no decision" and logs once per
 * restriction name that it is not supported yet.
 */
struct chk_dns_req {
	const char *restriction; /* "reject_rbl_client" */
	const char *arg;         /* "zen.spamhaus.org=127.0.0.[2..11]", "" */
	const char *name;        /* what to look up: an IP address, a domain */
	struct map *map;         /* check_*_access: the table, else NULL */
	const char *reply_name;  /* "<...>" part of a reply built from a map */
	const char *reply_class; /* "Client host", "Sender address", ... */
	const struct chk_input *in;
};
typedef void (*chk_dns_fn)(void *ctx, struct chk_run *run, const struct chk_dns_req *req);
void chk_dns_unsupported(void *ctx, struct chk_run *run, const struct chk_dns_req *req);

/*
 * The policy hook: send req (name=value lines, empty-line terminated,
 * already formatted) to the service spec ("inet:127.0.0.1:9998" or the
 * "{ inet:..., timeout=10s }" form), answer with chk_resume_access()
 * carrying the action= value (or the default action).
 */
struct chk_policy_svc;
typedef void (*chk_policy_fn)(void *ctx, struct chk_run *run, struct chk_policy_svc *svc,
                              const char *request, size_t len);

/* Compile every list.  Fatal (with a message naming the parameter) on
 * syntax errors and on the open-relay safety check. */
struct chk *chk_init(struct cfg *cfg, struct route *route);
void chk_free(struct chk *c);
/* A session ends while its hook works: the hook must forget run (never
 * resume it).  Called by chk_cancel() and chk_txn_free(). */
typedef void (*chk_cancel_fn)(void *ctx, struct chk_run *run);
void chk_set_dns(struct chk *c, chk_dns_fn fn, chk_cancel_fn cancel, void *ctx);
void chk_set_policy(struct chk *c, chk_policy_fn fn, chk_cancel_fn cancel, void *ctx);
/* Lets "sleep" and hooks wait in the event loop (NULL: sleep is skipped). */
struct event_base;
void chk_set_event_base(struct chk *c, struct event_base *base);
bool chk_delay_reject(const struct chk *c);
bool chk_stage_empty(const struct chk *c, enum chk_stage st);
/* The policy service spec and its parsed per-service settings. */
const char *chk_policy_spec(const struct chk_policy_svc *svc);
struct chk_policy_svc *chk_policy_first(struct chk *c);
struct chk_policy_svc *chk_policy_next(struct chk_policy_svc *svc);
long chk_policy_setting(const struct chk_policy_svc *svc, const char *name);
const char *chk_policy_default_action(const struct chk_policy_svc *svc);
const char *chk_policy_context(const struct chk_policy_svc *svc);

/*
 * A transaction's evaluation state: the defer_if_permit / defer_if_reject
 * memory, the cached results of the stages run so far, the actions.
 * One per session; chk_txn_reset() at MAIL FROM and RSET.
 */
struct chk_txn;
struct chk_txn *chk_txn_new(void);
void chk_txn_free(struct chk_txn *t);
void chk_txn_reset(struct chk_txn *t);
const struct chk_actions *chk_txn_actions(const struct chk_txn *t);

/* Trace of a run (postern probe): one line per restriction tried. */
typedef void (*chk_trace_fn)(void *ctx, enum chk_stage st, const char *restriction,
                             const char *result);

typedef void (*chk_done_fn)(void *ctx, enum chk_verdict v, const char *reply);

/*
 * Check the stages an SMTP command needs: the client stage at connect
 * (smtpd_delay_reject = no), CHK_HELO at HELO, CHK_SENDER at MAIL, and
 * at RCPT (CHK_RCPT): client, helo and sender first when delayed, then
 * relay and recipient.  CHK_DATA, CHK_EOD and CHK_ETRN are themselves.
 * Returns the verdict, or CHK_PENDING and calls done(ctx, ...) later.
 * reply (when REJECT/DEFER) is valid until the next call on t.  Log
 * lines (reject, reject_warning, warn, discard, hold, ...) are written
 * here in Postfix's form; cmd is "RCPT", "DATA", ...
 */
enum chk_verdict chk_check(struct chk *c, struct chk_txn *t, enum chk_stage st, const char *cmd,
                           const struct chk_input *in, chk_done_fn done, void *ctx,
                           const char **reply);
void chk_set_trace(struct chk_txn *t, chk_trace_fn fn, void *ctx);
/* A session ends while a hook is pending: forget the callback. */
void chk_cancel(struct chk_txn *t);

/* Answers of the hooks (see above). */
void chk_resume_reply(struct chk_run *run, const char *reply, bool permit);
void chk_resume_access(struct chk_run *run, const char *value);
/* No decision now, but reply (a 4xx) if the stage would permit: the
 * defer_if_permit of a DNS restriction's temporary failure. */
void chk_resume_defer_if_permit(struct chk_run *run, const char *reply);

/* Names as Postfix logs them: "Client host", "RCPT" ... */
const char *chk_stage_name(enum chk_stage st);

/* For `postern check` (tools/restrlint.c): whether name is a restriction,
 * whether it takes an argument, whether that argument is a DNS zone. */
bool chk_known(const char *name, bool *takes_arg, bool *dns_zone);
bool chk_valid_hostname(const char *h, bool need_dot);
const char *chk_stage_param(enum chk_stage st);
/* The list smtpd runs for a stage (with the relay rule of later
 * compatibility levels when smtpd_relay_restrictions is unset and empty). */
const char *chk_stage_list(struct cfg *cfg, enum chk_stage st);

#endif
