/*
 * map.c - the map registry and the type-independent half of every
 * lookup: spec parsing ("type:name"), key folding, error text.
 * A new map type is one file plus one line in map_types[].
 */
#include "map.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "log.h"
#include "strlist.h"
#include "xalloc.h"

extern const struct map_ops map_hash_ops, map_btree_ops, map_texthash_ops,
	map_regexp_ops, map_regex_ops, map_pcre_ops, map_cidr_ops,
	map_static_ops, map_inline_ops, map_unionmap_ops, map_pipemap_ops,
	map_fail_ops, map_unix_ops, map_proxy_ops;

static const struct map_ops *const map_types[] = {
	&map_btree_ops,   &map_cidr_ops,    &map_fail_ops,    &map_hash_ops,
	&map_inline_ops,  &map_pcre_ops,    &map_pipemap_ops, &map_proxy_ops,
	&map_regexp_ops,  &map_regex_ops,   &map_static_ops,  &map_texthash_ops,
	&map_unionmap_ops, &map_unix_ops,
};
#define N_TYPES (sizeof(map_types) / sizeof(map_types[0]))

const struct map_ops *map_type_find(const char *type)
{
	for (size_t i = 0; i < N_TYPES; i++)
		if (strcmp(map_types[i]->type, type) == 0)
			return map_types[i];
	return NULL;
}

const char *const *map_type_names(void)
{
	static const char *names[N_TYPES + 1];
	for (size_t i = 0; i < N_TYPES; i++)
		names[i] = map_types[i]->type;
	names[N_TYPES] = NULL;
	return names;
}

struct map *map_open(const char *spec, int flags, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	char type[64];

	if (colon == NULL || colon == spec) {
		snprintf(err, errlen, "need \"type:name\" instead of \"%s\"", spec);
		return NULL;
	}
	if ((size_t)(colon - spec) >= sizeof(type)) {
		snprintf(err, errlen, "map type too long in \"%.80s\"", spec);
		return NULL;
	}
	memcpy(type, spec, (size_t)(colon - spec));
	type[colon - spec] = '\0';
	const struct map_ops *ops = map_type_find(type);
	if (ops == NULL) {
		snprintf(err, errlen, "unsupported dictionary type: %s", type);
		return NULL;
	}
	const char *name = colon + 1;
	if (*name == '\0' && !(ops->props & MAP_P_PATTERN) &&
	    strcmp(type, "static") != 0 && strcmp(type, "fail") != 0) {
		snprintf(err, errlen, "%s: missing table name", spec);
		return NULL;
	}
	if ((flags & (MAP_F_WRITE | MAP_F_CREATE)) && !(ops->props & MAP_P_UPDATE)) {
		snprintf(err, errlen, "%s:%s map is not allowed for write access",
		         type, name);
		return NULL;
	}
	return ops->open(name, flags, err, errlen);
}

int map_lookup(struct map *m, const char *key, const char **value)
{
	size_t len = strlen(key);
	if (len > MAP_KEY_MAX) /* no such key can have been stored */
		return MAP_NOTFOUND;
	if (m->flags & MAP_F_FOLD) {
		sb_reset(&m->fold);
		for (size_t i = 0; i < len; i++)
			sb_addc(&m->fold, (char)tolower((unsigned char)key[i]));
		key = m->fold.s;
	}
	return m->ops->lookup(m, key, value);
}

static const char *fold_key(struct map *m, const char *key)
{
	if (!(m->flags & MAP_F_FOLD))
		return key;
	sb_reset(&m->fold);
	for (const char *p = key; *p; p++)
		sb_addc(&m->fold, (char)tolower((unsigned char)*p));
	return m->fold.s;
}

int map_update(struct map *m, const char *key, const char *value)
{
	if (m->ops->update == NULL)
		return map_set_err(m, "%s: update is not supported", m->spec);
	return m->ops->update(m, fold_key(m, key), value);
}

int map_delete(struct map *m, const char *key)
{
	if (m->ops->del == NULL)
		return map_set_err(m, "%s: delete is not supported", m->spec);
	return m->ops->del(m, fold_key(m, key));
}

int map_seq(struct map *m, bool first, const char **key, const char **value)
{
	if (m->ops->seq == NULL)
		return map_set_err(m, "%s: sequential access is not supported",
		                   m->spec);
	return m->ops->seq(m, first, key, value);
}

int map_sync(struct map *m)
{
	return m->ops->sync ? m->ops->sync(m) : 0;
}

void map_close(struct map *m)
{
	if (m != NULL)
		m->ops->close(m);
}

void *map_alloc(size_t size, const struct map_ops *ops, const char *name, int flags)
{
	struct map *m = xcalloc(1, size);
	m->ops = ops;
	m->type = xstrdup(ops->type);
	m->name = xstrdup(name);
	size_t tl = strlen(ops->type), nl = strlen(name), total;
	if (!size_add(tl, nl, &total) || !size_add(total, 2, &total))
		log_fatal("map name too long");
	m->spec = xmalloc(total);
	snprintf(m->spec, total, "%s:%s", ops->type, name);
	m->flags = flags;
	sb_init(&m->fold, MAP_KEY_MAX + 1);
	return m;
}

void map_free(struct map *m)
{
	free(m->type);
	free(m->name);
	free(m->spec);
	sb_free(&m->fold);
	free(m);
}

int map_set_err(struct map *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return MAP_ERROR;
}

int map_split_braces(const char *name, char ***items, char *err, size_t errlen)
{
	size_t len = strlen(name);
	if (len < 2 || name[0] != '{' || name[len - 1] != '}') {
		snprintf(err, errlen, "need \"{ ... }\" instead of \"%.80s\"", name);
		return -1;
	}
	char *inner = xstrdup(name);
	if (strlist_unbrace(inner) == NULL) {
		snprintf(err, errlen, "unbalanced braces in \"%.80s\"", name);
		free(inner);
		return -1;
	}
	int n = strlist_split(inner, NULL, MAP_SPEC_ITEMS_MAX, items, err, errlen);
	free(inner);
	return n;
}
