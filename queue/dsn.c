/*
 * dsn.c - composes delivery status notifications: RFC 3464
 * multipart/report messages for bounces, delay warnings and success
 * reports, shaped like Postfix's (same subjects, parts and report
 * fields) in our own words.  Runs in qmgr.  Untrusted input: every
 * envelope value (sender, recipients, ORCPT, ENVID, diagnostic text
 * from remote servers) and the original message it quotes.  Envelope
 * values are cleaned of control characters and capped before they reach
 * a header line; the quoted message only goes into the third part,
 * behind a boundary checked not to occur in it.
 */
#include "dsn.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "bounds.h"
#include "strbuf.h"
#include "xalloc.h"

/* Fold report and header lines at this width where there is a space. */
#define FOLD_WIDTH 78
/* Cut a word with no space at this many bytes (lines stay under 998). */
#define FOLD_HARD 900
/* The MIME boundary before a uniqueness suffix "=XXXXXXXX": 61 + 9 is
 * RFC 2046's limit of 70. */
#define BOUNDARY_BASE_MAX 61

static const char *const subjects[] = {
	[DSN_FAILURE] = "Undelivered Mail Returned to Sender",
	[DSN_DELAY] = "Delayed Mail (still being retried)",
	[DSN_SUCCESS] = "Successful Mail Delivery Report",
};

/*
 * Append s cleaned for use in a header: CR, LF and TAB become a space,
 * other control bytes '?', at most DSN_VALUE_MAX bytes.  Bytes >= 0x80
 * pass (the report is 8bit, as Postfix's).
 */
static void add_clean(struct strbuf *sb, const char *s)
{
	size_t n = 0;
	for (; *s != '\0' && n < DSN_VALUE_MAX; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		sb_addc(sb, (char)c);
	}
}

static char *clean(const char *s)
{
	struct strbuf sb;
	sb_init(&sb, 0);
	add_clean(&sb, s != NULL ? s : "");
	sb_adds(&sb, "");
	return sb_steal(&sb);
}

/*
 * Append the words of p (already clean) starting at column col, folded
 * at spaces so lines stay near FOLD_WIDTH; continuation lines are
 * indented.  A word longer than FOLD_HARD is cut.  lead: put a space
 * before the first word too.
 */
static void add_folded(struct strbuf *out, size_t col, const char *p, bool lead)
{
	bool first = true;
	while (*p == ' ')
		p++;
	while (*p != '\0') {
		size_t w = strcspn(p, " ");
		if (w > FOLD_HARD)
			w = FOLD_HARD;
		if (!first && col + 1 + w > FOLD_WIDTH) {
			sb_adds(out, "\n   ");
			col = 3;
		}
		if (!first || lead) {
			sb_addc(out, ' ');
			col++;
		}
		sb_add(out, p, w);
		col += w;
		first = false;
		p += w;
		while (*p == ' ')
			p++;
	}
	sb_addc(out, '\n');
}

static void add_field(struct strbuf *out, const char *name, const char *value)
{
	sb_adds(out, name);
	sb_addc(out, ':');
	add_folded(out, strlen(name) + 1, value, true);
}

static void add_fieldf(struct strbuf *out, const char *name, const char *fmt,
                       const char *a, const char *b)
{
	struct strbuf v;
	sb_init(&v, 0);
	sb_printf(&v, fmt, a, b);
	add_field(out, name, sb_str(&v));
	sb_free(&v);
}

static void fmt_date(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 +0000");
}

static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL) ||
	       c >= 0x80;
}

/*
 * The sender (already clean) as one RFC 5322 addr-spec for To:.  A
 * local part that is not a dot-atom is quoted, so no text in it can
 * make the header name a second address; domain characters that have
 * no place in a domain become '?'.
 */
static void add_addr_spec(struct strbuf *out, const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t llen = at != NULL ? (size_t)(at - addr) : strlen(addr);
	bool atom = llen > 0 && addr[0] != '.' && addr[llen - 1] != '.';
	for (size_t i = 0; atom && i < llen; i++)
		if (!is_atext((unsigned char)addr[i]) &&
		    !(addr[i] == '.' && addr[i + 1] != '.'))
			atom = false;
	if (atom) {
		sb_add(out, addr, llen);
	} else {
		sb_addc(out, '"');
		for (size_t i = 0; i < llen; i++) {
			if (addr[i] == '"' || addr[i] == '\\')
				sb_addc(out, '\\');
			sb_addc(out, addr[i]);
		}
		sb_addc(out, '"');
	}
	if (at == NULL)
		return;
	sb_addc(out, '@');
	for (const char *p = at + 1; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '[' ||
		          c == ']' || c == ':' || c >= 0x80;
		sb_addc(out, ok ? (char)c : '?');
	}
}

