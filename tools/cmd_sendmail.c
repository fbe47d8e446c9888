/*
 * cmd_sendmail.c - "postern sendmail" (also run as "sendmail"): local
 * submission with the command-line flags of Postfix's sendmail(1).  It
 * reads a message on standard input, adds the headers Postfix adds to
 * local mail (Received:, and From:, Date:, Message-ID: when missing),
 * takes recipients from the command line and, with -t, from To:/Cc:/Bcc:
 * (removing Bcc:), and hands the message to the queue manager over
 * public/qmgr, which knows the user from SO_PEERCRED.  Runs as the
 * invoking user, no set-id bits.  Untrusted input: the message (lines of
 * any length, CRLF or LF) and the command line (addresses); the header
 * block is parsed within a bound, the body is streamed.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addrlist.h"
#include "cmd_sendmail.h"
#include "bounds.h"
#include "cfg.h"
#include "cmds.h"
#include "htable.h"
#include "ipc.h"
#include "log.h"
#include "proto.h"
#include "qclient.h"
#include "strbuf.h"
#include "xalloc.h"

/* A body line longer than this is written in pieces (it cannot be "."). */
#define LINE_CHUNK 8192

static const char usage_text[] =
	"postern sendmail [-c DIR] [-t] [-i] [-oi] [-f SENDER] [-F NAME] [-r SENDER]\n"
	"       [-N dsn] [-R full|hdrs] [-V envid] [-B 7BIT|8BITMIME] [-bm|-bs|-bv|-bp|-bi] [--] [RCPT ...]";


static const char *myorigin(struct sm *s)
{
	return cfg_get(s->cfg, "myorigin");
}

/* user -> user@$myorigin when append_at_myorigin says so. */
static char *qualify(struct sm *s, const char *addr)
{
	if (*addr == '\0' || strchr(addr, '@') != NULL ||
	    !cfg_get_bool(s->cfg, "append_at_myorigin"))
		return xstrdup(addr);
	struct strbuf b;
	sb_init(&b, 0);
	sb_printf(&b, "%s@%s", addr, myorigin(s));
	return sb_steal(&b);
}

bool sendmail_add_rcpt(struct sm *s, const char *addr, unsigned notify,
                       const char *orcpt)
{
	char *q = qualify(s, addr);
	if (ht_get(s->seen, q) != NULL) {
		free(q);
		return true;
	}
	if (s->nrcpts >= SENDMAIL_RCPTS_MAX) {
		s->too_many = true;
		free(q);
		return false;
	}
	ht_put(s->seen, q, (void *)1);
	s->rcpts = xreallocarray(s->rcpts, s->nrcpts + 1, sizeof(*s->rcpts));
	s->rnotify = xreallocarray(s->rnotify, s->nrcpts + 1, sizeof(*s->rnotify));
	s->rorcpt = xreallocarray(s->rorcpt, s->nrcpts + 1, sizeof(*s->rorcpt));
	s->rnotify[s->nrcpts] = notify;
	s->rorcpt[s->nrcpts] = orcpt != NULL ? xstrdup(orcpt) : NULL;
	s->rcpts[s->nrcpts++] = q;
	return true;
}

static bool add_rcpt(void *arg, const char *addr)
{
	return sendmail_add_rcpt(arg, addr, 0, NULL);
}

static void free_rcpts(struct sm *s)
{
	for (size_t i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i]);
		free(s->rorcpt[i]);
	}
	free(s->rcpts);
	free(s->rnotify);
	free(s->rorcpt);
	s->rcpts = s->rorcpt = NULL;
	s->rnotify = NULL;
	s->nrcpts = 0;
}

void sendmail_reset(struct sm *s)
{
	free_rcpts(s);
	ht_free(s->seen, NULL);
	s->seen = ht_new();
	s->too_many = false;
	sb_reset(&s->head);
	sb_reset(&s->pending);
	s->have_from = s->have_date = s->have_msgid = false;
	s->head_ended_by_blank = s->eof = s->saw_dot = false;
}

