/*
 * strlist.h - Postfix list syntax: items separated by commas and/or
 * white space, where "{ ... }" groups text that contains separators.
 * Used by main.cf list parameters, master.cf -o values and map specs.
 */
#ifndef POSTERN_STRLIST_H
#define POSTERN_STRLIST_H

#include <stddef.h>

/*
 * Split text into items.  seps is the separator set (NULL means ", \t\r\n").
 * An item that is entirely "{ ... }" is returned with the braces and the
 * white space just inside them removed.  Returns the item count (0 for
 * an empty list) with *items a NULL-terminated array of allocated
 * strings, or -1 and a reason in err for unbalanced braces or too many
 * items (limit max_items).
 */
int strlist_split(const char *text, const char *seps, size_t max_items,
                  char ***items, char *err, size_t errlen);
void strlist_free(char **items);

/*
 * Take one token from *bp as strlist_split would and advance *bp; NULL
 * at the end or on unbalanced braces (*bad set).  The token is
 * written in place (the input is modified), braces kept.
 */
char *strlist_token(char **bp, const char *seps, int *bad);

/* Remove surrounding "{ }" and the white space inside them, in place.
 * Returns s, or NULL if s starts with '{' but is not one balanced group. */
char *strlist_unbrace(char *s);

#endif
