/*
 * map_simple.c - map types that need no file: static:, inline:{...},
 * unionmap:{...}, pipemap:{...} and fail:.
 *
 * Runs in every process that opens maps (smtpd, qmgr, local, smtp, the
 * postern command).  The spec text comes from main.cf, master.cf -o
 * values or the command line: trusted by origin but parsed with bounds
 * (item counts, nesting depth, key and value lengths), because a typo
 * must give an error, not a crash.  Lookup keys are untrusted (SMTP
 * envelope data) and are only compared, never parsed.
 *
 * Behaviour follows Postfix 3.7 as observed with postmap -q:
 * - inline: keys are folded to lower case unless the caller asked for
 *   no folding; a later duplicate key replaces an earlier one; an entry
 *   "{ key = value }" keeps commas and spaces in the value.
 * - unionmap: joins the results of all components with ",", skipping
 *   the comma while the result is still empty; an empty joined result
 *   is "not found".  Any component error is an error.
 * - pipemap: the whole result of one component is the key for the
 *   next (results are not split at commas).
 */
#include "map_simple.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "log.h"
#include "strbuf.h"
#include "strlist.h"
#include "xalloc.h"

/* Text of a "{ ... }" spec with the outer braces removed, or NULL. */
static char *unbrace_spec(const char *name, const char *type, const char *need,
                          char *err, size_t errlen)
{
	size_t len = strlen(name);
	if (len < 2 || name[0] != '{' || name[len - 1] != '}') {
		snprintf(err, errlen, "bad syntax: \"%s:%.200s\"; need \"%s:%s\"",
		         type, name, type, need);
		return NULL;
	}
	char *inner = xstrdup(name);
	if (strlist_unbrace(inner) == NULL) {
		snprintf(err, errlen, "bad syntax: \"%s:%.200s\"; need \"%s:%s\"",
		         type, name, type, need);
		free(inner);
		return NULL;
	}
	return inner;
}

/* ---- static: ---- */

struct map_static {
	struct map m;
	char *value;
};

static struct map *static_open(const char *name, int flags, char *err, size_t errlen)
{
	char *value;

	if (*name == '\0') {
		snprintf(err, errlen, "static: missing value; need \"static:value\"");
		return NULL;
	}
	value = xstrdup(name);
	if (value[0] == '{' && strlist_unbrace(value) == NULL) {
		snprintf(err, errlen, "bad static:name syntax: unbalanced or "
		         "trailing text after braces in \"%.200s\"", name);
		free(value);
		return NULL;
	}
	if (strlen(value) > MAP_VALUE_MAX) {
		snprintf(err, errlen, "static: value longer than %d bytes",
		         MAP_VALUE_MAX);
		free(value);
		return NULL;
	}
	/* Every key gives the same answer, so folding would be wasted work. */
	struct map_static *s = map_alloc(sizeof(*s), &map_static_ops, name,
	                                 flags & ~MAP_F_FOLD);
	s->value = value;
	return &s->m;
}

static int static_lookup(struct map *m, const char *key, const char **value)
{
	(void)key;
	*value = ((struct map_static *)m)->value;
	return MAP_FOUND;
}

static void static_close(struct map *m)
{
	free(((struct map_static *)m)->value);
	map_free(m);
}

const struct map_ops map_static_ops = {
	.type = "static",
	.props = MAP_P_FIXED,
	.open = static_open,
	.lookup = static_lookup,
	.close = static_close,
};

/* ---- fail: ---- */

static struct map *fail_open(const char *name, int flags, char *err, size_t errlen)
{
	if (*name == '\0') {
		snprintf(err, errlen, "fail: missing name; need \"fail:name\"");
		return NULL;
	}
	return map_alloc(sizeof(struct map), &map_fail_ops, name, flags & ~MAP_F_FOLD);
}

static int fail_lookup(struct map *m, const char *key, const char **value)
{
	(void)key;
	*value = NULL;
	return map_set_err(m, "table %s: lookup failed (fail: table)", m->spec);
}

const struct map_ops map_fail_ops = {
	.type = "fail",
	.props = 0,
	.open = fail_open,
	.lookup = fail_lookup,
	.close = map_free,
};

/* ---- inline: ---- */

struct inline_entry {
	char *key;
	char *value;
	size_t order; /* position in the spec: the later duplicate wins */
};

struct map_inline {
	struct map m;
	struct inline_entry *ent; /* sorted by key, duplicates removed */
	size_t n;
	size_t seq_pos;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct inline_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void inline_free_entries(struct inline_entry *ent, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ent[i].key);
		free(ent[i].value);
	}
	free(ent);
}

/*
 * Parse one "key=value" item (braces already removed).  The key ends at
 * white space or '='; only white space may sit between it and the '='.
 */