static bool parse_notify(const char *arg, unsigned *out)
{
	unsigned v = 0;
	char *copy = xstrdup(arg), *save = NULL;
	bool ok = true;
	for (char *w = strtok_r(copy, ", \t", &save); w != NULL; w = strtok_r(NULL, ", \t", &save)) {
		if (strcasecmp(w, "never") == 0)
			v |= PROTO_NOTIFY_NEVER;
		else if (strcasecmp(w, "success") == 0)
			v |= PROTO_NOTIFY_SUCCESS;
		else if (strcasecmp(w, "failure") == 0)
			v |= PROTO_NOTIFY_FAILURE;
		else if (strcasecmp(w, "delay") == 0)
			v |= PROTO_NOTIFY_DELAY;
		else
			ok = false;
	}
	free(copy);
	if (v == 0 || ((v & PROTO_NOTIFY_NEVER) && v != PROTO_NOTIFY_NEVER))
		ok = false;
	*out = v;
	return ok;
}

/*
 * Read one input line into line (at most max bytes; a longer line comes
 * back in pieces with *complete false).  The line end is kept.  False
 * at end of input with nothing read.
 */
bool sendmail_read_line(FILE *in, struct strbuf *line, size_t max, bool *complete)
{
	sb_reset(line);
	*complete = false;
	int c;
	while (line->len < max && (c = getc_unlocked(in)) != EOF) {
		sb_addc(line, (char)c);
		if (c == '\n') {
			*complete = true;
			return true;
		}
	}
	if (line->len == 0)
		return false;
	if (feof(in))
		*complete = true; /* last line without a line end */
	return true;
}

/* CRLF -> LF; a line without its end gets one when complete. */
static void normalize_end(struct strbuf *line, bool complete)
{
	if (line->len > 0 && line->s[line->len - 1] == '\n') {
		sb_truncate(line, line->len - 1);
		if (line->len > 0 && line->s[line->len - 1] == '\r')
			sb_truncate(line, line->len - 1);
		sb_addc(line, '\n');
	} else if (complete) {
		sb_addc(line, '\n');
	}
}

/* "." alone ends input unless -i; SMTP DATA always ends so. */
static bool is_dot(const struct sm *s, const struct strbuf *line)
{
	return (!s->opt_i || s->smtp) && strcmp(sb_str(line), ".\n") == 0;
}

/* SMTP DATA: a line's leading dot was doubled by the client. */
static void unstuff(const struct sm *s, struct strbuf *line)
{
	if (s->smtp && line->len > 0 && line->s[0] == '.') {
		memmove(line->s, line->s + 1, line->len);
		line->len--;
	}
}

static bool header_name(const char *l, size_t *namelen)
{
	size_t n = 0;
	while (l[n] > 32 && l[n] < 127 && l[n] != ':')
		n++;
	*namelen = n;
	return n > 0 && l[n] == ':';
}

static bool name_is(const char *l, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(l, name, n) == 0;
}

/*
 * One logical header (first line plus continuations, LF ends) is
 * complete: note what it is, take -t recipients from it, keep it in the
 * header block unless it is a Bcc: under -t.
 */
static bool header_done(struct sm *s, const struct strbuf *h)
{
	size_t n;
	if (h->len == 0 || !header_name(h->s, &n))
		return true;
	if (name_is(h->s, n, "From"))
		s->have_from = true;
	else if (name_is(h->s, n, "Date"))
		s->have_date = true;
	else if (name_is(h->s, n, "Message-ID"))
		s->have_msgid = true;
	bool is_bcc = name_is(h->s, n, "Bcc");
	if (s->opt_t && (is_bcc || name_is(h->s, n, "To") || name_is(h->s, n, "Cc"))) {
		if (!addrlist_parse(h->s + n + 1, h->len - n - 1, add_rcpt, s))
			return false;
	}
	if (!(s->opt_t && is_bcc))
		sb_add(&s->head, h->s, h->len);
	return true;
}

/*
 * Read the header block.  It ends at an empty line (consumed), at the
 * first line that is neither a header nor a continuation (kept in
 * s->pending as the first body line), at "." (without -i) or at end of
 * input.  Returns an exit status, 0 when all went well.
 */
