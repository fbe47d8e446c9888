/* map_cidr.c - placeholder until the backend lands. */
#include "map.h"
#include <stdio.h>
static struct map *stub_open(const char *n, int f, char *e, size_t el) { (void)n; (void)f; snprintf(e, el, "not implemented"); return NULL; }
const struct map_ops map_cidr_ops = { .type = "cidr", .open = stub_open };
