/*
 * hbcheck.c - header and body checks (see hbcheck.h).  mime.c splits
 * the message into logical headers and body lines; each one is looked
 * up in the tables of its class (the first table with a match decides,
 * as Postfix) and the action edits the output or records a
 * message-wide result.  Runs in smtpd on untrusted content; all
 * buffers are bounded by mime.c and strbuf limits.
 */
#include "hbcheck.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "cfg.h"
#include "log.h"
#include "map.h"
#include "mime.h"
#include "strlist.h"
#include "xalloc.h"

enum hclass { HC_HEADER, HC_MIME, HC_NESTED, HC_BODY, HC_N };

static const char *const class_param[HC_N] = {
	"header_checks", "mime_header_checks", "nested_header_checks", "body_checks"};

struct hbc_cfg {
	struct map **maps[HC_N]; /* NULL-terminated */
	struct mime_opts mo;
	size_t body_limit; /* body_checks_size_limit */
	bool active;
	char broken[600]; /* a table did not open: "" none */
};

struct hbc {
	const struct hbc_cfg *hc;
	struct hbc_who who;
	struct mime m;
	struct strbuf *out;
	struct strbuf key;
	struct hbc_actions a;
	bool stop; /* no more table lookups (REJECT, DISCARD, REDIRECT, PASS) */
	bool dead; /* no more output (REJECT, DISCARD) */
};

static void close_maps(struct map **v)
{
	for (size_t i = 0; v && v[i]; i++)
		map_close(v[i]);
	free(v);
}

void hbc_cfg_free(struct hbc_cfg *hc)
{
	if (hc == NULL)
		return;
	for (int i = 0; i < HC_N; i++)
		close_maps(hc->maps[i]);
	free(hc);
}

static bool open_maps(struct cfg *c, const char *param, struct map ***out, char *err,
                      size_t errlen)
{
	char **items, e[512];
	int n = strlist_split(cfg_get(c, param), NULL, HBC_MAPS_MAX, &items, e, sizeof(e));
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", param, e);
		return false;
	}
	struct map **v = xcalloc((size_t)n + 1, sizeof(*v));
	for (int i = 0; i < n; i++) {
		v[i] = map_open(items[i], 0, e, sizeof(e));
		if (v[i] == NULL) {
			snprintf(err, errlen, "%s: %s", param, e);
			strlist_free(items);
			close_maps(v);
			return false;
		}
	}
	strlist_free(items);
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	return true;
}

/* receive_override_options has no_header_body_checks. */
static bool no_checks(struct cfg *c)
{
	char **items, e[256];
	bool off = false;
	if (strlist_split(cfg_get(c, "receive_override_options"), NULL, 64, &items, e, sizeof(e)) < 0)
		return false;
	for (size_t i = 0; items[i]; i++)
		if (strcasecmp(items[i], "no_header_body_checks") == 0)
			off = true;
	strlist_free(items);
	return off;
}

struct hbc_cfg *hbc_cfg_load(struct cfg *c, char *err, size_t errlen)
{
	struct hbc_cfg *hc = xcalloc(1, sizeof(*hc));
	if (!no_checks(c)) {
		for (int i = 0; i < HC_N; i++) {
			if (!open_maps(c, class_param[i], &hc->maps[i], err, errlen)) {
				/* As Postfix's cleanup cannot run: every message is
				 * refused with a 4xx until the table is fixed. */
				snprintf(hc->broken, sizeof(hc->broken), "%s", err);
				hc->active = true;
				break;
			}
			if (hc->maps[i])
				hc->active = true;
		}
	}
	struct mime_opts *o = &hc->mo;
	o->disabled = cfg_get_bool(c, "disable_mime_input_processing");
	o->nesting_limit = cfg_get_long(c, "mime_nesting_limit");
	long v = cfg_get_long(c, "mime_boundary_length_limit");
	o->boundary_max = v > 0 ? (size_t)v : 1;
	v = cfg_get_long(c, "header_size_limit");
	o->header_max = v > 0 ? (size_t)v : MIME_HEADER_MAX;
	v = cfg_get_long(c, "line_length_limit");
	o->line_max = v > 0 ? (size_t)v : 2048;
	bool all8 = cfg_get_bool(c, "strict_8bitmime");
	o->strict_7bit_hdr = all8 || cfg_get_bool(c, "strict_7bit_headers");
	o->strict_8bit_body = all8 || cfg_get_bool(c, "strict_8bitmime_body");
	o->strict_domain = cfg_get_bool(c, "strict_mime_encoding_domain");
	v = cfg_get_long(c, "body_checks_size_limit");
	hc->body_limit = v > 0 ? (size_t)v : 0;
	if (o->strict_7bit_hdr || o->strict_8bit_body || o->strict_domain)
		hc->active = true;
	return hc;
}

