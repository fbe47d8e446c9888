/*
 * map_regexp.c - the regexp: (alias regex:) and pcre: lookup tables,
 * regexp_table(5) and pcre_table(5).  Both share one table grammar:
 * "/pattern/flags result", "!/pattern/ result", regexp's
 * "/pattern1/!/pattern2/ result", "if /pattern/" ... "endif", and
 * $n/${n}/$(n) substitution in results.  Runs in every process that
 * opens such a table (smtpd, qmgr, local, smtp, the postern command),
 * before privileges are dropped.  Untrusted input: the table text
 * (parsed once at open, every pattern compiled then) and, at lookup,
 * keys that come from SMTP clients (client names, addresses, headers).
 */
#include "map_regexp.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <pcre2.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "log.h"
#include "map_pattern.h"
#include "strbuf.h"
#include "xalloc.h"

/* One /pattern/flags, compiled by one of the two engines. */
struct pat {
	bool neg;
	bool present;
	size_t nsub; /* capturing groups */
	regex_t re;
	pcre2_code *code;
};

/* A piece of the result: literal bytes of rule->text, or group n. */
struct part {
	size_t group; /* 0: literal */
	size_t off, len;
};

enum { R_MATCH, R_IF };

struct rule {
	int kind;
	int line;
	struct pat p1, p2;   /* p2: regexp's "/p1/!/p2/" form */
	char *text;          /* literal bytes of the result, $$ undone */
	struct part *parts;
	size_t nparts;
	bool subst;          /* result uses $n: match with captures */
	size_t end;          /* R_IF: index just past the block */
};

struct rmap {
	struct map head;
	bool pcre;
	struct rule *rules;
	size_t n, cap;
	size_t maxsub;
	regmatch_t *pm;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	struct strbuf result;
};

/* A pattern as read from the table, before compiling. */
struct rawpat {
	bool neg;
	char *body; /* points into the line; NUL-terminated in place */
	const char *flags;
	size_t nflags;
};

/*
 * Read [!]... <d> body <d> flags at *pp.  A backslash hides the next
 * character from the delimiter search and stays in the body, so
 * "/a\/b/" is the expression "a\/b".  Flags run to white space, the
 * end, or (regexp only) a '!' that starts the second pattern.  On
 * error return false with the reason in msg.
 */
static bool read_pattern(char **pp, bool regexp, struct rawpat *rp, char *msg,
                         size_t msglen)
{
	char *p = *pp;

	rp->neg = false;
	while (*p == '!') {
		rp->neg = !rp->neg;
		p++;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (*p == '\0') {
		snprintf(msg, msglen, "no regexp");
		return false;
	}
	char delim = *p++;
	char *body = p;
	while (*p && *p != delim) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		p++;
	}
	if (*p != delim) {
		snprintf(msg, msglen, "no closing regexp delimiter \"%c\"", delim);
		return false;
	}
	*p++ = '\0';
	rp->body = body;
	rp->flags = p;
	while (*p && !isspace((unsigned char)*p) && !(regexp && *p == '!'))
		p++;
	rp->nflags = (size_t)(p - rp->flags);
	*pp = p;
	return true;
}

/*
 * glibc's regcomp() copies a sub-expression once per repetition ("a+"
 * becomes "aa*", "x{3,5}" five copies), so stacked or nested counts
 * grow the automaton exponentially, and a long run of optional parts
 * ("(a?){5000}") costs memory quadratic in its length; deep nesting of
 * parentheses recurses until the stack overflows.  Postfix passes such
 * patterns straight to regcomp(); we estimate the cost first and skip
 * the rule when a limit from bounds.h would be passed.
 */
struct cx_atom {
	double n;      /* automaton nodes, copies included */
	bool nullable; /* can match the empty string */
	double run;    /* longest chain of skippable parts at its end */
	int loops;     /* nesting of repetitions of nullable parts */
	int dups;      /* the same, counting only copying ones ("+") */
};

struct cx_frame {
	double done_n, done_run; /* finished alternatives */
	bool done_nullable;
	double n, run;           /* current alternative */
	bool nullable;
	bool have;               /* an atom is pending (quantifiers bind to it) */
	struct cx_atom pend;
	int loops, dups;         /* deepest inside this group */
};

struct cx {
	struct cx_frame f[MAP_REGEXP_NEST_MAX + 1];
	int depth;
	double maxrun;
	int maxloops, maxdups;
	bool too_deep;
};

