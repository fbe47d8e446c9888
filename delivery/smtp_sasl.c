/*
 * smtp_sasl.c - the smtp client's SASL authentication (see
 * smtp_sasl.h).  Runs in the client's per-connection process as
 * network_user; the password tables are opened before privileges drop.
 * Untrusted input: the server's AUTH list and its 334 challenges
 * (base64, decoded by Cyrus into a bounded buffer; a line we cannot
 * decode ends the exchange).
 */
#include "smtp_sasl.h"

#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "log.h"
#include "map.h"
#include "smtp_conf.h"
#include "strlist.h"
#include "xalloc.h"

void smtp_sasl_conf_free(struct smtp_sasl_conf *c)
{
	for (size_t i = 0; i < c->nmaps; i++)
		map_close(c->maps[i]);
	free(c->maps);
	free(c->options);
	free(c->tls_options);
	free(c->filter);
	memset(c, 0, sizeof(*c));
}

void smtp_sasl_load(struct smtp_sasl_conf *c, const struct smtp_conf *sc)
{
	memset(c, 0, sizeof(*c));
	char name[64];
	snprintf(name, sizeof(name), "%s_sasl_auth_enable", sc->prefix);
	c->enable = cfg_get_bool(sc->cfg, name);
	if (!c->enable)
		return;
	c->options = xstrdup(smtp_conf_get(sc, "sasl_security_options"));
	c->tls_options = xstrdup(smtp_conf_get(sc, "sasl_tls_security_options"));
	c->filter = xstrdup(smtp_conf_get(sc, "sasl_mechanism_filter"));
	snprintf(name, sizeof(name), "%s_sasl_auth_soft_bounce", sc->prefix);
	c->soft_bounce = cfg_get_bool(sc->cfg, name);
	snprintf(name, sizeof(name), "%s_sender_dependent_authentication", sc->prefix);
	c->sender_dependent = cfg_get_bool(sc->cfg, name);
	char **specs;
	char err[512];
	int n = strlist_split(smtp_conf_get(sc, "sasl_password_maps"), NULL, 64, &specs, err,
	                      sizeof(err));
	if (n < 0) {
		log_warn("%s_sasl_password_maps: %s", sc->prefix, err);
		c->broken = true;
		return;
	}
	c->maps = xcalloc((size_t)n + 1, sizeof(*c->maps));
	for (int i = 0; i < n; i++) {
		struct map *m = map_open(specs[i], 0, err, sizeof(err));
		if (m == NULL) {
			log_warn("%s_sasl_password_maps: %s: %s", sc->prefix, specs[i], err);
			c->broken = true;
			continue;
		}
		c->maps[c->nmaps++] = m;
	}
	strlist_free(specs);
	if (sasl_client_init(NULL) != SASL_OK) {
		log_warn("Cyrus SASL client library did not initialize: no authentication");
		c->broken = true;
	}
}

int smtp_sasl_find(const struct smtp_sasl_conf *c, const char *sender, const char *dest,
                   const char *host, unsigned port, char **user, char **pass)
{
	if (c->broken)
		return -1;
	char keys[6][400];
	size_t nk = 0;
	/* The null sender never authenticates by sender (Postfix). */
	if (c->sender_dependent && sender != NULL && *sender) {
		snprintf(keys[nk++], sizeof(keys[0]), "%s", sender);
		const char *at = strrchr(sender, '@');
		if (at != NULL)
			snprintf(keys[nk++], sizeof(keys[0]), "%s", at);
	}
	snprintf(keys[nk++], sizeof(keys[0]), "%s", dest);
	/* "[host]:port" -> "[host]", "host:port" -> "host" */
	char *d0 = keys[nk - 1];
	char *cut = strrchr(d0, ':');
	if (cut != NULL && strchr(cut, ']') == NULL && strncmp(dest, "inet:", 5) != 0) {
		size_t cl = (size_t)(cut - d0);
		memcpy(keys[nk], d0, cl); /* distinct rows of keys: no overlap */
		keys[nk][cl] = '\0';
		nk++;
	}
	snprintf(keys[nk++], sizeof(keys[0]), "%s", host);
	snprintf(keys[nk++], sizeof(keys[0]), "[%s]:%u", host, port);
	for (size_t i = 0; i < c->nmaps; i++)
		for (size_t k = 0; k < nk; k++) {
			const char *v;
			int rc = map_lookup(c->maps[i], keys[k], &v);
			if (rc == MAP_ERROR)
				return -1;
			if (rc != MAP_FOUND)
				continue;
			const char *colon = strchr(v, ':');
			*user = colon ? xstrndup(v, (size_t)(colon - v)) : xstrdup(v);
			*pass = xstrdup(colon ? colon + 1 : "");
			return 1;
		}
	return 0;
}

