/*
 * restrlint.c - `postern check` on restriction lists: the configurations
 * that make an open relay or quietly do less than they say (see
 * docs/restrictions.md, "postern check").  Runs in the postern command;
 * input: main.cf and master.cf -o values (trusted, but often wrong).
 */
#include "restrlint.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../smtpd/smtpd_check.h"
#include "cfg.h"
#include "strlist.h"

#define RESTRLINT_ITEMS_MAX 1000

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	size_t d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	return d[la][lb];
}

static const char *const known_zones[] = {
    "zen.spamhaus.org", "sbl.spamhaus.org", "xbl.spamhaus.org", "pbl.spamhaus.org",
    "sbl-xbl.spamhaus.org", "dbl.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org",
    "dnsbl.sorbs.net", "psbl.surriel.com", "list.dnswl.org", "bl.mailspike.net",
    "ix.dnsbl.manitu.net", "truncate.gbudb.net", "dnsbl-1.uceprotect.net", "multi.surbl.org",
    "rhsbl.sorbs.net", "bl.0spam.org", "hostkarma.junkemailfilter.com", "swl.spamhaus.org",
    "dwl.spamhaus.org", "multi.uribl.com", "black.uribl.com", "wl.mailspike.net",
};

static void lint_list(struct cfg *cfg, const char *param, bool relay,
                      void (*warn)(void *, const char *), void *ctx)
{
	char **items;
	char err[256], msg[1024];
	if (strlist_split(cfg_get(cfg, param), NULL, RESTRLINT_ITEMS_MAX, &items, err, sizeof(err)) < 0)
		return;
	bool delay = cfg_get_bool(cfg, "smtpd_delay_reject");
	bool seen_dest = false;
	for (size_t i = 0; items[i]; i++) {
		const char *w = items[i];
		bool takes_arg = false, dns_zone = false;
		bool is_known = chk_known(w, &takes_arg, &dns_zone);
		bool is_dest = strcasecmp(w, "reject_unauth_destination") == 0 ||
		               strcasecmp(w, "defer_unauth_destination") == 0;
		if (!is_known) {
			char **cl;
			bool is_class = false;
			if (strlist_split(cfg_get(cfg, "smtpd_restriction_classes"), NULL, RESTRLINT_ITEMS_MAX, &cl,
			                  err, sizeof(err)) >= 0) {
				for (char **p = cl; *p; p++)
					if (strcasecmp(*p, w) == 0)
						is_class = true;
				strlist_free(cl);
			}
			if (!is_class) {
				snprintf(msg, sizeof(msg),
				         "%s: \"%s\" is neither a restriction nor a restriction class: "
				         "mail that reaches it gets 451 4.3.5",
				         param, w);
				warn(ctx, msg);
			}
			continue;
		}
		if (relay && !seen_dest && strcasecmp(w, "permit") == 0) {
			snprintf(msg, sizeof(msg),
			         "%s: \"permit\" before reject_unauth_destination: any client may relay to "
			         "any destination",
			         param);
			warn(ctx, msg);
		}
		if (is_dest && i > 0 && strcasecmp(items[i - 1], "warn_if_reject") == 0) {
			snprintf(msg, sizeof(msg),
			         "%s: warn_if_reject before %s: relaying is only logged, never refused",
			         param, w);
			warn(ctx, msg);
		}
		if (is_dest)
			seen_dest = true;
		if (!delay && strncasecmp(w, "reject_unknown_", 15) == 0 &&
		    (strstr(w, "client") || strstr(w, "helo") || strstr(w, "hostname"))) {
			snprintf(msg, sizeof(msg),
			         "%s: %s with smtpd_delay_reject = no: the client is refused before it "
			         "can authenticate, and mynetworks or SASL exceptions after it never apply",
			         param, w);
			warn(ctx, msg);
		}
		if (takes_arg && items[i + 1] != NULL) {
			const char *arg = items[++i];
			if (dns_zone) {
				char zone[256];
				snprintf(zone, sizeof(zone), "%s", arg);
				zone[strcspn(zone, "=")] = '\0';
				for (char *p = zone; *p; p++)
					*p = (char)tolower((unsigned char)*p);
				if (!chk_valid_hostname(zone, true)) {
					snprintf(msg, sizeof(msg), "%s: %s %s: \"%s\" is not a DNS zone", param, w,
					         arg, zone);
					warn(ctx, msg);
					continue;
				}
				for (size_t z = 0; z < sizeof(known_zones) / sizeof(known_zones[0]); z++) {
					size_t d = edit_distance(zone, known_zones[z]);
					if (d > 0 && d <= 2) {
						snprintf(msg, sizeof(msg),
						         "%s: %s %s: zone \"%s\" looks like a typo of \"%s\"", param, w,
						         arg, zone, known_zones[z]);
						warn(ctx, msg);
						break;
					}
				}
			}
		}
	}
	strlist_free(items);
}

static bool text_blocks_relay(const char *text)
{
	char **v;
	char err[256];
	bool ok = false;
	if (strlist_split(text, NULL, RESTRLINT_ITEMS_MAX, &v, err, sizeof(err)) < 0)
		return false;
	for (char **p = v; *p; p++)
		if (strcasecmp(*p, "reject_unauth_destination") == 0 ||
		    strcasecmp(*p, "defer_unauth_destination") == 0 || strcasecmp(*p, "reject") == 0 ||
		    strcasecmp(*p, "defer") == 0 || strcasecmp(*p, "defer_if_permit") == 0)
			ok = true;
	strlist_free(v);
	return ok;
}

void restr_lint(struct cfg *cfg, void (*warn)(void *ctx, const char *msg), void *ctx)
{
	bool relay_ok = text_blocks_relay(chk_stage_list(cfg, CHK_RELAY));
	bool rcpt_ok = text_blocks_relay(cfg_get(cfg, "smtpd_recipient_restrictions"));
	for (int st = 0; st < CHK_NSTAGES; st++) {
		/* "permit" matters in the recipient list only when that list is
		 * the one that stops relaying */
		bool relay = st == CHK_RELAY || (st == CHK_RCPT && !relay_ok);
		if (st == CHK_RELAY && *chk_stage_list(cfg, CHK_RELAY) != '\0' &&
		    *cfg_get(cfg, chk_stage_param(CHK_RELAY)) == '\0')
			continue; /* the built-in rule */
		lint_list(cfg, chk_stage_param((enum chk_stage)st), relay, warn, ctx);
	}
	char **cl;
	char err[256];
	if (strlist_split(cfg_get(cfg, "smtpd_restriction_classes"), NULL, RESTRLINT_ITEMS_MAX, &cl, err,
	                  sizeof(err)) >= 0) {
		for (char **p = cl; *p; p++)
			lint_list(cfg, *p, false, warn, ctx);
		strlist_free(cl);
	}
	/* the start-up refusal, said before start */
	if (!relay_ok && !rcpt_ok)
		warn(ctx, "smtpd_relay_restrictions and smtpd_recipient_restrictions: neither has "
		          "reject_unauth_destination, defer_unauth_destination, reject, defer or "
		          "defer_if_permit: smtpd refuses to start (it would be an open relay)");
}
