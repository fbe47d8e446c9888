/*
 * smtp_conf.c - settings and TLS policy of the smtp/lmtp client (see
 * smtp_conf.h).  Runs in the client's parent process before privileges
 * drop (loading) and in its per-connection children (policy lookups).
 * Input: main.cf and the tables it names (trusted configuration, every
 * value still checked).
 */
#include "smtp_conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <tls.h>

#include "cfg.h"
#include "log.h"
#include "map.h"
#include "strlist.h"
#include "xalloc.h"

const char *smtp_conf_get(const struct smtp_conf *sc, const char *suffix)
{
	char name[128];
	snprintf(name, sizeof(name), "%s_%s", sc->prefix, suffix);
	return cfg_get(sc->cfg, name);
}

static long get_time(const struct smtp_conf *sc, const char *suffix)
{
	char name[128];
	snprintf(name, sizeof(name), "%s_%s", sc->prefix, suffix);
	return cfg_get_time(sc->cfg, name);
}

static bool get_bool(const struct smtp_conf *sc, const char *suffix)
{
	char name[128];
	snprintf(name, sizeof(name), "%s_%s", sc->prefix, suffix);
	return cfg_get_bool(sc->cfg, name);
}

static const struct {
	const char *name;
	enum smtp_tls_level level;
} levels[] = {
	{"none", TLS_LEV_NONE}, {"may", TLS_LEV_MAY}, {"encrypt", TLS_LEV_ENCRYPT},
	{"fingerprint", TLS_LEV_FINGERPRINT}, {"verify", TLS_LEV_VERIFY},
	{"secure", TLS_LEV_SECURE}, {"dane-only", TLS_LEV_DANE_ONLY},
	{"dane", TLS_LEV_DANE},
};

static bool level_parse(const char *s, enum smtp_tls_level *l)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(s, levels[i].name) == 0) {
			*l = levels[i].level;
			return true;
		}
	return false;
}

const char *smtp_tls_level_name(enum smtp_tls_level l)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == l)
			return levels[i].name;
	return "?";
}

static uint8_t *load(const char *what, const char *path, size_t *len)
{
	if (path == NULL || *path == '\0')
		return NULL;
	uint8_t *p = tls_load_file(path, len, NULL);
	if (p == NULL)
		log_fatal("%s %s: %s", what, path, strerror(errno));
	return p;
}

void smtp_conf_free(struct smtp_conf *sc)
{
	char **strs[] = {&sc->helo_name, &sc->bind_address, &sc->bind_address6,
	                 &sc->fallback_relay, &sc->ca_path, &sc->protocols,
	                 &sc->mandatory_protocols, &sc->ciphers, &sc->mandatory_ciphers,
	                 &sc->verify_match, &sc->secure_match, &sc->fp_match, &sc->fp_digest};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < sc->npolicy; i++)
		if (sc->policy[i] != NULL)
			map_close(sc->policy[i]);
	free(sc->policy);
	sc->policy = NULL;
	tls_unload_file(sc->ca, sc->ca_len);
	tls_unload_file(sc->cert, sc->cert_len);
	tls_unload_file(sc->key, sc->key_len);
	sc->ca = sc->cert = sc->key = NULL;
	smtp_sasl_conf_free(&sc->sasl);
}

