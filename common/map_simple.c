/* map_simple.c - placeholder until the backend lands. */
#include "map.h"
#include <stdio.h>
static struct map *stub_open(const char *n, int f, char *e, size_t el) { (void)n; (void)f; snprintf(e, el, "not implemented"); return NULL; }
const struct map_ops map_static_ops = { .type = "static", .open = stub_open };
const struct map_ops map_inline_ops = { .type = "inline", .open = stub_open };
const struct map_ops map_unionmap_ops = { .type = "unionmap", .open = stub_open };
const struct map_ops map_pipemap_ops = { .type = "pipemap", .open = stub_open };
const struct map_ops map_fail_ops = { .type = "fail", .open = stub_open };
