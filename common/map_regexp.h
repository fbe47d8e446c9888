/*
 * map_regexp.h - regexp:, regex: (the same type under a second name)
 * and pcre: tables (regexp_table(5), pcre_table(5)).
 */
#ifndef POSTERN_MAP_REGEXP_H
#define POSTERN_MAP_REGEXP_H

#include "map.h"

extern const struct map_ops map_regexp_ops;
extern const struct map_ops map_regex_ops;
extern const struct map_ops map_pcre_ops;

#endif
