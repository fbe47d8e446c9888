/*
 * smtp_conf.h - the smtp/lmtp client's settings, read once at start-up
 * from main.cf with the service's master.cf -o overrides applied
 * (common/daemon.c), with files (CA bundle, client certificate and key)
 * and tables loaded while still privileged; and the TLS policy of one
 * destination (smtp_tls_security_level, smtp_tls_policy_maps, legacy
 * smtp_use_tls / smtp_enforce_tls).
 */
#ifndef POSTERN_SMTP_CONF_H
#define POSTERN_SMTP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp_sasl.h"

struct cfg;
struct map;
struct tls_config;
struct dns_ctx;

enum smtp_tls_level {
	TLS_LEV_NONE,
	TLS_LEV_MAY,
	TLS_LEV_ENCRYPT,
	TLS_LEV_FINGERPRINT,
	TLS_LEV_VERIFY,
	TLS_LEV_SECURE,
	TLS_LEV_DANE_ONLY, /* DANE, and never anything less */
	TLS_LEV_DANE,      /* DANE with usable TLSA records, else "may" */
};

struct smtp_conf {
	struct cfg *cfg;
	bool lmtp;
	const char *prefix; /* "smtp" or "lmtp": parameter names */
	unsigned default_port;
	long connect_timeout, helo_timeout, mail_timeout, rcpt_timeout, data_init_timeout,
	     data_xfer_timeout, data_done_timeout, quit_timeout, starttls_timeout;
	char *helo_name, *bind_address, *bind_address6;
	bool skip_5xx_greeting, soft_bounce, note_starttls_offer;
	long mx_address_limit;
	char *fallback_relay;
	/* TLS */
	enum smtp_tls_level level; /* the default, before the policy table */
	struct map **policy;
	size_t npolicy;
	uint8_t *ca, *cert, *key;
	size_t ca_len, cert_len, key_len;
	char *ca_path;
	char *protocols, *mandatory_protocols, *ciphers, *mandatory_ciphers;
	char *verify_match, *secure_match, *fp_match, *fp_digest;
	long tls_loglevel;
	long peer_uid;
	const char *myhostname;
	/* common/dns resolver for MX and address lookups; NULL: getaddrinfo
	 * only (no resolver could be set up). */
	struct dns_ctx *dns;
	struct smtp_sasl_conf sasl;
};

/* A destination's TLS policy. */
struct smtp_tls_policy {
	enum smtp_tls_level level;
	char match[1024];     /* ':' or ',' separated names / fingerprints, or "" */
	char protocols[256];  /* Postfix syntax */
	char ciphers[64];
	char why[256];        /* a bad policy: defer with this */
};

/* Read everything; fatal on what cannot work (a configured key that
 * cannot be read). */
void smtp_conf_load(struct smtp_conf *sc, struct cfg *cfg, const char *prog);
/* What smtp_conf_load allocated (not sc->dns). */
void smtp_conf_free(struct smtp_conf *sc);

/* "smtp_xxx" or "lmtp_xxx" of this client. */
const char *smtp_conf_get(const struct smtp_conf *sc, const char *suffix);

/* Policy for a next-hop destination as qmgr named it ("[h]:p", "dom"). */
void smtp_tls_policy_find(const struct smtp_conf *sc, const char *dest,
                          struct smtp_tls_policy *p);

const char *smtp_tls_level_name(enum smtp_tls_level l);

/*
 * A libtls client configuration for policy p (mandatory protocols and
 * ciphers for encrypt and up; no certificate checks by libtls itself:
 * smtp_session.c checks the chain/name/fingerprint the policy asks for).
 * NULL with a reason in why.
 */
struct tls_config *smtp_tls_config(const struct smtp_conf *sc,
                                   const struct smtp_tls_policy *p, bool verify_chain,
                                   char *why, size_t whylen);

#endif
