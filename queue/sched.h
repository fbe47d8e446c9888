/*
 * sched.h - the scheduler: incoming -> active, delivery requests to the
 * transports, per-recipient results, deferral with backoff, expiry.
 */
#ifndef POSTERN_SCHED_H
#define POSTERN_SCHED_H

#include <stdbool.h>
#include <stddef.h>

enum sched_action { SCHED_NONE, SCHED_HOLD, SCHED_DELETE };

/* Timers and the deferred queue run; call once the event base exists. */
void sched_init(void);
/* A message is in incoming/: activate it soon (never re-entrantly). */
void sched_new(const char *id);
/* Retry deferred messages now: all (id NULL) or one.  Returns count. */
size_t sched_flush(const char *id);
/* ETRN: schedule now the deferred messages with a recipient still to be
 * delivered in domain (case-insensitive).  Returns how many. */
size_t sched_flush_domain(const char *domain);
/*
 * A hold or delete for a message that is active: done when its
 * deliveries end.  false if id is not active.
 */
bool sched_active_action(const char *id, enum sched_action a);
bool sched_is_active(const char *id);
size_t sched_nactive(void);
void sched_shutdown(void);

#endif
