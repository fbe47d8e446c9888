/*
 * addrlist.c - splits RFC 5322 address lists into addr-specs (see
 * addrlist.h).  Runs in postern sendmail.  Untrusted input: message
 * header text and command-line recipients; output is bounded by
 * ADDRLIST_ADDR_MAX per address, and comment nesting by
 * ADDRLIST_COMMENT_DEPTH.
 */
#include "addrlist.h"

#include <string.h>

#include "bounds.h"
#include "strbuf.h"

struct state {
	struct strbuf plain; /* text outside <> (addr-spec when no <> follows) */
	struct strbuf angle; /* text inside the last <> */
	bool in_angle, saw_angle, too_long;
};

static void add(struct state *s, char c)
{
	struct strbuf *b = s->in_angle ? &s->angle : &s->plain;
	if (!sb_addc(b, c))
		s->too_long = true;
}

/* Strip an obsolete source route "@a,@b:" from an angle address. */
static const char *strip_route(const char *a)
{
	if (a[0] != '@')
		return a;
	const char *colon = strchr(a, ':');
	return colon != NULL ? colon + 1 : a;
}

static bool finish(struct state *s, bool (*cb)(void *, const char *), void *arg)
{
	bool ok = true;
	const char *a = s->saw_angle ? strip_route(sb_str(&s->angle)) : sb_str(&s->plain);
	if (*a != '\0')
		ok = cb(arg, a);
	sb_reset(&s->plain);
	sb_reset(&s->angle);
	s->in_angle = s->saw_angle = false;
	return ok;
}

bool addrlist_parse(const char *text, size_t len,
                    bool (*cb)(void *arg, const char *addr), void *arg)
{
	struct state s = {.in_angle = false};
	sb_init(&s.plain, ADDRLIST_ADDR_MAX);
	sb_init(&s.angle, ADDRLIST_ADDR_MAX);
	bool ok = true;
	for (size_t i = 0; ok && i < len; i++) {
		char c = text[i];
		if (c == '"') {
			/* Quoted string: kept with its quotes and escapes. */
			add(&s, c);
			for (i++; i < len && text[i] != '"'; i++) {
				if (text[i] == '\\' && i + 1 < len)
					add(&s, text[i++]);
				if (text[i] != '\r' && text[i] != '\n')
					add(&s, text[i]);
			}
			add(&s, '"');
		} else if (c == '(') {
			int depth = 1;
			for (i++; i < len && depth > 0; i++) {
				if (text[i] == '\\')
					i++;
				else if (text[i] == '(' && ++depth > ADDRLIST_COMMENT_DEPTH)
					ok = false;
				else if (text[i] == ')')
					depth--;
			}
			i--;
		} else if (c == '<') {
			s.in_angle = s.saw_angle = true;
			sb_reset(&s.angle);
		} else if (c == '>') {
			s.in_angle = false;
		} else if (c == ',' && !s.in_angle) {
			ok = finish(&s, cb, arg);
		} else if (c == ':' && !s.in_angle && !s.saw_angle) {
			/* "group:" - the name was a display name. */
			sb_reset(&s.plain);
		} else if (c == ';' && !s.in_angle) {
			ok = finish(&s, cb, arg);
		} else if (c == '[' && !s.in_angle) {
			/* Domain literal: copied as it stands. */
			for (; i < len && text[i] != ']'; i++)
				add(&s, text[i]);
			if (i < len)
				add(&s, ']');
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			continue;
		} else {
			add(&s, c);
		}
		if (s.too_long)
			ok = false;
	}
	if (ok)
		ok = finish(&s, cb, arg);
	sb_free(&s.plain);
	sb_free(&s.angle);
	return ok;
}