static void cx_frame_init(struct cx_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->nullable = true;
}

static void cx_commit(struct cx *c)
{
	struct cx_frame *f = &c->f[c->depth];
	if (!f->have)
		return;
	f->n += f->pend.n;
	f->run = f->pend.nullable ? f->run + f->pend.run : f->pend.run;
	f->nullable = f->nullable && f->pend.nullable;
	if (f->run > c->maxrun)
		c->maxrun = f->run;
	if (f->pend.loops > f->loops)
		f->loops = f->pend.loops;
	if (f->pend.dups > f->dups)
		f->dups = f->pend.dups;
	f->have = false;
}

static void cx_atom(struct cx *c, double n, bool nullable, double run)
{
	cx_commit(c);
	struct cx_frame *f = &c->f[c->depth];
	f->pend = (struct cx_atom){n, nullable, run, 0, 0};
	f->have = true;
}

static void cx_alt(struct cx *c)
{
	cx_commit(c);
	struct cx_frame *f = &c->f[c->depth];
	f->done_n += f->n;
	if (f->run > f->done_run)
		f->done_run = f->run;
	f->done_nullable = f->done_nullable || f->nullable;
	f->n = f->run = 0;
	f->nullable = true;
}

static void cx_open(struct cx *c)
{
	cx_commit(c);
	if (c->depth >= MAP_REGEXP_NEST_MAX) {
		c->too_deep = true;
		return;
	}
	cx_frame_init(&c->f[++c->depth]);
}

static void cx_close(struct cx *c)
{
	if (c->depth == 0) { /* a lone ')' is an ordinary character */
		cx_atom(c, 1, false, 0);
		return;
	}
	cx_alt(c);
	struct cx_frame *f = &c->f[c->depth--];
	cx_atom(c, f->done_n + 1, f->done_nullable, f->done_run);
	c->f[c->depth].pend.loops = f->loops;
	c->f[c->depth].pend.dups = f->dups;
}

/* Repeat the pending atom lo..hi times (hi < 0: unbounded). */
static void cx_repeat(struct cx *c, long lo, long hi, bool star)
{
	struct cx_frame *f = &c->f[c->depth];
	if (!f->have) { /* nothing to repeat: taken literally */
		cx_atom(c, 1, false, 0);
		return;
	}
	struct cx_atom *a = &f->pend;
	double copies = star ? 1 : hi < 0 ? (lo > 1 ? lo : 1) + 1
	                              : (hi > 1 ? hi : 1);
	double optional = hi < 0 ? 1 : (double)(hi - lo);
	a->n *= copies;
	/*
	 * Repeating what can match empty nests epsilon loops; glibc's
	 * closure computation is exponential in their depth once an
	 * anchor is involved ("^((((a*)+)+)+)+" never finishes).
	 */
	if (a->nullable) {
		a->loops++;
		if (copies > 1)
			a->dups++;
		if (a->loops > c->maxloops)
			c->maxloops = a->loops;
		if (a->dups > c->maxdups)
			c->maxdups = a->dups;
	}
	if (a->nullable) {
		a->run = copies * (a->run > 1 ? a->run : 1);
	} else {
		a->run = optional;
		a->nullable = lo == 0;
	}
	if (a->run > c->maxrun)
		c->maxrun = a->run;
}

/* "{lo,hi}" at p (after the brace); returns the end or NULL. */
static const char *cx_interval(const char *p, bool bre, long *lo, long *hi)
{
	long v = 0;
	bool digits = false;

	for (; isdigit((unsigned char)*p); p++, digits = true)
		v = v < 100000 ? v * 10 + (*p - '0') : v;
	*lo = v;
	*hi = v;
	if (*p == ',') {
		p++;
		if (!isdigit((unsigned char)*p)) {
			*hi = -1;
		} else {
			for (v = 0; isdigit((unsigned char)*p); p++)
				v = v < 100000 ? v * 10 + (*p - '0') : v;
			*hi = v;
		}
		digits = true;
	}
	if (!digits)
		return NULL;
	if (bre) {
		if (p[0] != '\\' || p[1] != '}')
			return NULL;
		return p + 2;
	}
	return *p == '}' ? p + 1 : NULL;
}

