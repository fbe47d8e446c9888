/*
 * smtpd_check_result.c - replies and log lines of the restriction chain,
 * and the one bounded parser of access(5) values: what a table lookup
 * or a policy server (untrusted: its reply arrives from a socket)
 * answered, turned into permit, reject, defer, an action for the queue,
 * or a restriction list to enter.  Runs in smtpd and `postern probe`.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "smtpd_check.h"
#include "smtpd_check_int.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

/* --- replies and logs -------------------------------------------------- */

/* The "from=<...> to=<...> proto=... helo=<...>" tail of a log line. */
void chk_log_event(struct chk_run *r, const char *what, const char *text)
{
	struct strbuf sb;
	sb_init(&sb, 0);
	const struct chk_input *in = &r->in;
	sb_printf(&sb, "%s: %s: %s from %s[%s]: %s;", in->queue_id && *in->queue_id ? in->queue_id : "NOQUEUE",
	          what, r->cmd, in->client_name, in->client_addr, text);
	if (in->sender)
		sb_printf(&sb, " from=<%s>", in->sender);
	if (in->recipient)
		sb_printf(&sb, " to=<%s>", r->rcpt_ext[0] ? r->rcpt_ext : in->recipient);
	sb_printf(&sb, " proto=%s", in->esmtp ? "ESMTP" : "SMTP");
	if (in->helo && in->helo[0])
		sb_printf(&sb, " helo=<%s>", in->helo);
	log_info("%s", sb.s);
	sb_free(&sb);
}

/* "5.7.1 " at the start of text: copy it to dsn, return the rest. */
static const char *dsn_split(const char *text, char *dsn, size_t dsnlen)
{
	const char *p = text;
	if ((p[0] == '2' || p[0] == '4' || p[0] == '5') && p[1] == '.') {
		const char *q = p + 2;
		int d1 = 0, d2 = 0;
		while (isdigit((unsigned char)*q) && d1 < 4)
			q++, d1++;
		if (d1 > 0 && d1 <= 3 && *q == '.') {
			q++;
			while (isdigit((unsigned char)*q) && d2 < 4)
				q++, d2++;
			if (d2 > 0 && d2 <= 3 && (*q == ' ' || *q == '\0')) {
				snprintf(dsn, dsnlen, "%.*s", (int)(q - p), p);
				while (*q == ' ')
					q++;
				return q;
			}
		}
	}
	dsn[0] = '\0';
	return text;
}

/* Build "CODE D.S.N <name>: Class rejected: text" into out. */
void chk_build_reply(char *out, size_t len, long code, const char *dsn_default,
                        const char *name, const char *cls, const char *text)
{
	char dsn[16];
	const char *t = dsn_split(text, dsn, sizeof(dsn));
	if (dsn[0] == '\0' || dsn[0] != (char)('0' + code / 100))
		snprintf(dsn, sizeof(dsn), "%c%s", (char)('0' + code / 100), dsn_default + 1);
	snprintf(out, len, "%ld %s <%s>: %s rejected: %s", code, dsn, name, cls, t);
}


/*
 * A restriction wants to reject with reply: warn_if_reject, then
 * defer_if_reject apply, as Postfix does.  Returns R_DUNNO when only
 * warned, else R_REJECT with the reply in t->reply.
 */
enum res chk_reject(struct chk_run *r, const char *reply)
{
	bool warn = r->warn_next;
	for (size_t i = 0; i < r->depth; i++)
		warn = warn || r->stack[i].warn;
	if (warn) {
		chk_log_event(r, "reject_warning", reply);
		return R_DUNNO;
	}
	if (reply[0] == '5' && r->dir.active)
		snprintf(r->t->reply, sizeof(r->t->reply), "%s", r->dir.reply);
	else
		snprintf(r->t->reply, sizeof(r->t->reply), "%s", reply);
	return R_REJECT;
}

/* The name and class a reply of this stage's generic restrictions use. */
void chk_stage_reply_name(struct chk_run *r, enum chk_stage st, char *name, size_t len,
                             const char **cls)
{
	const struct chk_input *in = &r->in;
	switch (st) {
	case CHK_CLIENT:
		snprintf(name, len, "%s[%s]", in->client_name, in->client_addr);
		*cls = "Client host";
		break;
	case CHK_HELO:
		snprintf(name, len, "%s", in->helo ? in->helo : "");
		*cls = "Helo command";
		break;
	case CHK_SENDER:
		snprintf(name, len, "%s", in->sender ? in->sender : "");
		*cls = "Sender address";
		break;
	case CHK_RELAY:
	case CHK_RCPT:
		snprintf(name, len, "%s", in->recipient ? in->recipient : "");
		*cls = "Recipient address";
		break;
	case CHK_DATA:
		snprintf(name, len, "DATA");
		*cls = "Data command";
		break;
	case CHK_EOD:
		snprintf(name, len, "END-OF-MESSAGE");
		*cls = "End-of-data";
		break;
	default:
		snprintf(name, len, "%s", in->etrn_domain ? in->etrn_domain : "");
		*cls = "Etrn command";
		break;
	}
}

static char **strv_add(char **v, const char *s)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	if (n >= 100)
		return v;
	v = xreallocarray(v, n + 2, sizeof(*v));
	v[n] = xstrdup(s);
	v[n + 1] = NULL;
	return v;
}



