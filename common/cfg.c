/*
 * cfg.c - main.cf: reading, the parameter table, defaults computed from
 * the system, and Postfix's $name / ${name?value} / ${{a} op {b} ? ..}
 * expansion.  Runs in every process at start-up, before privileges are
 * dropped; main.cf is admin-written text, checked like outside input.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bounds.h"
#include "htable.h"
#include "log.h"
#include "netaddr.h"
#include "lreader.h"
#include "strbuf.h"
#include "xalloc.h"

static const struct cfg_param params[] = {
#define P(name, type, def, users) {name, type, def, users},
#include "params.def"
#undef P
};
#define N_PARAMS (sizeof(params) / sizeof(params[0]))

/* One name that has a value: set in main.cf / by override, or a default. */
struct cfg_val {
	char *raw;      /* owned */
	char *file;     /* NULL for defaults */
	int line;
	size_t order;   /* position in main.cf for cfg_name_at() */
	char *expanded; /* cache, NULL until first cfg_get() */
	bool busy;      /* being expanded: a reference back here is a loop */
	bool reported;  /* expansion errors already reported */
};

struct cfg {
	char *dir;
	char *path;
	struct diag *diag;
	struct htable *set;      /* name -> cfg_val: main.cf and overrides */
	struct htable *defaults; /* name -> cfg_val: defaults, made on demand */
	char **order;            /* names set, in file order */
	size_t norder, cap;
};

const struct cfg_param *cfg_param_find(const char *name)
{
	size_t lo = 0, hi = N_PARAMS;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, params[mid].name);
		if (r == 0)
			return &params[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct cfg_param *cfg_param_table(size_t *n)
{
	*n = N_PARAMS;
	return params;
}

static void val_free(void *p)
{
	struct cfg_val *v = p;
	if (v == NULL)
		return;
	free(v->raw);
	free(v->file);
	free(v->expanded);
	free(v);
}

static struct cfg *cfg_new(const char *dir, struct diag *diag)
{
	struct cfg *c = xcalloc(1, sizeof(*c));
	c->dir = xstrdup(dir ? dir : POSTERN_SYSCONFDIR);
	size_t n = strlen(c->dir) + sizeof("/main.cf");
	c->path = xmalloc(n);
	snprintf(c->path, n, "%s/main.cf", c->dir);
	c->diag = diag;
	c->set = ht_new();
	c->defaults = ht_new();
	return c;
}

void cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	ht_free(c->set, val_free);
	ht_free(c->defaults, val_free);
	for (size_t i = 0; i < c->norder; i++)
		free(c->order[i]);
	free(c->order);
	free(c->dir);
	free(c->path);
	free(c);
}

const char *cfg_config_dir(const struct cfg *c)
{
	return c->dir;
}

/* Any change can alter what other values expand to. */
static void drop_expansions(struct cfg *c)
{
	struct htable *tabs[] = {c->set, c->defaults};
	for (size_t t = 0; t < 2; t++) {
		size_t pos = 0;
		void *p;
		while (ht_next(tabs[t], &pos, &p) != NULL) {
			struct cfg_val *v = p;
			free(v->expanded);
			v->expanded = NULL;
			v->reported = false;
		}
	}
}

void cfg_set(struct cfg *c, const char *name, const char *value,
             const char *origin_file, int origin_line)
{
	struct cfg_val *v = ht_get(c->set, name);
	if (v == NULL) {
		if (c->norder >= CFG_ENTRIES_MAX) {
			diag_report(c->diag, origin_file, origin_line, DIAG_ERROR,
			            "more than %d parameters; ignoring %s",
			            CFG_ENTRIES_MAX, name);
			return;
		}
		v = xcalloc(1, sizeof(*v));
		ht_put(c->set, name, v);
		if (c->norder == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 64;
			c->order = xreallocarray(c->order, c->cap, sizeof(*c->order));
		}
		v->order = c->norder;
		c->order[c->norder++] = xstrdup(name);
	}
	free(v->raw);
	free(v->file);
	v->raw = xstrdup(value);
	v->file = origin_file ? xstrdup(origin_file) : NULL;
	v->line = origin_line;
	drop_expansions(c);
}