/* Skip a bracket expression starting after '['. */
static const char *cx_bracket(const char *p)
{
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			char kind = p[1];
			const char *e = p + 2;
			while (*e && !(e[0] == kind && e[1] == ']'))
				e++;
			p = *e ? e + 2 : e;
		} else {
			p++;
		}
	}
	return *p ? p + 1 : p;
}

/* NULL when the pattern is within bounds, else why not. */
static const char *regexp_too_complex(const char *pat, bool extended)
{
	struct cx *c = xcalloc(1, sizeof(*c));
	const char *p = pat, *why = NULL;
	long lo, hi;

	cx_frame_init(&c->f[0]);
	while (*p && !c->too_deep) {
		const char *q;
		if (*p == '[') {
			p = cx_bracket(p + 1);
			cx_atom(c, 1, false, 0);
		} else if (*p == '\\' && p[1] != '\0') {
			char e = p[1];
			p += 2;
			if (extended) {
				cx_atom(c, 1, false, 0);
			} else if (e == '(') {
				cx_open(c);
			} else if (e == ')') {
				cx_close(c);
			} else if (e == '|') {
				cx_alt(c);
			} else if (e == '+') {
				cx_repeat(c, 1, -1, false);
			} else if (e == '?') {
				cx_repeat(c, 0, 1, false);
			} else if (e == '{' && (q = cx_interval(p, true, &lo, &hi))) {
				cx_repeat(c, lo, hi, false);
				p = q;
			} else {
				cx_atom(c, 1, false, 0);
			}
		} else if (*p == '*') {
			p++;
			cx_repeat(c, 0, -1, true);
		} else if (extended && *p == '(') {
			p++;
			cx_open(c);
		} else if (extended && *p == ')') {
			p++;
			cx_close(c);
		} else if (extended && *p == '|') {
			p++;
			cx_alt(c);
		} else if (extended && *p == '+') {
			p++;
			cx_repeat(c, 1, -1, false);
		} else if (extended && *p == '?') {
			p++;
			cx_repeat(c, 0, 1, false);
		} else if (extended && *p == '{' &&
		           (q = cx_interval(p + 1, false, &lo, &hi))) {
			cx_repeat(c, lo, hi, false);
			p = q;
		} else {
			p++;
			cx_atom(c, 1, false, 0);
		}
	}
	while (c->depth > 0)
		cx_close(c);
	cx_alt(c);
	if (c->too_deep)
		why = "parentheses nested too deeply";
	else if (c->f[0].done_n > MAP_REGEXP_NODES_MAX)
		why = "too many repetitions";
	else if (c->maxrun > MAP_REGEXP_CHAIN_MAX)
		why = "too many optional parts in a row";
	else if (c->maxdups > MAP_REGEXP_EMPTY_LOOPS_MAX / 2 ||
	         c->maxloops > MAP_REGEXP_EMPTY_LOOPS_MAX)
		why = "repetitions of empty-matching parts nested too deeply";
	free(c);
	return why;
}

static bool compile_regexp(const struct rawpat *rp, struct pat *pat, char *msg,
                           size_t msglen)
{
	int cflags = REG_EXTENDED | REG_ICASE;

	for (size_t i = 0; i < rp->nflags; i++) {
		switch (rp->flags[i]) {
		case 'i': cflags ^= REG_ICASE; break;
		case 'x': cflags ^= REG_EXTENDED; break;
		case 'm': cflags ^= REG_NEWLINE; break;
		default:
			snprintf(msg, msglen, "unknown regexp option \"%c\"",
			         rp->flags[i]);
			return false;
		}
	}
	const char *why = regexp_too_complex(rp->body, cflags & REG_EXTENDED);
	if (why != NULL) {
		snprintf(msg, msglen, "regular expression too complex: %s", why);
		return false;
	}
	int rc = regcomp(&pat->re, rp->body, cflags);
	if (rc != 0) {
		regerror(rc, &pat->re, msg, msglen);
		regfree(&pat->re);
		return false;
	}
	pat->nsub = pat->re.re_nsub;
	pat->neg = rp->neg;
	pat->present = true;
	return true;
}

static bool compile_pcre(const struct map_src *src, const struct rawpat *rp,
                         struct pat *pat, char *msg, size_t msglen)
{
	uint32_t opts = PCRE2_CASELESS | PCRE2_DOTALL;

