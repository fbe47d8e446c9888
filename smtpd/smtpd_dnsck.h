/*
 * smtpd_dnsck.h - the DNS-based restrictions of smtpd, evaluated as
 * Postfix does and independent of the restriction chain's data
 * structures: the chain calls these with the facts of the request and
 * gets back dunno / reject / defer / permit with the SMTP reply and a log
 * detail.  Asynchronous through common/dns; a callback may run before
 * the starting function returns, which then returns NULL.  Callers
 * without an event loop (postern probe) drive the lookups with
 * dns_run(dns, &stop), stop set by their callback.
 *
 *   reject_rbl_client, permit_dnswl_client, reject_rhsbl_client,
 *   reject_rhsbl_reverse_client, reject_rhsbl_helo, reject_rhsbl_sender,
 *   reject_rhsbl_recipient      dnsck_rbl()
 *   reject_unknown_client_hostname, reject_unknown_reverse_client_hostname
 *                               dnsck_unknown_client() (no lookup: the
 *                               names were found at connect time)
 *   reject_unknown_helo_hostname  dnsck_unknown_helo()
 *   reject_unknown_sender_domain, reject_unknown_recipient_domain
 *                               dnsck_unknown_domain()
 *   check_{helo,sender,recipient}_{mx,ns,a}_access
 *                               dnsck_servers(): the host names and
 *                               addresses for the caller's access map
 */
#ifndef POSTERN_SMTPD_DNSCK_H
#define POSTERN_SMTPD_DNSCK_H

#include <stdbool.h>

#include "bounds.h"
#include "netaddr.h"
#include "smtpd_dns.h"

struct cfg;
struct dns_ctx;

enum dnsck_action {
	DNSCK_DUNNO,  /* not listed, lookup failed where Postfix ignores it, ... */
	DNSCK_REJECT, /* code/dsn/text say how */
	DNSCK_DEFER,  /* temporary: 4xx reply; tempfail_param names the
	               * *_tempfail_action parameter that decides between
	               * defer and defer_if_permit */
	DNSCK_PERMIT, /* permit_dnswl_client listed */
};

#define DNSCK_TEXT_MAX 1024
struct dnsck_result {
	enum dnsck_action action;
	int code;                   /* 450, 550, 554 ... */
	char dsn[12];               /* "5.7.1" */
	char text[DNSCK_TEXT_MAX];  /* the reply after code and dsn */
	const char *tempfail_param; /* DEFER: "reject_tempfail_action", ... */
	char detail[DNSCK_TEXT_MAX]; /* for the log: what was asked, what came back */
};

/* Server-wide settings, from main.cf. */
struct dnsck_conf {
	int rbl_code;              /* maps_rbl_reject_code */
	int unknown_client_code;   /* unknown_client_reject_code */
	int unknown_hostname_code; /* unknown_hostname_reject_code */
	int unknown_address_code;  /* unknown_address_reject_code */
	const char *default_rbl_reply;
	/* rbl_reply_maps: the reply template for an RBL domain, or NULL
	 * (the caller owns the maps); lookup NULL: no rbl_reply_maps. */
	const char *(*rbl_reply_lookup)(void *arg, const char *rbl_domain);
	void *rbl_reply_arg;
};
void dnsck_conf_init(struct dnsck_conf *c, struct cfg *cfg);

/* The request's facts (copied; need not outlive the call). */
struct dnsck_facts {
	const char *client_addr; /* printed */
	struct netaddr_net client;
	const struct smtpd_client_names *names;
	const char *helo;      /* "" or NULL: none */
	const char *sender;    /* envelope sender, "" for <> */
	const char *recipient; /* current recipient */
};

typedef void (*dnsck_done_fn)(void *arg, const struct dnsck_result *r);
struct dnsck_req;
void dnsck_cancel(struct dnsck_req *r);