/* One logical main.cf line: "name = value". */
static void parse_line(struct cfg *c, char *line, const char *file, int lineno)
{
	char *p = line, *name = line;
	while (*p && *p != '=' && !isspace((unsigned char)*p))
		p++;
	size_t nlen = (size_t)(p - name);
	while (isspace((unsigned char)*p))
		p++;
	if (nlen == 0) {
		diag_report(c->diag, file, lineno, DIAG_ERROR,
		            "missing attribute name: \"%s\"", line);
		return;
	}
	if (*p != '=') {
		diag_report(c->diag, file, lineno, DIAG_ERROR,
		            "missing '=' after attribute name: \"%s\"", line);
		return;
	}
	if (nlen > CFG_NAME_MAX) {
		diag_report(c->diag, file, lineno, DIAG_ERROR,
		            "parameter name longer than %d bytes", CFG_NAME_MAX);
		return;
	}
	name[nlen] = '\0';
	char *value = p + 1;
	while (isspace((unsigned char)*value))
		value++;
	struct cfg_val *old = ht_get(c->set, name);
	if (old != NULL)
		diag_report(c->diag, file, lineno, DIAG_WARNING,
		            "overriding earlier entry: %s=%s (line %d)", name,
		            old->raw, old->line);
	cfg_set(c, name, value, file, lineno);
}

static struct cfg *cfg_parse_fp(struct cfg *c, FILE *fp, const char *name)
{
	struct lreader lr;
	char *line;
	int r;

	lr_init(&lr, fp, name, CFG_LINE_MAX);
	while ((r = lr_next(&lr, &line)) != LR_EOF) {
		if (r == LR_ERR) {
			diag_report(c->diag, name, lr.start, DIAG_ERROR, "%s", lr.err);
			if (lr.io_error)
				break;
			continue;
		}
		parse_line(c, line, name, lr.start);
	}
	lr_free(&lr);
	return c;
}

struct cfg *cfg_load(const char *dir, struct diag *diag, bool allow_missing)
{
	struct cfg *c = cfg_new(dir, diag);
	FILE *fp = fopen(c->path, "re");
	if (fp == NULL) {
		if (errno == ENOENT && allow_missing)
			return c;
		diag_report(diag, c->path, 0, DIAG_ERROR, "open: %s", strerror(errno));
		cfg_free(c);
		return NULL;
	}
	cfg_parse_fp(c, fp, c->path);
	fclose(fp);
	return c;
}

struct cfg *cfg_load_text(const char *text, size_t len, const char *name,
                          struct diag *diag)
{
	struct cfg *c = cfg_new(NULL, diag);
	if (len == 0)
		return c;
	FILE *fp = fmemopen((void *)text, len, "r");
	if (fp == NULL)
		log_fatal("fmemopen: %s", strerror(errno));
	cfg_parse_fp(c, fp, name ? name : "main.cf");
	fclose(fp);
	return c;
}

/*
 * Run from a build tree (BUILD/bin/PROGRAM or BUILD/libexec/PROGRAM,
 * where BUILD's name starts with "build"), the daemons are in
 * BUILD/libexec; installed, in the compiled-in directory.
 */
static char *build_tree_libexec(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return xstrdup(POSTERN_LIBEXECDIR);
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash == NULL)
		return xstrdup(POSTERN_LIBEXECDIR);
	*slash = '\0'; /* exe is now the program's directory */
	slash = strrchr(exe, '/');
	if (slash == NULL ||
	    (strcmp(slash + 1, "bin") != 0 && strcmp(slash + 1, "libexec") != 0))
		return xstrdup(POSTERN_LIBEXECDIR);
	*slash = '\0'; /* the build directory */
	const char *top = strrchr(exe, '/');
	top = top ? top + 1 : exe;
	if (strncmp(top, "build", 5) != 0)
		return xstrdup(POSTERN_LIBEXECDIR);
	struct strbuf sb;
	sb_init(&sb, 0);
	sb_printf(&sb, "%s/libexec", exe);
	return sb_steal(&sb);
}

/*
 * Defaults that depend on the system or on other settings.  Postfix
 * derives myhostname from the host name, qualified with $mydomain when
 * it has no dot, and mydomain from what follows the first dot of
 * $myhostname.
 */
