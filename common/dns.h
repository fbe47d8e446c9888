/*
 * dns.h - the one DNS resolver of postern, on libunbound: asynchronous
 * lookups inside a libevent loop (smtpd, smtp) and synchronous ones with
 * the same bounded timeout (tools).  Answers are parsed by the bounded
 * rdata parsers in dns_parse.c into typed records; each result says
 * whether the name exists, whether the failure is temporary, and whether
 * the answer was DNSSEC-validated (secure) or failed validation (bogus).
 * Used by smtpd (client names, DNSBL, reject_unknown_*), the smtp client
 * (MX, A/AAAA, TLSA for DANE) and `postern dns`.
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

struct cfg;
struct event_base;

/* RR types we ask for (the wire values). */
enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_TLSA = 52,
};

enum dns_status {
	DNS_OK,       /* at least one usable record */
	DNS_NXDOMAIN, /* the name does not exist */
	DNS_NODATA,   /* the name exists, no records of this type */
	DNS_TEMPFAIL, /* SERVFAIL, timeout, network trouble, bogus answer */
	DNS_PERMFAIL, /* bad query name, FORMERR/REFUSED/NOTIMP, malformed answer */
};

enum dns_sec {
	DNS_SEC_INSECURE, /* not validated (no trust anchor, or unsigned zone) */
	DNS_SEC_SECURE,   /* DNSSEC-validated, data or its absence */
	DNS_SEC_BOGUS,    /* validation failed: status is DNS_TEMPFAIL */
};

/* One record.  Which fields are set depends on the type. */
struct dns_rr {
	enum dns_type type;
	unsigned ttl;
	/* A, AAAA */
	int family; /* AF_INET, AF_INET6 */
	unsigned char addr[16];
	/* MX preference */
	unsigned pref;
	/* MX exchange, PTR, NS target: checked host name, no trailing dot;
	 * "" for the null MX target "." */
	char name[DNS_NAME_MAX + 1];
	/* TXT: the character-strings joined, non-printables as '?' (allocated) */
	char *text;
	/* TLSA */
	unsigned char usage, selector, mtype;
	unsigned char *data; /* allocated */
	size_t data_len;
};

struct dns_result {
	enum dns_type type;
	enum dns_status status;
	enum dns_sec sec;
	char qname[DNS_NAME_MAX + 2]; /* as asked, maybe with a trailing dot */
	char why[DNS_WHY_MAX]; /* for logs: "Host not found", "timeout", why_bogus */
	size_t n;              /* records (DNS_OK: n > 0); MX sorted by
	                        * preference, shuffled among equals */
	struct dns_rr *rr;
	size_t skipped; /* malformed records left out */
};

void dns_result_free(struct dns_result *r);
const char *dns_type_name(enum dns_type t);
/* "A", "mx", ... -> type; false if unknown. */
bool dns_type_parse(const char *s, enum dns_type *t);
const char *dns_status_name(enum dns_status s);

/* Resolver settings; all may be NULL/0 for the defaults. */
struct dns_config {
	const char *resolver;     /* postern_dns_resolver: "IP[@port] ..." or "" */
	const char *trust_anchor; /* postern_dns_trust_anchor: file or "" */
	const char *hosts_file;   /* NULL: /etc/hosts; "" none */
	const char *resolv_conf;  /* NULL: /etc/resolv.conf */
	unsigned timeout_ms;      /* per query; 0: DNS_TIMEOUT_DEFAULT_MS */
};

struct dns_ctx;

/*
 * A resolver.  Reads resolv.conf, the hosts file and the trust anchor
 * now, so it can be created before chroot and privilege drop.  NULL and
 * a message in err on failure.
 */
struct dns_ctx *dns_ctx_new(const struct dns_config *conf, char *err, size_t errlen);
/* The same with settings from main.cf (postern_dns_*). */
struct dns_ctx *dns_ctx_from_cfg(struct cfg *cfg, char *err, size_t errlen);
/*
 * Deliver asynchronous answers inside base: the resolver's descriptor is
 * watched with an event and each query gets a timer.  Without this, the
 * asynchronous calls still work but only dns_run() delivers answers.
 */
bool dns_ctx_attach(struct dns_ctx *ctx, struct event_base *base);
/* Cancels pending queries without calling their callbacks.  Not from
 * inside a callback. */
void dns_ctx_free(struct dns_ctx *ctx);
/* postern check: whether a postern_dns_* value is usable; false and a
 * message in err if not (names other than ours: true). */
bool dns_check_param(const char *name, const char *value, char *err, size_t errlen);
/* Whether answers can be DNSSEC-validated (a trust anchor is loaded). */
bool dns_ctx_validating(const struct dns_ctx *ctx);

/*
 * Asynchronous lookup.  done(arg, r) is called exactly once unless the
 * query is cancelled, never before dns_query returns; it owns r (free
 * with dns_result_free).  A bad name yields DNS_PERMFAIL through the
 * callback too.  Returns a handle for dns_cancel, valid until done runs.
 */
struct dns_query;
typedef void (*dns_done_fn)(void *arg, struct dns_result *r);
struct dns_query *dns_query(struct dns_ctx *ctx, const char *name, enum dns_type type,
                            dns_done_fn done, void *arg);
void dns_cancel(struct dns_query *q);
/* Queries still pending. */
size_t dns_pending(const struct dns_ctx *ctx);
/*
 * Without an event loop: wait for answers and run callbacks until no
 * query is pending or *stop becomes true.  Bounded by the query timeouts.
 */
void dns_run(struct dns_ctx *ctx, const bool *stop);

/* Synchronous lookup (never NULL). */
struct dns_result *dns_lookup(struct dns_ctx *ctx, const char *name, enum dns_type type);

/* The reverse name for an address: "4.3.2.1.in-addr.arpa" or the
 * IPv6 nibble form; with a zone instead of in-addr.arpa/ip6.arpa for
 * DNSBL queries.  false if it would not fit. */
bool dns_reverse_name(int family, const unsigned char *addr, const char *zone, char *out,
                      size_t outlen);

/* Host name alphabet (letters, digits, '-', '_', '.'), length limits,
 * no empty labels.  A trailing dot is allowed. */
bool dns_name_ok(const char *name);

/*
 * Bounded rdata parsers (dns_parse.c), used on libunbound's answers and
 * by the fuzz target.  Each fills rr (type-specific fields) and returns
 * false for malformed data.  dns_parse_name reads a wire-format name
 * (uncompressed, as libunbound gives rdata) at *off and advances *off.
 */
bool dns_parse_name(const unsigned char *p, size_t len, size_t *off, char *out, size_t outlen);
bool dns_parse_rdata(enum dns_type type, const unsigned char *p, size_t len, struct dns_rr *rr);
void dns_rr_clear(struct dns_rr *rr);

#endif
