/*
 * sendmail_verify.c - "postern sendmail -bv": resolve each recipient
 * without delivering anything and mail a delivery status report to the
 * sender, as Postfix's sendmail -bv does.  Runs in the postern command
 * as the invoking user.  Input: the recipients of the command line
 * (already parsed by addrlist), main.cf, and the alias tables
 * (admin-written; values split by a bounded tokenizer here).
 *
 * What is resolved: the domain against mydestination (local) or not
 * (the default_transport, relay_domains named); local parts through
 * alias_maps, recursively (bounded), with recipient_delimiter
 * extensions; local users through the password database.  Unlike
 * Postfix, remote recipients are not probed (no SMTP connection is
 * made), and .forward files are not read (they are the recipients').
 */
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "cmd_sendmail.h"
#include "htable.h"
#include "log.h"
#include "map.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

/* Alias expansion depth and the number of final recipients reported. */
#define VERIFY_DEPTH_MAX 20
#define VERIFY_RESULTS_MAX 1000

struct vctx {
	struct cfg *cfg;
	char **mydest;
	struct map **aliases;
	size_t naliases;
	const char *delims;
	struct strbuf human, machine;
	size_t nresults;
	bool failed;
};

static void result(struct vctx *v, const char *addr, const char *orig, bool ok,
                   const char *status, const char *text)
{
	if (v->nresults++ >= VERIFY_RESULTS_MAX)
		return;
	if (!ok)
		v->failed = true;
	sb_printf(&v->human, "<%s>: %s\n", addr, text);
	sb_printf(&v->machine,
	          "\nFinal-Recipient: rfc822; %s\n"
	          "Original-Recipient: rfc822;%s\n"
	          "Action: %s\n"
	          "Status: %s\n"
	          "Diagnostic-Code: X-Postern; %s\n",
	          addr, orig, ok ? "deliverable" : "undeliverable", status, text);
}

static bool in_mydest(const struct vctx *v, const char *domain)
{
	for (char **p = v->mydest; p && *p; p++)
		if (strcasecmp(*p, domain) == 0)
			return true;
	return false;
}

/* The items of an alias value: comma or newline separated, quotes kept
 * together and removed.  Returns a NULL-terminated array. */
static char **alias_items(const char *text)
{
	size_t n = 0, cap = 8;
	char **out = xcalloc(cap, sizeof(*out));
	const char *p = text;
	struct strbuf tok;
	sb_init(&tok, 0);
	while (*p != '\0' && n < VERIFY_RESULTS_MAX) {
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		sb_reset(&tok);
		bool inq = false;
		for (; *p != '\0' && (inq || (*p != ',' && *p != '\n')); p++) {
			if (*p == '"') {
				inq = !inq;
				continue;
			}
			if (*p == '\\' && inq && p[1] != '\0')
				p++;
			sb_addc(&tok, *p);
		}
		sb_rtrim(&tok);
		if (tok.len == 0)
			continue;
		if (n + 2 > cap) {
			cap *= 2;
			out = xreallocarray(out, cap, sizeof(*out));
		}
		out[n++] = xstrdup(tok.s);
		out[n] = NULL;
	}
	sb_free(&tok);
	return out;
}

/* MAP_FOUND with an allocated value, MAP_NOTFOUND or MAP_ERROR. */
static int alias_lookup(struct vctx *v, const char *key, char **value)
{
	for (size_t i = 0; i < v->naliases; i++) {
		const char *val;
		if (v->aliases[i] == NULL)
			return MAP_ERROR;
		int r = map_lookup(v->aliases[i], key, &val);
		if (r == MAP_FOUND)
			*value = xstrdup(val);
		if (r != MAP_NOTFOUND)
			return r;
	}
	return MAP_NOTFOUND;
}

static void verify(struct vctx *v, const char *addr, const char *orig, int depth);