static char *computed_default(struct cfg *c, const char *name)
{
	char host[256];

	if (strcmp(name, "config_directory") == 0)
		return xstrdup(c->dir);
	if (strcmp(name, "myhostname") == 0) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		if (strchr(host, '.') != NULL)
			return xstrdup(host);
		struct strbuf sb;
		sb_init(&sb, 0);
		sb_printf(&sb, "%s.%s", host, cfg_get(c, "mydomain"));
		return sb_steal(&sb);
	}
	if (strcmp(name, "mydomain") == 0) {
		/* Only myhostname from main.cf may feed this: avoid a loop via
		 * the computed myhostname, which itself uses mydomain. */
		struct cfg_val *v = ht_get(c->set, "myhostname");
		const char *h = v ? cfg_get(c, "myhostname") : NULL;
		const char *dot = h ? strchr(h, '.') : NULL;
		if (h == NULL && gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
			dot = strchr(host, '.');
		}
		return xstrdup(dot && dot[1] ? dot + 1 : "localdomain");
	}
	if (strcmp(name, "queue_directory") == 0)
		return xstrdup(POSTERN_SPOOLDIR);
	if (strcmp(name, "daemon_directory") == 0)
		return build_tree_libexec();
	if (strcmp(name, "mynetworks") == 0)
		return netaddr_mynetworks_for(cfg_get(c, "mynetworks_style"),
		                              cfg_get(c, "inet_protocols"));
	if (strcmp(name, "data_directory") == 0)
		return xstrdup("/var/lib/postern");
	if (strcmp(name, "mail_owner") == 0)
		return xstrdup("postern");
	if (strcmp(name, "mail_version") == 0)
		return xstrdup(POSTERN_VERSION);
	return xstrdup("");
}

static struct cfg_val *find_val(struct cfg *c, const char *name)
{
	struct cfg_val *v = ht_get(c->set, name);
	if (v != NULL)
		return v;
	v = ht_get(c->defaults, name);
	if (v != NULL)
		return v;
	const struct cfg_param *p = cfg_param_find(name);
	if (p == NULL)
		return NULL;
	v = xcalloc(1, sizeof(*v));
	/* Insert before computing: computed defaults may look at others. */
	ht_put(c->defaults, name, v);
	v->busy = true; /* a reference back to name while computing is a loop */
	v->raw = p->defval ? xstrdup(p->defval) : computed_default(c, name);
	v->busy = false;
	return v;
}

const char *cfg_raw(struct cfg *c, const char *name)
{
	struct cfg_val *v = find_val(c, name);
	return v ? v->raw : NULL;
}

bool cfg_origin(struct cfg *c, const char *name, const char **file, int *line)
{
	struct cfg_val *v = ht_get(c->set, name);
	*file = v ? v->file : NULL;
	*line = v ? v->line : 0;
	return v != NULL;
}

bool cfg_is_set(struct cfg *c, const char *name)
{
	return ht_get(c->set, name) != NULL;
}

size_t cfg_count(const struct cfg *c)
{
	return c->norder;
}

const char *cfg_name_at(const struct cfg *c, size_t i)
{
	return i < c->norder ? c->order[i] : NULL;
}

/*
 * Expansion.  A small recursive-descent evaluator over the text; depth
 * counts nested evaluations (values of values, braced branches) so a
 * loop or a hostile nesting ends with an error rather than the stack.
 */
struct expander {
	struct cfg *c;
	void (*undef_cb)(void *, const char *);
	void *arg;
	char err[512];
	bool failed;
};

static void expand_into(struct expander *x, const char *s, size_t len,
                        struct strbuf *out, int depth);

static void ex_fail(struct expander *x, const char *fmt, const char *what)
{
	if (!x->failed)
		snprintf(x->err, sizeof(x->err), fmt, what);
	x->failed = true;
}

