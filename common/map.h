/*
 * map.h - the lookup-table interface.  Every map type (hash, btree,
 * texthash, regexp, pcre, cidr, static, inline, unionmap, pipemap, fail)
 * is one backend behind struct map_ops, registered in map.c.  Callers
 * open a map by its Postfix spec ("type:name") and look keys up; the
 * backend owns the parsing of its source, which is untrusted input.
 */
#ifndef POSTERN_MAP_H
#define POSTERN_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* Lookup results. */
enum map_status {
	MAP_NOTFOUND = 0,
	MAP_FOUND = 1,
	MAP_ERROR = -1, /* temporary failure: callers answer 4xx / defer */
};

/* Flags for map_open() and struct map.flags. */
#define MAP_F_FOLD      0x0001 /* fold lookup keys to lower case */
#define MAP_F_TRY0NULL  0x0002 /* db keys/values stored without a trailing NUL */
#define MAP_F_TRY1NULL  0x0004 /* db keys/values stored with a trailing NUL */
#define MAP_F_WRITE     0x0008 /* open for update (postmap -i/-d/-w/-r) */
#define MAP_F_CREATE    0x0010 /* create/truncate (postmap building) */
/*
 * Duplicate keys on update (postmap(1)): default MAP_F_DUP_WARN warns
 * and keeps the first value; -w (MAP_F_DUP_IGNORE) keeps the first
 * silently; -r (MAP_F_DUP_REPLACE) replaces silently.
 */
#define MAP_F_DUP_WARN  0x0020
#define MAP_F_DUP_IGNORE 0x0040
#define MAP_F_DUP_REPLACE 0x0080
/*
 * Fixed-string types (hash, btree, texthash, inline) fold keys to lower
 * case unless the caller passes MAP_F_NOFOLD (postmap -f).
 */
#define MAP_F_NOFOLD    0x0100

/* Properties of a map type (struct map_ops.props). */
#define MAP_P_FIXED   0x01 /* exact-string keys: partial lookups make sense */
#define MAP_P_PATTERN 0x02 /* matches whole strings by pattern */
#define MAP_P_FILE    0x04 /* name is a file path */
#define MAP_P_DB      0x08 /* indexed file built with postmap: name.db */
#define MAP_P_UPDATE  0x10 /* supports update/delete */
#define MAP_P_FOLD    0x20 /* keys folded to lower case by default */

struct map;

struct map_ops {
	const char *type;
	int props;
	/*
	 * Open name (the text after "type:").  On failure return NULL and
	 * write a one-line reason (naming the file and line where there is
	 * one) into err.
	 */
	struct map *(*open)(const char *name, int flags, char *err, size_t errlen);
	/* MAP_FOUND with *value pointing into map-owned storage valid until
	 * the next call on this map; MAP_NOTFOUND; MAP_ERROR (set m->err). */
	int (*lookup)(struct map *m, const char *key, const char **value);
	/* Optional (NULL when not MAP_P_UPDATE).  Return 0 stored, 1 the key
	 * existed (handled per the MAP_F_DUP_* flags; a warning for
	 * DUP_WARN is the backend's to log), or -1 with m->err set. */
	int (*update)(struct map *m, const char *key, const char *value);
	/* MAP_FOUND deleted, MAP_NOTFOUND, MAP_ERROR. */
	int (*del)(struct map *m, const char *key);
	/* Iterate: first=true restarts.  MAP_FOUND / MAP_NOTFOUND (end) /
	 * MAP_ERROR.  Optional. */
	int (*seq)(struct map *m, bool first, const char **key, const char **value);
	/* Make updates durable (fsync where it applies). Optional. */
	int (*sync)(struct map *m);
	void (*close)(struct map *m);
};

/*
 * Common head of every open map; a backend allocates a larger struct
 * that starts with this one.
 */
struct map {
	const struct map_ops *ops;
	char *type;         /* "hash" */
	char *name;         /* "/etc/postfix/access" */
	char *spec;         /* "hash:/etc/postfix/access" */
	int flags;          /* MAP_F_* */
	struct strbuf fold; /* scratch for folded keys */
	char err[512];      /* last error text */
};

/* Registry. */
const struct map_ops *map_type_find(const char *type);
/* Names of all registered types, for postern conf -m. */
const char *const *map_type_names(void);

/*
 * Open "type:name".  For inline:{...}, unionmap:{...}, pipemap:{...}
 * and static:{...} the name includes the braces.  Returns NULL and a
 * reason in err on failure.  Default flags for readers: pass 0 and the
 * backend picks the type's defaults (e.g. TRY0NULL|TRY1NULL|FOLD).
 */
struct map *map_open(const char *spec, int flags, char *err, size_t errlen);
/* Lookup with the map's key folding applied. */
int map_lookup(struct map *m, const char *key, const char **value);
int map_update(struct map *m, const char *key, const char *value);
int map_delete(struct map *m, const char *key);
int map_seq(struct map *m, bool first, const char **key, const char **value);
int map_sync(struct map *m);
void map_close(struct map *m);

/* Backend helpers. */
/* Allocate size bytes (>= sizeof(struct map)), zeroed, head filled in. */
void *map_alloc(size_t size, const struct map_ops *ops, const char *name, int flags);
/* Free the head's fields and the struct itself. */
void map_free(struct map *m);
/* Set m->err; returns MAP_ERROR for convenience. */
int map_set_err(struct map *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * For inline:, unionmap:, pipemap: and static:{...}: the name must be
 * "{ ... }"; split its inside with strlist_split() (comma/space
 * separated, braces group).  Returns the count or -1 with err set.
 */
int map_split_braces(const char *name, char ***items, char *err, size_t errlen);

#endif