	for (size_t i = 0; i < rp->nflags; i++) {
		switch (rp->flags[i]) {
		case 'i': opts ^= PCRE2_CASELESS; break;
		case 'm': opts ^= PCRE2_MULTILINE; break;
		case 's': opts ^= PCRE2_DOTALL; break;
		case 'x': opts ^= PCRE2_EXTENDED; break;
		case 'A': opts ^= PCRE2_ANCHORED; break;
		case 'E': opts ^= PCRE2_DOLLAR_ENDONLY; break;
		case 'U': opts ^= PCRE2_UNGREEDY; break;
		case 'X': /* PCRE1's EXTRA; PCRE2 has no such option */
			map_src_warn(src, "ignoring obsolete regexp option \"X\"");
			break;
		default:
			snprintf(msg, msglen, "unknown regexp option \"%c\"",
			         rp->flags[i]);
			return false;
		}
	}
	int errcode;
	PCRE2_SIZE erroff;
	pat->code = pcre2_compile((PCRE2_SPTR)rp->body, PCRE2_ZERO_TERMINATED,
	                          opts, &errcode, &erroff, NULL);
	if (pat->code == NULL) {
		PCRE2_UCHAR buf[256];
		if (pcre2_get_error_message(errcode, buf, sizeof(buf)) < 0)
			snprintf((char *)buf, sizeof(buf), "error %d", errcode);
		snprintf(msg, msglen, "error in regex at offset %zu: %s",
		         (size_t)erroff, (char *)buf);
		return false;
	}
	uint32_t count = 0;
	pcre2_pattern_info(pat->code, PCRE2_INFO_CAPTURECOUNT, &count);
	pat->nsub = count;
	pat->neg = rp->neg;
	pat->present = true;
	return true;
}

static bool compile(struct rmap *rm, const struct map_src *src,
                    const struct rawpat *rp, struct pat *pat, char *msg,
                    size_t msglen)
{
	memset(pat, 0, sizeof(*pat));
	if (rm->pcre)
		return compile_pcre(src, rp, pat, msg, msglen);
	return compile_regexp(rp, pat, msg, msglen);
}

static void pat_free(struct rmap *rm, struct pat *pat)
{
	if (!pat->present)
		return;
	if (rm->pcre)
		pcre2_code_free(pat->code);
	else
		regfree(&pat->re);
	pat->present = false;
}

static void add_part(struct rule *r, size_t *cap, size_t group, size_t off,
                     size_t len)
{
	if (group == 0 && len == 0)
		return;
	if (r->nparts == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		r->parts = xreallocarray(r->parts, *cap, sizeof(*r->parts));
	}
	r->parts[r->nparts++] = (struct part){group, off, len};
}

/*
 * Split the result text into literals and $n references.  A reference
 * is $n, ${n} or $(n) with n all digits; "$$" is a literal "$".  Any
 * other "$name" is an error, as in Postfix, since a table meant for
 * substitution would otherwise answer with raw "$x" text.
 */
static bool parse_result(struct rule *r, const char *res, size_t *maxref,
                         char *msg, size_t msglen)
{
	struct strbuf lit;
	size_t cap = 0, litstart = 0;

	*maxref = 0;
	sb_init(&lit, 0);
	for (const char *p = res; *p;) {
		if (*p != '$') {
			sb_addc(&lit, *p++);
			continue;
		}
		if (p[1] == '$') {
			sb_addc(&lit, '$');
			p += 2;
			continue;
		}
		const char *name, *q = p + 1;
		size_t nlen;
		if (*q == '{' || *q == '(') {
			char open = *q, close = open == '{' ? '}' : ')';
			int level = 1;
			name = ++q;
			while (*q && level > 0) {
				if (*q == open)
					level++;
				else if (*q == close)
					level--;
				q++;
			}
			if (level > 0) {
				snprintf(msg, msglen,
				         "truncated macro reference: \"%.100s\"", res);
				goto bad;
			}
			nlen = (size_t)(q - 1 - name);
		} else {
			name = q;
			while (isalnum((unsigned char)*q) || *q == '_')
				q++;
			nlen = (size_t)(q - name);
		}
		if (nlen == 0) {
			snprintf(msg, msglen, "empty macro name: \"%.100s\"", res);
			goto bad;
		}
		size_t n = 0;
		for (size_t i = 0; i < nlen; i++) {
			if (!isdigit((unsigned char)name[i])) {
				snprintf(msg, msglen,
				         "non-numeric replacement index \"%.*s\"",
				         (int)(nlen > 100 ? 100 : nlen), name);
				goto bad;
			}
			if (n <= 1000000)
				n = n * 10 + (size_t)(name[i] - '0');
		}
		if (n == 0) {
			snprintf(msg, msglen, "out-of-range replacement index \"0\"");
			goto bad;
		}
		add_part(r, &cap, 0, litstart, lit.len - litstart);
		litstart = lit.len;
		add_part(r, &cap, n, 0, 0);
		if (n > *maxref)
			*maxref = n;
		p = q;
	}
	add_part(r, &cap, 0, litstart, lit.len - litstart);
	r->text = sb_steal(&lit);
	sb_free(&lit);
	return true;
bad:
	sb_free(&lit);
	free(r->parts);
	r->parts = NULL;
	r->nparts = 0;
	return false;
}