struct creds {
	const char *user, *pass;
	sasl_secret_t *secret;
};

static int cb_simple(void *ctx, int id, const char **result, unsigned *len)
{
	struct creds *cr = ctx;
	if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME)
		return SASL_BADPARAM;
	*result = cr->user;
	if (len)
		*len = (unsigned)strlen(cr->user);
	return SASL_OK;
}

static int cb_secret(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
	(void)conn;
	struct creds *cr = ctx;
	if (id != SASL_CB_PASS)
		return SASL_BADPARAM;
	*psecret = cr->secret;
	return SASL_OK;
}

static unsigned sec_flags(const char *opts)
{
	unsigned f = 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", opts ? opts : "");
	char *save = NULL;
	for (char *t = strtok_r(buf, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		if (strcasecmp(t, "noplaintext") == 0)
			f |= SASL_SEC_NOPLAINTEXT;
		else if (strcasecmp(t, "noactive") == 0)
			f |= SASL_SEC_NOACTIVE;
		else if (strcasecmp(t, "nodictionary") == 0)
			f |= SASL_SEC_NODICTIONARY;
		else if (strcasecmp(t, "noanonymous") == 0)
			f |= SASL_SEC_NOANONYMOUS;
		else if (strcasecmp(t, "mutual_auth") == 0)
			f |= SASL_SEC_MUTUAL_AUTH;
	}
	return f;
}

/* The server's mechanisms minus what smtp_sasl_mechanism_filter drops
 * (a plain list of names; tables are not supported). */
static void filter_mechs(const char *mechs, const char *filter, char *out, size_t len)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", mechs);
	out[0] = '\0';
	char *save = NULL;
	for (char *m = strtok_r(buf, " \t", &save); m; m = strtok_r(NULL, " \t", &save)) {
		bool keep = filter == NULL || *filter == '\0';
		if (!keep) {
			char fb[512];
			snprintf(fb, sizeof(fb), "%s", filter);
			char *s2 = NULL;
			for (char *f = strtok_r(fb, " \t,", &s2); f && !keep; f = strtok_r(NULL, " \t,", &s2))
				keep = strcasecmp(f, m) == 0;
		}
		if (keep && strlen(out) + strlen(m) + 2 < len) {
			if (*out)
				strcat(out, " ");
			strcat(out, m);
		}
	}
}

