/*
 * smtpd_policy_req.c - the settings of one check_policy_service (global
 * smtpd_policy_service_* values, overridden by the "{ inet:..., name=value }"
 * form) and the request smtpd sends it.  Runs in smtpd and postern probe.
 * Input: main.cf (trusted) and what the session knows (client-supplied
 * HELO, addresses: line breaks never reach the request).
 */
#include "smtpd_policy_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

static long parse_setting(const char *v, bool time, long dflt)
{
	long n;
	if (time ? cfg_parse_time(v, 's', &n) : cfg_parse_long(v, &n))
		return n;
	return dflt;
}

struct chk_policy_svc *policy_svc_new(struct cfg *cfg, const char *spec, char *err, size_t errlen)
{
	struct chk_policy_svc *p = xcalloc(1, sizeof(*p));
	p->spec = xstrdup(spec);
	p->timeout = cfg_get_time(cfg, "smtpd_policy_service_timeout");
	p->max_idle = cfg_get_time(cfg, "smtpd_policy_service_max_idle");
	p->max_ttl = cfg_get_time(cfg, "smtpd_policy_service_max_ttl");
	p->try_limit = cfg_get_long(cfg, "smtpd_policy_service_try_limit");
	p->retry_delay = cfg_get_time(cfg, "smtpd_policy_service_retry_delay");
	p->request_limit = cfg_get_long(cfg, "smtpd_policy_service_request_limit");
	p->default_action = xstrdup(cfg_get(cfg, "smtpd_policy_service_default_action"));
	p->context = xstrdup(cfg_get(cfg, "smtpd_policy_service_policy_context"));
	char *dup = xstrdup(spec);
	char *body = strlist_unbrace(dup);
	char **items = NULL;
	if (body == NULL ||
	    strlist_split(body, ", \t\r\n", 64, &items, err, errlen) < 0 || items[0] == NULL) {
		if (body == NULL || (items && items[0] == NULL))
			snprintf(err, errlen, "bad policy service \"%s\"", spec);
		free(dup);
		strlist_free(items);
		return p->target = NULL, p;
	}
	p->target = xstrdup(items[0]);
	for (size_t i = 1; items[i]; i++) {
		/* name=value, or { name = value } when the value has blanks */
		char *eq = strchr(items[i], '=');
		if (eq == NULL) {
			snprintf(err, errlen, "policy service %s: \"%s\" is not name=value", items[0], items[i]);
			break;
		}
		*eq++ = '\0';
		char *n = items[i];
		size_t nl = strlen(n);
		while (nl > 0 && (n[nl - 1] == ' ' || n[nl - 1] == '\t'))
			n[--nl] = '\0';
		while (*eq == ' ' || *eq == '\t')
			eq++;
		if (strcmp(n, "timeout") == 0)
			p->timeout = parse_setting(eq, true, p->timeout);
		else if (strcmp(n, "max_idle") == 0)
			p->max_idle = parse_setting(eq, true, p->max_idle);
		else if (strcmp(n, "max_ttl") == 0)
			p->max_ttl = parse_setting(eq, true, p->max_ttl);
		else if (strcmp(n, "try_limit") == 0)
			p->try_limit = parse_setting(eq, false, p->try_limit);
		else if (strcmp(n, "retry_delay") == 0)
			p->retry_delay = parse_setting(eq, true, p->retry_delay);
		else if (strcmp(n, "request_limit") == 0)
			p->request_limit = parse_setting(eq, false, p->request_limit);
		else if (strcmp(n, "default_action") == 0) {
			free(p->default_action);
			p->default_action = xstrdup(eq);
		} else if (strcmp(n, "policy_context") == 0) {
			free(p->context);
			p->context = xstrdup(eq);
		} else {
			snprintf(err, errlen, "policy service %s: unknown setting \"%s\"", items[0], n);
			break;
		}
	}
	strlist_free(items);
	free(dup);
	if (strncmp(p->target, "inet:", 5) != 0 && strncmp(p->target, "unix:", 5) != 0 &&
	    p->target[0] != '/' && err[0] == '\0')
		snprintf(err, errlen, "policy service \"%s\": use inet:host:port or unix:path",
		         p->target);
	return p;
}

void policy_svc_free(struct chk_policy_svc *p)
{
	free(p->spec);
	free(p->target);
	free(p->default_action);
	free(p->context);
	free(p);
}