static int read_headers(struct sm *s, FILE *in)
{
	long hlimit = cfg_get_long(s->cfg, "header_size_limit");
	size_t limit = hlimit > 0 && (unsigned long)hlimit < SENDMAIL_HEADER_MAX
	                       ? (size_t)hlimit
	                       : SENDMAIL_HEADER_MAX;
	struct strbuf line, cur;
	sb_init(&line, 0);
	sb_init(&cur, 0);
	int rc = 0;
	bool complete;
	for (;;) {
		if (!sendmail_read_line(in, &line, LINE_CHUNK, &complete)) {
			s->eof = true;
			break;
		}
		normalize_end(&line, complete);
		if (is_dot(s, &line)) {
			s->eof = s->saw_dot = true;
			break;
		}
		unstuff(s, &line);
		if (strcmp(sb_str(&line), "\n") == 0) {
			s->head_ended_by_blank = true;
			break;
		}
		size_t n;
		bool cont = (line.s[0] == ' ' || line.s[0] == '\t') && cur.len > 0;
		if (!complete || (!cont && !header_name(line.s, &n)) ||
		    s->head.len + cur.len + line.len > limit) {
			/* The body begins (a header too long for us counts as body). */
			sb_add(&s->pending, line.s, line.len);
			break;
		}
		if (!cont) {
			if (!header_done(s, &cur)) {
				rc = EX_DATAERR;
				goto out;
			}
			sb_reset(&cur);
		}
		sb_add(&cur, line.s, line.len);
	}
	if (!header_done(s, &cur))
		rc = EX_DATAERR;
out:
	if (rc != 0)
		log_error("%s", s->too_many ? "too many recipients" : "malformed address list");
	sb_free(&line);
	sb_free(&cur);
	return rc;
}

static void fmt_date(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 +0000");
}

struct out {
	FILE *f;
	unsigned long long size;
};

static void put(struct out *o, const char *p, size_t n)
{
	fwrite(p, 1, n, o->f);
	o->size += n;
}

static void puts_(struct out *o, const char *p)
{
	put(o, p, strlen(p));
}

/* A header value from the user (full name): one line, no controls. */
static void put_clean(struct out *o, const char *s)
{
	for (size_t n = 0; *s != '\0' && n < 256; s++, n++) {
		unsigned char c = (unsigned char)*s;
		char ch = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		put(o, &ch, 1);
	}
}

/* Full name as a display name: quoted when it holds specials. */
static void put_phrase(struct out *o, const char *name)
{
	bool plain = true;
	for (const char *p = name; *p != '\0'; p++)
		if (strchr("()<>[]:;@\\,.\"", *p) != NULL)
			plain = false;
	if (plain) {
		put_clean(o, name);
		return;
	}
	put(o, "\"", 1);
	for (size_t n = 0; *name != '\0' && n < 256; name++, n++) {
		unsigned char c = (unsigned char)*name;
		if (c == '"' || c == '\\')
			put(o, "\\", 1);
		char ch = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		put(o, &ch, 1);
	}
	put(o, "\"", 1);
}

/* Copy the rest of standard input into the queue file: LF line ends,
 * "." ends input without -i. */
static void copy_body(struct sm *s, FILE *in, struct out *o)
{
	struct strbuf line;
	sb_init(&line, 0);
	bool complete = true, at_bol = true;
	if (s->pending.len > 0) {
		/* The first body line came from read_headers, already
		 * normalized when it was whole. */
		put(o, s->pending.s, s->pending.len);
		at_bol = s->pending.s[s->pending.len - 1] == '\n';
	}
	while (!s->eof) {
		if (!sendmail_read_line(in, &line, LINE_CHUNK, &complete)) {
			s->eof = true;
			break;
		}
		if (at_bol && complete) {
			normalize_end(&line, complete);
			if (is_dot(s, &line)) {
				s->eof = s->saw_dot = true;
				break;
			}
		} else if (complete) {
			normalize_end(&line, complete);
		} else if (line.s[line.len - 1] == '\r') {
			/* A piece ending in CR: its LF may be the next byte. */
			int c = getc_unlocked(in);
			if (c == '\n') {
				line.s[line.len - 1] = '\n';
				complete = true;
			} else if (c != EOF) {
				ungetc(c, in);
			}
		}
		if (at_bol)
			unstuff(s, &line);
		put(o, line.s, line.len);
		at_bol = complete;
	}
	sb_free(&line);
}

