/*
 * mapsrc.c - parser of lookup-table source text (see mapsrc.h): postmap
 * input lines and aliases(5) lines.  Runs in postern map/alias and in
 * every process that opens a texthash: table.  The input is a file
 * written by an administrator, treated as untrusted text: every line is
 * bounded by lreader (MAP_LINE_MAX) and keys/values by MAP_KEY_MAX and
 * MAP_VALUE_MAX before anything is stored.
 *
 * Lines that postmap(1)/postalias(1) skip with a warning (no value, an
 * unbalanced quote, no "name:") are MAPSRC_SKIP so the callers can do the
 * same; what Postfix would accept but we cannot hold (over a limit, NUL
 * bytes) is MAPSRC_FAIL, so a build never silently drops an entry that
 * it could not store.
 */
#include "mapsrc.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "bounds.h"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

int mapsrc_parse_line(char *line, char **key, char **value, char *err,
                      size_t errlen)
{
	char *p = line;
	bool quoted = false;

	while (*p != '\0' && (quoted || !is_ws(*p))) {
		if (*p == '\\' && p[1] != '\0') {
			p += 2;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		p++;
	}
	if (quoted) {
		snprintf(err, errlen, "unbalanced '\"' in '%.100s' -- ignoring this line",
		         line);
		return MAPSRC_SKIP;
	}
	char *kend = p;
	while (is_ws(*p))
		p++;
	char *v = p;
	size_t vlen = strlen(v);
	while (vlen > 0 && is_ws(v[vlen - 1]))
		vlen--;
	if (kend == line || vlen == 0) {
		snprintf(err, errlen, "expected format: key whitespace value");
		return MAPSRC_SKIP;
	}
	if ((size_t)(kend - line) > MAP_KEY_MAX) {
		snprintf(err, errlen, "key longer than %d bytes", MAP_KEY_MAX);
		return MAPSRC_FAIL;
	}
	if (vlen > MAP_VALUE_MAX) {
		snprintf(err, errlen, "value longer than %d bytes", MAP_VALUE_MAX);
		return MAPSRC_FAIL;
	}
	*kend = '\0';
	v[vlen] = '\0';
	*key = line;
	*value = v;
	return MAPSRC_ENTRY;
}

/*
 * aliases(5): a small RFC 822 tokenizer.  postalias stores values in a
 * canonical form (addresses joined by ", ", one space between words,
 * none around specials, local parts re-quoted where needed), and local(8)
 * sees exactly what is stored, so we produce the same form.
 */
enum tok_type { TK_ATOM, TK_QSTR, TK_COMMENT, TK_LITERAL, TK_SPECIAL };

struct tok {
	enum tok_type type;
	const char *p;   /* source text (TK_COMMENT/TK_LITERAL: verbatim) */
	size_t len;      /* source length */
	bool escaped;    /* TK_ATOM: contains backslash pairs */
	bool closed;     /* TK_QSTR etc.: the closing character was seen */
	char c;          /* TK_SPECIAL */
};

static bool is_special(char c)
{
	return strchr("()<>@,;:\\\".[]", c) != NULL;
}

/* Scan one token at *pp; false at the end of the text. */
static bool next_tok(const char **pp, struct tok *t)
{
	const char *p = *pp;

	while (is_ws(*p))
		p++;
	/* A backslash that ends the text quotes nothing: postalias drops it. */
	if (*p == '\0' || (p[0] == '\\' && p[1] == '\0')) {
		*pp = p + strlen(p);
		return false;
	}
	t->p = p;
	t->escaped = false;
	t->closed = false;
	if (*p == '"' || *p == '[' || *p == '(') {
		char open = *p, close = open == '"' ? '"' : open == '[' ? ']' : ')';
		int depth = 1;
		t->type = open == '"' ? TK_QSTR : open == '[' ? TK_LITERAL : TK_COMMENT;
		p++;
		while (*p != '\0' && depth > 0) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (open == '(' && *p == '(')
				depth++;
			else if (*p == close)
				depth--;
			p++;
		}
		t->closed = depth == 0;
	} else if (is_special(*p) && *p != '\\') {
		t->type = TK_SPECIAL;
		t->c = *p++;
	} else {
		t->type = TK_ATOM;
		while (*p != '\0' && !is_ws(*p) && (!is_special(*p) || *p == '\\')) {
			if (*p == '\\') {
				t->escaped = true;
				if (p[1] != '\0')
					p++;
			}
			p++;
		}
	}
	t->len = (size_t)(p - t->p);
	*pp = p;
	return true;
}

