/*
 * htable.c - string-keyed hash table (see htable.h).  Keys may come
 * from outside (map sources), so the hash is seeded per table.
 */
#include "htable.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "xalloc.h"

struct hnode {
	struct hnode *next;
	void *value;
	uint64_t hash;
	char key[];
};

struct htable {
	struct hnode **b;
	size_t nbuckets;
	size_t count;
	uint64_t seed;
};

static uint64_t ht_hash(const struct htable *ht, const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ht->seed;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 29;
	return h;
}

struct htable *ht_new(void)
{
	struct htable *ht = xcalloc(1, sizeof(*ht));
	ht->nbuckets = 16;
	ht->b = xcalloc(ht->nbuckets, sizeof(*ht->b));
	if (getrandom(&ht->seed, sizeof(ht->seed), GRND_NONBLOCK) != sizeof(ht->seed))
		ht->seed = (uint64_t)(uintptr_t)ht;
	return ht;
}

void ht_free(struct htable *ht, void (*free_value)(void *))
{
	if (ht == NULL)
		return;
	for (size_t i = 0; i < ht->nbuckets; i++) {
		struct hnode *n = ht->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			if (free_value)
				free_value(n->value);
			free(n);
		}
	}
	free(ht->b);
	free(ht);
}

static struct hnode **ht_find(const struct htable *ht, const char *key, uint64_t h)
{
	struct hnode **np = &ht->b[h & (ht->nbuckets - 1)];
	for (; *np; np = &(*np)->next)
		if ((*np)->hash == h && strcmp((*np)->key, key) == 0)
			break;
	return np;
}

void *ht_get(const struct htable *ht, const char *key)
{
	struct hnode **np = ht_find(ht, key, ht_hash(ht, key));
	return *np ? (*np)->value : NULL;
}

static void ht_grow(struct htable *ht)
{
	size_t nb = ht->nbuckets * 2;
	struct hnode **b = xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < ht->nbuckets; i++) {
		struct hnode *n = ht->b[i], *next;
		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(ht->b);
	ht->b = b;
	ht->nbuckets = nb;
}

void *ht_put(struct htable *ht, const char *key, void *value)
{
	uint64_t h = ht_hash(ht, key);
	struct hnode **np = ht_find(ht, key, h);
	if (*np) {
		void *old = (*np)->value;
		(*np)->value = value;
		return old;
	}
	size_t klen = strlen(key), sz;
	if (!size_add(sizeof(struct hnode), klen + 1, &sz))
		return NULL;
	struct hnode *n = xmalloc(sz);
	memcpy(n->key, key, klen + 1);
	n->hash = h;
	n->value = value;
	n->next = NULL;
	*np = n;
	if (++ht->count > ht->nbuckets && ht->nbuckets < (SIZE_MAX >> 4))
		ht_grow(ht);
	return NULL;
}

void *ht_del(struct htable *ht, const char *key)
{
	struct hnode **np = ht_find(ht, key, ht_hash(ht, key));
	if (*np == NULL)
		return NULL;
	struct hnode *n = *np;
	void *v = n->value;
	*np = n->next;
	free(n);
	ht->count--;
	return v;
}

size_t ht_count(const struct htable *ht)
{
	return ht->count;
}

const char *ht_next(const struct htable *ht, size_t *pos, void **value)
{
	/* pos encodes bucket index and depth within the bucket. */
	size_t bucket = *pos >> 16, depth = *pos & 0xffff;
	for (; bucket < ht->nbuckets; bucket++, depth = 0) {
		struct hnode *n = ht->b[bucket];
		for (size_t d = 0; n && d < depth; d++)
			n = n->next;
		if (n) {
			*pos = (bucket << 16) | (depth + 1);
			if (value)
				*value = n->value;
			return n->key;
		}
	}
	*pos = bucket << 16;
	return NULL;
}
