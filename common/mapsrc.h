/*
 * mapsrc.h - the one parser for lookup-table source text: postmap(1)
 * input ("key whitespace value") and aliases(5) input ("name: value,
 * value").  Shared by the hash/btree builder (postern map, postern
 * alias) and by texthash:, which reads the same format at open time.
 */
#ifndef POSTERN_MAPSRC_H
#define POSTERN_MAPSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lreader.h"
#include "strbuf.h"

enum mapsrc_kind { MAPSRC_POSTMAP, MAPSRC_ALIASES };

enum mapsrc_result {
	MAPSRC_FAIL = -1,  /* input we refuse (over a limit, NUL, I/O): stop */
	MAPSRC_EOF = 0,
	MAPSRC_ENTRY = 1,  /* key and value set */
	MAPSRC_SKIP = 2,   /* malformed line that postmap/postalias skip
	                      with a warning: warn with err, go on */
};

/*
 * Parse one logical postmap line in place.  On MAPSRC_ENTRY *key and
 * *value point into line.  The key is the first token; double quotes
 * group white space into it and a backslash protects the next byte,
 * both kept verbatim as postmap keeps them.
 */
int mapsrc_parse_line(char *line, char **key, char **value, char *err,
                      size_t errlen);

/*
 * Parse one logical aliases(5) line.  The name is unquoted into key;
 * the value is rewritten into value in the normalized form postalias
 * stores (addresses separated by ", ", white space runs collapsed).
 * Both buffers are reset first; their limits bound the output.
 */
int mapsrc_parse_alias(const char *line, struct strbuf *key,
                       struct strbuf *value, char *err, size_t errlen);

/* A reader of a whole source file, one entry at a time. */
struct mapsrc {
	struct lreader lr;
	enum mapsrc_kind kind;
	const char *name;
	int line;            /* first line of the entry or problem */
	struct strbuf key;
	struct strbuf value;
	char err[512];       /* "file:line: text" after SKIP or FAIL */
};

void mapsrc_init(struct mapsrc *s, FILE *fp, const char *name,
                 enum mapsrc_kind kind);
void mapsrc_free(struct mapsrc *s);
/* MAPSRC_ENTRY: key/value valid until the next call. */
int mapsrc_next(struct mapsrc *s, const char **key, const char **value);

#endif
