/*
 * sendmail_smtp.c - "postern sendmail -bs": SMTP on standard input and
 * output for programs that submit that way (e.g. PHP mailers whose
 * sendmail transport runs "sendmail -bs").  Each message goes to the
 * queue manager as any local submission (same headers added, same
 * identity from SO_PEERCRED).  Runs as the invoking user.  Untrusted
 * input: SMTP command lines (bounded by SENDMAIL_SMTP_LINE_MAX, parsed
 * here) and message data (read as postern sendmail reads a message).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "cfg.h"
#include "cmd_sendmail.h"
#include "proto.h"
#include "strbuf.h"
#include "xalloc.h"

static void reply(const char *fmt, const char *a)
{
	printf(fmt, a);
	fputs("\r\n", stdout);
	fflush(stdout);
}

/* RFC 3461 xtext ("+2B" for '+'); NULL if malformed. */
static char *xtext_decode(const char *p)
{
	struct strbuf b;
	sb_init(&b, SENDMAIL_SMTP_LINE_MAX);
	for (; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '+') {
			if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]) ||
			    islower((unsigned char)p[1]) || islower((unsigned char)p[2])) {
				sb_free(&b);
				return NULL;
			}
			char hex[3] = {p[1], p[2], '\0'};
			c = (unsigned char)strtoul(hex, NULL, 16);
			p += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			sb_free(&b);
			return NULL;
		}
		if (c < 32 || c == 127) {
			sb_free(&b);
			return NULL;
		}
		sb_addc(&b, (char)c);
	}
	return sb_steal(&b);
}

/*
 * "FROM:<addr> params" / "TO:<addr> params": the address (source route
 * removed) into *addr, the parameter text into *params.  False when the
 * form is wrong.
 */
static bool parse_path(char *arg, const char *kw, char **addr, char **params)
{
	size_t n = strlen(kw);
	if (strncasecmp(arg, kw, n) != 0)
		return false;
	arg += n;
	while (*arg == ' ')
		arg++;
	char *end;
	if (*arg == '<') {
		arg++;
		end = strchr(arg, '>');
		if (end == NULL)
			return false;
		*end++ = '\0';
	} else {
		end = arg + strcspn(arg, " ");
		if (*end != '\0')
			*end++ = '\0';
	}
	if (arg[0] == '@') {
		char *colon = strchr(arg, ':');
		if (colon == NULL)
			return false;
		arg = colon + 1;
	}
	for (char *p = arg; *p != '\0'; p++)
		if ((unsigned char)*p < 32 || *p == 127)
			return false;
	*addr = arg;
	while (*end == ' ')
		end++;
	*params = end;
	return true;
}

struct txn {
	bool mail;
	char *sender, *ret, *envid, *body;
};

static void txn_reset(struct sm *s, struct txn *t)
{
	free(t->sender);
	free(t->ret);
	free(t->envid);
	free(t->body);
	*t = (struct txn){.mail = false};
	sendmail_reset(s);
	s->sender = NULL;
	s->ret = s->envid = s->body = NULL;
}

