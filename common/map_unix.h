/*
 * map_unix.h - unix:passwd.byname and unix:group.byname (the system's
 * users and groups, read into memory when the map is opened, so that a
 * chrooted process can look them up), and proxy:TYPE:NAME, which postern
 * opens as TYPE:NAME (no proxymap service: each daemon opens its tables
 * before it drops privileges).
 */
#ifndef POSTERN_MAP_UNIX_H
#define POSTERN_MAP_UNIX_H

#include "map.h"

extern const struct map_ops map_unix_ops;
extern const struct map_ops map_proxy_ops;

#endif
