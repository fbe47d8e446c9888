/*
 * mastercf.c - the master.cf parser and service model (master(5)).
 * Runs in the master process (to start daemons), in each daemon (to
 * find its -o overrides) and in the postern command (check, conf -M).
 * Untrusted input: the master.cf text, which root owns but which we
 * still parse with hard limits: CFG_LINE_MAX per logical line,
 * MASTERCF_SERVICES_MAX services, MASTERCF_ARGS_MAX arguments each.
 *
 * Field semantics were checked against Postfix 3.7's "postconf -M/-F/-P"
 * and master(5); see docs/configuration.md "master.cf".
 */
#include "mastercf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "lreader.h"
#include "strbuf.h"
#include "xalloc.h"

static const char *const type_names[] = {
	[MCF_INET] = "inet", [MCF_UNIX] = "unix", [MCF_UNIX_DGRAM] = "unix-dgram",
	[MCF_FIFO] = "fifo", [MCF_PASS] = "pass",
};

const char *mastercf_type_name(enum mcf_type type)
{
	return (unsigned)type < sizeof(type_names) / sizeof(type_names[0])
	           ? type_names[type]
	           : "?";
}

const char *mastercf_class_name(enum mcf_class cls)
{
	switch (cls) {
	case MCF_CLASS_PROGRAM:
		return "program";
	case MCF_CLASS_INTERNAL:
		return "internal";
	case MCF_CLASS_NOT_NEEDED:
		return "not needed";
	case MCF_CLASS_UNSUPPORTED:
		return "unsupported";
	}
	return "?";
}

static const struct {
	const char *command;
	enum mcf_class cls;
	const char *reason;
} commands[] = {
	{"smtpd", MCF_CLASS_PROGRAM, "postern's smtpd"},
	{"smtp", MCF_CLASS_PROGRAM, "postern's smtp client"},
	{"lmtp", MCF_CLASS_PROGRAM, "postern's smtp client speaks LMTP"},
	{"local", MCF_CLASS_PROGRAM, "postern's local delivery agent"},
	{"qmgr", MCF_CLASS_PROGRAM, "postern's queue manager"},
	{"oqmgr", MCF_CLASS_PROGRAM, "postern's queue manager"},
	{"cleanup", MCF_CLASS_INTERNAL, "done by smtpd and the queue manager"},
	{"trivial-rewrite", MCF_CLASS_INTERNAL, "address rewriting is done in each daemon"},
	{"bounce", MCF_CLASS_INTERNAL, "the queue manager writes delivery status notices"},
	{"pickup", MCF_CLASS_INTERNAL, "local submission goes straight to the queue manager"},
	{"error", MCF_CLASS_INTERNAL, "the queue manager handles error: transports"},
	{"discard", MCF_CLASS_INTERNAL, "the queue manager handles discard: transports"},
	{"anvil", MCF_CLASS_INTERNAL, "smtpd keeps its own client rate counters"},
	{"showq", MCF_CLASS_INTERNAL, "postern queue reads the queue itself"},
	{"flush", MCF_CLASS_INTERNAL, "postern flush asks the queue manager"},
	{"tlsmgr", MCF_CLASS_NOT_NEEDED, "TLS session state is kept by libtls"},
	{"scache", MCF_CLASS_NOT_NEEDED, "no shared SMTP connection cache"},
	{"postlogd", MCF_CLASS_NOT_NEEDED, "each daemon logs to syslog itself"},
	{"proxymap", MCF_CLASS_NOT_NEEDED, "proxy: maps are not implemented; daemons open maps before dropping privileges"},
	{"verify", MCF_CLASS_UNSUPPORTED, "address verification is not implemented"},
	{"virtual", MCF_CLASS_UNSUPPORTED, "virtual mailbox delivery is not implemented"},
	{"pipe", MCF_CLASS_UNSUPPORTED, "pipe delivery to external commands is not implemented"},
	{"spawn", MCF_CLASS_PROGRAM, "postern's spawn: runs argv= per connection as user="},
	{"postscreen", MCF_CLASS_UNSUPPORTED, "postscreen is not implemented"},
	{"dnsblog", MCF_CLASS_UNSUPPORTED, "postscreen is not implemented"},
	{"tlsproxy", MCF_CLASS_UNSUPPORTED, "postscreen is not implemented"},
	{"qmqpd", MCF_CLASS_UNSUPPORTED, "QMQP is not implemented"},
};

