/*
 * htable.h - a small string-keyed hash table (chained, grows by
 * doubling).  Keys are copied; values are opaque pointers owned by the
 * caller.
 */
#ifndef POSTERN_HTABLE_H
#define POSTERN_HTABLE_H

#include <stddef.h>

struct htable;

struct htable *ht_new(void);
/* free_value (may be NULL) is called on each value. */
void ht_free(struct htable *ht, void (*free_value)(void *));
void *ht_get(const struct htable *ht, const char *key);
/* Insert or replace; returns the previous value or NULL. */
void *ht_put(struct htable *ht, const char *key, void *value);
/* Remove; returns the value or NULL. */
void *ht_del(struct htable *ht, const char *key);
size_t ht_count(const struct htable *ht);
/* Iterate: pass *pos = 0 first; returns key or NULL at end. */
const char *ht_next(const struct htable *ht, size_t *pos, void **value);

#endif