static void value_of(struct expander *x, const char *name, struct strbuf *out,
                     int depth)
{
	struct cfg_val *v = find_val(x->c, name);
	if (v == NULL) {
		if (x->undef_cb)
			x->undef_cb(x->arg, name);
		return;
	}
	if (v->expanded) {
		if (!sb_adds(out, v->expanded))
			ex_fail(x, "expanded value longer than limit at \"%s\"", name);
		return;
	}
	if (v->busy || depth > CFG_EXPAND_DEPTH) {
		ex_fail(x, "unreasonable macro call nesting: \"%s\"", name);
		return;
	}
	v->busy = true;
	expand_into(x, v->raw, strlen(v->raw), out, depth + 1);
	v->busy = false;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

/* p at '{' (or '('); returns the matching closer or NULL. */
static const char *match_close(const char *p, const char *end)
{
	char open = *p, close = open == '{' ? '}' : ')';
	int level = 0;
	for (; p < end; p++) {
		if (*p == open)
			level++;
		else if (*p == close && --level == 0)
			return p;
	}
	return NULL;
}

/* Parse "{text}" at *pp; on success set [*b, *e) to the inside. */
static bool braced(struct expander *x, const char **pp, const char *end,
                   const char **b, const char **e)
{
	const char *p = skip_ws(*pp, end);
	if (p >= end || *p != '{') {
		ex_fail(x, "\"{\" expected at: \"...%s\"", p < end ? p : "");
		return false;
	}
	const char *q = match_close(p, end);
	if (q == NULL) {
		ex_fail(x, "unbalanced \"{\" at: \"...%s\"", p);
		return false;
	}
	*b = p + 1;
	*e = q;
	*pp = skip_ws(q + 1, end);
	return true;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Compatibility levels: "major[.minor[.patch]]". */
static bool parse_level(const char *s, unsigned long v[3])
{
	v[0] = v[1] = v[2] = 0;
	for (int i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*s))
			return false;
		errno = 0;
		char *end;
		v[i] = strtoul(s, &end, 10);
		if (errno)
			return false;
		s = end;
		if (*s == '\0')
			return true;
		if (*s != '.')
			return false;
		s++;
	}
	return false;
}

static int compare_values(struct expander *x, const char *a, const char *b,
                          bool level)
{
	if (level) {
		unsigned long la[3], lb[3];
		if (!parse_level(a, la) || !parse_level(b, lb)) {
			ex_fail(x, "bad compatibility level in comparison: \"%s\"",
			        parse_level(a, la) ? b : a);
			return 0;
		}
		for (int i = 0; i < 3; i++)
			if (la[i] != lb[i])
				return la[i] < lb[i] ? -1 : 1;
		return 0;
	}
	if (all_digits(a) && all_digits(b)) {
		while (*a == '0' && a[1])
			a++;
		while (*b == '0' && b[1])
			b++;
		size_t na = strlen(a), nb = strlen(b);
		if (na != nb)
			return na < nb ? -1 : 1;
	}
	int r = strcmp(a, b);
	return r < 0 ? -1 : r > 0;
}

/* "${{a} op {b} ? {t} : {f}}": p..end is the text inside "${ }". */
static void relational(struct expander *x, const char *p, const char *end,
                       struct strbuf *out, int depth)
{
	static const struct {
		const char *op;
		int lt, eq, gt;
		bool level;
	} ops[] = {
		{"<=level", 1, 1, 0, true}, {">=level", 0, 1, 1, true},
		{"<level", 1, 0, 0, true},  {">level", 0, 0, 1, true},
		{"==", 0, 1, 0, false},     {"!=", 1, 0, 1, false},
		{"<=", 1, 1, 0, false},     {">=", 0, 1, 1, false},
		{"<", 1, 0, 0, false},      {">", 0, 0, 1, false},
	};
	const char *ab, *ae, *bb, *be, *tb, *te, *fb = NULL, *fe = NULL;
	size_t i;

	if (!braced(x, &p, end, &ab, &ae))
		return;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].op);
		if ((size_t)(end - p) >= n && strncmp(p, ops[i].op, n) == 0) {
			p += n;
			break;
		}
	}
	if (i == sizeof(ops) / sizeof(ops[0])) {
		ex_fail(x, "\"==\", \"!=\", \"<\", \"<=\", \">=\", \">\" or a "
		           "\"level\" operator expected at: \"...%s\"", p);
		return;
	}
	if (!braced(x, &p, end, &bb, &be))
		return;
	/* Without "? {t} : {f}" the result is "true" or empty. */
	static const char truth[] = "{true}";
	if (p == end) {
		tb = truth + 1;
		te = truth + sizeof(truth) - 2;
	} else if (*p != '?') {
		ex_fail(x, "\"?\" expected at: \"...%s\"", p);
		return;
	} else {
		p++;
		if (!braced(x, &p, end, &tb, &te))
			return;
	}
	if (p < end && *p == ':') {
		p++;
		if (!braced(x, &p, end, &fb, &fe))
			return;
	}
	if (p != end) {
		ex_fail(x, "unexpected input at: \"...%s\"", p);
		return;
	}
	struct strbuf a, b;
	sb_init(&a, CFG_VALUE_MAX);
	sb_init(&b, CFG_VALUE_MAX);
	expand_into(x, ab, (size_t)(ae - ab), &a, depth + 1);
	expand_into(x, bb, (size_t)(be - bb), &b, depth + 1);
	if (!x->failed) {
		int r = compare_values(x, a.s, b.s, ops[i].level);
		bool yes = r < 0 ? ops[i].lt : r == 0 ? ops[i].eq : ops[i].gt;
		if (yes)
			expand_into(x, tb, (size_t)(te - tb), out, depth + 1);
		else if (fb != NULL)
			expand_into(x, fb, (size_t)(fe - fb), out, depth + 1);
	}
	sb_free(&a);
	sb_free(&b);
}