bool hbc_cfg_active(const struct hbc_cfg *hc)
{
	return hc != NULL && hc->active;
}

const char *hbc_cfg_error(const struct hbc_cfg *hc)
{
	return hc->broken[0] ? hc->broken : NULL;
}

/* ---- log lines ---------------------------------------------------------- */

/* Control characters (the folding newlines too) become '?', as in Postfix's logs. */
static void add_printable(struct strbuf *sb, const char *p, size_t n, size_t max)
{
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		sb_addc(sb, ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
	}
}

static void log_action(struct hbc *h, const char *what, bool header, const char *text,
                       size_t len, const char *detail)
{
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_printf(&sb, "%s: %s: %s ", h->who.queue_id, what, header ? "header" : "body");
	add_printable(&sb, text, len, HBC_LOG_TEXT_MAX);
	sb_printf(&sb, " from %s; from=<%s> to=<%s> proto=%s", h->who.client, h->who.sender,
	          h->who.rcpt, h->who.proto);
	if (h->who.helo && h->who.helo[0])
		sb_printf(&sb, " helo=<%s>", h->who.helo);
	if (detail && *detail) {
		sb_adds(&sb, ": ");
		add_printable(&sb, detail, strlen(detail), CHK_REPLY_MAX);
	}
	log_info_as("cleanup", "%s", sb.s);
	sb_free(&sb);
}

/* ---- actions ------------------------------------------------------------ */

static void set_reject(struct hbc *h, const char *text)
{
	const char *t = text;
	bool dsn = (t[0] == '4' || t[0] == '5') && t[1] == '.' && isdigit((unsigned char)t[2]);
	if (dsn) {
		const char *p = t + 2;
		int dots = 1;
		while (*p && *p != ' ') {
			if (*p == '.')
				dots++;
			else if (!isdigit((unsigned char)*p))
				dsn = false;
			p++;
		}
		if (dots != 2)
			dsn = false;
	}
	if (dsn)
		snprintf(h->a.reply, sizeof(h->a.reply), "%s %s", t[0] == '4' ? "451" : "550", t);
	else
		snprintf(h->a.reply, sizeof(h->a.reply), "550 5.7.1 %s",
		         *t ? t : "message content rejected");
	h->a.reject = true;
	h->stop = h->dead = true;
}

/* "Name:" at the start: PREPEND and REPLACE of a header need one. */
static bool valid_header(const char *t)
{
	size_t i = 0;
	while (t[i] > ' ' && t[i] < 0x7f && t[i] != ':')
		i++;
	return i > 0 && t[i] == ':';
}

enum line_fate { KEEP, DROP, SWAP };

/*
 * Run the action found for one line.  *fate says what becomes of the
 * line; *pre is a line to put before it, *repl its replacement.
 */
