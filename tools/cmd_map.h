/*
 * cmd_map.h - the engine behind "postern map" (postmap) and "postern
 * alias" (postalias/newaliases): the two differ only in source syntax,
 * output format and the extra entries an alias database carries.
 */
#ifndef POSTERN_CMD_MAP_H
#define POSTERN_CMD_MAP_H

#include <stdbool.h>

/* argv[0] is the verb name; returns the exit status. */
int maptool_main(int argc, char **argv, bool aliases);

#endif