enum mcf_class mastercf_classify(const char *command, const char **reason)
{
	const char *base = strrchr(command, '/');

	base = base != NULL ? base + 1 : command;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(base, commands[i].command) == 0) {
			if (reason != NULL)
				*reason = commands[i].reason;
			return commands[i].cls;
		}
	}
	if (reason != NULL)
		*reason = "not a Postfix daemon postern knows";
	return MCF_CLASS_UNSUPPORTED;
}

/* Parsing state for one file. */
struct pstate {
	struct mastercf *m;
	struct diag *d;
	const char *file;
	int line;
	size_t cap;
};

/*
 * One white-space separated token of a master.cf line, where "{...}"
 * groups text (with nesting).  On return [*start, *end) is the token
 * with its braces; *group is set when the token is one "{...}".
 */
struct token {
	const char *start, *end;
	bool group;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static bool next_token(struct pstate *ps, const char **cp, struct token *t)
{
	const char *s = *cp;
	int level = 0;

	while (is_ws(*s))
		s++;
	if (*s == '\0') {
		*cp = s;
		return false;
	}
	t->start = s;
	t->group = false;
	if (*s == '{') {
		for (; *s; s++) {
			if (*s == '{')
				level++;
			else if (*s == '}' && --level == 0)
				break;
		}
		if (*s == '\0') {
			/* Postfix takes the rest of the line as the group. */
			diag_report(ps->d, ps->file, ps->line, DIAG_WARNING,
			            "missing '}' in \"%s\"", t->start);
			t->end = s;
			t->group = true;
			*cp = s;
			return true;
		}
		s++;
		t->end = s;
		t->group = true;
		if (*s != '\0' && !is_ws(*s)) {
			const char *junk = s;
			while (*s && !is_ws(*s))
				s++;
			diag_report(ps->d, ps->file, ps->line, DIAG_WARNING,
			            "text after '}' ignored: \"%.*s\"",
			            (int)(s - junk), junk);
		}
		*cp = s;
		return true;
	}
	for (; *s; s++) {
		if (*s == '{')
			level++;
		else if (*s == '}' && level > 0)
			level--;
		else if (level == 0 && is_ws(*s))
			break;
	}
	t->end = s;
	*cp = s;
	return true;
}

static char *token_raw(const struct token *t)
{
	return xstrndup(t->start, (size_t)(t->end - t->start));
}

/* The token's text with a surrounding "{ }" and the space inside it gone. */
static char *token_text(const struct token *t)
{
	const char *s = t->start, *e = t->end;

	if (t->group) {
		s++;
		if (e > s && e[-1] == '}')
			e--;
		while (s < e && is_ws(*s))
			s++;
		while (e > s && is_ws(e[-1]))
			e--;
	}
	return xstrndup(s, (size_t)(e - s));
}

static bool has_ws(const char *s)
{
	for (; *s; s++)
		if (is_ws(*s))
			return true;
	return false;
}

/* A growable NULL-terminated string vector, capped. */
struct vec {
	char **v;
	bool *braced; /* optional: braces were added for display */
	size_t n, cap;
};

static bool vec_add(struct vec *vec, char *str, bool braced)
{
	if (vec->n >= MASTERCF_ARGS_MAX) {
		free(str);
		return false;
	}
	if (vec->n + 1 >= vec->cap) {
		vec->cap = vec->cap ? vec->cap * 2 : 8;
		vec->v = xreallocarray(vec->v, vec->cap, sizeof(*vec->v));
		vec->braced = xreallocarray(vec->braced, vec->cap, sizeof(*vec->braced));
	}
	vec->braced[vec->n] = braced;
	vec->v[vec->n++] = str;
	vec->v[vec->n] = NULL;
	return true;
}

/* Add text as postconf shows it: in braces when it holds white space. */
static bool vec_add_shown(struct vec *vec, char *text)
{
	if (!has_ws(text))
		return vec_add(vec, text, false);
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_addc(&sb, '{');
	sb_adds(&sb, text);
	sb_addc(&sb, '}');
	free(text);
	return vec_add(vec, sb_steal(&sb), true);
}

static void add_override(struct mcf_service *s, const char *name, size_t nlen,
                         const char *value)
{
	if (s->noverrides % 8 == 0)
		s->overrides = xreallocarray(s->overrides, s->noverrides + 8,
		                             sizeof(*s->overrides));
	s->overrides[s->noverrides].name = xstrndup(name, nlen);
	s->overrides[s->noverrides].value = xstrdup(value);
	s->noverrides++;
}

/*
 * Split the value of -o.  The long form "{ name = value }" loses the
 * space after "{", around "=" and before "}"; the short form must be
 * name=value as is.  Returns NULL when text is neither; else the value,
 * with the name's length in *nlen.
 */
static const char *split_override(const char *text, bool group, size_t *nlen)
{
	if (!group) {
		const char *eq = strchr(text, '=');
		if (eq == NULL || eq == text)
			return NULL;
		*nlen = (size_t)(eq - text);
		return eq + 1;
	}
	size_t n = 0;
	while (text[n] && !is_ws(text[n]) && text[n] != '=')
		n++;
	const char *p = text + n;
	while (is_ws(*p))
		p++;
	if (n == 0 || *p != '=')
		return NULL;
	p++;
	while (is_ws(*p))
		p++;
	*nlen = n;
	return p;
}

/* The -o value as text: "name=value" when it is a valid long form. */
static char *normalise_value(const char *text, bool group)
{
	size_t nlen;
	const char *val = group ? split_override(text, true, &nlen) : NULL;

	if (val == NULL)
		return xstrdup(text);
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_add(&sb, text, nlen);
	sb_addc(&sb, '=');
	sb_adds(&sb, val);
	return sb_steal(&sb);
}

/*
 * Step one, as postconf does it: while the words as written start with
 * '-', split "-vo" into "-v" "-o" and "-oVALUE" into "-o" "VALUE", and
 * rewrite a "{ name = value }" after -o to name=value.  From the first
 * word that does not start with '-' (a "{...}" word included) on,
 * words only lose their braces.
 */
static bool normalise_words(const struct token *t, size_t nt, struct vec *out)
{
	bool norm = true, ok = true;

	for (size_t i = 0; ok && i < nt; i++) {
		char *text = token_text(&t[i]);
		char *o;
		if (norm && strcmp(text, "-") == 0) {
			/* postconf lets a lone "-" take the next word too. */
			ok = vec_add(out, text, false);
			if (ok && i + 1 < nt)
				ok = vec_add(out, token_text(&t[++i]), false);
			continue;
		}
		if (!norm || t[i].start[0] != '-' || strcmp(text, "--") == 0 ||
		    (o = strchr(text + 1, 'o')) == NULL) {
			norm = norm && t[i].start[0] == '-' && strcmp(text, "--") != 0;
			ok = vec_add(out, text, false);
			continue;
		}
		if (o > text + 1)
			ok = vec_add(out, xstrndup(text, (size_t)(o - text)), false);
		if (ok)
			ok = vec_add(out, xstrdup("-o"), false);
		if (ok && o[1] != '\0') {
			struct token at = {o + 1, o + 1 + strlen(o + 1), o[1] == '{'};
			char *v = token_text(&at);
			ok = vec_add(out, normalise_value(v, at.group), false);
			free(v);
		} else if (ok && i + 1 < nt) {
			char *v = token_text(&t[++i]);
			ok = vec_add(out, normalise_value(v, t[i].group), false);
			free(v);
		}
		free(text);
	}
	return ok;
}

/*
 * Step two, on the normalised words: daemon options run while words
 * start with '-' up to "--"; an option whose first letter is 'o' (or a
 * lone "-") takes the next word as its value; "-o name=value" is a
 * setting.  Also builds what postconf shows: options as they are,
 * values and the words after the options in braces when they hold
 * white space, the word that ends the options without.
 */
static bool options_and_shown(struct pstate *ps, struct mcf_service *s,
                              char **w, size_t nw, struct vec *shown)
{
	bool opts = true, ok = true;

	for (size_t i = 0; ok && i < nw; i++) {
		if (!opts) {
			ok = vec_add_shown(shown, xstrdup(w[i]));
			continue;
		}
		if (w[i][0] != '-' || strcmp(w[i], "--") == 0) {
			opts = false;
			ok = vec_add(shown, xstrdup(w[i]), false);
			continue;
		}
		ok = vec_add(shown, xstrdup(w[i]), false);
		if ((w[i][1] == 'o' || w[i][1] == '\0') && i + 1 < nw) {
			const char *v = w[++i];
			if (ok)
				ok = vec_add_shown(shown, xstrdup(v));
			if (strcmp(w[i - 1], "-o") != 0)
				continue;
			size_t nlen;
			const char *val = split_override(v, true, &nlen);
			if (val != NULL)
				add_override(s, v, nlen, val);
			else
				diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
				            "\"-o %s\": expected name=value or "
				            "{ name = value }", v);
		} else if (strcmp(w[i], "-o") == 0) {
			diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
			            "-o without a name=value");
		}
	}
	return ok;
}

