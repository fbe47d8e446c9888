/*
 * smtpd_sasl_cyrus.c - the Cyrus libsasl2 backend of smtpd's AUTH (see
 * smtpd_sasl.h).  Runs in smtpd.  The application name is
 * smtpd_sasl_path (default "smtpd"), so libsasl2 reads
 * $smtpd_sasl_path.conf from cyrus_sasl_config_path when that is set
 * (sasl_set_path, as Postfix) or from its built-in directories
 * (/etc/sasl2, /usr/lib/sasl2 ...).  That file chooses the password
 * check: "pwcheck_method: auxprop" with "auxprop_plugin: sasldb" and
 * "sasldb_path: FILE", or "pwcheck_method: saslauthd".
 *
 * sasl_server_init runs before privileges are dropped: plugins and the
 * configuration are read then.  The sasldb file and the saslauthd
 * socket are opened at every check, as network_user and inside the
 * chroot when master.cf's chroot column says y: they must be reachable
 * there (docs/sasl.md).
 *
 * libsasl2 is synchronous: a check through saslauthd holds this smtpd
 * process's event loop while it runs.  smtpd_sasl_type = dovecot has
 * no such wait.
 */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"
#include "smtpd_sasl.h"
#include "smtpd_sasl_parse.h"
#include "xalloc.h"

struct cy_server {
	char *service, *hostname, *realm;
};

struct cy_x {
	sasl_conn_t *conn;
};

static int cy_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (msg == NULL)
		return SASL_OK;
	if (level <= SASL_LOG_ERR)
		log_warn("SASL authentication problem: %s", msg);
	else if (level <= SASL_LOG_WARN)
		log_warn("SASL authentication failure: %s", msg);
	return SASL_OK;
}