/* The text of a "?" or ":" branch: "{text}" or the bare rest. */
static void branch(struct expander *x, const char *p, const char *end,
                   struct strbuf *out, int depth, bool braces_only_first,
                   bool take_first)
{
	const char *b, *e;
	p = skip_ws(p, end);
	if (p < end && *p == '{') {
		if (!braced(x, &p, end, &b, &e))
			return;
		const char *fb = NULL, *fe = NULL;
		if (braces_only_first && p < end && *p == ':') {
			p = skip_ws(p + 1, end);
			if (p < end && *p == '{') {
				if (!braced(x, &p, end, &fb, &fe))
					return;
			} else {
				fb = p;
				fe = end;
				p = end;
			}
		}
		if (p != end) {
			ex_fail(x, "unexpected input at: \"...%s\"", p);
			return;
		}
		if (take_first)
			expand_into(x, b, (size_t)(e - b), out, depth + 1);
		else if (fb != NULL)
			expand_into(x, fb, (size_t)(fe - fb), out, depth + 1);
		return;
	}
	if (take_first)
		expand_into(x, p, (size_t)(end - p), out, depth + 1);
}

/* Inside of "${...}" or "$(...)". */
static void braced_ref(struct expander *x, const char *p, const char *end,
                       struct strbuf *out, int depth)
{
	p = skip_ws(p, end);
	if (p < end && *p == '{') {
		relational(x, p, end, out, depth);
		return;
	}
	const char *nb = p;
	while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
		p++;
	size_t nlen = (size_t)(p - nb);
	if (nlen == 0 || nlen > CFG_NAME_MAX) {
		ex_fail(x, "empty or bad macro name at: \"...%s\"", nb);
		return;
	}
	char name[CFG_NAME_MAX + 1];
	memcpy(name, nb, nlen);
	name[nlen] = '\0';
	p = skip_ws(p, end);
	if (p == end) {
		value_of(x, name, out, depth);
		return;
	}
	if (*p != '?' && *p != ':') {
		ex_fail(x, "unexpected input at: \"...%s\"", p);
		return;
	}
	struct strbuf v;
	sb_init(&v, CFG_VALUE_MAX);
	value_of(x, name, &v, depth);
	bool nonempty = v.len > 0;
	sb_free(&v);
	if (*p == '?')
		branch(x, p + 1, end, out, depth, true, nonempty);
	else
		branch(x, p + 1, end, out, depth, false, !nonempty);
}

static void expand_into(struct expander *x, const char *s, size_t len,
                        struct strbuf *out, int depth)
{
	const char *p = s, *end = s + len;

	if (depth > CFG_EXPAND_DEPTH) {
		ex_fail(x, "unreasonable macro call nesting: \"%s\"", "");
		return;
	}
	while (p < end && !x->failed) {
		const char *dollar = memchr(p, '$', (size_t)(end - p));
		if (dollar == NULL) {
			if (!sb_add(out, p, (size_t)(end - p)))
				ex_fail(x, "%sexpanded value too long", "");
			return;
		}
		if (!sb_add(out, p, (size_t)(dollar - p))) {
			ex_fail(x, "%sexpanded value too long", "");
			return;
		}
		p = dollar + 1;
		if (p < end && *p == '$') {
			sb_addc(out, '$');
			p++;
		} else if (p < end && (*p == '{' || *p == '(')) {
			const char *q = match_close(p, end);
			if (q == NULL) {
				ex_fail(x, "truncated macro reference: \"%s\"", dollar);
				return;
			}
			braced_ref(x, p + 1, q, out, depth);
			p = q + 1;
		} else {
			const char *nb = p;
			while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
				p++;
			size_t nlen = (size_t)(p - nb);
			if (nlen == 0 || nlen > CFG_NAME_MAX) {
				ex_fail(x, "empty macro name: \"%s\"", dollar);
				return;
			}
			char name[CFG_NAME_MAX + 1];
			memcpy(name, nb, nlen);
			name[nlen] = '\0';
			value_of(x, name, out, depth);
		}
	}
}

