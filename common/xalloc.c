/*
 * xalloc.c - checked allocation helpers used by every process.
 */
#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		log_fatal("out of memory allocating %zu bytes", n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		log_fatal("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		log_fatal("out of memory reallocating %zu bytes", n);
	return q;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;
	if (!size_mul(nmemb, size, &n))
		log_fatal("allocation size overflow: %zu x %zu", nmemb, size);
	return xrealloc(p, n);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n), total;
	if (!size_add(len, 1, &total))
		log_fatal("string too long");
	char *d = xmalloc(total);
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

bool size_add(size_t a, size_t b, size_t *out)
{
	if (a > SIZE_MAX - b)
		return false;
	*out = a + b;
	return true;
}

bool size_mul(size_t a, size_t b, size_t *out)
{
	if (a != 0 && b > SIZE_MAX / a)
		return false;
	*out = a * b;
	return true;
}