/*
 * Apply an access(5) value found for name (of class cls) in table what.
 * The one parser of access results, table and policy values alike.
 */
enum res chk_access_result(struct chk_run *r, const char *value, const char *name,
                              const char *cls, const char *what)
{
	struct chk *c = r->c;
	char rep[CHK_REPLY_MAX];
	char buf[CHK_REPLY_MAX];
	while (*value == ' ' || *value == '\t')
		value++;
	snprintf(buf, sizeof(buf), "%s", value);
	/* tables and policy servers never put control characters into our
	 * replies or logs */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 32 && *p != '\t')
			*p = '?';
		else if ((unsigned char)*p == 127)
			*p = '?';
	size_t bl = strlen(buf);
	while (bl > 0 && (buf[bl - 1] == ' ' || buf[bl - 1] == '\t' || buf[bl - 1] == '\r'))
		buf[--bl] = '\0';
	size_t wl = strcspn(buf, " \t");
	const char *text = buf + wl;
	while (*text == ' ' || *text == '\t')
		text++;
#define IS(w) (wl == strlen(w) && strncasecmp(buf, w, wl) == 0)
	if (IS("OK"))
		return R_OK;
	if (IS("DUNNO"))
		return R_DUNNO;
	if (IS("REJECT") || IS("DEFER")) {
		bool rej = IS("REJECT");
		chk_build_reply(rep, sizeof(rep), rej ? c->access_reject_code : c->access_defer_code,
		            rej ? "5.7.1" : "4.7.1", name, cls, *text ? text : "Access denied");
		return chk_reject(r, rep);
	}
	if (IS("DEFER_IF_REJECT") || IS("DEFER_IF_PERMIT")) {
		struct deferred *d = IS("DEFER_IF_REJECT") ? &r->dir : &r->dip;
		chk_build_reply(d->reply, sizeof(d->reply), c->defer_code, "4.7.1", name, cls,
		            *text ? text : "Service unavailable");
		d->active = true;
		return R_DUNNO;
	}
	if (wl == 3 && (buf[0] == '4' || buf[0] == '5') && isdigit((unsigned char)buf[1]) &&
	    isdigit((unsigned char)buf[2])) {
		chk_build_reply(rep, sizeof(rep), strtol(buf, NULL, 10), buf[0] == '4' ? "4.7.1" : "5.7.1",
		            name, cls, *text ? text : "Access denied");
		return chk_reject(r, rep);
	}
	struct chk_actions *a = &r->t->act;
	if (IS("WARN")) {
		if (*text)
			snprintf(rep, sizeof(rep), "%s", text);
		else
			snprintf(rep, sizeof(rep), "<%s>: %s triggers WARN action", name, cls);
		chk_log_event(r, "warn", rep);
		return R_DUNNO;
	}
	if (IS("DISCARD") || IS("HOLD")) {
		bool discard = IS("DISCARD");
		snprintf(rep, sizeof(rep), "<%s>: %s %s", name, cls,
		         *text ? text : discard ? "triggers DISCARD action" : "triggers HOLD action");
		chk_log_event(r, discard ? "discard" : "hold", rep);
		if (discard) {
			a->discard = true;
			snprintf(a->discard_text, sizeof(a->discard_text), "%s", text);
			return R_OK;
		}
		a->hold = true;
		snprintf(a->hold_text, sizeof(a->hold_text), "%s", text);
		return R_DUNNO;
	}
	if (IS("REDIRECT") || IS("FILTER")) {
		bool redir = IS("REDIRECT");
		if (*text == '\0' || (!redir && strchr(text, ':') == NULL)) {
			log_warn("%s: bad %.*s action \"%s\": needs %s", what, (int)wl, buf, text,
			         redir ? "an address" : "transport:destination");
			return chk_reject(r, "451 4.3.5 Server configuration error");
		}
		snprintf(rep, sizeof(rep), "<%s>: %s triggers %s %s", name, cls, redir ? "REDIRECT" : "FILTER",
		         text);
		chk_log_event(r, redir ? "redirect" : "filter", rep);
		snprintf(redir ? a->redirect : a->filter, sizeof(a->redirect), "%s", text);
		return R_DUNNO;
	}
	if (IS("BCC")) {
		if (*text == '\0') {
			log_warn("%s: BCC action without an address", what);
			return chk_reject(r, "451 4.3.5 Server configuration error");
		}
		a->bcc = strv_add(a->bcc, text);
		return R_DUNNO;
	}
	if (IS("PREPEND")) {
		/* a header "Name: value" */
		const char *colon = strchr(text, ':');
		bool ok = colon != NULL && colon > text;
		for (const char *p = text; ok && p < colon; p++)
			ok = *p > 32 && *p < 127;
		if (!ok) {
			log_warn("%s: PREPEND action \"%s\" is not a header", what, text);
			return chk_reject(r, "451 4.3.5 Server configuration error");
		}
		a->prepend = strv_add(a->prepend, text);
		return R_DUNNO;
	}
#undef IS
	/* A restriction class or a list of restrictions. */
	if (!chk_list_for_value(r, buf, &r->pushed)) {
		log_warn("%s: unknown access table result \"%s\"", what, buf);
		return chk_reject(r, "451 4.3.5 Server configuration error");
	}
	return R_PUSH;
}