static bool parse_args(struct pstate *ps, struct mcf_service *s, const char *cp)
{
	struct token *t = NULL;
	size_t nt = 0, cap = 0;
	struct vec words = {0}, shown = {0};
	bool ok = true;

	for (struct token tok; next_token(ps, &cp, &tok);) {
		if (nt == MASTERCF_ARGS_MAX) {
			ok = false; /* keep what fits, report the rest */
			break;
		}
		if (nt == cap) {
			cap = cap ? cap * 2 : 16;
			t = xreallocarray(t, cap, sizeof(*t));
		}
		t[nt++] = tok;
	}
	if (!normalise_words(t, nt, &words))
		ok = false;
	free(t);
	if (!options_and_shown(ps, s, words.v, words.n, &shown))
		ok = false;
	if (!ok)
		diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
		            "more than %d command arguments", MASTERCF_ARGS_MAX);
	s->args = words.v ? words.v : xcalloc(1, sizeof(char *));
	s->nargs = words.n;
	free(words.braced);
	s->shown = shown.v ? shown.v : xcalloc(1, sizeof(char *));
	s->shown_braced = shown.braced;
	s->nshown = shown.n;
	return ok;
}

static bool parse_bool(const char *text, bool dflt, bool *out)
{
	if (strcmp(text, "-") == 0)
		*out = dflt;
	else if (strcmp(text, "y") == 0)
		*out = true;
	else if (strcmp(text, "n") == 0)
		*out = false;
	else
		return false;
	return true;
}