static char *login_name(void)
{
	struct passwd *pw = getpwuid(getuid());
	if (pw != NULL)
		return xstrdup(pw->pw_name);
	char buf[32];
	snprintf(buf, sizeof(buf), "#%lu", (unsigned long)getuid());
	return xstrdup(buf);
}

static char *gecos_name(void)
{
	struct passwd *pw = getpwuid(getuid());
	if (pw == NULL || pw->pw_gecos == NULL)
		return NULL;
	size_t n = strcspn(pw->pw_gecos, ",");
	return n > 0 ? xstrndup(pw->pw_gecos, n) : NULL;
}

/* The envelope sender: -f/-r as given (its address if it is "Name <a>"),
 * else the login name, qualified. */
static char *envelope_sender(struct sm *s)
{
	if (s->sender == NULL) {
		char *l = login_name();
		char *q = qualify(s, l);
		free(l);
		return q;
	}
	if (strcmp(s->sender, "") == 0 || strcmp(s->sender, "<>") == 0)
		return xstrdup("");
	struct sm tmp = {.cfg = s->cfg};
	tmp.seen = ht_new();
	addrlist_parse(s->sender, strlen(s->sender), add_rcpt, &tmp);
	char *r = tmp.nrcpts > 0 ? xstrdup(tmp.rcpts[0]) : qualify(s, s->sender);
	free_rcpts(&tmp);
	ht_free(tmp.seen, NULL);
	return r;
}