static enum line_fate act(struct hbc *h, enum hclass cls, const char *line, size_t len,
                          const char *value, const char **pre, const char **repl)
{
	bool header = cls != HC_BODY;
	size_t wl = 0;
	while (value[wl] && value[wl] != ' ' && value[wl] != '\t')
		wl++;
	const char *text = value + wl;
	while (*text == ' ' || *text == '\t')
		text++;
#define IS(w) (wl == strlen(w) && strncasecmp(value, w, wl) == 0)
	if (IS("REJECT")) {
		set_reject(h, text);
		log_action(h, "reject", header, line, len, h->a.reply + 4);
		return KEEP;
	}
	if (IS("WARN") || IS("INFO")) {
		log_action(h, IS("WARN") ? "warning" : "info", header, line, len, text);
		return KEEP;
	}
	if (IS("IGNORE"))
		return DROP;
	if (IS("STRIP")) {
		log_action(h, "strip", header, line, len, text);
		return DROP;
	}
	if (IS("DUNNO") || IS("OK"))
		return KEEP;
	if (IS("DISCARD")) {
		log_action(h, "discard", header, line, len, text);
		h->a.discard = true;
		h->stop = h->dead = true;
		return KEEP;
	}
	if (IS("HOLD")) {
		log_action(h, "hold", header, line, len, text);
		h->a.hold = true;
		return KEEP;
	}
	if (IS("PASS")) {
		log_action(h, "pass", header, line, len, text);
		h->stop = true;
		return KEEP;
	}
	if ((IS("PREPEND") || IS("REPLACE")) && *text) {
		bool prepend = IS("PREPEND");
		if (header && !valid_header(text)) {
			log_warn("bad %s header text \"%s\" in %s map -- need \"headername: headervalue\"",
			         prepend ? "PREPEND" : "REPLACE", text, class_param[cls]);
			return KEEP;
		}
		log_action(h, prepend ? "prepend" : "replace", header, line, len, text);
		if (prepend) {
			*pre = text;
			return KEEP;
		}
		*repl = text;
		return SWAP;
	}
	if (IS("REDIRECT") && *text) {
		log_action(h, "redirect", header, line, len, text);
		snprintf(h->a.redirect, sizeof(h->a.redirect), "%s", text);
		h->stop = true; /* Postfix's cleanup inspects no further */
		return KEEP;
	}
	if (IS("BCC") && strchr(text, '@') != NULL) {
		log_action(h, "bcc", header, line, len, text);
		bool dup = false; /* duplicates are ignored, as Postfix */
		for (size_t i = 0; i < h->a.nbcc; i++)
			if (strcasecmp(h->a.bcc[i], text) == 0)
				dup = true;
		if (!dup && h->a.nbcc < HBC_BCC_MAX) {
			h->a.bcc = xreallocarray(h->a.bcc, h->a.nbcc + 2, sizeof(*h->a.bcc));
			h->a.bcc[h->a.nbcc++] = xstrdup(text);
			h->a.bcc[h->a.nbcc] = NULL;
		}
		return KEEP;
	}
	if (IS("FILTER") && strchr(text, ':') != NULL) {
		log_action(h, "filter", header, line, len, text);
		snprintf(h->a.filter, sizeof(h->a.filter), "%s", text);
		return KEEP;
	}
#undef IS
	log_warn("unknown command in %s map: %s", class_param[cls], value);
	return KEEP;
}

/* Look one line up in the tables of its class and act. */
static enum line_fate check(struct hbc *h, enum hclass cls, const char *line, size_t len,
                            const char **pre, const char **repl)
{
	struct map **maps = h->hc->maps[cls];
	if (maps == NULL || h->stop || len == 0) /* empty lines never match */
		return KEEP;
	sb_reset(&h->key);
	sb_add(&h->key, line, len);
	for (size_t i = 0; maps[i]; i++) {
		const char *value;
		int r = map_lookup(maps[i], h->key.s, &value);
		if (r == MAP_ERROR) {
			log_warn("%s: %s map lookup problem: %s -- message not accepted, try again later",
			         h->who.queue_id, maps[i]->spec, maps[i]->err);
			snprintf(h->a.reply, sizeof(h->a.reply), "451 4.3.0 Error: queue file write error");
			h->a.reject = true;
			h->stop = h->dead = true;
			return KEEP;
		}
		if (r == MAP_FOUND)
			return act(h, cls, line, len, value, pre, repl);
	}
	return KEEP;
}

