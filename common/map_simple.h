/*
 * map_simple.h - the map types whose whole table is written in the spec
 * itself: static:, inline:{...}, unionmap:{...}, pipemap:{...}, fail:.
 * The ops tables are registered in map.c; this header adds what callers
 * need beyond struct map_ops.
 */
#ifndef POSTERN_MAP_SIMPLE_H
#define POSTERN_MAP_SIMPLE_H

#include "map.h"

extern const struct map_ops map_static_ops, map_inline_ops, map_unionmap_ops,
	map_pipemap_ops, map_fail_ops;

/*
 * MAP_P_* properties of an open map.  For unionmap and pipemap these
 * depend on the component maps: the composite is MAP_P_FIXED when any
 * component is (and likewise MAP_P_PATTERN), so callers that try
 * partial keys (access(5) lookups) still do so for the fixed-string
 * components.  Other maps report their type's properties.
 */
int map_simple_props(const struct map *m);

#endif