char *cfg_expand(struct cfg *c, const char *text,
                 void (*undef_cb)(void *, const char *), void *arg,
                 char *err, size_t errlen)
{
	struct expander x = {.c = c, .undef_cb = undef_cb, .arg = arg};
	struct strbuf out;
	sb_init(&out, CFG_VALUE_MAX);
	expand_into(&x, text, strlen(text), &out, 0);
	if (errlen > 0)
		snprintf(err, errlen, "%s", x.failed ? x.err : "");
	return sb_steal(&out);
}

const char *cfg_get(struct cfg *c, const char *name)
{
	struct cfg_val *v = find_val(c, name);
	if (v == NULL)
		return "";
	if (v->expanded)
		return v->expanded;
	if (v->busy) /* asked for while computing itself: a loop */
		return "";
	struct expander x = {.c = c};
	struct strbuf out;
	sb_init(&out, CFG_VALUE_MAX);
	v->busy = true;
	expand_into(&x, v->raw, strlen(v->raw), &out, 0);
	v->busy = false;
	if (x.failed && !v->reported) {
		v->reported = true;
		diag_report(c->diag, v->file ? v->file : c->path, v->line,
		            DIAG_ERROR, "%s: %s", name, x.err);
	}
	v->expanded = sb_steal(&out);
	return v->expanded;
}

bool cfg_parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0) {
		*out = true;
		return true;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0) {
		*out = false;
		return true;
	}
	return false;
}

bool cfg_parse_long(const char *s, long *out)
{
	char *end;
	errno = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s) && *s != '-')
		return false;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0')
		return false;
	*out = v;
	return true;
}

bool cfg_parse_time(const char *s, char defunit, long *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return false;
	long v = strtol(s, &end, 10);
	if (errno || end == s)
		return false;
	char unit = *end ? *end : defunit;
	if (*end && end[1] != '\0')
		return false;
	long mult;
	switch (unit) {
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 604800; break;
	default: return false;
	}
	if (v > LONG_MAX / mult)
		return false;
	*out = v * mult;
	return true;
}

bool cfg_get_bool(struct cfg *c, const char *name)
{
	bool b = false;
	if (!cfg_parse_bool(cfg_get(c, name), &b))
		diag_report(c->diag, NULL, 0, DIAG_ERROR,
		            "bad boolean value for %s: \"%s\"", name, cfg_get(c, name));
	return b;
}

long cfg_get_long(struct cfg *c, const char *name)
{
	long v = 0;
	if (!cfg_parse_long(cfg_get(c, name), &v))
		diag_report(c->diag, NULL, 0, DIAG_ERROR,
		            "bad numerical value for %s: \"%s\"", name, cfg_get(c, name));
	return v;
}

char cfg_time_unit(struct cfg *c, const char *name)
{
	const struct cfg_param *p = cfg_param_find(name);
	if (p == NULL || p->defval == NULL)
		return 's';
	/* Expand the default on its own: main.cf must not change units. */
	struct cfg *d = cfg_new(c->dir, NULL);
	const char *dv = cfg_get(d, name);
	size_t n = strlen(dv);
	char unit = n && isalpha((unsigned char)dv[n - 1]) ? dv[n - 1] : 's';
	cfg_free(d);
	return unit;
}

long cfg_get_time(struct cfg *c, const char *name)
{
	long v = 0;
	if (!cfg_parse_time(cfg_get(c, name), cfg_time_unit(c, name), &v))
		diag_report(c->diag, NULL, 0, DIAG_ERROR,
		            "bad time value for %s: \"%s\"", name, cfg_get(c, name));
	return v;
}