const char *chk_policy_spec(const struct chk_policy_svc *svc)
{
	return svc->target ? svc->target : svc->spec;
}

long chk_policy_setting(const struct chk_policy_svc *svc, const char *name)
{
	if (strcmp(name, "timeout") == 0)
		return svc->timeout;
	if (strcmp(name, "max_idle") == 0)
		return svc->max_idle;
	if (strcmp(name, "max_ttl") == 0)
		return svc->max_ttl;
	if (strcmp(name, "try_limit") == 0)
		return svc->try_limit;
	if (strcmp(name, "retry_delay") == 0)
		return svc->retry_delay;
	if (strcmp(name, "request_limit") == 0)
		return svc->request_limit;
	return -1;
}

const char *chk_policy_default_action(const struct chk_policy_svc *svc)
{
	return svc->default_action;
}

const char *chk_policy_context(const struct chk_policy_svc *svc)
{
	return svc->context;
}

/* One attribute value of a policy request: no line breaks reach it. */
static void attr(struct strbuf *sb, const char *name, const char *v)
{
	sb_printf(sb, "%s=", name);
	for (const char *p = v ? v : ""; *p; p++)
		sb_printf(sb, "%c", *p == '\n' || *p == '\r' ? '?' : *p);
	sb_printf(sb, "\n");
}

/* The request Postfix sends (SMTPD_POLICY_README), in its order. */
size_t policy_request(const struct chk_input *in, const char *cmd,
                      const struct chk_policy_svc *svc, struct cfg *cfg, char *out, size_t outlen)
{
	struct strbuf sb;
	char num[32];
	sb_init(&sb, 0);
	attr(&sb, "request", "smtpd_access_policy");
	attr(&sb, "protocol_state", cmd);
	attr(&sb, "protocol_name", in->esmtp ? "ESMTP" : "SMTP");
	attr(&sb, "helo_name", in->helo);
	attr(&sb, "queue_id", in->queue_id);
	attr(&sb, "sender", in->sender);
	attr(&sb, "recipient", in->recipient);
	snprintf(num, sizeof(num), "%u", in->nrcpt);
	attr(&sb, "recipient_count", num);
	attr(&sb, "client_address", in->client_addr);
	attr(&sb, "client_name", in->client_name);
	attr(&sb, "reverse_client_name", in->reverse_name);
	attr(&sb, "instance", in->instance);
	bool sa = in->sasl && in->sasl->authenticated;
	attr(&sb, "sasl_method", sa ? in->sasl->method : "");
	attr(&sb, "sasl_username", sa ? in->sasl->username : "");
	attr(&sb, "sasl_sender", sa ? in->sasl->sender : "");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)in->size);
	attr(&sb, "size", num);
	bool cert = in->tls && in->tls->active && in->tls->cert_present;
	attr(&sb, "ccert_subject", cert ? in->tls->subject_cn : "");
	attr(&sb, "ccert_issuer", cert ? in->tls->issuer_cn : "");
	attr(&sb, "ccert_fingerprint", cert ? in->tls->cert_fpt : "");
	bool tls = in->tls && in->tls->active;
	attr(&sb, "encryption_protocol", tls ? in->tls->protocol : "");
	attr(&sb, "encryption_cipher", tls ? in->tls->cipher : "");
	snprintf(num, sizeof(num), "%d", tls ? in->tls->bits : 0);
	attr(&sb, "encryption_keysize", num);
	attr(&sb, "etrn_domain", in->etrn_domain);
	attr(&sb, "stress", "");
	attr(&sb, "server_address", in->server_addr);
	attr(&sb, "server_port", in->server_port);
	attr(&sb, "ccert_pubkey_fingerprint", cert ? in->tls->pkey_fpt : "");
	attr(&sb, "client_port", in->client_port);
	attr(&sb, "policy_context", svc->context);
	attr(&sb, "server_hostname", cfg_get(cfg, "myhostname"));
	attr(&sb, "compatibility_level", cfg_get(cfg, "compatibility_level"));
	attr(&sb, "mail_version", "3.7.0");
	sb_printf(&sb, "\n");
	size_t n = sb.len < outlen ? sb.len : 0;
	if (n == 0 && outlen > 0)
		log_warn("policy request too long for %s", svc->target);
	memcpy(out, sb.s, n);
	sb_free(&sb);
	return n;
}

