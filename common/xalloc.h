/*
 * xalloc.h - allocation that never returns NULL (out of memory is fatal)
 * and size arithmetic that cannot overflow silently.
 */
#ifndef POSTERN_XALLOC_H
#define POSTERN_XALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* true and *out set when a + b / a * b fits in size_t. */
bool size_add(size_t a, size_t b, size_t *out);
bool size_mul(size_t a, size_t b, size_t *out);

#endif