enum dnsck_rbl_kind {
	DNSCK_RBL_CLIENT,            /* reject_rbl_client */
	DNSCK_DNSWL_CLIENT,          /* permit_dnswl_client */
	DNSCK_RHSBL_CLIENT,          /* reject_rhsbl_client (verified name) */
	DNSCK_RHSBL_REVERSE_CLIENT,  /* reject_rhsbl_reverse_client */
	DNSCK_RHSBL_HELO,            /* reject_rhsbl_helo */
	DNSCK_RHSBL_SENDER,          /* reject_rhsbl_sender */
	DNSCK_RHSBL_RECIPIENT,       /* reject_rhsbl_recipient */
};

/*
 * spec is the restriction's argument: "zone" or "zone=d.d.d.d", each d
 * a number or a "[n;n..m]" set.  Returns false (and no callback) for a
 * malformed spec, with the reason in err.
 */
bool dnsck_rbl(struct dns_ctx *dns, const struct dnsck_conf *conf, const struct dnsck_facts *f,
               enum dnsck_rbl_kind kind, const char *spec, dnsck_done_fn done, void *arg,
               struct dnsck_req **req, char *err, size_t errlen);

/* Parse "zone[=filter]"; for the chain's configuration check too. */
struct dnsck_filter {
	unsigned char lo[4][DNSCK_FILTER_RANGES], hi[4][DNSCK_FILTER_RANGES];
	unsigned n[4]; /* 0: any value */
	bool any;      /* no filter */
};
bool dnsck_parse_spec(const char *spec, char *zone, size_t zonelen, struct dnsck_filter *flt,
                      char *err, size_t errlen);
bool dnsck_filter_match(const struct dnsck_filter *flt, const unsigned char a[4]);

/* reject_unknown_(reverse_)client_hostname: from the connect-time names. */
void dnsck_unknown_client(const struct dnsck_conf *conf, const struct dnsck_facts *f,
                          bool reverse, struct dnsck_result *out);

/* reject_unknown_helo_hostname: A, AAAA or MX for the HELO name. */
struct dnsck_req *dnsck_unknown_helo(struct dns_ctx *dns, const struct dnsck_conf *conf,
                                     const struct dnsck_facts *f, dnsck_done_fn done, void *arg);

/* reject_unknown_sender_domain / reject_unknown_recipient_domain. */
struct dnsck_req *dnsck_unknown_domain(struct dns_ctx *dns, const struct dnsck_conf *conf,
                                       const struct dnsck_facts *f, bool recipient,
                                       dnsck_done_fn done, void *arg);

/*
 * check_*_mx_access, check_*_ns_access, check_*_a_access: the servers
 * of a domain (the part after '@' of an address, or a HELO name).  For
 * MX: the MX hosts (no MX: the domain itself, as the SMTP client does);
 * NS: the name servers of the domain or of its closest parent that has
 * some; A: the domain itself.  Each server with its addresses.  On a DNS
 * temporary failure status is DNS_TEMPFAIL and the caller answers as
 * Postfix does (defer_if_reject 450 4.4.4 "Unable to look up ...").
 */
enum dnsck_server_type { DNSCK_MX, DNSCK_NS, DNSCK_A };
struct dnsck_server {
	char name[DNS_NAME_MAX + 1];
	size_t naddr;
	char addr[DNSCK_SERVER_ADDRS][46];
};
struct dnsck_servers {
	int status; /* enum dns_status: DNS_OK, DNS_TEMPFAIL, other: none found */
	char why[DNS_WHY_MAX];
	size_t n;
	struct dnsck_server server[DNSCK_SERVERS_MAX];
};
struct dnsck_req *dnsck_servers(struct dns_ctx *dns, enum dnsck_server_type type,
                                const char *domain,
                                void (*done)(void *arg, const struct dnsck_servers *s),
                                void *arg);

/*
 * Expand a reply template ($rbl_code, $rbl_domain, $rbl_what,
 * $rbl_class, $rbl_reason, $rbl_txt, $client, $client_address,
 * $client_name, $reverse_client_name, $helo_name, $sender,
 * $sender_name, $sender_domain, $recipient, ...; ${name}, ${name?text},
 * ${name:text}) into out.  Exposed for tests.
 */
struct dnsck_vars {
	const char *names[24];
	const char *values[24];
	size_t n;
};
bool dnsck_expand(const char *tmpl, const struct dnsck_vars *v, char *out, size_t outlen);

#endif
