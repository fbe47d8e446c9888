/*
 * map_texthash.h - texthash: tables, a postmap(1) source file held in
 * memory (no .db).  Opened with no MAP_F_TRY* flag (a reader's defaults)
 * keys are folded to lower case; duplicates keep the first value and
 * warn unless MAP_F_DUP_IGNORE/MAP_F_DUP_REPLACE say otherwise.
 */
#ifndef POSTERN_MAP_TEXTHASH_H
#define POSTERN_MAP_TEXTHASH_H

#include "map.h"

extern const struct map_ops map_texthash_ops;

#endif