/* Digits only, no sign; false when not a number or above INT_MAX. */
static bool parse_count(const char *s, size_t len, int *out)
{
	long v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > INT_MAX)
			return false;
	}
	*out = (int)v;
	return true;
}

static bool host_char_ok(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' ||
	       c == ':' || c == '%';
}

/* "port", "host:port", "[v6]:port"; ports numeric or services(5) names. */
static bool parse_inet_name(struct pstate *ps, struct mcf_service *s)
{
	const char *name = s->name, *port;
	char *host = NULL;

	if (name[0] == '[') {
		const char *rb = strchr(name, ']');
		if (rb == NULL || rb[1] != ':') {
			diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
			            "inet service \"%s\": expected [host]:port", name);
			return false;
		}
		host = xstrndup(name + 1, (size_t)(rb - name - 1));
		port = rb + 2;
	} else if ((port = strrchr(name, ':')) != NULL) {
		host = xstrndup(name, (size_t)(port - name));
		port++;
	} else {
		port = name;
	}
	bool ok = true;
	if (host != NULL) {
		ok = host[0] != '\0';
		for (const char *p = host; ok && *p; p++)
			ok = host_char_ok(*p);
		if (!ok)
			diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
			            "inet service \"%s\": bad host \"%s\"", name, host);
	}
	if (ok) {
		int num;
		bool digits = port[0] != '\0' && strspn(port, "0123456789") == strlen(port);
		if (digits)
			ok = parse_count(port, strlen(port), &num) && num > 0 && num <= 65535;
		else
			ok = port[0] != '\0' &&
			     strspn(port, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			                  "0123456789-_.") == strlen(port);
		if (!ok)
			diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
			            "inet service \"%s\": bad port \"%s\"", name, port);
	}
	if (!ok) {
		free(host);
		return false;
	}
	s->host = host;
	s->port = xstrdup(port);
	return true;
}