void smtp_conf_load(struct smtp_conf *sc, struct cfg *cfg, const char *prog)
{
	memset(sc, 0, sizeof(*sc));
	sc->cfg = cfg;
	sc->lmtp = strcmp(prog, "lmtp") == 0;
	sc->prefix = sc->lmtp ? "lmtp" : "smtp";
	sc->default_port = sc->lmtp ? 24 : 25;
	if (sc->lmtp) {
		sc->connect_timeout = get_time(sc, "connect_timeout");
		sc->helo_timeout = get_time(sc, "lhlo_timeout");
	} else {
		sc->connect_timeout = get_time(sc, "connect_timeout");
		sc->helo_timeout = get_time(sc, "helo_timeout");
	}
	sc->mail_timeout = get_time(sc, "mail_timeout");
	sc->rcpt_timeout = get_time(sc, "rcpt_timeout");
	sc->data_init_timeout = get_time(sc, "data_init_timeout");
	sc->data_xfer_timeout = get_time(sc, "data_xfer_timeout");
	sc->data_done_timeout = get_time(sc, "data_done_timeout");
	sc->quit_timeout = get_time(sc, "quit_timeout");
	sc->starttls_timeout = get_time(sc, "starttls_timeout");
	sc->helo_name = xstrdup(smtp_conf_get(sc, sc->lmtp ? "lhlo_name" : "helo_name"));
	sc->bind_address = xstrdup(smtp_conf_get(sc, "bind_address"));
	sc->bind_address6 = xstrdup(smtp_conf_get(sc, "bind_address6"));
	sc->skip_5xx_greeting = get_bool(sc, "skip_5xx_greeting");
	sc->note_starttls_offer = get_bool(sc, "tls_note_starttls_offer");
	sc->soft_bounce = cfg_get_bool(cfg, "soft_bounce");
	sc->mx_address_limit = cfg_get_long(cfg, sc->lmtp ? "lmtp_mx_address_limit"
	                                                   : "smtp_mx_address_limit");
	/* fallback_relay is the old name of smtp_fallback_relay. */
	const char *fb = smtp_conf_get(sc, "fallback_relay");
	if ((fb == NULL || *fb == '\0') && !sc->lmtp)
		fb = cfg_get(cfg, "fallback_relay");
	sc->fallback_relay = xstrdup(fb ? fb : "");
	sc->myhostname = cfg_get(cfg, "myhostname");

	/* TLS: the level, or the legacy switches when it is empty. */
	const char *lev = smtp_conf_get(sc, "tls_security_level");
	if (lev == NULL || *lev == '\0') {
		if (get_bool(sc, "enforce_tls"))
			sc->level = get_bool(sc, "tls_enforce_peername") ? TLS_LEV_VERIFY
			                                                 : TLS_LEV_ENCRYPT;
		else
			sc->level = get_bool(sc, "use_tls") ? TLS_LEV_MAY : TLS_LEV_NONE;
	} else if (!level_parse(lev, &sc->level)) {
		log_warn("%s_tls_security_level: unknown level \"%s\": using \"encrypt\"",
		         sc->prefix, lev);
		sc->level = TLS_LEV_ENCRYPT;
	}
	char **specs;
	char err[512];
	int n = strlist_split(smtp_conf_get(sc, "tls_policy_maps"), NULL, 64, &specs, err,
	                      sizeof(err));
	if (n < 0)
		log_fatal("%s_tls_policy_maps: %s", sc->prefix, err);
	sc->policy = xcalloc((size_t)n + 1, sizeof(*sc->policy));
	for (int i = 0; i < n; i++) {
		struct map *m = map_open(specs[i], 0, err, sizeof(err));
		if (m == NULL) {
			/* Deliveries that need it defer; see smtp_tls_policy_find. */
			log_warn("%s_tls_policy_maps: %s: %s", sc->prefix, specs[i], err);
			sc->policy[sc->npolicy++] = NULL;
		} else {
			sc->policy[sc->npolicy++] = m;
		}
	}
	strlist_free(specs);
	sc->ca = load("CA file", smtp_conf_get(sc, "tls_CAfile"), &sc->ca_len);
	sc->ca_path = xstrdup(smtp_conf_get(sc, "tls_CApath"));
	/* Without either, the system bundle, read now: a chrooted agent
	 * could not read it at handshake time. */
	if (sc->ca == NULL && *sc->ca_path == '\0')
		sc->ca = tls_load_file(tls_default_ca_cert_file(), &sc->ca_len, NULL);
	const char *cert = smtp_conf_get(sc, "tls_cert_file");
	if (cert != NULL && *cert) {
		const char *key = smtp_conf_get(sc, "tls_key_file");
		sc->cert = load("client certificate", cert, &sc->cert_len);
		sc->key = load("client key", key && *key ? key : cert, &sc->key_len);
	}
	sc->protocols = xstrdup(smtp_conf_get(sc, "tls_protocols"));
	sc->mandatory_protocols = xstrdup(smtp_conf_get(sc, "tls_mandatory_protocols"));
	sc->ciphers = xstrdup(smtp_conf_get(sc, "tls_ciphers"));
	sc->mandatory_ciphers = xstrdup(smtp_conf_get(sc, "tls_mandatory_ciphers"));
	sc->verify_match = xstrdup(smtp_conf_get(sc, "tls_verify_cert_match"));
	sc->secure_match = xstrdup(smtp_conf_get(sc, "tls_secure_cert_match"));
	sc->fp_match = xstrdup(smtp_conf_get(sc, "tls_fingerprint_cert_match"));
	sc->fp_digest = xstrdup(smtp_conf_get(sc, "tls_fingerprint_digest"));
	sc->tls_loglevel = cfg_get_long(cfg, sc->lmtp ? "lmtp_tls_loglevel"
	                                              : "smtp_tls_loglevel");
	smtp_sasl_load(&sc->sasl, sc);
}

