/*
 * service.h - which master.cf lines master runs, and their listeners.
 */
#ifndef POSTERN_SERVICE_H
#define POSTERN_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "master.h"

/*
 * Build m's service list from m->cfg and m->mcf.  Listeners of services
 * in old (the previous list, at a reload) with the same key are taken
 * over; old's remaining listeners are closed before new ones are bound.
 * Lines postern does not run are logged when verbose.  Returns 0, or -1
 * with err set for a listener that cannot be made (the services built
 * so far stay in m, the failed one is left out).
 */
int service_build(struct master *m, struct msvc **old, size_t nold, bool verbose,
                  char *err, size_t errlen);

/* Close a service's listeners and free it (its child is not touched). */
void service_free(struct msvc *s);

#endif