static void do_mail(struct sm *s, struct txn *t, char *arg)
{
	char *addr, *params;
	if (t->mail) {
		reply("503 5.5.1 Error: nested MAIL command", NULL);
		return;
	}
	if (!parse_path(arg, "FROM:", &addr, &params)) {
		reply("501 5.5.4 Syntax: MAIL FROM:<address>", NULL);
		return;
	}
	long limit = cfg_get_long(s->cfg, "message_size_limit");
	for (char *save = NULL, *p = strtok_r(params, " ", &save); p != NULL;
	     p = strtok_r(NULL, " ", &save)) {
		char *v = strchr(p, '=');
		if (v != NULL)
			*v++ = '\0';
		if (strcasecmp(p, "SIZE") == 0 && v != NULL) {
			char *e;
			unsigned long long sz = strtoull(v, &e, 10);
			if (*e != '\0') {
				reply("501 5.5.4 Bad SIZE parameter", NULL);
				return;
			}
			if (limit > 0 && sz > (unsigned long long)limit) {
				reply("552 5.3.4 Message size exceeds fixed limit", NULL);
				return;
			}
		} else if (strcasecmp(p, "BODY") == 0 && v != NULL &&
		           (strcasecmp(v, "7BIT") == 0 || strcasecmp(v, "8BITMIME") == 0)) {
			free(t->body);
			t->body = xstrdup(strcasecmp(v, "7BIT") == 0 ? "7BIT" : "8BITMIME");
		} else if (strcasecmp(p, "RET") == 0 && v != NULL &&
		           (strcasecmp(v, "FULL") == 0 || strcasecmp(v, "HDRS") == 0)) {
			free(t->ret);
			t->ret = xstrdup(strcasecmp(v, "FULL") == 0 ? "FULL" : "HDRS");
		} else if (strcasecmp(p, "ENVID") == 0 && v != NULL && strlen(v) <= 100 &&
		           (free(t->envid), t->envid = xtext_decode(v)) != NULL) {
			continue;
		} else {
			reply("555 5.5.4 Unsupported option: %s", p);
			return;
		}
	}
	t->sender = xstrdup(addr);
	t->mail = true;
	s->sender = t->sender;
	s->ret = t->ret;
	s->envid = t->envid;
	s->body = t->body;
	reply("250 2.1.0 Ok", NULL);
}

static void do_rcpt(struct sm *s, struct txn *t, char *arg)
{
	char *addr, *params;
	if (!t->mail) {
		reply("503 5.5.1 Error: need MAIL command", NULL);
		return;
	}
	if (!parse_path(arg, "TO:", &addr, &params) || *addr == '\0') {
		reply("501 5.5.4 Syntax: RCPT TO:<address>", NULL);
		return;
	}
	unsigned notify = 0;
	char *orcpt = NULL;
	for (char *save = NULL, *p = strtok_r(params, " ", &save); p != NULL;
	     p = strtok_r(NULL, " ", &save)) {
		char *v = strchr(p, '=');
		if (v != NULL)
			*v++ = '\0';
		if (strcasecmp(p, "NOTIFY") == 0 && v != NULL) {
			notify = 0;
			for (char *s2 = NULL, *w = strtok_r(v, ",", &s2); w != NULL;
			     w = strtok_r(NULL, ",", &s2)) {
				if (strcasecmp(w, "NEVER") == 0)
					notify |= PROTO_NOTIFY_NEVER;
				else if (strcasecmp(w, "SUCCESS") == 0)
					notify |= PROTO_NOTIFY_SUCCESS;
				else if (strcasecmp(w, "FAILURE") == 0)
					notify |= PROTO_NOTIFY_FAILURE;
				else if (strcasecmp(w, "DELAY") == 0)
					notify |= PROTO_NOTIFY_DELAY;
				else
					notify = ~0u;
			}
			if (notify == 0 || notify == ~0u ||
			    ((notify & PROTO_NOTIFY_NEVER) && notify != PROTO_NOTIFY_NEVER)) {
				free(orcpt);
				reply("501 5.5.4 Error: Bad NOTIFY parameter syntax", NULL);
				return;
			}
		} else if (strcasecmp(p, "ORCPT") == 0 && v != NULL && strchr(v, ';') != NULL &&
		           strlen(v) <= 500) {
			free(orcpt);
			orcpt = xtext_decode(v);
			if (orcpt == NULL) {
				reply("501 5.5.4 Error: Bad ORCPT parameter syntax", NULL);
				return;
			}
		} else {
			free(orcpt);
			reply("555 5.5.4 Unsupported option: %s", p);
			return;
		}
	}
	bool ok = sendmail_add_rcpt(s, addr, notify, orcpt);
	free(orcpt);
	if (!ok)
		reply("452 4.5.3 Error: too many recipients", NULL);
	else
		reply("250 2.1.5 Ok", NULL);
}