static void verify_local(struct vctx *v, const char *addr, const char *local,
                         const char *orig, int depth)
{
	char key[256];
	snprintf(key, sizeof(key), "%s", local);
	for (char *k = key; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	/* user+ext: the full name first, then the base name. */
	char base[256];
	snprintf(base, sizeof(base), "%s", key);
	if (*v->delims) {
		size_t b = strcspn(base, v->delims);
		if (b > 0)
			base[b] = '\0';
	}
	char *value = NULL;
	int r = alias_lookup(v, key, &value);
	if (r == MAP_NOTFOUND && strcmp(base, key) != 0)
		r = alias_lookup(v, base, &value);
	if (r == MAP_ERROR) {
		result(v, addr, orig, false, "4.3.0", "delivery via local: alias database unavailable");
		return;
	}
	if (r == MAP_FOUND) {
		char **items = alias_items(value);
		free(value);
		for (char **it = items; *it; it++) {
			char text[600];
			if ((*it)[0] == '|') {
				snprintf(text, sizeof(text), "delivery via local: delivers to command: %.500s",
				         *it + 1);
				result(v, addr, orig, true, "2.0.0", text);
			} else if ((*it)[0] == '/') {
				snprintf(text, sizeof(text), "delivery via local: delivers to file: %.500s", *it);
				result(v, addr, orig, true, "2.0.0", text);
			} else if (strncasecmp(*it, ":include:", 9) == 0) {
				snprintf(text, sizeof(text),
				         "delivery via local: delivers to the list in %.500s", *it + 9);
				result(v, addr, orig, true, "2.0.0", text);
			} else if (strcasecmp(*it, key) == 0 || strcasecmp(*it, base) == 0) {
				/* An alias to itself: the user's own mailbox. */
				struct passwd *pw = getpwnam(base);
				result(v, addr, orig, pw != NULL, pw ? "2.0.0" : "5.1.1",
				       pw ? "delivery via local: delivers to mailbox"
				          : "delivery via local: unknown user");
			} else {
				verify(v, *it, orig, depth + 1);
			}
			free(*it);
		}
		free(items);
		return;
	}
	struct passwd *pw = getpwnam(base);
	if (pw != NULL) {
		result(v, addr, orig, true, "2.0.0", "delivery via local: delivers to mailbox");
	} else {
		char text[400];
		snprintf(text, sizeof(text), "delivery via local: unknown user: \"%.300s\"", base);
		result(v, addr, orig, false, "5.1.1", text);
	}
}

static void verify(struct vctx *v, const char *addr, const char *orig, int depth)
{
	if (depth > VERIFY_DEPTH_MAX) {
		result(v, addr, orig, false, "5.4.6", "mail forwarding loop (alias nesting too deep)");
		return;
	}
	const char *at = strrchr(addr, '@');
	char local[256];
	if (at == NULL) {
		snprintf(local, sizeof(local), "%s", addr);
		verify_local(v, addr, local, orig, depth);
		return;
	}
	const char *domain = at + 1;
	if (in_mydest(v, domain)) {
		snprintf(local, sizeof(local), "%.*s", (int)(at - addr), addr);
		verify_local(v, addr, local, orig, depth);
		return;
	}
	char text[600];
	const char *transport = cfg_get(v->cfg, "default_transport");
	const char *relayhost = cfg_get(v->cfg, "relayhost");
	snprintf(text, sizeof(text), "delivery via %.100s to %.300s%s", transport,
	         *relayhost ? relayhost : domain,
	         " (not probed: postern does not verify remote recipients)");
	result(v, addr, orig, true, "2.0.0", text);
}

/* The report as a message (LF line ends); its text in *out. */
static void build_report(struct vctx *v, const char *to, struct strbuf *out)
{
	const char *host = cfg_get(v->cfg, "myhostname");
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", localtime_r(&now, &tm));
	char boundary[64];
	snprintf(boundary, sizeof(boundary), "%ld.%ld/%s", (long)now, (long)getpid(), "verify");
	sb_printf(out,
	          "From: MAILER-DAEMON@%s (Mail Delivery System)\n"
	          "To: %s\n"
	          "Subject: Mail Delivery Status Report\n"
	          "Date: %s\n"
	          "Auto-Submitted: auto-replied\n"
	          "MIME-Version: 1.0\n"
	          "Content-Type: multipart/report; report-type=delivery-status;\n"
	          "\tboundary=\"%s\"\n"
	          "\n"
	          "This is a MIME-encapsulated message.\n"
	          "\n--%s\n"
	          "Content-Description: Notification\n"
	          "Content-Type: text/plain; charset=us-ascii\n"
	          "\n"
	          "This is the mail system at host %s.\n"
	          "\n"
	          "Enclosed is the mail delivery report that you requested.\n"
	          "No mail was delivered.\n"
	          "\n"
	          "                   The mail system\n"
	          "\n",
	          host, to, date, boundary, boundary, host);
	sb_adds(out, v->human.s ? v->human.s : "");
	sb_printf(out,
	          "\n--%s\n"
	          "Content-Description: Delivery report\n"
	          "Content-Type: message/delivery-status\n"
	          "\n"
	          "Reporting-MTA: dns; %s\n"
	          "Arrival-Date: %s\n",
	          boundary, host, date);
	sb_adds(out, v->machine.s ? v->machine.s : "");
	sb_printf(out, "\n--%s--\n", boundary);
}

int sendmail_verify(struct sm *s)
{
	if (s->nrcpts == 0) {
		log_error("-bv: no recipients");
		return EX_USAGE;
	}
	struct vctx v = {.cfg = s->cfg, .delims = cfg_get(s->cfg, "recipient_delimiter")};
	sb_init(&v.human, 0);
	sb_init(&v.machine, 0);
	char err[512];
	if (strlist_split(cfg_get(s->cfg, "mydestination"), NULL, 10000, &v.mydest, err,
	                  sizeof(err)) < 0)
		log_warn("mydestination: %s", err);
	char **specs = NULL;
	int n = strlist_split(cfg_get(s->cfg, "alias_maps"), NULL, 100, &specs, err, sizeof(err));
	if (n > 0) {
		v.aliases = xcalloc((size_t)n, sizeof(*v.aliases));
		v.naliases = (size_t)n;
		for (int i = 0; i < n; i++) {
			v.aliases[i] = map_open(specs[i], 0, err, sizeof(err));
			if (v.aliases[i] == NULL)
				log_warn("alias_maps: %s: %s", specs[i], err);
		}
	}
	strlist_free(specs);
	for (size_t i = 0; i < s->nrcpts; i++)
		verify(&v, s->rcpts[i], s->rcpts[i], 0);

	/* To the sender: -f, or the user who runs the command. */
	const char *to = s->sender != NULL && *s->sender ? s->sender : NULL;
	struct passwd *pw = to == NULL ? getpwuid(getuid()) : NULL;
	if (to == NULL && pw == NULL) {
		log_error("-bv: who are you? (uid %ld has no password entry)", (long)getuid());
		return EX_NOUSER;
	}
	char *rcpt = xstrdup(to != NULL ? to : pw->pw_name);
	struct strbuf msg;
	sb_init(&msg, 0);
	build_report(&v, rcpt, &msg);
	struct sm r = {.cfg = s->cfg, .sender = ""};
	r.seen = ht_new();
	sb_init(&r.head, 0);
	sb_init(&r.pending, 0);
	int rc = EX_SOFTWARE;
	if (!sendmail_add_rcpt(&r, rcpt, 0, NULL)) {
		log_error("-bv: cannot send the report to %s", rcpt);
	} else {
		FILE *in = fmemopen(msg.s, msg.len, "r");
		if (in == NULL) {
			log_error("-bv: fmemopen failed");
		} else {
			rc = sendmail_submit(&r, in);
			fclose(in);
			if (rc != 0)
				log_error("-bv: %s", r.err);
			else
				printf("Mail Delivery Status Report will be mailed to <%s>.\n", r.rcpts[0]);
		}
	}
	sendmail_reset(&r);
	ht_free(r.seen, NULL);
	free(r.rcpts);
	sb_free(&r.head);
	sb_free(&r.pending);
	sb_free(&msg);
	free(rcpt);
	for (size_t i = 0; i < v.naliases; i++)
		if (v.aliases[i] != NULL)
			map_close(v.aliases[i]);
	free(v.aliases);
	strlist_free(v.mydest);
	sb_free(&v.human);
	sb_free(&v.machine);
	return rc;
}