int smtp_sasl_auth(const struct smtp_sasl_conf *c, const struct smtp_sasl_io *io,
                   const char *service_host, const char *mechs, bool tls, const char *user,
                   const char *pass, const char *hostaddr, char *dsn, size_t dsnlen,
                   char *why, size_t whylen)
{
	struct creds cr = {.user = user, .pass = pass};
	size_t pl = strlen(pass);
	cr.secret = xcalloc(1, sizeof(sasl_secret_t) + pl + 1);
	cr.secret->len = (unsigned long)pl;
	memcpy(cr.secret->data, pass, pl);
	sasl_callback_t cbs[] = {
		{SASL_CB_USER, (int (*)(void))(void (*)(void))cb_simple, &cr},
		{SASL_CB_AUTHNAME, (int (*)(void))(void (*)(void))cb_simple, &cr},
		{SASL_CB_PASS, (int (*)(void))(void (*)(void))cb_secret, &cr},
		{SASL_CB_LIST_END, NULL, NULL},
	};
	sasl_conn_t *conn = NULL;
	int ret = -1;
	const char *soft = c->soft_bounce ? "4.7.0" : "5.7.0";
	snprintf(dsn, dsnlen, "%s", soft);
	if (sasl_client_new("smtp", service_host, NULL, NULL, cbs, 0, &conn) != SASL_OK) {
		snprintf(why, whylen, "SASL authentication failed; cannot authenticate to server "
		         "%s: client setup failed", hostaddr);
		goto out;
	}
	sasl_security_properties_t props = {
		.min_ssf = 0, .max_ssf = 0, /* no SASL security layer over SMTP */
		.maxbufsize = 0,
		.security_flags = sec_flags(tls ? c->tls_options : c->options),
	};
	sasl_setprop(conn, SASL_SEC_PROPS, &props);
	char list[1024];
	filter_mechs(mechs, c->filter, list, sizeof(list));
	const char *out = NULL, *mech = NULL;
	unsigned outlen = 0;
	int rc = *list ? sasl_client_start(conn, list, NULL, &out, &outlen, &mech) : SASL_NOMECH;
	if (rc != SASL_OK && rc != SASL_CONTINUE) {
		snprintf(why, whylen, "SASL authentication failed; cannot authenticate to server "
		         "%s: %s", hostaddr, rc == SASL_NOMECH ? "no mechanism available"
		                                             : sasl_errstring(rc, NULL, NULL));
		goto out;
	}
	char line[8192], b64[6000];
	unsigned blen = 0;
	if (out != NULL && sasl_encode64(out, outlen, b64, sizeof(b64), &blen) != SASL_OK) {
		snprintf(why, whylen, "SASL: initial response too long");
		goto out;
	}
	if (out == NULL)
		snprintf(line, sizeof(line), "AUTH %s", mech);
	else
		snprintf(line, sizeof(line), "AUTH %s %s", mech, blen ? b64 : "=");
	for (int round = 0; round < 16; round++) {
		int code;
		const char *text, *full;
		if (!io->write_line(io->arg, line) || !io->read_reply(io->arg, &code, &text, &full)) {
			ret = -2;
			goto out;
		}
		if (code == 235) {
			log_info("SASL authentication to %s succeeded (mechanism %s, user %s)", hostaddr,
			         mech, user);
			ret = 0;
			goto out;
		}
		if (code != 334) {
			if (code >= 500 && !c->soft_bounce)
				snprintf(dsn, dsnlen, "5.7.8");
			snprintf(why, whylen, "SASL authentication failed; server %s said: %s",
			         hostaddr, full);
			goto out;
		}
		char dec[4096];
		unsigned dlen = 0;
		if (sasl_decode64(text, (unsigned)strlen(text), dec, sizeof(dec), &dlen) != SASL_OK) {
			snprintf(why, whylen, "SASL authentication failed; server %s sent a malformed "
			         "challenge", hostaddr);
			(void)io->write_line(io->arg, "*");
			goto out;
		}
		rc = sasl_client_step(conn, dec, dlen, NULL, &out, &outlen);
		if (rc != SASL_OK && rc != SASL_CONTINUE) {
			snprintf(why, whylen, "SASL authentication failed; %s", sasl_errstring(rc, NULL,
			                                                                      NULL));
			(void)io->write_line(io->arg, "*");
			goto out;
		}
		blen = 0;
		if (out != NULL && outlen > 0 &&
		    sasl_encode64(out, outlen, b64, sizeof(b64), &blen) != SASL_OK) {
			snprintf(why, whylen, "SASL: response too long");
			goto out;
		}
		snprintf(line, sizeof(line), "%s", blen ? b64 : "");
	}
	snprintf(why, whylen, "SASL authentication failed; too many rounds with %s", hostaddr);
out:
	if (conn != NULL)
		sasl_dispose(&conn);
	explicit_bzero(cr.secret->data, pl);
	free(cr.secret);
	return ret;
}
