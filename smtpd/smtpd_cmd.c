/*
 * smtpd_cmd.c - parses SMTP command lines into struct smtp_cmd (see
 * smtpd_cmd.h).  Runs in smtpd.  Everything it reads is untrusted
 * client input: every length is checked against bounds.h before a
 * byte is copied, and anything not understood yields the reply Postfix
 * gives for it.
 */
#include "smtpd_cmd.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

static const char *const verb_names[SMTP_NVERBS] = {
	[SMTP_UNKNOWN] = "unknown", [SMTP_HELO] = "helo", [SMTP_EHLO] = "ehlo",
	[SMTP_STARTTLS] = "starttls", [SMTP_AUTH] = "auth", [SMTP_MAIL] = "mail",
	[SMTP_RCPT] = "rcpt",       [SMTP_DATA] = "data", [SMTP_BDAT] = "bdat",
	[SMTP_RSET] = "rset",       [SMTP_NOOP] = "noop", [SMTP_VRFY] = "vrfy",
	[SMTP_ETRN] = "etrn",       [SMTP_QUIT] = "quit", [SMTP_HELP] = "help",
};

const char *smtp_verb_name(enum smtp_verb v)
{
	return (unsigned)v < SMTP_NVERBS ? verb_names[v] : "unknown";
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool is_alnum(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* RFC 5322 atext, plus UTF-8 bytes (RFC 6531). */
static bool is_atext(unsigned char ch)
{
	return is_alnum(ch) || ch >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

/* A domain name of LDH labels (UTF-8 U-labels allowed), no empty label;
 * a single trailing dot is accepted and removed (*len shortened). */
static bool domain_ok(const char *d, size_t *len)
{
	size_t n = *len;
	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > SMTP_HOST_MAX)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)d[i];
		if (ch == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(is_alnum(ch) || ch >= 0x80 || ch == '-'))
			return false;
		if (ch == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	if (label == 0 || d[n - 1] == '-')
		return false;
	*len = n;
	return true;
}

/* "[1.2.3.4]" or "[IPv6:...]". */
static bool literal_ok(const char *d, size_t len)
{
	char buf[64];
	unsigned char bin[16];
	if (len < 3 || d[0] != '[' || d[len - 1] != ']' || len - 2 >= sizeof(buf))
		return false;
	memcpy(buf, d + 1, len - 2);
	buf[len - 2] = '\0';
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, bin) == 1;
	return inet_pton(AF_INET, buf, bin) == 1;
}

bool smtp_addr_parse(const char *s, size_t len, bool allow_null, struct smtp_cmd *c)
{
	size_t i = 0, o = 0;

	c->addr[0] = c->addr_ext[0] = '\0';
	c->at = (size_t)-1;
	c->addr_literal = false;
	if (len > SMTP_ADDR_MAX)
		return false;
	memcpy(c->addr_ext, s, len);
	c->addr_ext[len] = '\0';
	if (len == 0)
		return allow_null;
	/* Source route "@a,@b:": checked, then dropped (RFC 5321 C). */
	if (s[0] == '@') {
		while (i < len && s[i] == '@') {
			size_t start = ++i;
			while (i < len && s[i] != ',' && s[i] != ':')
				i++;
			size_t dl = i - start;
			if (i == len || !(domain_ok(s + start, &dl) || literal_ok(s + start, i - start)))
				return false;
			if (s[i++] == ':')
				break;
		}
		if (i >= len || s[i - 1] != ':')
			return false;
	}
	/* Local part. */
	if (s[i] == '"') {
		for (i++;; i++) {
			if (i >= len)
				return false;
			unsigned char ch = (unsigned char)s[i];
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (++i >= len)
					return false;
				ch = (unsigned char)s[i];
				if (ch < 32 || ch == 127)
					return false;
			} else if (ch < 32 || ch == 127) {
				return false;
			}
			c->addr[o++] = (char)ch;
		}
		i++;
	} else {
		size_t start = i;
		while (i < len && s[i] != '@') {
			unsigned char ch = (unsigned char)s[i];
			if (!is_atext(ch) && ch != '.')
				return false;
			c->addr[o++] = (char)ch;
			i++;
		}
		if (i == start)
			return false;
	}
	if (i == len) {
		c->addr[o] = '\0';
		return o > 0;
	}
	if (s[i] != '@')
		return false;
	i++;
	size_t dl = len - i;
	if (dl > 0 && s[i] == '[') {
		if (!literal_ok(s + i, dl))
			return false;
		c->addr_literal = true;
	} else {
		size_t check = dl; /* the trailing dot stays, as Postfix shows it */
		if (!domain_ok(s + i, &check))
			return false;
	}
	c->at = o;
	c->addr[o++] = '@';
	memcpy(c->addr + o, s + i, dl);
	o += dl;
	c->addr[o] = '\0';
	return true;
}