/* Keys for smtp_tls_policy_maps: the destination as named, and for a
 * domain its parents as ".parent" (Postfix's default). */
void smtp_tls_policy_find(const struct smtp_conf *sc, const char *dest,
                          struct smtp_tls_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->level = sc->level;
	const char *value = NULL;
	for (size_t i = 0; i < sc->npolicy && value == NULL; i++) {
		if (sc->policy[i] == NULL) {
			snprintf(p->why, sizeof(p->why), "TLS policy table unavailable");
			return;
		}
		char key[512];
		snprintf(key, sizeof(key), "%s", dest);
		const char *k = key;
		for (int depth = 0; k != NULL && depth < 64; depth++) {
			int rc = map_lookup(sc->policy[i], k, &value);
			if (rc == MAP_ERROR) {
				snprintf(p->why, sizeof(p->why), "TLS policy lookup for %.200s failed",
				         dest);
				return;
			}
			if (rc == MAP_FOUND)
				break;
			value = NULL;
			if (key[0] == '[' || (sc->policy[i]->ops->props & MAP_P_FIXED) == 0)
				break;
			/* next parent: ".b.c" from "a.b.c" or ".a.b.c" */
			const char *dot = strchr(k + 1, '.');
			k = dot;
		}
	}
	if (value == NULL)
		return;
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s", value);
	char *save = NULL;
	char *tok = strtok_r(buf, " \t,", &save);
	if (tok == NULL || !level_parse(tok, &p->level)) {
		snprintf(p->why, sizeof(p->why), "invalid TLS security level \"%.64s\" in "
		         "policy for %.200s", tok ? tok : "", dest);
		return;
	}
	while ((tok = strtok_r(NULL, " \t,", &save)) != NULL) {
		char *eq = strchr(tok, '=');
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (strcasecmp(tok, "match") == 0)
			snprintf(p->match, sizeof(p->match), "%s", eq);
		else if (strcasecmp(tok, "protocols") == 0)
			snprintf(p->protocols, sizeof(p->protocols), "%s", eq);
		else if (strcasecmp(tok, "ciphers") == 0)
			snprintf(p->ciphers, sizeof(p->ciphers), "%s", eq);
		else if (strcasecmp(tok, "exclude") != 0 && strcasecmp(tok, "tafile") != 0 &&
		         strcasecmp(tok, "connection_reuse") != 0 &&
		         strcasecmp(tok, "servername") != 0)
			log_warn("TLS policy for %s: unknown attribute \"%s\" ignored", dest, tok);
	}
}

/* Postfix protocol syntax (">=TLSv1.2", "!SSLv3, !TLSv1", "TLSv1.3")
 * to libtls's ("tlsv1.2,tlsv1.3", "all,!tlsv1.0"). */