static bool is_word(const struct tok *t)
{
	return t->type != TK_SPECIAL;
}

/* Text of a quoted string or escaped atom with the quoting removed. */
static bool tok_unquote(const struct tok *t, struct strbuf *out)
{
	const char *p = t->p, *end = t->p + t->len;
	bool ok = true;

	if (t->type == TK_QSTR) {
		p++;
		if (t->closed)
			end--;
	}
	for (; p < end; p++) {
		if (*p == '\\') {
			if (p + 1 >= end)
				break; /* a lone trailing backslash quotes nothing */
			p++;
		}
		ok = ok && sb_addc(out, *p);
	}
	return ok;
}

static bool needs_quotes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_ws(s[i]) || is_special(s[i]) || iscntrl((unsigned char)s[i]))
			return true;
	return false;
}

static bool add_quoted(struct strbuf *out, const char *s, size_t n)
{
	bool ok = sb_addc(out, '"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			ok = ok && sb_addc(out, '\\');
		ok = ok && sb_addc(out, s[i]);
	}
	return ok && sb_addc(out, '"');
}

static bool render_tok(const struct tok *t, struct strbuf *out, struct strbuf *tmp)
{
	switch (t->type) {
	case TK_SPECIAL:
		return sb_addc(out, t->c);
	case TK_COMMENT:
	case TK_LITERAL:
		return sb_add(out, t->p, t->len);
	case TK_ATOM:
		if (!t->escaped)
			return sb_add(out, t->p, t->len);
		/* FALLTHROUGH */
	case TK_QSTR:
		sb_reset(tmp);
		if (!tok_unquote(t, tmp))
			return false;
		if (t->type == TK_ATOM && !needs_quotes(tmp->s, tmp->len))
			return sb_add(out, tmp->s, tmp->len);
		return add_quoted(out, tmp->s, tmp->len);
	}
	return false;
}

int mapsrc_parse_alias(const char *line, struct strbuf *key,
                       struct strbuf *value, char *err, size_t errlen)
{
	const char *p = line;
	struct tok t = {0}, prev = {0};
	bool have_prev = false, colon = false, nonlocal = false, ok = true;
	struct strbuf tmp;