bool smtp_xtext_decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '+') {
			unsigned v = 0;
			if (len - i < 3)
				return false;
			for (int k = 1; k <= 2; k++) {
				unsigned char h = (unsigned char)s[i + (size_t)k];
				v <<= 4;
				if (h >= '0' && h <= '9')
					v |= (unsigned)(h - '0');
				else if (h >= 'A' && h <= 'F')
					v |= (unsigned)(h - 'A' + 10);
				else if (h >= 'a' && h <= 'f')
					v |= (unsigned)(h - 'a' + 10);
				else
					return false;
			}
			i += 2;
			ch = (unsigned char)v;
			if (ch < 32 || ch > 126)
				return false;
		} else if (ch < 33 || ch > 126 || ch == '=') {
			return false;
		}
		if (o + 1 >= outlen)
			return false;
		out[o++] = (char)ch;
	}
	if (outlen == 0)
		return false;
	out[o] = '\0';
	return true;
}

static bool param_fail(struct smtp_cmd *c, const char *fmt, const char *a, size_t alen)
{
	int n = snprintf(c->errbuf, sizeof(c->errbuf), fmt, (int)(alen > 100 ? 100 : alen), a);
	if (n < 0)
		c->errbuf[0] = '\0';
	c->err = c->errbuf;
	return false;
}

static bool word_eq(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(p, w, n) == 0;
}