static struct rule *new_rule(struct rmap *rm)
{
	if (rm->n == rm->cap) {
		rm->cap = rm->cap ? rm->cap * 2 : 16;
		rm->rules = xreallocarray(rm->rules, rm->cap, sizeof(*rm->rules));
	}
	struct rule *r = &rm->rules[rm->n];
	memset(r, 0, sizeof(*r));
	return r;
}

static void rule_free(struct rmap *rm, struct rule *r)
{
	pat_free(rm, &r->p1);
	pat_free(rm, &r->p2);
	free(r->text);
	free(r->parts);
}

/* One "/p1/[!/p2/] result" line; a bad rule is warned about and skipped. */
static void parse_rule(struct rmap *rm, const struct map_src *src, char *line)
{
	char msg[512];
	struct rawpat rp1, rp2;
	struct rule *r = new_rule(rm);
	char *p = line;
	bool two = false;

	r->kind = R_MATCH;
	r->line = map_src_line(src);
	if (!read_pattern(&p, !rm->pcre, &rp1, msg, sizeof(msg)))
		goto skip;
	if (!rm->pcre && *p == '!') {
		if (!read_pattern(&p, true, &rp2, msg, sizeof(msg)))
			goto skip;
		two = true;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		map_src_warn(src, "no replacement text: using empty string");
	size_t maxref;
	if (!parse_result(r, p, &maxref, msg, sizeof(msg))) {
		map_src_warn(src, "%s", msg);
		map_src_warn(src, "bad replacement syntax: skipping this rule");
		return;
	}
	if (!compile(rm, src, &rp1, &r->p1, msg, sizeof(msg)))
		goto skip;
	if (two && !compile(rm, src, &rp2, &r->p2, msg, sizeof(msg)))
		goto skip;
	if (maxref > 0 && r->p1.neg) {
		snprintf(msg, sizeof(msg),
		         "$number found in negative match replacement text");
		goto skip;
	}
	if (maxref > r->p1.nsub) {
		snprintf(msg, sizeof(msg), "out of range replacement index \"%zu\"",
		         maxref);
		goto skip;
	}
	r->subst = maxref > 0;
	if (r->subst && r->p1.nsub > rm->maxsub)
		rm->maxsub = r->p1.nsub;
	rm->n++;
	return;
skip:
	map_src_warn(src, "%s: skipping this rule", msg);
	rule_free(rm, r);
}

/* "if /pattern/flags"; returns false when the open must fail. */
static bool parse_if(struct rmap *rm, const struct map_src *src, char *rest,
                     struct map_ifstack *st, char *err, size_t errlen)
{
	char msg[512];
	struct rawpat rp;
	struct rule *r = new_rule(rm);
	char *p = rest;

	r->kind = R_IF;
	r->line = map_src_line(src);
	if (!read_pattern(&p, false, &rp, msg, sizeof(msg)) ||
	    !compile(rm, src, &rp, &r->p1, msg, sizeof(msg))) {
		map_src_warn(src, "%s: skipping this rule", msg);
		rule_free(rm, r);
		return true;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0') {
		map_src_warn(src, "ignoring extra text after IF statement: \"%.100s\"",
		             p);
		map_src_warn(src, "do not prepend whitespace to statements "
		                  "between IF and ENDIF");
	}
	if (st->depth >= MAP_IF_DEPTH) {
		map_src_err(src, err, errlen, "IF nesting deeper than %d",
		            MAP_IF_DEPTH);
		rule_free(rm, r);
		return false;
	}
	st->rule[st->depth] = rm->n;
	st->line[st->depth] = r->line;
	st->depth++;
	rm->n++;
	return true;
}

static int rmap_lookup(struct map *m, const char *key, const char **value);
static void rmap_close(struct map *m);

static struct map *rmap_open(const struct map_ops *ops, bool pcre,
                             const char *name, int flags, char *err,
                             size_t errlen)
{
	struct map_src src;
	struct map_ifstack st = {0};
	char *line, *rest;
	int r;

	if (!map_src_open(&src, ops->type, name, err, errlen))
		return NULL;
	/* Case is the patterns' business (the i flag), never the key's. */
	struct rmap *rm = map_alloc(sizeof(*rm), ops, name, flags & ~MAP_F_FOLD);
	rm->pcre = pcre;
	sb_init(&rm->result, MAP_VALUE_MAX);
	while ((r = map_src_next(&src, &line, err, errlen)) == LR_LINE) {
		if ((rest = map_keyword(line, "if")) != NULL) {
			if (!parse_if(rm, &src, rest, &st, err, errlen))
				goto fail;
		} else if ((rest = map_keyword(line, "endif")) != NULL) {
			if (*rest != '\0')
				map_src_warn(&src, "ignoring extra text after ENDIF");
			if (st.depth == 0) {
				map_src_warn(&src, "ignoring ENDIF without matching IF");
				continue;
			}
			rm->rules[st.rule[--st.depth]].end = rm->n;
		} else if (isalnum((unsigned char)line[0])) {
			map_src_warn(&src, "ignoring unrecognized request");
		} else {
			parse_rule(rm, &src, line);
		}
	}
	if (r == LR_ERR)
		goto fail;
	while (st.depth > 0) {
		st.depth--;
		map_src_warn_at(&src, st.line[st.depth], "IF has no matching ENDIF");
		rm->rules[st.rule[st.depth]].end = rm->n;
	}
	map_src_close(&src);
	if (pcre) {
		rm->md = pcre2_match_data_create((uint32_t)rm->maxsub + 1, NULL);
		rm->mctx = pcre2_match_context_create(NULL);
		if (rm->md == NULL || rm->mctx == NULL)
			log_fatal("pcre2: out of memory");
		pcre2_set_match_limit(rm->mctx, MAP_PCRE_MATCH_LIMIT);
		pcre2_set_depth_limit(rm->mctx, MAP_PCRE_DEPTH_LIMIT);
		pcre2_set_heap_limit(rm->mctx, MAP_PCRE_HEAP_LIMIT_KB);
	} else {
		rm->pm = xcalloc(rm->maxsub + 1, sizeof(*rm->pm));
	}
	return &rm->head;
fail:
	map_src_close(&src);
	rmap_close(&rm->head);
	return NULL;
}

/*
 * 1 the pattern matched (before negation), 0 it did not, -1 the match
 * could not be decided (PCRE limits).  With want_sub the capture
 * offsets are left in rm->pm / rm->md for the result.
 */
static int pat_exec(struct rmap *rm, const struct rule *r, const struct pat *pat,
                    const char *key, bool want_sub)
{
	if (!rm->pcre) {
		size_t nm = want_sub ? pat->nsub + 1 : 0;
		return regexec(&pat->re, key, nm, want_sub ? rm->pm : NULL, 0) == 0;
	}
	int rc = pcre2_match(pat->code, (PCRE2_SPTR)key, strlen(key), 0, 0,
	                     rm->md, rm->mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	switch (rc) {
	case PCRE2_ERROR_MATCHLIMIT:
		log_warn("pcre map %s, line %d: match limit exceeded",
		         rm->head.name, r->line);
		break;
	case PCRE2_ERROR_DEPTHLIMIT:
		log_warn("pcre map %s, line %d: depth limit exceeded",
		         rm->head.name, r->line);
		break;
	case PCRE2_ERROR_HEAPLIMIT:
		log_warn("pcre map %s, line %d: heap limit exceeded",
		         rm->head.name, r->line);
		break;
	default:
		log_warn("pcre map %s, line %d: matching error %d",
		         rm->head.name, r->line, rc);
		break;
	}
	return -1;
}

/* Whether the rule applies: 1 yes, 0 no, -1 undecided (treated as no). */
static int rule_match(struct rmap *rm, const struct rule *r, const char *key)
{
	int m = pat_exec(rm, r, &r->p1, key, r->subst);
	if (m < 0)
		return -1;
	if (m == r->p1.neg)
		return 0;
	if (r->p2.present) {
		m = pat_exec(rm, r, &r->p2, key, false);
		if (m < 0)
			return -1;
		if (m == r->p2.neg)
			return 0;
	}
	return 1;
}

static bool group_span(struct rmap *rm, size_t n, size_t keylen, size_t *off,
                       size_t *len)
{
	size_t so, eo;

	if (rm->pcre) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rm->md);
		if (n >= pcre2_get_ovector_count(rm->md))
			return false;
		so = ov[2 * n];
		eo = ov[2 * n + 1];
		if (so == PCRE2_UNSET || eo == PCRE2_UNSET)
			return false;
	} else {
		if (rm->pm[n].rm_so < 0 || rm->pm[n].rm_eo < 0)
			return false;
		so = (size_t)rm->pm[n].rm_so;
		eo = (size_t)rm->pm[n].rm_eo;
	}
	if (so > eo || eo > keylen)
		return false;
	*off = so;
	*len = eo - so;
	return true;
}