static bool valid_status(const char *s)
{
	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	s += 2;
	for (int part = 0; part < 2; part++) {
		size_t n = strspn(s, "0123456789");
		if (n < 1 || n > 3)
			return false;
		s += n;
		if (part == 0 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

static bool valid_action(const char *a)
{
	static const char *const actions[] = {"failed", "delayed", "delivered",
	                                      "relayed", "expanded"};
	for (size_t i = 0; a != NULL && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(a, actions[i]) == 0)
			return true;
	return false;
}

/* The text of a "type; text" diagnostic, for the human-readable part. */
static const char *diag_text(const char *diag)
{
	const char *semi = strchr(diag, ';');
	if (semi != NULL && semi != diag && strspn(diag, "abcdefghijklmnopqrstuvwxyz"
	                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
	                                        (size_t)(semi - diag)) {
		semi++;
		while (*semi == ' ')
			semi++;
		return semi;
	}
	return diag;
}

static void add_notification(struct strbuf *b, const struct dsn_input *in,
                             const char *host)
{
	sb_printf(b, "This is the mail system at host %s.\n\n", host);
	switch (in->kind) {
	case DSN_FAILURE:
		sb_adds(b, "Your message could not be delivered to one or more of its\n"
		           "recipients; the errors are listed below and the message (or\n"
		           "its headers) is attached.  This failure is permanent: the\n"
		           "mail system will not try again.\n\n"
		           "If you write to the postmaster about it, include this report.\n");
		break;
	case DSN_DELAY: {
		time_t now = time(NULL);
		long hours = now > in->arrival ? (long)((now - in->arrival) / 3600) : 0;
		sb_printf(b, "*** WARNING ONLY: there is no need to send your message again. ***\n\n"
		             "Delivery of your message has been delayed for more than %ld hour(s)\n"
		             "for the recipients listed below.  The mail system keeps trying\n"
		             "and will report again if it finally fails.\n\n"
		             "If you write to the postmaster about it, include this report.\n",
		          hours);
		break;
	}
	default:
		sb_adds(b, "Your message was delivered to the recipients listed below.\n"
		           "Where it was put into a mailbox, nothing more will be reported;\n"
		           "where it was passed on to another system, that system may\n"
		           "still send reports of its own.\n");
		break;
	}
	sb_adds(b, "\n                   -- the mail system\n\n");
	for (size_t i = 0; i < in->nrcpts; i++) {
		const struct dsn_rcpt *r = &in->rcpts[i];
		struct strbuf line;
		sb_init(&line, 0);
		sb_addc(&line, '<');
		add_clean(&line, r->addr);
		sb_addc(&line, '>');
		if (r->orig != NULL && strcmp(r->orig, r->addr) != 0) {
			sb_adds(&line, " (expanded from <");
			add_clean(&line, r->orig);
			sb_adds(&line, ">)");
		}
		sb_adds(&line, ": ");
		if (r->diag != NULL && *r->diag != '\0')
			add_clean(&line, diag_text(r->diag));
		else
			sb_printf(&line, "%s (status %s)", r->action, r->status);
		add_folded(b, 0, sb_str(&line), false);
		sb_free(&line);
	}
}

static void add_status(struct strbuf *b, const struct dsn_input *in,
                       const char *host, const char *arrival)
{
	char *v;
	add_fieldf(b, "Reporting-MTA", "dns; %s%s", host, "");
	if (in->envid != NULL && *in->envid != '\0') {
		v = clean(in->envid);
		add_field(b, "Original-Envelope-Id", v);
		free(v);
	}
	v = clean(in->queue_id);
	add_field(b, "X-Postern-Queue-ID", v);
	free(v);
	v = clean(in->sender);
	add_fieldf(b, "X-Postern-Sender", "rfc822; %s%s", v, "");
	free(v);
	add_field(b, "Arrival-Date", arrival);
	for (size_t i = 0; i < in->nrcpts; i++) {
		const struct dsn_rcpt *r = &in->rcpts[i];
		sb_addc(b, '\n');
		v = clean(r->addr);
		add_fieldf(b, "Final-Recipient", "rfc822; %s%s", v, "");
		free(v);
		const char *o = r->orcpt != NULL && *r->orcpt != '\0' ? r->orcpt : r->orig;
		if (o != NULL && *o != '\0') {
			v = clean(o);
			/* ORCPT carries its own "type;" prefix; a bare address gets rfc822. */
			const char *semi = strchr(v, ';');
			const char *at = strchr(v, '@');
			if (semi != NULL && (at == NULL || semi < at))
				add_field(b, "Original-Recipient", v);
			else
				add_fieldf(b, "Original-Recipient", "rfc822; %s%s", v, "");
			free(v);
		}
		add_field(b, "Action", r->action);
		add_field(b, "Status", r->status);
		if (r->remote_mta != NULL && *r->remote_mta != '\0') {
			v = clean(r->remote_mta);
			add_fieldf(b, "Remote-MTA", "dns; %s%s", v, "");
			free(v);
		}
		if (r->diag != NULL && *r->diag != '\0') {
			v = clean(r->diag);
			if (diag_text(v) != v)
				add_field(b, "Diagnostic-Code", v);
			else
				add_fieldf(b, "Diagnostic-Code", "X-Postern; %s%s", v, "");
			free(v);
		}
	}
}

/* Read up to len bytes of the original at off; false on a read error. */
static bool read_content(const struct dsn_input *in, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(in->content_fd, buf + got, len - got,
		                  in->content_off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/*
 * The returned content: the whole message when wanted and within
 * max_returned, else its headers (cut at a line end if they alone are
 * longer).  *full tells which.  Returns false on a read error.
 */
static bool returned_content(const struct dsn_input *in, struct strbuf *ret,
                             bool *full)
{
	bool want_full = in->kind == DSN_FAILURE &&
	                 (in->ret == NULL || strcmp(in->ret, "HDRS") != 0);
	size_t total = in->content_len > 0 ? (size_t)in->content_len : 0;
	size_t len = total < in->max_returned ? total : in->max_returned;
	char *buf = xmalloc(len + 1);
	if (!read_content(in, buf, len)) {
		free(buf);
		return false;
	}
	*full = want_full && len == total;
	size_t keep = len;
	if (!*full) {
		keep = 0;
		if (len > 0 && buf[0] != '\n') {
			char *end = memmem(buf, len, "\n\n", 2);
			if (end != NULL) {
				keep = (size_t)(end - buf) + 1;
			} else if (len == total) {
				keep = len;
			} else {
				char *nl = memrchr(buf, '\n', len);
				keep = nl != NULL ? (size_t)(nl - buf) + 1 : 0;
			}
		}
	}
	sb_add(ret, buf, keep);
	if (keep > 0 && buf[keep - 1] != '\n')
		sb_addc(ret, '\n');
	free(buf);
	return true;
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Characters allowed in our boundary (a subset of RFC 2046 bchars). */
static void add_bchars(struct strbuf *sb, const char *s, size_t max)
{
	for (size_t n = 0; *s != '\0' && n < max; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-') {
			sb_addc(sb, (char)c);
			n++;
		}
	}
}

static bool occurs(const struct strbuf *hay, const char *needle)
{
	return memmem(hay->s, hay->len, needle, strlen(needle)) != NULL;
}

int dsn_compose(const struct dsn_input *in, int out_fd, char *err, size_t errlen)
{
	if (in->kind != DSN_FAILURE && in->kind != DSN_DELAY && in->kind != DSN_SUCCESS) {
		snprintf(err, errlen, "unknown DSN kind %d", in->kind);
		return -1;
	}
	if (in->sender == NULL || *in->sender == '\0' || in->nrcpts == 0 ||
	    in->rcpts == NULL || in->reporting_mta == NULL || in->queue_id == NULL) {
		snprintf(err, errlen, "DSN without sender, recipients, host or queue id");
		return -1;
	}
	for (size_t i = 0; i < in->nrcpts; i++) {
		const struct dsn_rcpt *r = &in->rcpts[i];
		if (r->addr == NULL || !valid_status(r->status) || !valid_action(r->action)) {
			snprintf(err, errlen, "DSN recipient %zu: bad address, status or action", i);
			return -1;
		}
	}

	char *host = clean(in->reporting_mta);
	char *from = clean(in->postmaster_from != NULL ? in->postmaster_from : "MAILER-DAEMON");
	char *to = clean(in->sender);
	char now[80], arrival[80];
	time_t t = time(NULL);
	fmt_date(t, now, sizeof(now));
	fmt_date(in->arrival, arrival, sizeof(arrival));

	struct strbuf text, status, orig, out;
	sb_init(&text, 0);
	sb_init(&status, 0);
	sb_init(&orig, 0);
	sb_init(&out, 0);
	add_notification(&text, in, host);
	add_status(&status, in, host, arrival);
	bool full = false;
	int rc = -1;
	if (in->max_returned > 0 && !returned_content(in, &orig, &full)) {
		snprintf(err, errlen, "reading the original message: %s",
		         errno != 0 ? strerror(errno) : "short file");
		goto out;
	}

	/* Boundary as Postfix makes it (ID.TIME/HOST), made unique when
	 * the quoted text happens to hold it. */
	struct strbuf bnd;
	sb_init(&bnd, 0);
	add_bchars(&bnd, in->queue_id, 20);
	sb_printf(&bnd, ".%lld/", (long long)t);
	/* At most 70 characters (RFC 2046), with room for "=%08x". */
	if (bnd.len < BOUNDARY_BASE_MAX)
		add_bchars(&bnd, host, BOUNDARY_BASE_MAX - bnd.len);
	size_t base = bnd.len;
	for (unsigned tries = 0;; tries++) {
		if (!occurs(&orig, sb_str(&bnd)) && !occurs(&text, sb_str(&bnd)) &&
		    !occurs(&status, sb_str(&bnd)))
			break;
		if (tries >= 64) {
			sb_free(&bnd);
			snprintf(err, errlen, "no MIME boundary found");
			goto out;
		}
		uint32_t rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = tries * 2654435761u;
		sb_truncate(&bnd, base);
		sb_printf(&bnd, "=%08x", (unsigned)rnd);
	}
	uint32_t mid = 0;
	if (getrandom(&mid, sizeof(mid), 0) != sizeof(mid))
		mid = (uint32_t)getpid();
	char stamp[32];
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL || strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)t);

	sb_printf(&out, "Date: %s\n", now);
	sb_printf(&out, "From: Mail Delivery System <%s@%s>\n", from, host);
	sb_printf(&out, "Subject: %s\n", subjects[in->kind]);
	struct strbuf tov;
	sb_init(&tov, 0);
	add_addr_spec(&tov, to);
	add_field(&out, "To", sb_str(&tov));
	sb_free(&tov);
	sb_adds(&out, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n");
	sb_printf(&out, "Content-Type: multipart/report; report-type=delivery-status;\n"
	                "\tboundary=\"%s\"\n",
	          sb_str(&bnd));
	sb_adds(&out, "Content-Transfer-Encoding: 8bit\n");
	sb_printf(&out, "Message-Id: <%s.", stamp);
	add_bchars(&out, in->queue_id, 20);
	sb_printf(&out, ".%08x@%s>\n\n", (unsigned)mid, host);
	sb_adds(&out, "This is a MIME-encapsulated message.\n\n");

	sb_printf(&out, "--%s\nContent-Description: Notification\n"
	                "Content-Type: text/plain; charset=utf-8\n"
	                "Content-Transfer-Encoding: 8bit\n\n",
	          sb_str(&bnd));
	sb_add(&out, text.s, text.len);
	sb_printf(&out, "\n--%s\nContent-Description: Delivery report\n"
	                "Content-Type: message/delivery-status\n\n",
	          sb_str(&bnd));
	sb_add(&out, status.s, status.len);
	if (in->max_returned > 0) {
		const char *what = in->kind == DSN_SUCCESS ? "Message Headers"
		                   : full                  ? "Undelivered Message"
		                                           : "Undelivered Message Headers";
		sb_printf(&out, "\n--%s\nContent-Description: %s\nContent-Type: %s\n"
		                "Content-Transfer-Encoding: 8bit\n\n",
		          sb_str(&bnd), what, full ? "message/rfc822" : "text/rfc822-headers");
		sb_add(&out, orig.s, orig.len);
	}
	sb_printf(&out, "\n--%s--\n", sb_str(&bnd));
	sb_free(&bnd);

	if (!write_all(out_fd, out.s, out.len)) {
		snprintf(err, errlen, "writing the DSN: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sb_free(&text);
	sb_free(&status);
	sb_free(&orig);
	sb_free(&out);
	free(host);
	free(from);
	free(to);
	return rc;
}
