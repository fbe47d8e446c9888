/*
 * map_texthash.c - texthash: tables, a postmap(1) source file read into
 * memory when the table is opened, with no .db to build.  Runs in any
 * process that opens such a table (usually before privileges are
 * dropped).  The source file is untrusted text, parsed by mapsrc with
 * its line and length limits; the entry count is capped by
 * MAP_MEM_ENTRIES_MAX so a huge file fails to open instead of eating
 * memory.  Key folding and duplicate handling follow hash: as built by
 * postmap: keys folded unless opened without MAP_F_FOLD, the first of
 * duplicate keys wins with a warning naming file and line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "bounds.h"
#include "log.h"
#include "map_texthash.h"
#include "mapsrc.h"
#include "xalloc.h"

struct th_entry {
	char *key;
	char *value;
	struct th_entry *next;  /* hash chain */
	struct th_entry *order; /* file order, for seq */
};

struct thmap {
	struct map m;
	struct th_entry **bucket;
	size_t nbucket;
	size_t count;
	struct th_entry *head, *tail, *cursor;
};

static size_t th_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static struct th_entry *th_find(struct thmap *t, const char *key)
{
	for (struct th_entry *e = t->bucket[th_hash(key) % t->nbucket]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void th_grow(struct thmap *t)
{
	size_t n;
	if (!size_mul(t->nbucket, 2, &n))
		log_fatal("texthash table too large");
	struct th_entry **b = xcalloc(n, sizeof(*b));
	for (struct th_entry *e = t->head; e; e = e->order) {
		size_t i = th_hash(e->key) % n;
		e->next = b[i];
		b[i] = e;
	}
	free(t->bucket);
	t->bucket = b;
	t->nbucket = n;
}

static void th_close(struct map *m)
{
	struct thmap *t = (struct thmap *)m;
	struct th_entry *e = t->head;
	while (e != NULL) {
		struct th_entry *n = e->order;
		free(e->key);
		free(e->value);
		free(e);
		e = n;
	}
	free(t->bucket);
	map_free(m);
}

static struct map *th_open(const char *name, int flags, char *err, size_t errlen)
{
	if (!(flags & MAP_F_NOFOLD))
		flags |= MAP_F_FOLD;
	if ((flags & (MAP_F_DUP_WARN | MAP_F_DUP_IGNORE | MAP_F_DUP_REPLACE)) == 0)
		flags |= MAP_F_DUP_WARN;
	FILE *fp = fopen(name, "re");
	if (fp == NULL) {
		snprintf(err, errlen, "open %s: %s", name, strerror(errno));
		return NULL;
	}
	struct thmap *t = map_alloc(sizeof(*t), &map_texthash_ops, name, flags);
	t->nbucket = 64;
	t->bucket = xcalloc(t->nbucket, sizeof(*t->bucket));

	struct mapsrc src;
	const char *key, *value;
	struct strbuf folded;
	int r;
	bool ok = true;
	sb_init(&folded, MAP_KEY_MAX + 1);
	mapsrc_init(&src, fp, name, MAPSRC_POSTMAP);
	while ((r = mapsrc_next(&src, &key, &value)) != MAPSRC_EOF) {
		if (r == MAPSRC_SKIP) {
			log_warn("%s", src.err);
			continue;
		}
		if (r == MAPSRC_FAIL) {
			snprintf(err, errlen, "%s", src.err);
			ok = false;
			break;
		}
		if (flags & MAP_F_FOLD) {
			sb_reset(&folded);
			for (const char *p = key; *p; p++)
				sb_addc(&folded, (char)tolower((unsigned char)*p));
			key = folded.s;
		}
		struct th_entry *e = th_find(t, key);
		if (e != NULL) {
			if (flags & MAP_F_DUP_REPLACE) {
				free(e->value);
				e->value = xstrdup(value);
			} else if (!(flags & MAP_F_DUP_IGNORE)) {
				log_warn("%s:%d: duplicate entry: \"%s\"", name, src.line, key);
			}
			continue;
		}
		if (t->count >= MAP_MEM_ENTRIES_MAX) {
			snprintf(err, errlen, "%s:%d: more than %d entries", name,
			         src.line, MAP_MEM_ENTRIES_MAX);
			ok = false;
			break;
		}
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		e->value = xstrdup(value);
		if (t->tail)
			t->tail->order = e;
		else
			t->head = e;
		t->tail = e;
		t->count++;
		if (t->count > t->nbucket)
			th_grow(t);
		else {
			size_t i = th_hash(e->key) % t->nbucket;
			e->next = t->bucket[i];
			t->bucket[i] = e;
		}
	}
	mapsrc_free(&src);
	sb_free(&folded);
	fclose(fp);
	if (!ok) {
		th_close(&t->m);
		return NULL;
	}
	return &t->m;
}

static int th_lookup(struct map *m, const char *key, const char **value)
{
	struct th_entry *e = th_find((struct thmap *)m, key);
	if (e == NULL)
		return MAP_NOTFOUND;
	*value = e->value;
	return MAP_FOUND;
}

static int th_seq(struct map *m, bool first, const char **key, const char **value)
{
	struct thmap *t = (struct thmap *)m;
	t->cursor = first ? t->head : t->cursor ? t->cursor->order : NULL;
	if (t->cursor == NULL)
		return MAP_NOTFOUND;
	*key = t->cursor->key;
	*value = t->cursor->value;
	return MAP_FOUND;
}

const struct map_ops map_texthash_ops = {
	.type = "texthash",
	.props = MAP_P_FIXED | MAP_P_FILE | MAP_P_FOLD,
	.open = th_open,
	.lookup = th_lookup,
	.seq = th_seq,
	.close = th_close,
};