int sendmail_submit(struct sm *s, FILE *in)
{
	char *err = s->err;
	s->qid[0] = s->err[0] = '\0';
	int rc = read_headers(s, in);
	if (rc != 0)
		return rc;
	if (s->nrcpts == 0) {
		snprintf(s->err, sizeof(s->err), "%s",
		         s->opt_t ? "No recipient addresses found in message header"
		                  : "Recipient addresses must be specified on the command "
		                    "line or via the -t option");
		return EX_USAGE;
	}
	char *sender = envelope_sender(s);
	struct qclient q;
	if (!qclient_open(&q, s->cfg, err, sizeof(s->err))) {
		free(sender);
		return EX_TEMPFAIL;
	}
	rc = EX_TEMPFAIL;
	struct ipc_out o;
	ipc_out_init(&o, PROTO_NEW);
	ipc_add_str(&o, T_SENDER, sender);
	ipc_add_str(&o, T_PROTOCOL, "LOCAL");
	ipc_add_u64(&o, T_UID, (uint64_t)getuid());
	if (s->ret != NULL)
		ipc_add_str(&o, T_RET, s->ret);
	if (s->envid != NULL)
		ipc_add_str(&o, T_ENVID, s->envid);
	if (s->body != NULL)
		ipc_add_str(&o, T_BODY, s->body);
	bool ok = qclient_send(&q, &o, -1, err, sizeof(s->err)) &&
	          qclient_recv(&q, err, sizeof(s->err));
	ipc_out_free(&o);
	if (!ok)
		goto fail;
	if (q.in->type == PROTO_FAIL) {
		qclient_fail_text(&q, err, sizeof(s->err));
		goto fail;
	}
	const char *id = ipc_str(q.in, T_ID);
	if (q.in->type != PROTO_NEW_OK || id == NULL || q.fd < 0) {
		snprintf(err, sizeof(s->err), "unexpected answer from the queue manager");
		goto fail;
	}
	char *qid = xstrdup(id);
	snprintf(s->qid, sizeof(s->qid), "%s", id);
	int cfd = dup(q.fd);
	struct out out = {.f = cfd >= 0 ? fdopen(cfd, "w") : NULL};
	if (out.f == NULL) {
		snprintf(err, sizeof(s->err), "queue file: %s", strerror(errno));
		if (cfd >= 0)
			close(cfd);
		free(qid);
		goto fail;
	}
	time_t now = time(NULL);
	char date[80];
	fmt_date(now, date, sizeof(date));
	const char *host = cfg_get(s->cfg, "myhostname");
	struct strbuf rcvd;
	sb_init(&rcvd, 0);
	sb_printf(&rcvd, "Received: by %s (postern, from userid %lu)\n\tid %s; %s\n", host,
	          (unsigned long)getuid(), qid, date);
	put(&out, rcvd.s, rcvd.len);
	sb_free(&rcvd);
	put(&out, s->head.s, s->head.len);
	if (!s->have_msgid) {
		struct tm tm;
		char stamp[32] = "0";
		if (localtime_r(&now, &tm) != NULL)
			strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
		char mid[600];
		snprintf(mid, sizeof(mid), "Message-Id: <%s.%s@%s>\n", stamp, qid, host);
		puts_(&out, mid);
	}
	if (!s->have_date) {
		puts_(&out, "Date: ");
		puts_(&out, date);
		puts_(&out, "\n");
	}
	if (!s->have_from) {
		const char *name = s->fullname;
		char *gecos = NULL;
		if (name == NULL)
			name = getenv("NAME");
		if (name == NULL)
			name = gecos = gecos_name();
		puts_(&out, "From: ");
		if (name != NULL && *name != '\0') {
			put_phrase(&out, name);
			puts_(&out, " <");
			put_clean(&out, *sender != '\0' ? sender : "MAILER-DAEMON");
			puts_(&out, ">\n");
		} else {
			put_clean(&out, *sender != '\0' ? sender : "MAILER-DAEMON");
			puts_(&out, "\n");
		}
		free(gecos);
	}
	/* Headers end with an empty line even when the input had none. */
	puts_(&out, "\n");
	copy_body(s, in, &out);
	bool wrote = fflush(out.f) == 0 && !ferror(out.f);
	fclose(out.f);
	free(qid);
	if (wrote && s->smtp && !s->saw_dot) {
		snprintf(err, sizeof(s->err), "end of input within the message");
		goto fail;
	}
	if (!wrote || ferror(in)) {
		snprintf(err, sizeof(s->err), "%s: %s", !wrote ? "writing the queue file" : "reading input",
		         strerror(errno));
		goto fail;
	}

	ipc_out_init(&o, PROTO_COMMIT);
	ipc_add_u64(&o, T_SIZE, out.size);
	for (size_t i = 0; i < s->nrcpts; i++) {
		ipc_add_str(&o, T_RCPT, s->rcpts[i]);
		/* As Postfix's sendmail: the address as submitted is the
		 * original recipient (RFC 3461 ORCPT) in DSNs and relayed. */
		struct strbuf orcpt;
		sb_init(&orcpt, 0);
		if (s->rorcpt[i] != NULL)
			sb_adds(&orcpt, s->rorcpt[i]);
		else
			sb_printf(&orcpt, "rfc822;%s", s->rcpts[i]);
		ipc_add_str(&o, T_ORCPT, orcpt.s);
		sb_free(&orcpt);
		unsigned notify = s->rnotify[i] != 0 ? s->rnotify[i] : s->notify;
		if (notify != 0)
			ipc_add_u64(&o, T_NOTIFY, notify);
	}
	ok = !o.overflow && qclient_send(&q, &o, -1, err, sizeof(s->err)) &&
	     qclient_recv(&q, err, sizeof(s->err));
	if (o.overflow)
		snprintf(err, sizeof(s->err), "too many recipients for one message");
	ipc_out_free(&o);
	if (!ok)
		goto fail;
	if (q.in->type == PROTO_FAIL) {
		qclient_fail_text(&q, err, sizeof(s->err));
		goto fail;
	}
	if (q.in->type != PROTO_COMMIT_OK) {
		snprintf(err, sizeof(s->err), "unexpected answer from the queue manager");
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	s->qid[0] = '\0';
out:
	qclient_close(&q);
	free(sender);
	return rc;
}

/* Other names and modes: mailq, newaliases, flush. */
static int run_verb(int (*fn)(int, char **), const char *dir, const char *a1,
                    const char *a2)
{
	char *argv[8];
	int argc = 0;
	argv[argc++] = (char *)"";
	if (dir != NULL) {
		argv[argc++] = (char *)"-c";
		argv[argc++] = (char *)dir;
	}
	if (a1 != NULL)
		argv[argc++] = (char *)a1;
	if (a2 != NULL)
		argv[argc++] = (char *)a2;
	argv[argc] = NULL;
	optind = 0;
	return fn(argc, argv);
}

int cmd_sendmail(int argc, char **argv)
{
	struct sm s = {.cfg = NULL};
	const char *dir = NULL;
	char mode = 'm';
	const char *flush_id = NULL;
	bool flush = false;
	int opt;
	/* "+" stops at the first recipient, as sendmail(1) options come first. */
	while ((opt = getopt(argc, argv, "+A:B:b:C:c:F:f:GIh:iL:mN:nO:o:q::R:r:tUV:vX:")) != -1) {
		switch (opt) {
		case 'b':
			if (strchr("msvpiI", optarg[0]) == NULL || optarg[1] != '\0') {
				log_error("-b%s is not supported", optarg);
				return EX_USAGE;
			}
			mode = optarg[0];
			break;
		case 'B':
			if (strcasecmp(optarg, "8BITMIME") == 0)
				s.body = "8BITMIME";
			else if (strcasecmp(optarg, "7BIT") == 0)
				s.body = "7BIT";
			else {
				log_error("-B: use 7BIT or 8BITMIME");
				return EX_USAGE;
			}
			break;
		case 'C':
		case 'c': dir = optarg; break;
		case 'F': s.fullname = optarg; break;
		case 'f':
		case 'r': s.sender = optarg; break;
		case 'I': mode = 'i'; break;
		case 'i': s.opt_i = true; break;
		case 'o':
			if (strcmp(optarg, "i") == 0)
				s.opt_i = true;
			/* -oA, -om, -oem, -odb ...: ignored as Postfix does. */
			break;
		case 'N':
			if (!parse_notify(optarg, &s.notify)) {
				log_error("bad -N argument: %s", optarg);
				return EX_USAGE;
			}
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				s.ret = "FULL";
			else if (strcasecmp(optarg, "hdrs") == 0)
				s.ret = "HDRS";
			else {
				log_error("bad -R argument: %s", optarg);
				return EX_USAGE;
			}
			break;
		case 'q':
			if (optarg == NULL) {
				flush = true;
			} else if (optarg[0] == 'I' && optarg[1] != '\0') {
				flush = true;
				flush_id = optarg + 1;
			} else if (optarg[0] == 'R' || optarg[0] == 'S') {
				log_error("-q%c is not implemented; use -q", optarg[0]);
				return EX_UNAVAILABLE;
			}
			/* -qINTERVAL: ignored, as Postfix does. */
			break;
		case 't': s.opt_t = true; break;
		case 'V':
			if (strlen(optarg) > 100) {
				log_error("-V: envelope id too long");
				return EX_USAGE;
			}
			s.envid = optarg;
			break;
		case 'A': case 'G': case 'h': case 'L': case 'm': case 'n': case 'O':
		case 'U': case 'v': case 'X':
			break; /* ignored, as Postfix does */
		default: return cmd_usage(usage_text);
		}
	}
	if (flush)
		return run_verb(cmd_queue, dir, flush_id != NULL ? "-i" : "-f", flush_id);
	if (mode == 'p')
		return run_verb(cmd_queue, dir, "-p", NULL);
	if (mode == 'i')
		return run_verb(cmd_alias, dir, NULL, NULL);

	s.cfg = cfg_load(dir, NULL, true);
	if (s.cfg == NULL)
		return EX_CONFIG;
	s.seen = ht_new();
	sb_init(&s.head, 0);
	sb_init(&s.pending, 0);
	int rc = 0;
	for (int i = optind; i < argc && rc == 0; i++) {
		if (!addrlist_parse(argv[i], strlen(argv[i]), add_rcpt, &s)) {
			log_error("%s: %s", s.too_many ? "too many recipients" : "bad address",
			          argv[i]);
			rc = EX_USAGE;
		}
	}
	if (rc == 0 && mode == 'v') {
		rc = sendmail_verify(&s);
	} else if (rc == 0 && mode == 's') {
		rc = sendmail_smtp(&s);
	} else if (rc == 0) {
		rc = sendmail_submit(&s, stdin);
		if (rc != 0 && s.err[0] != '\0')
			log_error("%s", s.err);
	}
	free_rcpts(&s);
	ht_free(s.seen, NULL);
	sb_free(&s.head);
	sb_free(&s.pending);
	cfg_free(s.cfg);
	return rc;
}
