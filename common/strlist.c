/*
 * strlist.c - comma/space lists with brace grouping (see strlist.h).
 */
#include "strlist.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define DEFAULT_SEPS ", \t\r\n"

char *strlist_token(char **bp, const char *seps, int *bad)
{
	char *s = *bp, *start;
	int level = 0;

	*bad = 0;
	if (seps == NULL)
		seps = DEFAULT_SEPS;
	s += strspn(s, seps);
	if (*s == '\0') {
		*bp = s;
		return NULL;
	}
	start = s;
	for (; *s; s++) {
		if (*s == '{') {
			level++;
		} else if (*s == '}') {
			if (--level < 0) {
				*bad = 1;
				return NULL;
			}
		} else if (level == 0 && strchr(seps, *s) != NULL) {
			break;
		}
	}
	if (level != 0) {
		*bad = 1;
		return NULL;
	}
	if (*s)
		*s++ = '\0';
	*bp = s;
	return start;
}

char *strlist_unbrace(char *s)
{
	size_t len = strlen(s);
	if (len == 0 || s[0] != '{')
		return s;
	/* The opening brace must close at the very end. */
	int level = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '{')
			level++;
		else if (s[i] == '}' && --level == 0 && i != len - 1)
			return NULL;
	}
	if (level != 0 || s[len - 1] != '}')
		return NULL;
	s[len - 1] = '\0';
	char *p = s + 1;
	while (isspace((unsigned char)*p))
		p++;
	size_t n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		p[--n] = '\0';
	memmove(s, p, n + 1);
	return s;
}

int strlist_split(const char *text, const char *seps, size_t max_items,
                  char ***items, char *err, size_t errlen)
{
	char *copy = xstrdup(text), *bp = copy, *tok;
	size_t n = 0, cap = 8;
	char **v = xcalloc(cap, sizeof(*v));
	int bad = 0;

	while ((tok = strlist_token(&bp, seps, &bad)) != NULL) {
		if (n + 1 >= max_items + 1) {
			snprintf(err, errlen, "more than %zu list items", max_items);
			goto fail;
		}
		if (strlist_unbrace(tok) == NULL) {
			snprintf(err, errlen, "syntax error in braces: \"%s\"", tok);
			goto fail;
		}
		if (n + 2 > cap) {
			cap *= 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = xstrdup(tok);
		v[n] = NULL;
	}
	if (bad) {
		snprintf(err, errlen, "unbalanced '{' or '}' in \"%s\"", text);
		goto fail;
	}
	free(copy);
	*items = v;
	return (int)n;
fail:
	free(copy);
	v[n] = NULL;
	strlist_free(v);
	*items = NULL;
	return -1;
}

void strlist_free(char **items)
{
	if (items == NULL)
		return;
	for (char **p = items; *p; p++)
		free(*p);
	free(items);
}