static bool inline_item(const char *item, bool fold, struct inline_entry *e,
                        char *err, size_t errlen)
{
	const char *p = item, *k, *v;
	size_t klen, vlen;

	while (isspace((unsigned char)*p))
		p++;
	k = p;
	while (*p && *p != '=' && !isspace((unsigned char)*p))
		p++;
	klen = (size_t)(p - k);
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '=') {
		snprintf(err, errlen, "missing '=' after attribute name in "
		         "\"%.200s\"; need \"inline:{name=value...}\"", item);
		return false;
	}
	p++;
	while (isspace((unsigned char)*p))
		p++;
	v = p;
	vlen = strlen(v);
	while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	if (klen > MAP_KEY_MAX || vlen > MAP_VALUE_MAX) {
		snprintf(err, errlen, "inline: key or value too long in \"%.80s...\"",
		         item);
		return false;
	}
	e->key = xstrndup(k, klen);
	if (fold)
		for (char *c = e->key; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	e->value = xstrndup(v, vlen);
	return true;
}

static struct map *inline_open(const char *name, int flags, char *err, size_t errlen)
{
	const char *need = "{name=value...}";
	char **items = NULL;
	struct inline_entry *ent;
	size_t n, out;
	int cnt;

	if (!(flags & MAP_F_NOFOLD))
		flags |= MAP_F_FOLD;
	char *inner = unbrace_spec(name, "inline", need, err, errlen);
	if (inner == NULL)
		return NULL;
	cnt = strlist_split(inner, NULL, MAP_MEM_ENTRIES_MAX, &items, err, errlen);
	free(inner);
	if (cnt < 0)
		return NULL;
	if (cnt == 0) {
		snprintf(err, errlen, "empty table: \"inline:%.200s\"; need "
		         "\"inline:%s\"", name, need);
		strlist_free(items);
		return NULL;
	}
	n = (size_t)cnt;
	ent = xcalloc(n, sizeof(*ent));
	for (size_t i = 0; i < n; i++) {
		ent[i].order = i;
		if (!inline_item(items[i], (flags & MAP_F_FOLD) != 0, &ent[i],
		                 err, errlen)) {
			inline_free_entries(ent, i);
			strlist_free(items);
			return NULL;
		}
	}
	strlist_free(items);
	qsort(ent, n, sizeof(*ent), entry_cmp);
	/* Keep the last of each run of equal keys. */
	out = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && strcmp(ent[i].key, ent[i + 1].key) == 0) {
			free(ent[i].key);
			free(ent[i].value);
			continue;
		}
		ent[out++] = ent[i];
	}
	for (size_t i = 0; i < out; i++)
		if (ent[i].value[0] == '\0')
			log_warn("table inline:%.200s: key %.200s: empty string "
			         "result", name, ent[i].key);

	struct map_inline *t = map_alloc(sizeof(*t), &map_inline_ops, name, flags);
	t->ent = ent;
	t->n = out;
	return &t->m;
}

static int inline_lookup(struct map *m, const char *key, const char **value)
{
	struct map_inline *t = (struct map_inline *)m;
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, t->ent[mid].key);
		if (c == 0) {
			*value = t->ent[mid].value;
			return MAP_FOUND;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return MAP_NOTFOUND;
}

static int inline_seq(struct map *m, bool first, const char **key, const char **value)
{
	struct map_inline *t = (struct map_inline *)m;
	if (first)
		t->seq_pos = 0;
	if (t->seq_pos >= t->n)
		return MAP_NOTFOUND;
	*key = t->ent[t->seq_pos].key;
	*value = t->ent[t->seq_pos].value;
	t->seq_pos++;
	return MAP_FOUND;
}

static void inline_close(struct map *m)
{
	struct map_inline *t = (struct map_inline *)m;
	inline_free_entries(t->ent, t->n);
	map_free(m);
}

const struct map_ops map_inline_ops = {
	.type = "inline",
	.props = MAP_P_FIXED | MAP_P_FOLD,
	.open = inline_open,
	.lookup = inline_lookup,
	.seq = inline_seq,
	.close = inline_close,
};

/* ---- unionmap: and pipemap: ---- */

struct map_multi {
	struct map m;
	struct map **sub;
	size_t n;
	struct strbuf result; /* unionmap's joined answer */
};

/* Composite specs open their components through map_open(), which may
 * come back here; this counts the levels so a deep spec is an error. */
static int multi_depth;

