/*
 * cfguse.h - which main.cf parameters are "used", as postconf decides:
 * parameters Postfix or postern knows, names referenced as $name in any
 * main.cf or master.cf -o value, smtpd_restriction_classes members, and
 * per-transport parameters (TRANSPORT_destination_concurrency_limit ...)
 * of master.cf delivery services.  Unused ones are hidden by
 * "postern conf -n" and reported by "postern check".
 */
#ifndef POSTERN_CFGUSE_H
#define POSTERN_CFGUSE_H

#include <stdbool.h>

struct cfg;
struct htable;
struct mastercf;

struct cfguse;

/* m may be NULL (no master.cf). */
struct cfguse *cfguse_compute(struct cfg *c, const struct mastercf *m);
void cfguse_free(struct cfguse *u);
/* Known to Postfix/postern, or made valid by the rules above. */
bool cfguse_is_used(const struct cfguse *u, const char *name);
/* Known as a user-defined parameter (referenced, class, per-transport). */
bool cfguse_is_user_defined(const struct cfguse *u, const char *name);
/* Visit each user-defined name (for listing all parameters). */
void cfguse_each_user_defined(const struct cfguse *u,
                              void (*fn)(void *arg, const char *name), void *arg);

#endif