static bool protocols(const char *pf, uint32_t *out)
{
	static const char *names[] = {"tlsv1.0", "tlsv1.1", "tlsv1.2", "tlsv1.3"};
	static const char *pfn[] = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
	bool on[4] = {false, false, false, false};
	bool any_pos = false, neg[4] = {false, false, false, false};
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", pf ? pf : "");
	char *save = NULL;
	for (char *t = strtok_r(buf, " \t,:", &save); t; t = strtok_r(NULL, " \t,:", &save)) {
		int ge = 0, le = 0, nt = 0;
		if (strncmp(t, ">=", 2) == 0)
			ge = 1, t += 2;
		else if (strncmp(t, "<=", 2) == 0)
			le = 1, t += 2;
		else if (*t == '!')
			nt = 1, t++;
		if (strncasecmp(t, "SSLv", 4) == 0)
			continue; /* never offered */
		int idx = -1;
		for (int i = 0; i < 4; i++)
			if (strcasecmp(t, pfn[i]) == 0 || strcasecmp(t, names[i]) == 0)
				idx = i;
		if (idx < 0)
			return false;
		for (int i = 0; i < 4; i++) {
			bool hit = ge ? i >= idx : le ? i <= idx : i == idx;
			if (!hit)
				continue;
			if (nt)
				neg[i] = true;
			else
				on[i] = true, any_pos = true;
		}
	}
	char lt[128] = "";
	for (int i = 0; i < 4; i++) {
		if (!(any_pos ? on[i] : true) || neg[i])
			continue;
		if (*lt)
			strcat(lt, ",");
		strcat(lt, names[i]);
	}
	if (*lt == '\0')
		return false;
	return tls_config_parse_protocols(out, lt) == 0;
}

static const char *ciphers(const char *grade)
{
	if (grade == NULL || *grade == '\0' || strcasecmp(grade, "high") == 0 ||
	    strcasecmp(grade, "medium") == 0)
		return "secure";
	if (strcasecmp(grade, "low") == 0)
		return "compat";
	return "legacy"; /* export, null: libtls still never offers aNULL suites */
}

struct tls_config *smtp_tls_config(const struct smtp_conf *sc,
                                   const struct smtp_tls_policy *p, bool verify_chain,
                                   char *why, size_t whylen)
{
	struct tls_config *c = tls_config_new();
	if (c == NULL) {
		snprintf(why, whylen, "TLS configuration: out of memory");
		return NULL;
	}
	bool mandatory = p->level >= TLS_LEV_ENCRYPT;
	const char *proto = *p->protocols ? p->protocols
	                    : mandatory ? sc->mandatory_protocols : sc->protocols;
	const char *ciph = *p->ciphers ? p->ciphers
	                   : mandatory ? sc->mandatory_ciphers : sc->ciphers;
	uint32_t pr;
	if (!protocols(proto, &pr)) {
		snprintf(why, whylen, "TLS protocols \"%.100s\" leave no usable protocol", proto);
		goto fail;
	}
	if (tls_config_set_protocols(c, pr) != 0 ||
	    tls_config_set_ciphers(c, ciphers(ciph)) != 0) {
		snprintf(why, whylen, "TLS configuration: %s", tls_config_error(c));
		goto fail;
	}
	if (sc->ca != NULL && tls_config_set_ca_mem(c, sc->ca, sc->ca_len) != 0) {
		snprintf(why, whylen, "CA file: %s", tls_config_error(c));
		goto fail;
	}
	if (sc->ca_path != NULL && *sc->ca_path && tls_config_set_ca_path(c, sc->ca_path) != 0) {
		snprintf(why, whylen, "CA path: %s", tls_config_error(c));
		goto fail;
	}
	if (sc->cert != NULL && tls_config_set_keypair_mem(c, sc->cert, sc->cert_len, sc->key,
	                                                   sc->key_len) != 0) {
		snprintf(why, whylen, "client certificate: %s", tls_config_error(c));
		goto fail;
	}
	/* Names are matched by the caller against the policy's match list. */
	tls_config_insecure_noverifyname(c);
	if (!verify_chain)
		tls_config_insecure_noverifycert(c);
	return c;
fail:
	tls_config_free(c);
	return NULL;
}
