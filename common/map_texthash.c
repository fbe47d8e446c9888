/* map_texthash.c - placeholder until the backend lands. */
#include "map.h"
#include <stdio.h>
static struct map *stub_open(const char *n, int f, char *e, size_t el) { (void)n; (void)f; snprintf(e, el, "not implemented"); return NULL; }
const struct map_ops map_texthash_ops = { .type = "texthash", .open = stub_open };
