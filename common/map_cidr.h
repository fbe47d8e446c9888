/*
 * map_cidr.h - cidr: tables (cidr_table(5)).
 */
#ifndef POSTERN_MAP_CIDR_H
#define POSTERN_MAP_CIDR_H

#include "map.h"

extern const struct map_ops map_cidr_ops;

#endif