static sasl_callback_t callbacks[] = {
    {SASL_CB_LOG, (int (*)(void))(void (*)(void))cy_log, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static void *cy_init(struct cfg *cfg, struct event_base *base)
{
	(void)base;
	const char *confpath = cfg_get(cfg, "cyrus_sasl_config_path");
	if (*confpath && sasl_set_path(SASL_PATH_TYPE_CONFIG, (char *)confpath) != SASL_OK)
		log_fatal("failed to set Cyrus SASL configuration path: \"%s\"", confpath);
	const char *app = cfg_get(cfg, "smtpd_sasl_path");
	if (*app == '\0')
		app = "smtpd";
	int rc = sasl_server_init(callbacks, app);
	if (rc != SASL_OK) {
		log_warn("SASL per-process initialization failed: %s", sasl_errstring(rc, NULL, NULL));
		return NULL;
	}
	struct cy_server *s = xcalloc(1, sizeof(*s));
	s->service = xstrdup(cfg_get(cfg, "smtpd_sasl_service"));
	s->hostname = xstrdup(cfg_get(cfg, "myhostname"));
	const char *realm = cfg_get(cfg, "smtpd_sasl_local_domain");
	s->realm = *realm ? xstrdup(realm) : NULL;
	return s;
}

/* "a.b.c.d;port" as libsasl2 wants it, or NULL. */
static const char *ipport(const char *addr, const char *port, char *buf, size_t len)
{
	if (addr == NULL || *addr == '\0' || port == NULL || *port == '\0')
		return NULL;
	int n = snprintf(buf, len, "%s;%s", addr, port);
	return n > 0 && (size_t)n < len ? buf : NULL;
}

static sasl_conn_t *cy_conn(struct cy_server *s, unsigned sec, const struct sasl_peer *peer)
{
	char lb[100], rb[100];
	sasl_conn_t *conn = NULL;
	int rc = sasl_server_new(s->service, s->hostname, s->realm,
	                         ipport(peer->local_addr, peer->local_port, lb, sizeof(lb)),
	                         ipport(peer->addr, peer->port, rb, sizeof(rb)), NULL, 0, &conn);
	if (rc != SASL_OK) {
		log_warn("SASL per-connection server initialization: %s",
		         sasl_errstring(rc, NULL, NULL));
		return NULL;
	}
	sasl_security_properties_t props;
	memset(&props, 0, sizeof(props));
	props.max_ssf = 1; /* no SASL security layer: TLS does that */
	props.maxbufsize = 0;
	if (sec & PT_SEC_NOPLAIN)
		props.security_flags |= SASL_SEC_NOPLAINTEXT;
	if (sec & PT_SEC_NOACTIVE)
		props.security_flags |= SASL_SEC_NOACTIVE;
	if (sec & PT_SEC_NODICT)
		props.security_flags |= SASL_SEC_NODICTIONARY;
	if (sec & PT_SEC_NOANON)
		props.security_flags |= SASL_SEC_NOANONYMOUS;
	if (sec & PT_SEC_MUTUAL)
		props.security_flags |= SASL_SEC_MUTUAL_AUTH;
	if (sec & PT_SEC_FORWARD)
		props.security_flags |= SASL_SEC_FORWARD_SECRECY;
	if (sasl_setprop(conn, SASL_SEC_PROPS, &props) != SASL_OK) {
		sasl_dispose(&conn);
		return NULL;
	}
	return conn;
}

static bool cy_mechs(void *server, unsigned sec, const struct sasl_peer *peer, char *buf,
                     size_t len)
{
	sasl_conn_t *conn = cy_conn(server, sec, peer);
	if (conn == NULL)
		return false;
	const char *list = NULL;
	unsigned plen = 0;
	int n = 0;
	int rc = sasl_listmech(conn, NULL, "", " ", "", &list, &plen, &n);
	bool ok = rc == SASL_OK && list != NULL && plen < len;
	if (ok) {
		memcpy(buf, list, plen);
		buf[plen] = '\0';
	} else if (rc != SASL_OK) {
		log_warn("%s[%s]: no applicable SASL mechanisms", peer->name, peer->addr);
	}
	sasl_dispose(&conn);
	return ok;
}

static void *cy_xnew(void *server, unsigned sec, const struct sasl_peer *peer)
{
	sasl_conn_t *conn = cy_conn(server, sec, peer);
	if (conn == NULL)
		return NULL;
	struct cy_x *x = xcalloc(1, sizeof(*x));
	x->conn = conn;
	return x;
}

static void cy_report(struct cy_x *x, int rc, const char *out, unsigned outlen,
                      sasl_step_fn *fn, void *arg)
{
	if (rc == SASL_CONTINUE) {
		fn(arg, SASL_ST_MORE, (const unsigned char *)out, outlen, NULL);
		return;
	}
	if (rc == SASL_OK) {
		const void *user = NULL;
		if (sasl_getprop(x->conn, SASL_USERNAME, &user) != SASL_OK)
			user = NULL;
		char name[256];
		snprintf(name, sizeof(name), "%s", user ? (const char *)user : "");
		fn(arg, SASL_ST_OK, NULL, 0, name);
		return;
	}
	/* As Postfix: the library's short description of the error. */
	char reason[256];
	snprintf(reason, sizeof(reason), "%s", sasl_errstring(rc, NULL, NULL));
	bool temp = rc == SASL_TRYAGAIN || rc == SASL_UNAVAIL;
	/* The name the client tried, when libsasl2 got that far (for the
	 * log line, as Postfix). */
	const void *user = NULL;
	char name[256] = "";
	if (sasl_getprop(x->conn, SASL_USERNAME, &user) == SASL_OK && user != NULL)
		snprintf(name, sizeof(name), "%s", (const char *)user);
	fn(arg, temp ? SASL_ST_TEMP : SASL_ST_FAIL, (const unsigned char *)name, strlen(name),
	   reason);
}

static void cy_start(void *vx, const char *mech, const unsigned char *init, size_t initlen,
                     bool has_init, sasl_step_fn *fn, void *arg)
{
	struct cy_x *x = vx;
	const char *out = NULL;
	unsigned outlen = 0;
	int rc = sasl_server_start(x->conn, mech, has_init ? (const char *)init : NULL,
	                           (unsigned)initlen, &out, &outlen);
	cy_report(x, rc, out, outlen, fn, arg);
}

static void cy_step(void *vx, const unsigned char *resp, size_t len, sasl_step_fn *fn,
                    void *arg)
{
	struct cy_x *x = vx;
	const char *out = NULL;
	unsigned outlen = 0;
	int rc = sasl_server_step(x->conn, (const char *)resp, (unsigned)len, &out, &outlen);
	cy_report(x, rc, out, outlen, fn, arg);
}

static void cy_xfree(void *vx)
{
	struct cy_x *x = vx;
	sasl_dispose(&x->conn);
	free(x);
}

const struct sasl_backend smtpd_sasl_cyrus = {
    .name = "cyrus",
    .server_init = cy_init,
    .after_drop = NULL,
    .mechs = cy_mechs,
    .xnew = cy_xnew,
    .start = cy_start,
    .step = cy_step,
    .xfree = cy_xfree,
};