static int expand(struct rmap *rm, const struct rule *r, const char *key,
                  const char **value)
{
	size_t keylen = strlen(key), off, len;
	bool ok = true;

	sb_reset(&rm->result);
	for (size_t i = 0; i < r->nparts && ok; i++) {
		const struct part *pt = &r->parts[i];
		if (pt->group == 0)
			ok = sb_add(&rm->result, r->text + pt->off, pt->len);
		else if (group_span(rm, pt->group, keylen, &off, &len))
			ok = sb_add(&rm->result, key + off, len);
	}
	if (!ok) {
		log_warn("%s map %s, line %d: result longer than %d bytes",
		         rm->head.type, rm->head.name, r->line, MAP_VALUE_MAX);
		return map_set_err(&rm->head, "%s: result longer than %d bytes",
		                   rm->head.spec, MAP_VALUE_MAX);
	}
	*value = rm->result.s;
	return MAP_FOUND;
}

static int rmap_lookup(struct map *m, const char *key, const char **value)
{
	struct rmap *rm = (struct rmap *)m;

	for (size_t i = 0; i < rm->n;) {
		const struct rule *r = &rm->rules[i];
		int hit = rule_match(rm, r, key);
		if (r->kind == R_IF) {
			i = hit == 1 ? i + 1 : r->end;
			continue;
		}
		if (hit == 1)
			return expand(rm, r, key, value);
		i++;
	}
	return MAP_NOTFOUND;
}