	sb_reset(key);
	sb_reset(value);
	sb_init(&tmp, MAP_LINE_MAX);
	/* The name: words up to the first ':' outside quotes. */
	while (next_tok(&p, &t)) {
		if (t.type == TK_SPECIAL && t.c == ':') {
			colon = true;
			break;
		}
		if (t.type == TK_SPECIAL && t.c == '@')
			nonlocal = true;
		if (have_prev && is_word(&prev) && is_word(&t))
			ok = ok && sb_addc(key, ' ');
		if (t.type == TK_QSTR || t.type == TK_ATOM) {
			ok = ok && tok_unquote(&t, key);
		} else if (t.type == TK_SPECIAL) {
			ok = ok && sb_addc(key, t.c);
		} else {
			ok = ok && sb_add(key, t.p, t.len);
		}
		prev = t;
		have_prev = true;
	}
	const char *vstart = p;
	struct tok probe;
	if (!colon || !have_prev || key->len == 0 || !next_tok(&vstart, &probe)) {
		sb_free(&tmp);
		snprintf(err, errlen, "need name:value pair");
		return MAPSRC_SKIP;
	}
	if (nonlocal) {
		sb_free(&tmp);
		snprintf(err, errlen, "name must be local");
		return MAPSRC_SKIP;
	}
	if (!ok || key->len > MAP_KEY_MAX) {
		sb_free(&tmp);
		snprintf(err, errlen, "alias name longer than %d bytes", MAP_KEY_MAX);
		return MAPSRC_FAIL;
	}
	/* The value: elements separated by commas, re-rendered. */
	struct strbuf piece;
	sb_init(&piece, MAP_LINE_MAX);
	have_prev = false;
	while (next_tok(&p, &t)) {
		if (t.type == TK_SPECIAL && t.c == ',') {
			ok = ok && sb_adds(value, ", ");
			have_prev = false;
			continue;
		}
		sb_reset(&piece);
		ok = ok && render_tok(&t, &piece, &tmp);
		if (have_prev) {
			bool space = false;
			if (is_word(&prev) && is_word(&t))
				/* "|" glued to a quoted command stays glued */
				space = !(prev.type == TK_ATOM && piece.len > 0 && piece.s[0] == '"' &&
				          value->len > 0 && value->s[value->len - 1] == '|');
			else if (is_word(&prev) && t.type == TK_SPECIAL && t.c == '<')
				space = true;
			if (space)
				ok = ok && sb_addc(value, ' ');
		}
		ok = ok && sb_add(value, piece.s, piece.len);
		prev = t;
		have_prev = true;
	}
	sb_free(&piece);
	sb_free(&tmp);
	if (!ok || value->len > MAP_VALUE_MAX) {
		snprintf(err, errlen, "alias value longer than %d bytes", MAP_VALUE_MAX);
		return MAPSRC_FAIL;
	}
	if (value->len == 0) {
		/* e.g. a lone backslash; postalias would store "" and then
		 * complain about it at every lookup */
		snprintf(err, errlen, "empty alias value");
		return MAPSRC_SKIP;
	}
	return MAPSRC_ENTRY;
}

void mapsrc_init(struct mapsrc *s, FILE *fp, const char *name,
                 enum mapsrc_kind kind)
{
	memset(s, 0, sizeof(*s));
	lr_init(&s->lr, fp, name, MAP_LINE_MAX);
	s->kind = kind;
	s->name = name;
	sb_init(&s->key, MAP_KEY_MAX + 1);
	sb_init(&s->value, MAP_VALUE_MAX + 1);
}

void mapsrc_free(struct mapsrc *s)
{
	lr_free(&s->lr);
	sb_free(&s->key);
	sb_free(&s->value);
}

int mapsrc_next(struct mapsrc *s, const char **key, const char **value)
{
	char *line, msg[256];
	int r = lr_next(&s->lr, &line);

	s->line = s->lr.start;
	if (r == LR_EOF)
		return MAPSRC_EOF;
	if (r == LR_ERR) {
		if (s->lr.io_error)
			snprintf(s->err, sizeof(s->err), "%s: %s", s->name, s->lr.err);
		else
			snprintf(s->err, sizeof(s->err), "%s:%d: %s", s->name,
			         s->line, s->lr.err);
		return MAPSRC_FAIL;
	}
	if (s->kind == MAPSRC_POSTMAP) {
		char *k, *v;
		r = mapsrc_parse_line(line, &k, &v, msg, sizeof(msg));
		if (r == MAPSRC_ENTRY) {
			*key = k;
			*value = v;
		}
	} else {
		r = mapsrc_parse_alias(line, &s->key, &s->value, msg, sizeof(msg));
		if (r == MAPSRC_ENTRY) {
			*key = s->key.s;
			*value = s->value.s;
		}
	}
	if (r != MAPSRC_ENTRY)
		snprintf(s->err, sizeof(s->err), "%s:%d: %s", s->name, s->line, msg);
	return r;
}