/* Read and drop message data up to the ending "." (after a failure). */
static void drain(void)
{
	struct strbuf line;
	sb_init(&line, 0);
	bool complete, at_bol = true;
	while (sendmail_read_line(stdin, &line, SENDMAIL_SMTP_LINE_MAX, &complete)) {
		if (at_bol && complete &&
		    (strcmp(line.s, ".\r\n") == 0 || strcmp(line.s, ".\n") == 0))
			break;
		at_bol = complete && line.s[line.len - 1] == '\n';
	}
	sb_free(&line);
}

static void do_data(struct sm *s, struct txn *t)
{
	if (!t->mail) {
		reply("503 5.5.1 Error: need RCPT command", NULL);
		return;
	}
	if (s->nrcpts == 0) {
		reply("554 5.5.1 Error: no valid recipients", NULL);
		return;
	}
	reply("354 End data with <CR><LF>.<CR><LF>", NULL);
	int rc = sendmail_submit(s, stdin);
	if (rc == 0) {
		reply("250 2.0.0 Ok: queued as %s", s->qid);
	} else {
		if (!s->eof)
			drain();
		for (char *p = s->err; *p != '\0'; p++)
			if ((unsigned char)*p < 32)
				*p = ' ';
		reply("451 4.3.0 Error: %s", s->err);
	}
	txn_reset(s, t);
}

int sendmail_smtp(struct sm *s)
{
	const char *host = cfg_get(s->cfg, "myhostname");
	struct txn t = {.mail = false};
	struct strbuf line;
	sb_init(&line, 0);
	s->smtp = true;
	txn_reset(s, &t);
	reply("220 %s ESMTP postern", host);
	bool complete;
	while (sendmail_read_line(stdin, &line, SENDMAIL_SMTP_LINE_MAX, &complete)) {
		if (line.len == 0 || line.s[line.len - 1] != '\n') {
			if (!complete) {
				/* Too long: drop the rest of the line. */
				int c;
				while ((c = getchar()) != EOF && c != '\n')
					;
				reply("500 5.5.2 Error: line too long", NULL);
				continue;
			}
		}
		while (line.len > 0 && (line.s[line.len - 1] == '\n' || line.s[line.len - 1] == '\r'))
			sb_truncate(&line, line.len - 1);
		char *cmd = line.s;
		char *arg = cmd + strcspn(cmd, " ");
		if (*arg != '\0')
			*arg++ = '\0';
		if (strcasecmp(cmd, "EHLO") == 0) {
			txn_reset(s, &t);
			long limit = cfg_get_long(s->cfg, "message_size_limit");
			printf("250-%s\r\n250-PIPELINING\r\n250-SIZE %ld\r\n250-8BITMIME\r\n"
			       "250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n",
			       host, limit > 0 ? limit : 0);
			fflush(stdout);
		} else if (strcasecmp(cmd, "HELO") == 0) {
			txn_reset(s, &t);
			reply("250 %s", host);
		} else if (strcasecmp(cmd, "MAIL") == 0) {
			do_mail(s, &t, arg);
		} else if (strcasecmp(cmd, "RCPT") == 0) {
			do_rcpt(s, &t, arg);
		} else if (strcasecmp(cmd, "DATA") == 0) {
			do_data(s, &t);
		} else if (strcasecmp(cmd, "RSET") == 0) {
			txn_reset(s, &t);
			reply("250 2.0.0 Ok", NULL);
		} else if (strcasecmp(cmd, "NOOP") == 0) {
			reply("250 2.0.0 Ok", NULL);
		} else if (strcasecmp(cmd, "VRFY") == 0) {
			reply("502 5.5.1 VRFY command is disabled", NULL);
		} else if (strcasecmp(cmd, "QUIT") == 0) {
			reply("221 2.0.0 Bye", NULL);
			break;
		} else {
			reply("502 5.5.2 Error: command not recognized", NULL);
		}
	}
	txn_reset(s, &t);
	sb_free(&line);
	return 0;
}