static void rmap_close(struct map *m)
{
	struct rmap *rm = (struct rmap *)m;

	for (size_t i = 0; i < rm->n; i++)
		rule_free(rm, &rm->rules[i]);
	free(rm->rules);
	free(rm->pm);
	pcre2_match_data_free(rm->md);
	pcre2_match_context_free(rm->mctx);
	sb_free(&rm->result);
	map_free(m);
}

static struct map *regexp_open(const char *name, int flags, char *err,
                               size_t errlen)
{
	return rmap_open(&map_regexp_ops, false, name, flags, err, errlen);
}

static struct map *regex_open(const char *name, int flags, char *err,
                              size_t errlen)
{
	return rmap_open(&map_regex_ops, false, name, flags, err, errlen);
}

static struct map *pcre_open(const char *name, int flags, char *err,
                             size_t errlen)
{
	return rmap_open(&map_pcre_ops, true, name, flags, err, errlen);
}

#define PATTERN_PROPS (MAP_P_PATTERN | MAP_P_FILE)

const struct map_ops map_regexp_ops = {
	.type = "regexp",
	.props = PATTERN_PROPS,
	.open = regexp_open,
	.lookup = rmap_lookup,
	.close = rmap_close,
};

const struct map_ops map_regex_ops = {
	.type = "regex",
	.props = PATTERN_PROPS,
	.open = regex_open,
	.lookup = rmap_lookup,
	.close = rmap_close,
};

const struct map_ops map_pcre_ops = {
	.type = "pcre",
	.props = PATTERN_PROPS,
	.open = pcre_open,
	.lookup = rmap_lookup,
	.close = rmap_close,
};