static void mime_error(struct hbc *h)
{
	const char *t = mime_error_text(h->m.err);
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_printf(&sb, "%s: reject: mime-error %s: ", h->who.queue_id, t);
	add_printable(&sb, h->m.err_ctx, strlen(h->m.err_ctx), HBC_LOG_TEXT_MAX);
	sb_printf(&sb, " from %s; from=<%s> to=<%s>", h->who.client, h->who.sender, h->who.rcpt);
	log_info_as("cleanup", "%s", sb.s);
	sb_free(&sb);
	snprintf(h->a.reply, sizeof(h->a.reply), "550 5.6.0 %s", t);
	h->a.reject = true;
	h->stop = h->dead = true;
}

static void on_item(void *ctx, const struct mime_item *it)
{
	struct hbc *h = ctx;
	if (!h->dead && h->m.err != MIME_OK)
		mime_error(h);
	if (h->dead)
		return;
	struct strbuf *out = h->out;
	const char *pre = NULL, *repl = NULL;
	enum line_fate f = KEEP;
	switch (it->kind) {
	case MIME_I_EOH:
		sb_addc(out, '\n');
		return;
	case MIME_I_HEADER: {
		enum hclass cls = it->mime_hdr                     ? HC_MIME
		                  : it->hclass == MIME_H_PRIMARY ? HC_HEADER
		                                                 : HC_NESTED;
		f = check(h, cls, it->text, it->len, &pre, &repl);
		break;
	}
	case MIME_I_BODY:
		if (h->hc->body_limit == 0 || it->seg_offset < h->hc->body_limit)
			f = check(h, HC_BODY, it->text, it->len, &pre, &repl);
		break;
	}
	if (h->dead)
		return;
	bool eol = it->kind == MIME_I_HEADER || it->eol;
	if (pre) {
		sb_adds(out, pre);
		sb_addc(out, '\n');
	}
	if (f == DROP)
		return;
	if (f == SWAP)
		sb_adds(out, repl);
	else
		sb_add(out, it->text, it->len);
	if (eol)
		sb_addc(out, '\n');
}

struct hbc *hbc_start(const struct hbc_cfg *hc, const struct hbc_who *who)
{
	struct hbc *h = xcalloc(1, sizeof(*h));
	h->hc = hc;
	h->who = *who;
	sb_init(&h->key, 0);
	mime_init(&h->m, &hc->mo, on_item, h);
	if (hc->broken[0]) {
		log_warn("%s: %s -- message not accepted, try again later", who->queue_id, hc->broken);
		snprintf(h->a.reply, sizeof(h->a.reply), "451 4.3.0 Error: queue file write error");
		h->a.reject = true;
		h->stop = h->dead = true;
	}
	return h;
}

void hbc_feed(struct hbc *h, const char *p, size_t n, struct strbuf *out)
{
	h->out = out;
	mime_feed(&h->m, p, n);
	h->out = NULL;
}

void hbc_finish(struct hbc *h, struct strbuf *out)
{
	h->out = out;
	mime_finish(&h->m);
	if (!h->dead && h->m.err != MIME_OK)
		mime_error(h);
	h->out = NULL;
}

const struct hbc_actions *hbc_actions(const struct hbc *h)
{
	return &h->a;
}

void hbc_free(struct hbc *h)
{
	if (h == NULL)
		return;
	mime_free(&h->m);
	sb_free(&h->key);
	for (size_t i = 0; i < h->a.nbcc; i++)
		free(h->a.bcc[i]);
	free(h->a.bcc);
	free(h);
}