/* Socket names live under the queue directory and must stay there. */
static bool local_name_ok(const char *name)
{
	if (name[0] == '/')
		return false;
	for (const char *p = name; *p;) {
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
		    n == 0)
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

static bool check_fields(struct pstate *ps, struct mcf_service *s)
{
	char **f = s->field;
	size_t i;
	static const char *const fnames[] = {
		"service", "type", "private", "unprivileged", "chroot", "wakeup",
		"process_limit", "command",
	};

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(f[MCF_F_TYPE], type_names[i]) == 0)
			break;
	if (i == sizeof(type_names) / sizeof(type_names[0])) {
		diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
		            "invalid type field \"%s\" (expected inet, unix, "
		            "unix-dgram, fifo or pass)", f[MCF_F_TYPE]);
		return false;
	}
	s->type = (enum mcf_type)i;
	if (f[MCF_F_NAME][0] == '{' || strpbrk(f[MCF_F_NAME], "{} \t") != NULL ||
	    (s->type != MCF_INET && !local_name_ok(f[MCF_F_NAME]))) {
		diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
		            "invalid service name \"%s\"", f[MCF_F_NAME]);
		return false;
	}
	if (s->type == MCF_INET && !parse_inet_name(ps, s))
		return false;
	static const struct {
		int field;
		bool dflt;
		size_t off;
	} bools[] = {
		{MCF_F_PRIVATE, true, offsetof(struct mcf_service, private_)},
		{MCF_F_UNPRIV, true, offsetof(struct mcf_service, unpriv)},
		{MCF_F_CHROOT, false, offsetof(struct mcf_service, chroot)},
	};
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		bool *out = (bool *)((char *)s + bools[i].off);
		if (!parse_bool(f[bools[i].field], bools[i].dflt, out)) {
			diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
			            "invalid %s field \"%s\" (expected y, n or -)",
			            fnames[bools[i].field], f[bools[i].field]);
			return false;
		}
	}
	/* master(5): inet services cannot be private. */
	if (s->type == MCF_INET && strcmp(f[MCF_F_PRIVATE], "-") == 0)
		s->private_ = false;
	if (s->type == MCF_INET && s->private_) {
		diag_report(ps->d, ps->file, ps->line, DIAG_WARNING,
		            "inet service \"%s\" cannot be private; field ignored",
		            s->name);
		s->private_ = false;
	}
	const char *w = f[MCF_F_WAKEUP];
	size_t wlen = strlen(w);
	if (wlen > 0 && w[wlen - 1] == '?') {
		s->wakeup_conditional = true;
		wlen--;
	}
	s->wakeup = 0;
	if (!(wlen == 1 && w[0] == '-') && !(wlen == 0 && s->wakeup_conditional) &&
	    !parse_count(w, wlen, &s->wakeup)) {
		diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
		            "invalid wakeup field \"%s\" (expected seconds, "
		            "optionally followed by '?', or -)", w);
		return false;
	}
	s->maxproc = -1;
	if (strcmp(f[MCF_F_MAXPROC], "-") != 0 &&
	    !parse_count(f[MCF_F_MAXPROC], strlen(f[MCF_F_MAXPROC]), &s->maxproc)) {
		diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
		            "invalid process_limit field \"%s\" (expected a number "
		            "or -)", f[MCF_F_MAXPROC]);
		return false;
	}
	return true;
}

static void service_clear(struct mcf_service *s)
{
	for (int i = 0; i < MCF_NFIELDS; i++)
		free(s->field[i]);
	free(s->host);
	free(s->port);
	for (size_t i = 0; i < s->nargs; i++)
		free(s->args[i]);
	for (size_t i = 0; i < s->nshown; i++)
		free(s->shown[i]);
	free(s->args);
	free(s->shown);
	free(s->shown_braced);
	for (size_t i = 0; i < s->noverrides; i++) {
		free(s->overrides[i].name);
		free(s->overrides[i].value);
	}
	free(s->overrides);
	memset(s, 0, sizeof(*s));
}