static bool parse_u64(const char *p, size_t n, uint64_t *v)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		unsigned d = (unsigned)(p[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

static bool parse_notify(const char *v, size_t n, unsigned *out)
{
	unsigned bits = 0;
	size_t i = 0;
	if (n == 0)
		return false;
	while (i <= n) {
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		unsigned b;
		if (word_eq(v + s, i - s, "NEVER"))
			b = PROTO_NOTIFY_NEVER;
		else if (word_eq(v + s, i - s, "SUCCESS"))
			b = PROTO_NOTIFY_SUCCESS;
		else if (word_eq(v + s, i - s, "FAILURE"))
			b = PROTO_NOTIFY_FAILURE;
		else if (word_eq(v + s, i - s, "DELAY"))
			b = PROTO_NOTIFY_DELAY;
		else
			return false;
		if (bits & b)
			return false;
		bits |= b;
		i++;
	}
	if ((bits & PROTO_NOTIFY_NEVER) && bits != PROTO_NOTIFY_NEVER)
		return false;
	*out = bits;
	return true;
}

static bool parse_orcpt(const char *v, size_t n, char *out, size_t outlen)
{
	size_t i = 0;
	while (i < n && (is_alnum((unsigned char)v[i]) || v[i] == '-'))
		i++;
	if (i == 0 || i >= n || v[i] != ';' || i + 1 >= outlen)
		return false;
	memcpy(out, v, i + 1);
	return smtp_xtext_decode(v + i + 1, n - i - 1, out + i + 1, outlen - i - 1) &&
	       out[i + 1] != '\0';
}

/* One "KEYWORD[=VALUE]" after a MAIL or RCPT path. */
static bool parse_param(struct smtp_cmd *c, const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	size_t kl = eq ? (size_t)(eq - p) : n;
	const char *v = eq ? eq + 1 : NULL;
	size_t vl = eq ? n - kl - 1 : 0;
	const char *unsupported = "555 5.5.4 Unsupported option: %.*s";

	if (c->verb == SMTP_MAIL) {
		if (word_eq(p, kl, "SIZE")) {
			if (v == NULL || c->has_size || !parse_u64(v, vl, &c->size))
				return param_fail(c, "501 5.5.4 Bad message size syntax%.*s", "", 0);
			c->has_size = true;
			return true;
		}
		if (word_eq(p, kl, "BODY")) {
			if (v != NULL && c->body == SMTP_BODY_NONE && word_eq(v, vl, "7BIT"))
				c->body = SMTP_BODY_7BIT;
			else if (v != NULL && c->body == SMTP_BODY_NONE && word_eq(v, vl, "8BITMIME"))
				c->body = SMTP_BODY_8BITMIME;
			else
				return param_fail(c, unsupported, p, n);
			return true;
		}
		if (word_eq(p, kl, "SMTPUTF8") && v == NULL) {
			c->smtputf8 = true;
			return true;
		}
		if (word_eq(p, kl, "RET")) {
			if (v != NULL && c->ret == SMTP_RET_NONE && word_eq(v, vl, "FULL"))
				c->ret = SMTP_RET_FULL;
			else if (v != NULL && c->ret == SMTP_RET_NONE && word_eq(v, vl, "HDRS"))
				c->ret = SMTP_RET_HDRS;
			else
				return param_fail(c, "501 5.5.4 Bad RET parameter syntax%.*s", "", 0);
			return true;
		}
		if (word_eq(p, kl, "ENVID")) {
			if (v == NULL || c->has_envid ||
			    !smtp_xtext_decode(v, vl, c->envid, sizeof(c->envid)) || c->envid[0] == '\0')
				return param_fail(c, "501 5.5.4 Bad ENVID parameter syntax%.*s", "", 0);
			c->has_envid = true;
			return true;
		}
		if (word_eq(p, kl, "AUTH")) {
			/* RFC 4954 5; smtpd keeps it when SASL is on. */
			if (c->has_auth)
				return param_fail(c, "503 5.5.4 Error: multiple AUTH= options%.*s", "", 0);
			if (v == NULL || !smtp_xtext_decode(v, vl, c->auth, sizeof(c->auth)))
				return param_fail(c, "501 5.5.4 Bad AUTH parameter syntax%.*s", "", 0);
			c->has_auth = true;
			return true;
		}
	} else if (c->verb == SMTP_RCPT) {
		if (word_eq(p, kl, "NOTIFY")) {
			if (v == NULL || c->notify != 0 || !parse_notify(v, vl, &c->notify))
				return param_fail(c, "501 5.5.4 Error: Bad NOTIFY parameter syntax%.*s", "", 0);
			return true;
		}
		if (word_eq(p, kl, "ORCPT")) {
			if (v == NULL || c->has_orcpt || !parse_orcpt(v, vl, c->orcpt, sizeof(c->orcpt)))
				return param_fail(c, "501 5.5.4 Error: Bad ORCPT parameter syntax%.*s", "", 0);
			c->has_orcpt = true;
			return true;
		}
	}
	return param_fail(c, unsupported, p, n);
}

/* "FROM:" / "TO:" path and parameters. */
static bool parse_path_cmd(struct smtp_cmd *c, const char *p, size_t n)
{
	bool mail = c->verb == SMTP_MAIL;
	const char *kw = mail ? "FROM:" : "TO:";
	const char *syntax = mail ? "501 5.5.4 Syntax: MAIL FROM:<address>"
	                          : "501 5.5.4 Syntax: RCPT TO:<address>";
	const char *bad = mail ? "501 5.1.7 Bad sender address syntax"
	                       : "501 5.1.3 Bad recipient address syntax";
	size_t kwl = strlen(kw), i, start, end;

	if (n < kwl || strncasecmp(p, kw, kwl) != 0) {
		c->err = syntax;
		return false;
	}
	i = kwl;
	while (i < n && is_blank(p[i]))
		i++;
	if (i == n) {
		c->err = syntax;
		return false;
	}
	if (p[i] == '<') {
		bool quoted = false;
		start = ++i;
		for (;; i++) {
			if (i >= n) {
				c->err = bad;
				return false;
			}
			if (p[i] == '\\' && quoted) {
				i++;
				continue;
			}
			if (p[i] == '"')
				quoted = !quoted;
			else if (p[i] == '>' && !quoted)
				break;
		}
		end = i++;
		if (i < n && !is_blank(p[i])) {
			c->err = bad;
			return false;
		}
	} else {
		/* A bare address, as Postfix takes it (strict_rfc821_envelopes = no). */
		start = i;
		while (i < n && !is_blank(p[i]))
			i++;
		end = i;
	}
	if (!smtp_addr_parse(p + start, end - start, mail, c)) {
		c->err = bad;
		return false;
	}
	if (!mail && c->addr[0] == '\0') {
		c->err = bad;
		return false;
	}
	while (i < n) {
		while (i < n && is_blank(p[i]))
			i++;
		size_t ps = i;
		while (i < n && !is_blank(p[i]))
			i++;
		if (i > ps && !parse_param(c, p + ps, i - ps))
			return false;
	}
	return true;
}

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{"HELO", SMTP_HELO}, {"EHLO", SMTP_EHLO}, {"STARTTLS", SMTP_STARTTLS},
	{"AUTH", SMTP_AUTH}, {"MAIL", SMTP_MAIL}, {"RCPT", SMTP_RCPT},
	{"DATA", SMTP_DATA}, {"BDAT", SMTP_BDAT}, {"RSET", SMTP_RSET},
	{"NOOP", SMTP_NOOP}, {"VRFY", SMTP_VRFY}, {"ETRN", SMTP_ETRN},
	{"QUIT", SMTP_QUIT}, {"HELP", SMTP_HELP},
};

bool smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *c)
{
	size_t i = 0, vs, ve;

	memset(c, 0, sizeof(*c));
	c->at = (size_t)-1;
	c->arg = "";
	if (len > SMTP_LINE_MAX) {
		c->err = "500 5.5.2 Error: line too long";
		return false;
	}
	for (size_t k = 0; k < len; k++)
		if (line[k] == '\0' || line[k] == '\r' || line[k] == '\n') {
			c->err = "500 5.5.2 Error: bad syntax";
			return false;
		}
	while (i < len && is_blank(line[i]))
		i++;
	vs = i;
	while (i < len && !is_blank(line[i]))
		i++;
	ve = i;
	for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
		if (word_eq(line + vs, ve - vs, verbs[k].name))
			c->verb = verbs[k].verb;
	if (c->verb == SMTP_UNKNOWN) {
		c->err = "500 5.5.2 Error: command not recognized";
		return false;
	}
	/* Argument: one blank after the verb, trailing blanks trimmed. */
	while (i < len && is_blank(line[i]))
		i++;
	size_t e = len;
	while (e > i && is_blank(line[e - 1]))
		e--;
	c->arg = line + i;
	c->arglen = e - i;

	switch (c->verb) {
	case SMTP_HELO:
	case SMTP_EHLO:
		if (c->arglen == 0) {
			c->err = c->verb == SMTP_HELO ? "501 Syntax: HELO hostname"
			                              : "501 Syntax: EHLO hostname";
			return false;
		}
		if (c->arglen > SMTP_HOST_MAX) {
			c->err = "501 5.5.2 Error: host name too long";
			return false;
		}
		return true;
	case SMTP_MAIL:
	case SMTP_RCPT:
		return parse_path_cmd(c, c->arg, c->arglen);
	case SMTP_BDAT: {
		const char *a = c->arg;
		size_t k = 0, n = c->arglen;
		while (k < n && !is_blank(a[k]))
			k++;
		if (!parse_u64(a, k, &c->chunk)) {
			c->err = "501 5.5.4 Syntax: BDAT count [LAST]";
			return false;
		}
		while (k < n && is_blank(a[k]))
			k++;
		if (k < n) {
			if (!word_eq(a + k, n - k, "LAST")) {
				c->err = "501 5.5.4 Syntax: BDAT count [LAST]";
				return false;
			}
			c->last = true;
		}
		return true;
	}
	case SMTP_DATA:
		if (c->arglen) {
			c->err = "501 5.5.4 Syntax: DATA";
			return false;
		}
		return true;
	case SMTP_RSET:
		if (c->arglen) {
			c->err = "501 5.5.4 Syntax: RSET";
			return false;
		}
		return true;
	case SMTP_QUIT:
		if (c->arglen) {
			c->err = "501 5.5.4 Syntax: QUIT";
			return false;
		}
		return true;
	case SMTP_STARTTLS:
		if (c->arglen) {
			c->err = "501 5.5.4 Syntax: STARTTLS";
			return false;
		}
		return true;
	case SMTP_VRFY:
		if (c->arglen == 0) {
			c->err = "501 5.5.4 Syntax: VRFY address [SMTPUTF8]";
			return false;
		}
		return true;
	case SMTP_ETRN:
		if (c->arglen == 0) {
			c->err = "500 Syntax: ETRN domain";
			return false;
		}
		return true;
	default:
		return true;
	}
}

/* Postfix's smtpd_forbidden_commands default: CONNECT GET POST and lines
 * that do not start with a letter. */
bool smtp_cmd_forbidden(const char *line, size_t len)
{
	static const char *const words[] = {"CONNECT", "GET", "POST"};
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len)
		return false;
	char ch = line[i];
	if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
		return true;
	size_t e = i;
	while (e < len && line[e] != ' ' && line[e] != '\t')
		e++;
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (e - i == strlen(words[k]) && strncasecmp(line + i, words[k], e - i) == 0)
			return true;
	return false;
}

/* Client text for logs and headers: printable ASCII, the rest '?'. */
void smtp_printable(char *dst, size_t dstlen, const char *src, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < dstlen; i++)
		dst[o++] = (src[i] > 0x20 && src[i] < 0x7f) || src[i] == ' ' ? src[i] : '?';
	if (dstlen)
		dst[o] = '\0';
}