static struct map *multi_open(const struct map_ops *ops, const char *name,
                              int flags, char *err, size_t errlen)
{
	const char *need = "{type:name...}";
	struct map **sub = NULL;
	size_t n = 0;
	char *bp, *tok;
	int bad = 0;

	char *inner = unbrace_spec(name, ops->type, need, err, errlen);
	if (inner == NULL)
		return NULL;
	if (multi_depth >= MAP_SPEC_DEPTH) {
		snprintf(err, errlen, "%s: map specs nested deeper than %d levels",
		         ops->type, MAP_SPEC_DEPTH);
		free(inner);
		return NULL;
	}
	sub = xcalloc(MAP_SPEC_ITEMS_MAX, sizeof(*sub));
	multi_depth++;
	/*
	 * Items keep their braces: "{static:x y}" names no map type, which
	 * Postfix also rejects, while "static:{x y}" is one item.
	 */
	bp = inner;
	while ((tok = strlist_token(&bp, NULL, &bad)) != NULL) {
		if (n >= MAP_SPEC_ITEMS_MAX) {
			snprintf(err, errlen, "%s: more than %d tables", ops->type,
			         MAP_SPEC_ITEMS_MAX);
			goto fail;
		}
		if (strchr(tok, ':') == NULL) {
			snprintf(err, errlen, "bad syntax: \"%s:%.200s\"; need "
			         "\"%s:%s\"", ops->type, name, ops->type, need);
			goto fail;
		}
		sub[n] = map_open(tok, flags, err, errlen);
		if (sub[n] == NULL)
			goto fail;
		n++;
	}
	if (bad) {
		snprintf(err, errlen, "%s: unbalanced '{' or '}' in \"%.200s\"",
		         ops->type, name);
		goto fail;
	}
	if (n == 0) {
		snprintf(err, errlen, "bad syntax: \"%s:%.200s\"; need \"%s:%s\"",
		         ops->type, name, ops->type, need);
		goto fail;
	}
	multi_depth--;
	free(inner);
	/* Components fold (or not) by their own rules; the pipe's
	 * intermediate keys must reach each one unchanged. */
	struct map_multi *mm = map_alloc(sizeof(*mm), ops, name, flags & ~MAP_F_FOLD);
	mm->sub = sub;
	mm->n = n;
	sb_init(&mm->result, MAP_VALUE_MAX);
	return &mm->m;
fail:
	multi_depth--;
	for (size_t i = 0; i < n; i++)
		map_close(sub[i]);
	free(sub);
	free(inner);
	return NULL;
}

static struct map *unionmap_open(const char *name, int flags, char *err, size_t errlen)
{
	return multi_open(&map_unionmap_ops, name, flags, err, errlen);
}

static struct map *pipemap_open(const char *name, int flags, char *err, size_t errlen)
{
	return multi_open(&map_pipemap_ops, name, flags, err, errlen);
}

static int unionmap_lookup(struct map *m, const char *key, const char **value)
{
	struct map_multi *mm = (struct map_multi *)m;
	const char *v;

	sb_reset(&mm->result);
	for (size_t i = 0; i < mm->n; i++) {
		int r = map_lookup(mm->sub[i], key, &v);
		if (r == MAP_ERROR)
			return map_set_err(m, "%s", mm->sub[i]->err);
		if (r != MAP_FOUND)
			continue;
		if ((mm->result.len > 0 && !sb_addc(&mm->result, ',')) ||
		    !sb_adds(&mm->result, v))
			return map_set_err(m, "table %.200s: result longer than %d "
			                   "bytes", m->spec, MAP_VALUE_MAX);
	}
	if (mm->result.len == 0)
		return MAP_NOTFOUND;
	*value = mm->result.s;
	return MAP_FOUND;
}

static int pipemap_lookup(struct map *m, const char *key, const char **value)
{
	struct map_multi *mm = (struct map_multi *)m;
	const char *cur = key;

	for (size_t i = 0; i < mm->n; i++) {
		const char *v;
		int r = map_lookup(mm->sub[i], cur, &v);
		if (r == MAP_ERROR)
			return map_set_err(m, "%s", mm->sub[i]->err);
		if (r != MAP_FOUND)
			return MAP_NOTFOUND;
		cur = v;
	}
	*value = cur;
	return MAP_FOUND;
}

static void multi_close(struct map *m)
{
	struct map_multi *mm = (struct map_multi *)m;
	for (size_t i = 0; i < mm->n; i++)
		map_close(mm->sub[i]);
	free(mm->sub);
	sb_free(&mm->result);
	map_free(m);
}

const struct map_ops map_unionmap_ops = {
	.type = "unionmap",
	.props = 0, /* per instance: see map_simple_props() */
	.open = unionmap_open,
	.lookup = unionmap_lookup,
	.close = multi_close,
};

const struct map_ops map_pipemap_ops = {
	.type = "pipemap",
	.props = 0,
	.open = pipemap_open,
	.lookup = pipemap_lookup,
	.close = multi_close,
};

int map_simple_props(const struct map *m)
{
	if (m->ops != &map_unionmap_ops && m->ops != &map_pipemap_ops)
		return m->ops->props;
	const struct map_multi *mm = (const struct map_multi *)m;
	int props = 0;
	for (size_t i = 0; i < mm->n; i++)
		props |= map_simple_props(mm->sub[i]) & (MAP_P_FIXED | MAP_P_PATTERN);
	return props;
}