static void parse_line(struct pstate *ps, const char *line)
{
	struct mcf_service s;
	struct token t;
	const char *cp = line;
	int n;

	memset(&s, 0, sizeof(s));
	for (n = 0; n < MCF_NFIELDS && next_token(ps, &cp, &t); n++)
		s.field[n] = token_raw(&t);
	if (n < MCF_NFIELDS) {
		diag_report(ps->d, ps->file, ps->line, DIAG_ERROR,
		            "bad field count: %d of the %d fields (service type "
		            "private unpriv chroot wakeup maxproc command)",
		            n, MCF_NFIELDS);
		service_clear(&s);
		return;
	}
	s.name = s.field[MCF_F_NAME];
	s.command = s.field[MCF_F_COMMAND];
	if (!check_fields(ps, &s)) {
		service_clear(&s);
		return;
	}
	s.file = ps->m->file;
	s.line = ps->line;
	s.cls = mastercf_classify(s.command, NULL);
	(void)parse_args(ps, &s, cp);
	for (size_t i = 0; i < ps->m->nservices; i++) {
		struct mcf_service *o = &ps->m->services[i];
		if (!o->superseded && o->type == s.type && strcmp(o->name, s.name) == 0) {
			diag_report(ps->d, ps->file, ps->line, DIAG_WARNING,
			            "service %s/%s is also defined at line %d; this "
			            "definition replaces it",
			            s.name, mastercf_type_name(s.type), o->line);
			o->superseded = true;
		}
	}
	if (ps->m->nservices == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 32;
		ps->m->services = xreallocarray(ps->m->services, ps->cap,
		                                sizeof(*ps->m->services));
	}
	ps->m->services[ps->m->nservices++] = s;
}

static struct mastercf *parse_stream(FILE *fp, const char *name, struct diag *d)
{
	struct mastercf *m = xcalloc(1, sizeof(*m));
	struct pstate ps = {.m = m, .d = d};
	struct lreader lr;
	char *line;
	int r;

	m->file = xstrdup(name);
	ps.file = m->file;
	lr_init(&lr, fp, m->file, CFG_LINE_MAX);
	while ((r = lr_next(&lr, &line)) != LR_EOF) {
		if (r == LR_ERR) {
			diag_report(d, m->file, lr.start, DIAG_ERROR, "%s", lr.err);
			if (lr.io_error)
				break;
			continue;
		}
		ps.line = lr.start;
		if (m->nservices >= MASTERCF_SERVICES_MAX) {
			diag_report(d, m->file, lr.start, DIAG_ERROR,
			            "more than %d services; rest of file ignored",
			            MASTERCF_SERVICES_MAX);
			break;
		}
		parse_line(&ps, line);
	}
	lr_free(&lr);
	return m;
}

struct mastercf *mastercf_parse_text(const char *text, size_t len,
                                     const char *name, struct diag *d)
{
	static char empty[1];
	/* fmemopen wants a writable buffer of at least one byte. */
	FILE *fp = len == 0 ? fmemopen(empty, 1, "r") : fmemopen((void *)text, len, "r");

	if (fp == NULL) {
		diag_report(d, name, 0, DIAG_ERROR, "cannot read text: %s",
		            strerror(errno));
		return NULL;
	}
	if (len == 0)
		(void)getc(fp); /* the one byte is not input */
	struct mastercf *m = parse_stream(fp, name, d);
	fclose(fp);
	return m;
}

struct mastercf *mastercf_load(const char *path, struct diag *d)
{
	FILE *fp = fopen(path, "re");

	if (fp == NULL) {
		diag_report(d, path, 0, DIAG_ERROR, "cannot open: %s", strerror(errno));
		return NULL;
	}
	struct mastercf *m = parse_stream(fp, path, d);
	fclose(fp);
	return m;
}

void mastercf_free(struct mastercf *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nservices; i++)
		service_clear(&m->services[i]);
	free(m->services);
	free(m->file);
	free(m);
}

const struct mcf_service *mastercf_find(const struct mastercf *m,
                                        const char *name, enum mcf_type type)
{
	for (size_t i = m->nservices; i-- > 0;)
		if (m->services[i].type == type && strcmp(m->services[i].name, name) == 0)
			return &m->services[i];
	return NULL;
}

const char *mastercf_override(const struct mcf_service *s, const char *name)
{
	for (size_t i = s->noverrides; i-- > 0;)
		if (strcmp(s->overrides[i].name, name) == 0)
			return s->overrides[i].value;
	return NULL;
}
